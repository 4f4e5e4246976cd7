"""How many uploads ``POST /bundles`` reads at once, and how many bytes they hold in all.

Each upload is held whole in memory until it is verified and imported; without a cap, 64
uploads of 16 MiB each held 1.3 GB. An upload that would pass either cap is answered 503 with
Retry-After before more of it is read (413 if it could never fit). Everything here runs on the
server's event loop, so the counts need no lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

RETRY_AFTER_S: Final = 2


class Full(Exception):  # noqa: N818 - a signal between two functions, never shown to a user
    """The gate is full now: retry later (503)."""


class TooLarge(Exception):  # noqa: N818 - idem
    """The upload is larger than this server ever accepts (413)."""


@dataclass
class Upload:
    """One admitted upload: the bytes it holds against the gate's total."""

    gate: UploadGate
    held: int = 0

    def hold(self, size: int) -> None:
        """Count ``size`` more bytes against the total.

        Raises:
            TooLarge: the upload alone is over the largest accepted size.
            Full: the uploads in flight hold too much together.
        """
        if self.held + size > self.gate.max_upload:
            raise TooLarge
        if self.gate.held + size > self.gate.max_bytes:
            raise Full
        self.held += size
        self.gate.held += size


@dataclass
class UploadGate:
    """At most ``max_uploads`` uploads in flight, holding at most ``max_bytes`` together."""

    max_uploads: int
    max_bytes: int
    max_upload: int
    in_flight: int = 0
    held: int = field(default=0)

    @contextmanager
    def admit(self) -> Iterator[Upload]:
        """An upload's place, given back (with everything it held) when it is done.

        Raises:
            Full: ``max_uploads`` are in flight already.
        """
        if self.in_flight >= self.max_uploads:
            raise Full
        self.in_flight += 1
        upload = Upload(self)
        try:
            yield upload
        finally:
            self.in_flight -= 1
            self.held -= upload.held

    async def read(
        self, upload: Upload, declared: int | None, chunks: AsyncIterator[bytes]
    ) -> bytes:
        """The body, its declared size held before any of it is read, then each chunk as it comes.

        Raises:
            TooLarge, Full: see :meth:`Upload.hold`.
        """
        if declared is not None:
            upload.hold(declared)
        body = bytearray()
        async for chunk in chunks:
            if declared is None or len(body) + len(chunk) > declared:
                upload.hold(len(chunk))
            body += chunk
        return bytes(body)

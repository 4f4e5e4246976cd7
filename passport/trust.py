"""The verifier's trust store: brand root keys it trusts and the GS1 prefixes each may issue for.

Nothing inside a bundle can add to it. Its file form is JSON (``schemas/truststore.json``);
reading and writing the file is the caller's job, this module only converts text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from . import gs1, schema
from .checkpoint import NoteVerifier
from .errors import DppError, SchemaError, TrustError
from .keys import PublicKey

MAX_TRUST_STORE_SIZE: Final = 4 * 1024 * 1024


@dataclass(frozen=True)
class TrustedRoot:
    """A brand root key, the brand's name as the verifier knows it, and its GS1 company prefixes."""

    brand: str
    key: PublicKey
    gs1_prefixes: tuple[str, ...]

    def covers(self, gtin14: str) -> bool:
        """Whether one of the brand's GS1 company prefixes covers ``gtin14``."""
        return any(gs1.prefix_covers(prefix, gtin14) for prefix in self.gs1_prefixes)


@dataclass(frozen=True)
class TrustStore:
    """The roots a verifier trusts, looked up by key id."""

    roots: tuple[TrustedRoot, ...]
    logs: tuple[NoteVerifier, ...] = ()
    _by_kid: Mapping[bytes, TrustedRoot] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_kid", {root.key.kid: root for root in self.roots})

    @classmethod
    def of(cls, roots: Iterable[TrustedRoot], logs: Iterable[NoteVerifier] = ()) -> TrustStore:
        """A trust store of brand ``roots`` and transparency ``logs`` (their note verifier keys)."""
        return cls(tuple(roots), tuple(logs))

    def root(self, kid: bytes) -> TrustedRoot | None:
        """The trusted root with key id ``kid``, if any."""
        return self._by_kid.get(kid)

    def __len__(self) -> int:
        return len(self.roots)

    def to_json(self) -> str:
        """The trust store as JSON text, for a file another verifier can load."""
        roots = [
            {"brand": r.brand, "key": r.key.raw.hex(), "gs1_prefixes": list(r.gs1_prefixes)}
            for r in self.roots
        ]
        document: dict[str, object] = {"v": 1, "roots": roots}
        if self.logs:
            document["logs"] = [log.to_vkey() for log in self.logs]
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, what: str = "trust store") -> TrustStore:
        """Parse a trust store from JSON text.

        Raises:
            TrustError: not JSON, not matching the schema, a bad key, or a key listed twice.
        """
        if len(text) > MAX_TRUST_STORE_SIZE:
            raise TrustError(f"{what}: larger than {MAX_TRUST_STORE_SIZE} bytes")
        try:
            document = json.loads(text)
            schema.validate("truststore", document, what=what)
            roots = tuple(
                TrustedRoot(
                    entry["brand"],
                    PublicKey.from_bytes(bytes.fromhex(entry["key"])),
                    tuple(entry["gs1_prefixes"]),
                )
                for entry in document["roots"]
            )
            logs = tuple(NoteVerifier.from_vkey(v) for v in document.get("logs", ()))
        except SchemaError as exc:
            raise TrustError(str(exc)) from exc
        except (ValueError, DppError) as exc:
            raise TrustError(f"{what}: {exc}") from exc
        except RecursionError:
            raise TrustError(f"{what}: nested too deeply to be a trust store") from None
        store = cls(roots, logs)
        if len(store._by_kid) != len(roots):
            raise TrustError(f"{what}: a root key is listed twice")
        return store

"""C2SP signed notes and tlog checkpoints: the text a log signs to commit to its tree.

A checkpoint body is three lines (origin, tree size, base64 root hash) plus optional extension
lines; the note appends a blank line and one ``— <name> <base64(key hash || signature)>`` line
per signature. Ed25519 signs the body text; the key hash is the first 4 bytes of
SHA-256(name || 0x0A || 0x01 || public key). Signatures from unknown keys are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from .errors import DppError, LogError, UntrustedLogError
from .keys import PublicKey, SigningKey
from .merkle import EMPTY_ROOT

ED25519_TYPE: Final = b"\x01"
SIGNATURE_PREFIX: Final = "\u2014 "  # em dash, space
MAX_NOTE_SIZE: Final = 16 * 1024
MAX_SIGNATURES: Final = 100
# Key names hold no space and no '+'. "Space" as Go's unicode.IsSpace (the C2SP reference)
# has it, written out: Python's \s also matches U+001C-U+001F, which Go's does not.
NAME_SPACES: Final = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_NAME: Final = re.compile(f"[^{NAME_SPACES}+]+")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_SIZE: Final = re.compile(r"0|[1-9][0-9]{0,19}")
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")


@dataclass(frozen=True)
class Checkpoint:
    """A log's commitment: its origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The checkpoint text that is signed."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "".join(f"{line}\n" for line in lines)


def key_hash(name: str, key: PublicKey) -> bytes:
    """The 4-byte signed-note key hash of an Ed25519 key called ``name``."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + key.raw).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """A log's public key as a signed-note verifier: name, key hash and Ed25519 key."""

    name: str
    key: PublicKey

    @property
    def key_hash(self) -> bytes:
        """The 4 bytes that prefix this key's signatures."""
        return key_hash(self.name, self.key)

    def to_vkey(self) -> str:
        """The verifier key string ``<name>+<hex key hash>+<base64(0x01 || key)>``."""
        encoded = base64.b64encode(ED25519_TYPE + self.key.raw).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        """Parse a verifier key string.

        Raises:
            LogError: malformed, not Ed25519, a bad key, or a key hash that does not match.
        """
        parts = text.strip().split("+", 2) if isinstance(text, str) else []
        if (
            len(parts) != 3
            or not _NAME.fullmatch(parts[0])
            or not re.fullmatch(r"[0-9a-f]{8}", parts[1])
        ):
            raise LogError("a verifier key reads <name>+<8 hex digits>+<base64 key>")
        try:
            raw = base64.b64decode(parts[2], validate=True)
            if raw[:1] != ED25519_TYPE or len(raw) != 33:
                raise LogError("verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
            verifier = cls(parts[0], PublicKey.from_bytes(raw[1:]))
        except (ValueError, DppError) as exc:
            raise LogError(f"verifier key {parts[0]}: {exc}") from None
        if verifier.key_hash.hex() != parts[1]:
            raise LogError(f"verifier key {parts[0]}: key hash does not match the key")
        return verifier


def check_name(name: str) -> str:
    """Return ``name`` if it can name a log key (non-empty, no spaces, no '+').

    Raises:
        LogError: it cannot.
    """
    if (
        not isinstance(name, str)
        or not _NAME.fullmatch(name)
        or len(name) > 256
        or _CONTROL.search(name)
    ):
        raise LogError(
            f"{name!r} cannot name a log: use up to 256 characters, no spaces, controls or '+'"
        )
    if not name.isascii() and _SURROGATE.search(name):  # bytes that were not UTF-8
        raise LogError(f"{name!r} cannot name a log: it is not valid UTF-8 text")
    return name


def sign_checkpoint(checkpoint: Checkpoint, name: str, key: SigningKey) -> str:
    """The checkpoint as a signed note, signed by ``key`` under ``name``."""
    if not _NAME.fullmatch(name):
        raise LogError("a note key name is non-empty, with no spaces or '+'")
    body = checkpoint.body()
    signature = key_hash(name, key.public_key) + key.sign(body.encode())
    return f"{body}\n{SIGNATURE_PREFIX}{name} {base64.b64encode(signature).decode()}\n"


def _split(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    if not isinstance(text, str) or len(text) > MAX_NOTE_SIZE:
        raise LogError(f"a signed note is text of at most {MAX_NOTE_SIZE} characters")
    if not text.isascii() and _SURROGATE.search(text):  # bytes that were not UTF-8
        raise LogError("a signed note is valid UTF-8 text; this one holds bytes that are not")
    if _CONTROL.search(text):
        raise LogError("a signed note holds no control characters other than newlines")
    body, sep, signatures = text.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise LogError("a signed note is a body, a blank line and signature lines")
    parsed = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise LogError("a signature line starts with an em dash and a space")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            raise LogError(f"signature by {name}: not base64") from None
        if not _NAME.fullmatch(name) or len(blob) < 5:
            raise LogError("a malformed signature line")
        parsed.append((name, blob[:4], blob[4:]))
    if len(parsed) > MAX_SIGNATURES:
        raise LogError(f"more than {MAX_SIGNATURES} signatures on a note")
    return body + "\n", parsed


def open_note(text: str, verifiers: Iterable[NoteVerifier]) -> tuple[str, list[NoteVerifier]]:
    """Return the body of a signed note and the known verifiers whose signatures verify.

    Raises:
        LogError: malformed, or a known key's signature fails.
        UntrustedLogError: no known key signed it.
    """
    body, signatures = _split(text)
    known = {(v.name, v.key_hash): v for v in verifiers}
    good = []
    for name, hash_, signature in signatures:
        verifier = known.get((name, hash_))
        if verifier is None:
            continue  # signatures from unknown keys are ignored, per the spec
        if not _signed(body, signature, verifier.key):
            raise LogError(f"the signature by {name} does not verify")
        if verifier not in good:  # one key signing twice is one signature, as in Go's note
            good.append(verifier)
    if not good:
        names = ", ".join(sorted({n for n, _, _ in signatures}))
        raise UntrustedLogError(
            f"no signature on the note is from a known log key (signed by: {names})"
        )
    return body, good


@lru_cache(maxsize=256)
def _signed(body: str, signature: bytes, key: PublicKey) -> bool:
    # Every bundle exported at one log size carries the same checkpoint: verify it once.
    try:
        key.verify(signature, body.encode())
    except DppError:
        return False
    return True


def parse_checkpoint(body: str) -> Checkpoint:
    """Read a checkpoint body (origin, size, root, extensions), without its signatures.

    Raises:
        LogError: missing lines, a malformed size or root hash.
    """
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise LogError(
            "a checkpoint body has origin, size and root lines, each ending in a newline"
        )
    origin, size, root, *extensions = lines[:-1]
    if not origin or not _SIZE.fullmatch(size):
        raise LogError("a checkpoint needs an origin and a decimal tree size without leading zeros")
    try:
        digest = base64.b64decode(root, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise LogError("checkpoint root hash is not base64") from None
    if len(digest) != 32 or any(not line for line in extensions):
        raise LogError("checkpoint root hash must be 32 bytes, extension lines non-empty")
    if size == "0" and digest != EMPTY_ROOT:
        raise LogError(
            "a checkpoint of size 0 must carry the empty tree's root (SHA-256 of nothing)"
        )
    return Checkpoint(origin, int(size), digest, tuple(extensions))


def verify_checkpoint(text: str, verifiers: Iterable[NoteVerifier]) -> Checkpoint:
    """Verify a signed checkpoint against known log keys and return it.

    The signing key's name must be the checkpoint's origin.

    Raises:
        LogError: malformed, badly signed, unsigned by a known key, or signed for another origin.
    """
    known = tuple(verifiers)
    # Every bundle exported at one log size carries the same note: read and check it once.
    cached = _VERIFIED.get((text, known))
    if cached is not None:
        return cached
    checkpoint = _verify_checkpoint(text, known)
    if len(_VERIFIED) >= _MAX_VERIFIED:
        _VERIFIED.clear()
    _VERIFIED[(text, known)] = checkpoint
    return checkpoint


_MAX_VERIFIED: Final = 256
_VERIFIED: dict[tuple[str, tuple[NoteVerifier, ...]], Checkpoint] = {}


def _verify_checkpoint(text: str, verifiers: tuple[NoteVerifier, ...]) -> Checkpoint:
    body, good = open_note(text, verifiers)
    checkpoint = parse_checkpoint(body)
    if all(v.name != checkpoint.origin for v in good):
        raise LogError(
            f"checkpoint for origin {checkpoint.origin!r} is signed by "
            f"{good[0].name!r}, not by that log"
        )
    return checkpoint


def read_unverified(text: str) -> Checkpoint:
    """Read a signed checkpoint without checking who signed it (to report on it).

    Raises:
        LogError: malformed.
    """
    return parse_checkpoint(_split(text)[0])


def check_same_view(a: Checkpoint, b: Checkpoint) -> None:
    """Two checkpoints of one origin and size must agree on the root.

    Raises:
        LogError: a split view: the log showed two different trees of the same size.
    """
    if a.origin == b.origin and a.size == b.size and a.root != b.root:
        raise LogError(f"split view: {a.origin} signed two different roots for size {a.size}")

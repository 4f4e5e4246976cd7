"""The project's exception hierarchy: one root, a few specific kinds a caller can catch."""

from __future__ import annotations


class DppError(Exception):
    """Root of every error this project raises on purpose.

    The message is one line that says what is wrong and, where it helps, where.
    """


class DecodeError(DppError):
    """Bytes are not a well-formed, deterministic encoding of the expected structure."""


class SchemaError(DppError):
    """An event's data, a certificate or a trust store does not match its schema."""


class InvalidKeyError(DppError):
    """A public or private key is malformed, of small order, or otherwise unusable."""


class SignatureError(DppError):
    """A signature does not verify under the key its header names."""


class ChainError(DppError):
    """Events do not form one unbroken chain (sequence, links, passport id, times)."""


class AuthorityError(DppError):
    """A signer was not entitled to sign that record at that time."""


class RuleError(DppError):
    """An event breaks the passport's state rules (ownership, stolen, end of life)."""


class TrustError(DppError):
    """The verifier's trust store is empty, malformed or does not cover the item."""


class TrustStoreError(TrustError):
    """A trust store cannot be used: unreadable, malformed, or contradicting itself.

    Two roots sharing a name, nested GS1 prefixes, a key listed twice: the store is refused
    as a whole, as unreadable input is, naming what is wrong and where.
    """


class StorageError(DppError):
    """The ledger could not read or write its storage."""


class ConflictError(DppError):
    """A write lost a race or contradicts what is stored (fork, clone, moved-on head)."""


class EncodeError(DppError):
    """A value cannot be written in the project's deterministic CBOR subset."""


class DisclosureError(DppError):
    """A sealed box does not open, or what it holds is not a disclosure its event signed.

    Restricted values are shown only once their digest is found in the signed ``sealed``
    list of their own event; anything else is this error, and the value is never shown.
    """


class LogError(DppError):
    """A transparency-log proof or checkpoint does not verify, or two checkpoints disagree."""


class UntrustedLogError(LogError):
    """A checkpoint carries no signature from a log key the verifier trusts."""


class CredentialError(DppError):
    """A credential does not say what the passport it names says (another item, a changed field)."""

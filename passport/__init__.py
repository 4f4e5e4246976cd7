"""Digital product passports: signed, hash-chained item histories, verified offline.

Pure logic: no files, no database, no clock, no network. Time is always passed in.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from .errors import (
    AuthorityError,
    ChainError,
    ConflictError,
    CredentialError,
    DecodeError,
    DisclosureError,
    DppError,
    EncodeError,
    InvalidKeyError,
    RuleError,
    SchemaError,
    SignatureError,
    StorageError,
    TrustError,
    TrustStoreError,
)

if TYPE_CHECKING:
    from .bundle import Bundle, LogEntry, LogProof
    from .certs import Certificate, RevocationList, Role
    from .events import Event, EventType
    from .keys import PublicKey, SigningKey, kid_of
    from .recipients import Audience, Kem, RecipientKey, RecipientSecret
    from .report import Access, Alert, Check, HistoryEntry, Outcome, Report, Restricted, Status
    from .sealed import sign_sealed
    from .sealing import Box
    from .sign import delegate, issue, revoke, sign_event
    from .trust import TrustedRoot, TrustStore
    from .verify import named_kids as verify_named_kids
    from .verify import verify
    from .wire import bundle_to_bytes, parse_bundle, parse_event
# Every other public name is imported when first used (PEP 562), so that ``import passport``
# costs only what its caller needs: ``dpp --version`` must not pay for Ed25519, CBOR or JSON
# Schema. The errors above are cheap and every caller catches them, so they load at once.
_LAZY: Final = {
    "Access": ("report", "Access"),
    "Alert": ("report", "Alert"),
    "Audience": ("recipients", "Audience"),
    "Box": ("sealing", "Box"),
    "Bundle": ("bundle", "Bundle"),
    "Certificate": ("certs", "Certificate"),
    "Check": ("report", "Check"),
    "Event": ("events", "Event"),
    "EventType": ("events", "EventType"),
    "HistoryEntry": ("report", "HistoryEntry"),
    "Kem": ("recipients", "Kem"),
    "LogEntry": ("bundle", "LogEntry"),
    "LogProof": ("bundle", "LogProof"),
    "Outcome": ("report", "Outcome"),
    "PublicKey": ("keys", "PublicKey"),
    "RecipientKey": ("recipients", "RecipientKey"),
    "RecipientSecret": ("recipients", "RecipientSecret"),
    "Report": ("report", "Report"),
    "Restricted": ("report", "Restricted"),
    "RevocationList": ("certs", "RevocationList"),
    "Role": ("certs", "Role"),
    "SigningKey": ("keys", "SigningKey"),
    "Status": ("report", "Status"),
    "TrustStore": ("trust", "TrustStore"),
    "TrustedRoot": ("trust", "TrustedRoot"),
    "bundle_to_bytes": ("wire", "bundle_to_bytes"),
    "delegate": ("sign", "delegate"),
    "issue": ("sign", "issue"),
    "kid_of": ("keys", "kid_of"),
    "parse_bundle": ("wire", "parse_bundle"),
    "parse_event": ("wire", "parse_event"),
    "revoke": ("sign", "revoke"),
    "sign_event": ("sign", "sign_event"),
    "sign_sealed": ("sealed", "sign_sealed"),
    "verify": ("verify", "verify"),
    "verify_named_kids": ("verify", "named_kids"),
}


def __getattr__(name: str) -> Any:
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = found
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # resolved once; later reads are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(ModuleType):
    """The package, keeping ``passport.verify`` the function once the submodule is imported.

    Importing a submodule binds it on its package under its own name; eagerly, the function
    imported after it won. Lazily, the submodule ``verify`` may load first (another module
    imports it), and it must not hide the function of that name.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, ModuleType) and name in _LAZY and _LAZY[name][0] == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "Access",
    "Alert",
    "Audience",
    "AuthorityError",
    "Box",
    "Bundle",
    "Certificate",
    "ChainError",
    "Check",
    "ConflictError",
    "CredentialError",
    "DecodeError",
    "DisclosureError",
    "DppError",
    "EncodeError",
    "Event",
    "EventType",
    "HistoryEntry",
    "InvalidKeyError",
    "Kem",
    "LogEntry",
    "LogProof",
    "Outcome",
    "PublicKey",
    "RecipientKey",
    "RecipientSecret",
    "Report",
    "Restricted",
    "RevocationList",
    "Role",
    "RuleError",
    "SchemaError",
    "SignatureError",
    "SigningKey",
    "Status",
    "StorageError",
    "TrustError",
    "TrustStore",
    "TrustStoreError",
    "TrustedRoot",
    "bundle_to_bytes",
    "delegate",
    "issue",
    "kid_of",
    "parse_bundle",
    "parse_event",
    "revoke",
    "sign_event",
    "sign_sealed",
    "verify",
    "verify_named_kids",
]

"""Digital product passports: signed, hash-chained item histories, verified offline.

Pure logic: no files, no database, no clock, no network. Time is always passed in.
"""

from .bundle import Bundle, LogEntry, LogProof
from .certs import Certificate, RevocationList, Role
from .errors import (
    AuthorityError,
    ChainError,
    ConflictError,
    CredentialError,
    DecodeError,
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
from .events import Event, EventType
from .keys import PublicKey, SigningKey, kid_of
from .report import Alert, Check, HistoryEntry, Outcome, Report, Status
from .sign import delegate, issue, revoke, sign_event
from .trust import TrustedRoot, TrustStore
from .verify import named_kids as verify_named_kids
from .verify import verify
from .wire import bundle_to_bytes, parse_bundle, parse_event

__all__ = [
    "Alert",
    "AuthorityError",
    "Bundle",
    "Certificate",
    "ChainError",
    "Check",
    "ConflictError",
    "CredentialError",
    "DecodeError",
    "DppError",
    "EncodeError",
    "Event",
    "EventType",
    "HistoryEntry",
    "InvalidKeyError",
    "LogEntry",
    "LogProof",
    "Outcome",
    "PublicKey",
    "Report",
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
    "verify",
    "verify_named_kids",
]

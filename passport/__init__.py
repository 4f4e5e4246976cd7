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

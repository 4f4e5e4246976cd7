"""The keys a verification may believe: trusted roots, their certified delegates, and owner keys.

Built from a trust store plus what a bundle carries. Nothing from the bundle is believed until
its signature chains to a trusted root (certificates, revocation lists) or, for owner keys,
until it passes the point checks; an owner key only matters where the chain names its kid.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .certs import Certificate, RevocationList
from .cose import Sign1
from .errors import AuthorityError, DppError, InvalidKeyError, SignatureError
from .keys import PublicKey
from .trust import TrustedRoot, TrustStore

_REMEMBERED: Final = 4096
_verified: OrderedDict[tuple[bytes, bytes], None] = OrderedDict()
_lock = threading.Lock()


def verify_once(record: Sign1, key: PublicKey) -> None:
    """Verify ``record`` under ``key``, remembering recent successes by (bytes hash, key id).

    A verifier that checks many bundles sees the same delegation certificates and revocation
    lists again and again; the same bytes under the same key verify the same way every time.

    Raises:
        SignatureError: the signature does not verify.
    """
    marker = (record.digest, key.kid)
    with _lock:
        if marker in _verified:
            _verified.move_to_end(marker)
            return
    record.verify(key)
    with _lock:
        _verified[marker] = None
        while len(_verified) > _REMEMBERED:
            _verified.popitem(last=False)


@dataclass
class Keyring:
    """Key lookups for one verification; fill it with the ``add_*`` methods, in order."""

    trust: TrustStore
    certs: dict[bytes, list[Certificate]] = field(default_factory=dict)
    keys: dict[bytes, PublicKey] = field(default_factory=dict)
    revocations: dict[bytes, RevocationList] = field(default_factory=dict)

    def add_certificates(self, certs: Iterable[Certificate]) -> list[str]:
        """Accept certificates signed by trusted roots; return notes on those ignored.

        Raises:
            SignatureError: a certificate names a trusted root but its signature fails.
            InvalidKeyError: a certificate's subject key is unusable.
        """
        ignored = []
        for cert in certs:
            root = self.trust.root(cert.issuer)
            if root is None:
                ignored.append(
                    f"certificate '{cert.name}' is not signed by a trusted brand root "
                    "(delegates cannot delegate); ignored"
                )
                continue
            try:
                verify_once(cert.record, root.key)
                subject = PublicKey.from_bytes(cert.subject)
            except DppError as exc:
                kind = type(exc)
                raise kind(f"certificate '{cert.name}' from {root.brand}: {exc}") from exc
            if self.trust.root(subject.kid) is not None:
                raise InvalidKeyError(f"certificate '{cert.name}' delegates to a root key")
            self.certs.setdefault(subject.kid, []).append(cert)
            self.keys[subject.kid] = subject
        return ignored

    def add_revocations(
        self, lists: Iterable[RevocationList], known: Iterable[RevocationList] = ()
    ) -> list[str]:
        """Accept revocation lists signed by trusted roots, keeping the newest per root.

        ``known`` are lists the verifier already holds; a bundle's older list does not replace
        them (it is noted as a rollback).

        Raises:
            SignatureError: a list names a trusted root but its signature fails.
            AuthorityError: a list is not signed by a trusted root, or a root has two lists.
        """
        notes = []
        seen: set[bytes] = set()
        for revocations in lists:
            root = self._verified_root(revocations)
            if revocations.issuer in seen:
                raise AuthorityError(f"two revocation lists from {root.brand} in one bundle")
            seen.add(revocations.issuer)
            self.revocations[revocations.issuer] = revocations
        for revocations in known:
            if self.trust.root(revocations.issuer) is None:
                continue  # a list the verifier kept from a root it no longer trusts
            root = self._verified_root(revocations)
            current = self.revocations.get(revocations.issuer)
            if (
                current is not None
                and current.number == revocations.number
                and current.record.raw != revocations.record.raw
            ):
                notes.append(
                    f"{root.brand} signed two different revocation lists numbered "
                    f"{current.number}; using the one already known"
                )
                current = None
            if current is not None and current.number < revocations.number:
                notes.append(
                    f"revocation list {current.number} of {root.brand} is older than "
                    f"list {revocations.number} already known (rollback); using "
                    f"{revocations.number}"
                )
            if current is None or current.number < revocations.number:
                self.revocations[revocations.issuer] = revocations
        return notes

    def _verified_root(self, revocations: RevocationList) -> TrustedRoot:
        root = self.trust.root(revocations.issuer)
        if root is None:
            raise AuthorityError(
                f"revocation list {revocations.number} is not signed by a trusted brand root"
            )
        try:
            verify_once(revocations.record, root.key)
        except SignatureError as exc:
            raise SignatureError(
                f"revocation list {revocations.number} of {root.brand}: {exc}"
            ) from exc
        return root

    def add_keys(self, raw_keys: Iterable[bytes]) -> None:
        """Accept owner (and other) public keys after the point checks.

        Raises:
            InvalidKeyError: a key is malformed, non-canonical or of small order.
        """
        for raw in raw_keys:
            key = PublicKey.from_bytes(raw)
            self.keys.setdefault(key.kid, key)

    def public_key(self, kid: bytes) -> PublicKey | None:
        """The key with id ``kid``: a trusted root, a certified delegate, or a bundle key."""
        root = self.trust.root(kid)
        return root.key if root is not None else self.keys.get(kid)

    def root_of(self, cert: Certificate) -> TrustedRoot:
        """The trusted root that issued ``cert`` (only certificates from trusted roots are kept).

        Raises:
            AuthorityError: ``cert`` did not come from a trusted root.
        """
        root = self.trust.root(cert.issuer)
        if root is None:
            raise AuthorityError(f"certificate '{cert.name}' is not from a trusted root")
        return root

    def revoked_from(self, cert: Certificate) -> int | None:
        """When the root that issued ``cert`` revoked its key, if it did.

        Only that root's own list counts: a root revokes the keys it certified, never another
        root's delegates, whatever names the two roots go by.
        """
        revocations = self.revocations.get(cert.issuer)
        return None if revocations is None else revocations.revoked_from(cert.subject_kid)

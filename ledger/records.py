"""What a ledger's verifications rest on: trust roots, log keys, certificates, revocations, keys.

Each enters only once it verifies against the trust roots; the ``insert_*`` methods are for
records a caller has already verified, inside its own write transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from dpp_ledger import passport as pp
from dpp_ledger.passport import wire
from dpp_ledger.passport.certs import Certificate, RevocationList
from dpp_ledger.passport.checkpoint import NoteVerifier
from dpp_ledger.passport.errors import TrustStoreError
from dpp_ledger.passport.keyring import Keyring
from dpp_ledger.passport.trust import TrustedRoot, TrustStore, name_key

from .errors import NotFoundError
from .storage import Storage


class Records:
    """Trust roots, log verifier keys, certificates, revocation lists and keys of one ledger."""

    def __init__(self, database: Storage) -> None:
        self.db = database

    def add_root(self, brand: str, key: pp.PublicKey, prefixes: Sequence[str]) -> None:
        """Trust ``key`` as a brand root for the GS1 company ``prefixes``.

        Raises:
            TrustStoreError: the entry is malformed, or contradicts a root already trusted.
        """
        self.add_trust_store(TrustStore((TrustedRoot(brand, key, tuple(prefixes)),)))

    def add_trust_store(self, store: TrustStore) -> int:
        """Trust every root of ``store``, all or none; return how many were new.

        Raises:
            TrustStoreError: a root is already trusted under another name or other prefixes,
                or the roots together break a trust store's rules (a shared name, nested
                prefixes); nothing is added then.
        """
        with self.db.write():
            new = self.check_addition(store.roots)
            self.db.executemany(
                "INSERT INTO roots (kid, brand, key, prefixes) VALUES (?, ?, ?, ?)",
                [(r.key.kid, r.brand, r.key.raw, json.dumps(list(r.gs1_prefixes))) for r in new],
            )
        return len(new)

    def check_addition(self, roots: Iterable[TrustedRoot]) -> list[TrustedRoot]:
        """The roots among ``roots`` this ledger does not trust yet, if all of them may join it.

        Raises:
            TrustStoreError: as :meth:`add_trust_store`.
        """
        TrustStore(tuple(roots))  # the file's own rules first: its problems are its own
        current = {root.key.kid: root for root in self.roots()}
        new = []
        for root in roots:
            known = current.get(root.key.kid)
            if known is None:
                new.append(root)
            elif (name_key(known.brand), set(known.gs1_prefixes)) != (
                name_key(root.brand),
                set(root.gs1_prefixes),
            ):
                raise TrustStoreError(
                    f"root {known.describe()} is already trusted, for GS1 prefixes "
                    f"{', '.join(known.gs1_prefixes)}; to change its name or prefixes, "
                    f"remove it first (dpp trust remove {known.key.kid_hex[:16]})"
                )
        try:
            TrustStore((*current.values(), *new))
        except TrustStoreError as exc:
            raise TrustStoreError(f"refused, it would contradict what is trusted: {exc}") from None
        return new

    def remove_root(self, kid: bytes) -> None:
        """Stop trusting the root with key id ``kid``.

        Raises:
            NotFoundError: no such root.
        """
        with self.db.write():
            if self.db.execute("DELETE FROM roots WHERE kid = ?", [kid]).rowcount == 0:
                raise NotFoundError(f"no trusted root with key id {kid.hex()[:16]}…")

    def roots(self) -> tuple[TrustedRoot, ...]:
        """The stored roots as they are, without the trust store's checks (to list or repair)."""
        rows = self.db.execute("SELECT brand, key, prefixes FROM roots ORDER BY brand, kid")
        return tuple(
            TrustedRoot(brand, pp.PublicKey.from_bytes(key), tuple(json.loads(prefixes)))
            for brand, key, prefixes in rows
        )

    def log_verifiers(self) -> tuple[NoteVerifier, ...]:
        """The signed-note verifier keys of the logs this ledger trusts."""
        rows = self.db.execute("SELECT vkey FROM log_keys ORDER BY vkey")
        return tuple(NoteVerifier.from_vkey(vkey) for (vkey,) in rows)

    def trust(self) -> TrustStore:
        """The ledger's trust store.

        Raises:
            TrustStoreError: the stored roots break a trust store's rules (a ledger from before
                they were enforced): the message says which roots, and how to repair it.
        """
        try:
            return TrustStore(self.roots(), self.log_verifiers())
        except TrustStoreError as exc:
            raise TrustStoreError(
                f"this ledger's trust store is refused: {exc}. See `dpp trust list`, then "
                "`dpp trust remove KID` the root you did not mean to trust"
            ) from None

    def add_log_verifier(self, vkey: str) -> NoteVerifier:
        """Trust the checkpoints of the log whose signed-note verifier key is ``vkey``.

        Raises:
            LogError: a malformed verifier key.
        """
        verifier = NoteVerifier.from_vkey(vkey)
        with self.db.write():
            self.db.execute(
                "INSERT INTO log_keys (vkey) VALUES (?) ON CONFLICT DO NOTHING",
                [verifier.to_vkey()],
            )
        return verifier

    def add_certificate(self, cert: Certificate) -> bool:
        """Store a delegation certificate once it verifies against a trusted root.

        Returns whether it was new.

        Raises:
            AuthorityError: not signed by a trusted root.
            SignatureError, InvalidKeyError: a bad signature or subject key.
        """
        keyring = Keyring(self.trust())
        if keyring.add_certificates([cert]):
            raise pp.AuthorityError(f"certificate '{cert.name}' is not signed by a trusted root")
        with self.db.write():
            return self.insert_certs([cert]) > 0

    def add_revocations(self, revocations: RevocationList) -> None:
        """Store a revocation list, which must be newer than the issuer's stored one.

        Raises:
            AuthorityError: not from a trusted root, or not newer than the stored list.
            SignatureError: a bad signature.
        """
        Keyring(self.trust()).add_revocations([revocations])
        with self.db.write():
            current = self.db.execute(
                "SELECT max(number) FROM revocations WHERE issuer = ?", [revocations.issuer]
            ).fetchone()[0]
            if current is not None and revocations.number <= current:
                raise pp.AuthorityError(
                    f"revocation list {revocations.number} is not newer "
                    f"than the stored list {current}"
                )
            self.insert_revocations([revocations])

    def revocations(self) -> tuple[RevocationList, ...]:
        """The newest stored revocation list of each issuer."""
        rows = self.db.execute(
            "SELECT cose FROM revocations r WHERE number = "
            "(SELECT max(number) FROM revocations WHERE issuer = r.issuer)"
        )
        return tuple(wire.parse_revocations(row[0]) for row in rows)

    def add_key(self, key: pp.PublicKey) -> None:
        """Store a public key (an owner's) so bundles can carry it."""
        with self.db.write():
            self.insert_keys([key.raw])

    def insert_certs(self, certs: Iterable[Certificate]) -> int:
        """Store certificates from trusted roots (already verified); return how many were new."""
        trust = self.trust()
        rows = [
            (c.record.digest, c.subject_kid, c.issuer, c.record.raw)
            for c in certs
            if trust.root(c.issuer) is not None
        ]
        return self.db.executemany(
            "INSERT INTO certs (hash, subject, issuer, cose) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            rows,
        )

    def insert_keys(self, keys: Iterable[bytes]) -> None:
        """Store raw public keys (already checked)."""
        self.db.executemany(
            "INSERT INTO keys (kid, key) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(pp.kid_of(k), k) for k in keys],
        )

    def insert_revocations(self, lists: Iterable[RevocationList]) -> None:
        """Store revocation lists (already verified)."""
        self.db.executemany(
            "INSERT INTO revocations (issuer, number, cose) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(r.issuer, r.number, r.record.raw) for r in lists],
        )

    def certificates_for(self, kid: bytes) -> list[Certificate]:
        """Stored certificates whose delegate key is ``kid``."""
        rows = self.db.execute("SELECT cose FROM certs WHERE subject = ?", [kid])
        return [wire.parse_certificate(raw) for (raw,) in rows]

    def certificates_from(self, issuer: bytes) -> list[Certificate]:
        """Stored certificates that the root with key id ``issuer`` signed."""
        rows = self.db.execute("SELECT cose FROM certs WHERE issuer = ?", [issuer])
        return [wire.parse_certificate(raw) for (raw,) in rows]

    def key(self, kid: bytes) -> bytes | None:
        """The stored raw public key with id ``kid``, if any."""
        row = self.db.execute("SELECT key FROM keys WHERE kid = ?", [kid]).fetchone()
        return None if row is None else bytes(row[0])

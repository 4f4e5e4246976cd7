"""Audiences in a ledger: for each trusted brand root, who may open its restricted data.

A brand's own home adds its audiences (``dpp audience new``/``add``) and publishes them in
its trust file; a home that trusts the file (``dpp trust add``) learns them, so that a
repairer recording for that brand seals to the brand's authorities, and a verifier can tell
a key the brand publishes from one it does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from dpp_ledger import passport as pp
from dpp_ledger.passport.recipients import check_audience_name
from dpp_ledger.passport.trust import TrustStore

from .errors import NotFoundError
from .storage import Storage


class Audiences:
    """The ``audiences`` table of one ledger."""

    def __init__(self, database: Storage) -> None:
        self.db = database

    def add(self, root: bytes, name: str, key: pp.RecipientKey) -> bool:
        """Add ``key`` to audience ``name`` of the trusted root ``root``; False if it was there.

        Raises:
            NotFoundError: no trusted root with that key id.
            SchemaError: a bad name, or an audience that would hold too many keys.
        """
        with self.db.write():
            self.db.ensure_restricted_tables()
            if self.db.execute("SELECT 1 FROM roots WHERE kid = ?", [root]).fetchone() is None:
                raise NotFoundError(f"no trusted brand root {root.hex()[:16]}… in this ledger")
            current = [a for a in self.of_root(root) if a.name == name]
            keys = (*(current[0].keys if current else ()), key)
            if current and current[0].key(key.kid) is not None:
                return False
            pp.Audience.of(name, keys)  # the name and the bound on keys
            self.db.execute(
                "INSERT INTO audiences (root, name, kid, key) VALUES (?, ?, ?, ?)",
                [root, name, key.kid, key.raw],
            )
        return True

    def add_published(self, store: TrustStore) -> int:
        """Learn the audiences a trust file publishes for roots this ledger trusts.

        Returns how many keys were new.

        Raises:
            SchemaError: an audience would hold too many keys.
        """
        added = 0
        for root in store.roots:
            for audience in root.audiences:
                for key in audience.keys:
                    added += self.add(root.key.kid, audience.name, key)
        return added

    def of_root(self, root: bytes) -> tuple[pp.Audience, ...]:
        """The audiences of one root, by name."""
        if not self.db.has_restricted_tables():
            return ()
        rows = self.db.execute(
            "SELECT name, key FROM audiences WHERE root = ? ORDER BY name, kid", [root]
        ).fetchall()
        return _grouped(rows)

    def listed(self) -> list[tuple[bytes, pp.Audience]]:
        """Every root's audiences: (root key id, audience)."""
        if not self.db.has_restricted_tables():
            return []
        roots = [r for (r,) in self.db.execute("SELECT DISTINCT root FROM audiences ORDER BY root")]
        return [(bytes(r), a) for r in roots for a in self.of_root(bytes(r))]

    def attach(self, store: TrustStore) -> TrustStore:
        """``store`` with each root's stored audiences (a ledger's roots are stored without)."""
        found = dict(self._by_root())
        if not found:
            return store
        roots = tuple(replace(r, audiences=found.get(r.key.kid, r.audiences)) for r in store.roots)
        return TrustStore(roots, store.logs)

    def _by_root(self) -> Iterable[tuple[bytes, tuple[pp.Audience, ...]]]:
        listed = self.listed()
        for root in dict.fromkeys(r for r, _ in listed):
            yield root, tuple(a for r, a in listed if r == root)


SealPlan = Mapping[str, Sequence[str]]  # field -> the names of the audiences it is sealed to


def audiences_for(trust: TrustStore, gtin: str, plan: SealPlan) -> dict[str, list[pp.Audience]]:
    """The audiences each field of ``plan`` is sealed to, as the item's brand publishes them.

    Raises:
        TrustError: no trusted root covers the GTIN.
        NotFoundError: the brand has no audience of a name the plan gives.
    """
    root = trust.root_for(gtin) if isinstance(gtin, str) and len(gtin) == 14 else None
    if root is None:
        raise pp.TrustError(f"no trusted brand root covers GTIN {gtin!r}: whose audiences?")
    found: dict[str, list[pp.Audience]] = {}
    for field, names in plan.items():
        for name in names:
            audience = root.audience(name)
            if audience is None:
                known = ", ".join(a.name for a in root.audiences) or "none yet"
                raise NotFoundError(
                    f"{root.brand} has no audience {name!r} (it has: {known}); "
                    "make one with `dpp audience new` or `dpp audience add`"
                )
            found.setdefault(field, []).append(audience)
    return found


def sign_planned(
    key: pp.SigningKey,
    kind: str,
    data: Mapping[str, Any],
    *,
    trust: TrustStore,
    gtin: str,
    plan: SealPlan,
    kem: pp.Kem,
    time: int,
    after: pp.Event | None,
) -> tuple[pp.Event, tuple[pp.Box, ...]]:
    """Sign an event, with the fields of ``plan`` sealed to the item's brand's audiences.

    Raises:
        DppError: as :func:`audiences_for` and :func:`passport.sign_sealed` (nothing signed).
    """
    if not plan:
        return pp.sign_event(key, kind, data, time=time, after=after), ()
    seal_to = audiences_for(trust, gtin, plan)
    return pp.sign_sealed(key, kind, data, seal_to=seal_to, time=time, after=after, kem=kem)


def seal_plan(value: object) -> dict[str, list[str]]:
    """A seal plan from an item's ``seal`` entry: {field: audience name, or a list of names}.

    Raises:
        SchemaError: anything else.
    """
    if not isinstance(value, Mapping):
        raise pp.SchemaError("seal: a map of field names to audience names")
    plan: dict[str, list[str]] = {}
    for field, names in value.items():
        listed = [names] if isinstance(names, str) else names
        if not isinstance(field, str) or not isinstance(listed, list) or not listed:
            raise pp.SchemaError(f"seal: {field!r} needs one or more audience names")
        plan[field] = [check_audience_name(n) for n in listed]
    return plan


def _grouped(rows: Iterable[tuple[str, bytes]]) -> tuple[pp.Audience, ...]:
    names: dict[str, list[pp.RecipientKey]] = {}
    for name, key in rows:
        names.setdefault(name, []).append(pp.RecipientKey.from_bytes(bytes(key)))
    return tuple(pp.Audience(name, tuple(keys)) for name, keys in names.items())

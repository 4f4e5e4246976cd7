"""The demo's restricted-data chapter: sealed, seen as restricted, opened, tampered, erased.

A workshop sealed to authorities and repair information to repairers; a buyer who sees only
that they are restricted, an authority who opens its part, a tampered box caught, and an
erasure that leaves the chain and the log as they were.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dpp_ledger import passport as pp
from dpp_ledger.passport.report import Access

from .audiences import sign_planned
from .disclosures import compact
from .files import read_bundle, read_trust, write_atomic
from .recipients import RecipientStore

if TYPE_CHECKING:
    from .demo import _Story

PASSPHRASE = "demo only: not a real secret"  # noqa: S105 - the demo's throwaway keys
WORKSHOP = "Laboratorio Via Maggio 7, Firenze"
PRODUCT: dict[str, Any] = {
    "gtin": "03614270000423",
    "serial": "MX-SEALED-1",
    "brand": "Maison Example",
    "model": "Sac 25 handbag",
    "made_in": "IT",
    "site": WORKSHOP,
    "repair_information": "Lining: unpick the base seam (waxed linen 332). Handles: part H-25.",
    "compliance_documents": ["EU declaration of conformity MX-2026-114"],
}
PLAN = {
    "site": ["authorities"],
    "compliance_documents": ["authorities"],
    "repair_information": ["repairers"],
}


def play(s: _Story) -> None:
    """Run the chapter on the demo's ledger; say what happened; expect what must hold."""
    authority = _audiences(s)
    path = _issue(s)
    trust = read_trust(s.dir / "trust.json")
    now = int(time.time())
    bundle = read_bundle(path)
    seen = pp.verify(bundle, trust, now=now)
    s.expect(
        bool(seen) and {r.access for r in seen.restricted} == {Access.RESTRICTED},
        "a buyer without a key sees only restricted fields",
    )
    s.expect(WORKSHOP.encode() not in path.read_bytes(), "no sealed value in the bundle")
    s.say(
        "Buyer sees",
        f"{path.name}: {seen.outcome}; "
        + "; ".join(r.describe() for r in seen.restricted)
        + " (no value in the file)",
    )
    opened = pp.verify(bundle, trust, now=now, open_with=[authority])
    shown = {r.field: r.value for r in opened.restricted if r.access is Access.VERIFIED}
    s.expect(shown.get("site") == WORKSHOP, "the authority opens the workshop")
    s.say(
        "Authority opens",
        f"site: {shown.get('site')} and {len(shown) - 1} more, each verified against the "
        "digest the factory signed; the repair information stays sealed to repairers",
    )
    _tampered(s, bundle, trust, authority, now)
    _erase(s, bundle.events[0].pid)


def _audiences(s: _Story) -> pp.RecipientSecret:
    """The brand makes its repairers' key; the authority keeps its own key elsewhere."""
    mine = RecipientStore(s.dir / "home" / "keys", scrypt_log_n=15)
    theirs = RecipientStore(s.dir / "authority" / "keys", scrypt_log_n=15)
    repairers = mine.create("repairers", lambda: PASSPHRASE).public_key
    authorities = theirs.create("authorities", lambda: PASSPHRASE).public_key
    root = s.k["maison"].kid
    s.ledger.audiences.add(root, "repairers", repairers)
    s.ledger.audiences.add(root, "authorities", authorities)  # only the public key travels
    write_atomic(s.dir / "trust.json", s.ledger.trust().to_json().encode())
    s.say(
        "Restricted data",
        "the authority makes its own key and hands the brand its public key; the brand "
        "publishes audiences 'authorities' and 'repairers' in trust.json",
    )
    return theirs.load("authorities", lambda: PASSPHRASE)


def _issue(s: _Story) -> Path:
    event, boxes = sign_planned(
        s.k["factory"],
        "production",
        PRODUCT,
        trust=s.ledger.trust(),
        gtin=PRODUCT["gtin"],
        plan=PLAN,
        kem=pp.Kem.MLKEM768_X25519,
        time=s.at(200),
        after=None,
    )
    s.ledger.append(event, boxes=boxes)
    s.ledger.checkpoints.sign()
    path = s.dir / "bundles" / "sealed-handbag.dpp"
    write_atomic(path, s.ledger.export(event.pid))
    s.say(
        "Sealed",
        f"{PRODUCT['serial']}: workshop and documents sealed to authorities, repair "
        f"information to repairers (ML-KEM-768 + X25519); the passport signs only "
        f"{len(event.data['sealed'])} salted digests",
    )
    return path


def _tampered(
    s: _Story, bundle: pp.Bundle, trust: pp.TrustStore, key: pp.RecipientSecret, now: int
) -> None:
    box = next(b for b in bundle.disclosures if b.kid == key.kid)  # one the reader can open
    bad = dataclasses.replace(box, ct=box.ct[:-1] + bytes([box.ct[-1] ^ 1]))
    others = tuple(b for b in bundle.disclosures if b is not box)
    forged = dataclasses.replace(bundle, disclosures=(bad, *others))
    report = pp.verify(forged, trust, now=now, open_with=[key])
    caught = not report and not report.restricted
    s.expect(caught, "a tampered box shows nothing")
    why = report.failures[0].detail if report.failures else "not caught"
    s.say("Tampered box caught", f"{report.outcome}: {why}; nothing shown")


def _erase(s: _Story, pid: bytes) -> None:
    gone = [b.ct for b in s.ledger.bundle(pid).disclosures if b.field == "site"]
    root = s.ledger.log.root(s.ledger.log.size())
    records = s.ledger.disclosures.erase(
        s.ledger.chain(pid), "site", reason="GDPR Art. 17 request #114", time=s.at(0)
    )
    compact(s.ledger.db, vacuum=True)
    # What a reader of the storage finds: the stored boxes, and on SQLite the file's bytes.
    files = b"".join(bytes(r[0]) for r in s.ledger.db.execute("SELECT ct FROM disclosures"))
    if isinstance(s.ledger.location, Path):
        wal = s.ledger.path.with_name(s.ledger.path.name + "-wal")
        files += s.ledger.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    report = s.ledger.verify(pid)
    s.expect(
        bool(report)
        and not any(c in files for c in gone)
        and s.ledger.log.root(s.ledger.log.size()) == root,
        "erasure leaves no bytes, and the chain and the log as they were",
    )
    s.say(
        "Erasure",
        f"{records[0].describe()}; its sealed bytes are gone from the ledger, the "
        f"passport still verifies ({report.outcome}) and the log is unchanged. Copies handed "
        "out before cannot be recalled",
    )

"""Restricted data in a real ledger file: boxes stored beside the chain, exported, imported,
and erased so that their bytes are gone from the file while chain, log and check stay green.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import Ledger, check_ledger, issue_many
from dpp_ledger.ledger.audiences import audiences_for
from dpp_ledger.ledger.disclosures import compact
from dpp_ledger.ledger.recipients import RecipientStore
from dpp_ledger.passport.report import Access
from tests import independent
from tests.ledger_helpers import clock, new_ledger, snapshot, store_chain
from tests.world import DAY, PRODUCT, T0, World, recipient

W = World()
NewPlace = Callable[..., Path | str]  # a ledger file, or a PostgreSQL URL
SITE = "Laboratorio Via Maggio 7"
REPAIR = "Open the lining at the base seam; spare handles: ref. H-25."
DATA: dict[str, Any] = {**PRODUCT, "site": SITE, "repair_information": REPAIR}
ORIGIN = "maison.example/log"


def _sealed_ledger(path: Path) -> tuple[Ledger, list[pp.Event], tuple[pp.Box, ...]]:
    ledger = new_ledger(path, W)
    ledger.audiences.add_published(W.trust)
    ledger.checkpoints.set_log(ORIGIN, pp.SigningKey.from_seed(bytes(32)))
    seal_to = audiences_for(
        ledger.trust(),
        PRODUCT["gtin"],
        {"site": ["authorities"], "repair_information": ["repairers"]},
    )
    made, boxes = pp.sign_sealed(
        W.factory,
        "production",
        DATA,
        seal_to=seal_to,
        time=T0,
        after=None,
        kem=pp.Kem.MLKEM768_X25519,
    )
    ledger.append(made, boxes=boxes)
    sale = pp.sign_event(
        W.boutique,
        "sale",
        {"owner": W.alice.kid.hex(), "channel": "boutique"},
        time=T0 + DAY,
        after=made,
    )
    ledger.append(sale, keys=[W.alice.public_key])
    ledger.checkpoints.sign()
    return ledger, [made, sale], boxes


def _files(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[Ledger, list[pp.Event], tuple[pp.Box, ...]]:
    ledger, events, boxes = _sealed_ledger(tmp_path / "ledger.db")
    yield ledger, events, boxes
    ledger.close()


def test_boxes_are_stored_beside_the_chain_and_exported_with_it(sealed: Any) -> None:
    ledger, events, boxes = sealed
    bundle = ledger.bundle(events[0].pid)
    assert set(bundle.disclosures) == set(boxes)
    report = pp.verify(
        ledger.export(events[0].pid), ledger.trust(), now=T0 + 2 * DAY, open_with=[W.authority]
    )
    assert report.outcome is pp.Outcome.VALID, report.failures
    assert {r.field: r.value for r in report.restricted} == {
        "site": SITE,
        "repair_information": None,
    }
    assert SITE.encode() not in _files(ledger.path)
    assert REPAIR.encode() not in _files(ledger.path)


def test_an_imported_bundle_brings_its_boxes(sealed: Any, new_location: NewPlace) -> None:
    ledger, events, boxes = sealed
    other = new_ledger(new_location("other"), W)
    with other:
        result = other.import_bundle(ledger.export(events[0].pid))
        assert (result.new_events, result.new_boxes) == (2, len(boxes))
        assert set(other.bundle(events[0].pid).disclosures) == set(boxes)


def test_erasure_removes_the_bytes_and_leaves_chain_log_and_check_green(sealed: Any) -> None:
    ledger, events, boxes = sealed
    pid = events[0].pid
    before = ledger.export(pid)
    site = [b for b in boxes if b.field == "site"]
    assert all(b.ct in _files(ledger.path) for b in site)
    root = ledger.log.root(ledger.log.size())
    records = ledger.disclosures.erase(
        ledger.chain(pid), "site", reason="GDPR request 2026-114", time=T0 + 3 * DAY
    )
    assert compact(ledger.db, vacuum=False)
    assert [(r.seq, r.field) for r in records] == [(0, "site")]
    files = _files(ledger.path)
    assert all(b.ct not in files for b in site)  # zeroed by secure_delete, the WAL truncated
    assert SITE.encode() not in files  # never there in clear, before or after
    assert all(b.ct in files for b in boxes if b.field != "site")
    assert ledger.log.root(ledger.log.size()) == root
    after = ledger.export(pid)
    assert b"".join(b.ct for b in site) not in after
    report = ledger.verify(pid, open_with=[W.authority, W.repair_shop])
    assert report.outcome is pp.Outcome.VALID, report.failures
    view = {(r.field, r.access, r.note) for r in report.restricted}
    assert ("site", Access.ERASED, "2026-01-04T00:00:00Z: GDPR request 2026-114") in view
    assert ("repair_information", Access.VERIFIED, "") in view
    assert check_ledger(ledger.path, jobs=1, now=T0 + 4 * DAY).problems == ()
    roots = [W.brand.public_key.raw, W.rival.public_key.raw]
    assert independent.check(before, roots) == independent.check(after, roots) == 2


def test_vacuum_rewrites_the_file_without_the_erased_bytes(sealed: Any) -> None:
    ledger, events, boxes = sealed
    ledger.disclosures.erase(ledger.chain(events[0].pid), "repair_information", reason="r", time=T0)
    assert compact(ledger.db, vacuum=True)
    files = _files(ledger.path)
    assert all(b.ct not in files for b in boxes if b.field == "repair_information")
    assert sqlite3.connect(ledger.path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_old_copy_never_brings_erased_boxes_back(sealed: Any) -> None:
    ledger, events, _ = sealed
    old = ledger.export(events[0].pid)
    ledger.disclosures.erase(ledger.chain(events[0].pid), "site", reason="r", time=T0)
    result = ledger.import_bundle(old)
    assert result.new_boxes == 0
    assert {b.field for b in ledger.bundle(events[0].pid).disclosures} == {"repair_information"}


@pytest.mark.parametrize(
    ("field", "reason", "error", "match"),
    [
        ("care", "r", pp.DppError, "holds no sealed care"),
        ("site", "", pp.SchemaError, "reason"),
        ("site", "two\nlines", pp.SchemaError, "reason"),
        ("site", "x" * 501, pp.SchemaError, "reason"),
    ],
    ids=["not-sealed", "no-reason", "two-lines", "too-long"],
)
def test_a_refused_erasure_changes_nothing(
    sealed: Any, field: str, reason: str, error: type[Exception], match: str
) -> None:
    ledger, events, _ = sealed
    before = snapshot(ledger.path)
    with pytest.raises(error, match=match):
        ledger.disclosures.erase(ledger.chain(events[0].pid), field, reason=reason, time=T0)
    assert snapshot(ledger.path) == before


def test_erasing_twice_names_the_first_erasure(sealed: Any) -> None:
    ledger, events, _ = sealed
    chain = ledger.chain(events[0].pid)
    ledger.disclosures.erase(chain, "site", reason="first", time=T0)
    before = snapshot(ledger.path)
    with pytest.raises(pp.DppError, match=r"already erased .*first"):
        ledger.disclosures.erase(chain, "site", reason="again", time=T0)
    assert snapshot(ledger.path) == before


def test_a_version_2_file_without_the_tables_reads_and_gains_them_on_first_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    ledger = new_ledger(path, W)
    store_chain(ledger, W, W.sold())
    for table in ("disclosures", "erasures", "audiences"):
        ledger.db.execute(f"DROP TABLE {table}")  # as an earlier dpp made the file
    ledger.close()
    with Ledger.open(path, clock=clock()) as old:
        pid = W.sold()[0].pid
        assert old.bundle(pid).disclosures == ()
        assert old.verify(pid).outcome is pp.Outcome.VALID
        assert old.disclosures.erasures(pid) == ()
        with pytest.raises(pp.DppError, match="holds no sealed site"):
            old.disclosures.erase(old.chain(pid), "site", reason="r", time=T0)
        assert "disclosures" not in old.db.table_names()  # a refused write created nothing
        old.audiences.add(W.brand.kid, "authorities", W.authority.public_key)
        assert {"disclosures", "erasures", "audiences"} <= set(old.db.table_names())
        assert check_ledger(path, jobs=1, now=T0 + 400 * DAY).problems == ()


def test_bulk_issuance_seals_what_each_item_names(new_location: NewPlace) -> None:
    with new_ledger(new_location("ledger"), W) as ledger:
        ledger.audiences.add_published(W.trust)
        items = [
            {**DATA, "serial": "B-1", "seal": {"site": "authorities"}},
            {**DATA, "serial": "B-2"},
            {**DATA, "serial": "B-3", "seal": {"gtin": "authorities"}},
            {**DATA, "serial": "B-4", "seal": {"site": "nobody"}},
        ]
        summary = issue_many(ledger, W.factory, items, time=T0)
        assert [i for i, _ in summary.issued] == [0, 1]
        reasons = dict(summary.refused)
        assert "'gtin' may not be sealed" in reasons[2]
        assert "no audience 'nobody'" in reasons[3]
        first = ledger.verify(summary.issued[0][1], open_with=[W.authority])
        assert [(r.field, r.value) for r in first.restricted] == [("site", SITE)]
        assert "sealed" not in ledger.chain(summary.issued[1][1])[0].data


def test_audiences_travel_in_the_trust_file(new_location: NewPlace) -> None:
    with new_ledger(new_location("ledger"), W) as ledger:
        assert ledger.trust().root(W.brand.kid).audiences == ()  # type: ignore[union-attr]
        assert ledger.audiences.add(W.brand.kid, "authorities", W.authority.public_key)
        assert not ledger.audiences.add(W.brand.kid, "authorities", W.authority.public_key)
        text = ledger.trust().to_json()
        with pytest.raises(pp.DppError, match="no trusted brand root"):
            ledger.audiences.add(bytes(32), "authorities", W.authority.public_key)
    again = pp.TrustStore.from_json(text).root(W.brand.kid)
    assert again is not None
    assert [(a.name, a.keys) for a in again.audiences] == [
        ("authorities", (W.authority.public_key,))
    ]


def test_recipient_keys_live_encrypted_in_the_key_store(tmp_path: Path) -> None:
    store = RecipientStore(tmp_path / "keys", scrypt_log_n=14)
    info = store.create("authorities", lambda: "pass phrase")
    assert (info.path.stat().st_mode & 0o777) == 0o600
    assert store.load("authorities", lambda: "pass phrase").public_key == info.public_key
    assert info.path.suffix == ".hpke"
    assert store.list() == [info]
    secret = store.load("authorities", lambda: "pass phrase").secret()
    assert secret.hex() not in info.path.read_text()
    with pytest.raises(pp.DppError, match="wrong passphrase"):
        store.load("authorities", lambda: "other")
    with pytest.raises(pp.DppError, match="already exists"):
        store.create("authorities", lambda: "pass phrase")
    info.path.chmod(0o644)
    with pytest.raises(pp.DppError, match="group or others"):
        store.load("authorities", lambda: "pass phrase")
    assert recipient("x").kid != info.public_key.kid


def test_check_reports_boxes_of_no_stored_event(sealed: Any) -> None:
    ledger, _, boxes = sealed
    stray = boxes[0]
    ledger.db.execute(
        "INSERT INTO disclosures (event, digest, field, audience, kem, kid, ct) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [bytes(32), stray.digest, stray.field, stray.audience, str(stray.kem), stray.kid, stray.ct],
    )
    problems = check_ledger(ledger.path, jobs=1, now=T0 + 4 * DAY).problems
    assert [p.message for p in problems] == ["1 sealed boxes belong to no stored event"]

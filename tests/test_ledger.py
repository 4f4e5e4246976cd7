"""The ledger on real SQLite files and PostgreSQL schemas: append, lookup, export, import,
forks, clones, refusals."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import (
    AmbiguousError,
    CloneError,
    ForkError,
    Ledger,
    MovedOnError,
    NotFoundError,
)
from dpp_ledger.ledger.db import PAGE_SIZE
from dpp_ledger.passport import gs1
from dpp_ledger.passport.errors import StorageError
from dpp_ledger.passport.report import Outcome
from tests.ledger_helpers import clock, new_ledger, snapshot, store_chain
from tests.vectors import generate
from tests.world import DAY, GTIN, PRODUCT, T0, World

W = World()


Place = Path | str  # a ledger file, or a PostgreSQL URL
NewPlace = Callable[..., Place]


@pytest.fixture
def ledger_path(new_location: NewPlace) -> Place:
    """The world's sold passport in a ledger, on each backend."""
    path = new_location()
    with new_ledger(path, W) as ledger:
        store_chain(ledger, W, W.sold())
    return path


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Path:
    """The same in a SQLite file, for what only a file has (pages, WAL, sqlite3 access)."""
    path = tmp_path / "ledger.db"
    with new_ledger(path, W) as ledger:
        store_chain(ledger, W, W.sold())
    return path


def test_a_stored_chain_exports_to_a_bundle_that_verifies_offline(ledger_path: Place) -> None:
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        pid = W.sold()[0].pid
        row = ledger.passport(pid)
        assert (row.brand, row.gtin, row.serial, row.length) == (
            "Maison Example",
            GTIN,
            PRODUCT["serial"],
            3,
        )
        data = ledger.export(pid)
    report = pp.verify(data, W.trust, now=T0 + 400 * DAY)
    assert report.outcome is Outcome.VALID, report.failures
    assert report.owner == W.bob.kid
    bundle = pp.parse_bundle(data)
    assert {c.name for c in bundle.certs} == {"Atelier Firenze", "Boutique Paris"}
    assert set(bundle.keys) == {W.alice.public_key.raw, W.bob.public_key.raw}


def test_lookup_by_pid_prefix_link_and_identifier(ledger_path: Place) -> None:
    pid = W.sold()[0].pid
    with Ledger.open(ledger_path) as ledger:
        assert ledger.resolve(pid.hex()) == pid
        assert ledger.resolve(pid.hex()[:8]) == pid
        assert ledger.resolve(pid.hex()[:12].upper()) == pid
        assert ledger.resolve(gs1.digital_link("id.example", GTIN, PRODUCT["serial"])) == pid
        assert ledger.resolve(gs1.digital_link("id.example", GTIN, "MX-000123", pid)) == pid
        assert ledger.find(GTIN[1:], PRODUCT["serial"]) == pid  # GTIN-13 form
        with pytest.raises(NotFoundError, match="at least 8 hex digits"):
            ledger.resolve(pid.hex()[:7])
        with pytest.raises(NotFoundError, match="no passport id starts with"):
            ledger.resolve("00000000")
        with pytest.raises(NotFoundError, match="no passport for GTIN"):
            ledger.resolve(gs1.digital_link("id.example", GTIN, "NOPE"))
        with pytest.raises(NotFoundError):
            ledger.resolve("not a passport")
        with pytest.raises(pp.SchemaError):
            ledger.resolve("https://id.example/01/123/21/x")


def test_an_ambiguous_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two ids sharing 8 hex digits take ~65,000 passports to find: shorten the minimum instead.
    monkeypatch.setattr("dpp_ledger.ledger.lookup.MIN_PREFIX", 2)
    with new_ledger(tmp_path / "l.db", W) as ledger:
        pids = []
        for i in range(40):
            event = pp.issue(W.factory, {"gtin": GTIN, "serial": f"A{i}"}, time=T0)
            ledger.append(event)
            pids.append(event.pid.hex())
        shared = next(p[:2] for p in pids if sum(q.startswith(p[:2]) for q in pids) > 1)
        with pytest.raises(AmbiguousError, match=f"more than one passport id starts with {shared}"):
            ledger.resolve(shared)
        unique = next(p for p in pids if sum(q.startswith(p[:2]) for q in pids) == 1)
        assert ledger.resolve(unique[:2]).hex() == unique


def test_appending_the_same_position_twice_moves_on(ledger_path: Place) -> None:
    sold = W.sold()
    repair = pp.sign_event(
        W.repairer, "repair", {"work": "strap"}, time=sold[-1].time + DAY, after=sold[-1]
    )
    other = pp.sign_event(
        W.repairer, "repair", {"work": "zip"}, time=sold[-1].time + DAY, after=sold[-1]
    )
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        ledger.append(repair)
        with pytest.raises(MovedOnError, match="moved on: it now has 4 events; re-read it"):
            ledger.append(other)
        assert ledger.passport(sold[0].pid).length == 4


def test_an_invalid_append_is_refused_and_changes_nothing(ledger_path: Place) -> None:
    sold = W.sold()
    forged = pp.sign_event(
        W.alice, "resale", {"to": W.carol.kid.hex()}, time=sold[-1].time + 1, after=sold[-1]
    )
    before = snapshot(ledger_path)
    with (
        Ledger.open(ledger_path, clock=clock()) as ledger,
        pytest.raises(pp.AuthorityError, match="not by the current owner"),
    ):
        ledger.append(forged, keys=[W.carol.public_key])
    assert snapshot(ledger_path) == before


def test_import_into_another_ledger_then_again_is_a_no_op(
    ledger_path: Place, new_location: NewPlace
) -> None:
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        data = ledger.export(W.sold()[0].pid)
    other = new_location("other")
    with Ledger.create(other, clock=clock()) as mirror:
        mirror.records.add_trust_store(W.trust)
        result = mirror.import_bundle(data)
        assert result.new_events == 3
        assert mirror.export(result.pid) == data
    before = snapshot(other)
    with Ledger.open(other, clock=clock()) as mirror:
        assert mirror.import_bundle(data).new_events == 0
    assert snapshot(other) == before


def test_importing_an_older_bundle_changes_nothing(ledger_path: Place) -> None:
    older = pp.bundle_to_bytes(W.bundle(W.sold()[:2]))
    before = snapshot(ledger_path)
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        assert ledger.import_bundle(older).new_events == 0
        assert ledger.passport(W.sold()[0].pid).length == 3
    assert snapshot(ledger_path) == before


def test_importing_a_longer_bundle_appends_the_new_events(ledger_path: Place) -> None:
    longer = W.then(W.sold(), W.bob, "resale", {"to": W.carol.kid.hex()})
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        result = ledger.import_bundle(pp.bundle_to_bytes(W.bundle(longer)))
        assert result.new_events == 1
        assert ledger.verify(longer[0].pid).owner == W.carol.kid


def test_a_conflicting_bundle_stores_only_the_fork_evidence(ledger_path: Place) -> None:
    made = W.sold()[:1]
    double = W.then(made, W.boutique, "sale", {"owner": W.carol.kid.hex(), "channel": "boutique"})
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        counts = ledger.counts()
        with pytest.raises(ForkError, match=r"seq 1 .* kept as evidence"):
            ledger.import_bundle(pp.bundle_to_bytes(W.bundle(double)))
        after = ledger.counts()
        assert after == {**counts, "evidence": 1}
        (evidence,) = ledger.evidence()
        assert {evidence.first.raw, evidence.second.raw} == {W.sold()[1].raw, double[1].raw}
        assert ledger.passport(made[0].pid).length == 3


def test_a_second_passport_for_one_identifier_stores_only_the_clone_evidence(
    ledger_path: Place,
) -> None:
    clone = W.issue({**PRODUCT, "model": "copy"}, signer=W.brand)
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        with pytest.raises(CloneError, match="already has passport"):
            ledger.import_bundle(pp.bundle_to_bytes(W.bundle(clone)))
        assert ledger.counts()["passports"] == 1
        assert [e.kind for e in ledger.evidence()] == ["clone"]
        with pytest.raises(CloneError):
            ledger.append(clone[0])


@pytest.mark.parametrize(
    "name", [n for n, (_, outcome, _) in generate.build().items() if outcome == "invalid"]
)
def test_every_invalid_vector_is_refused_and_changes_nothing(ledger_path: Place, name: str) -> None:
    data = generate.build()[name][0]
    before = snapshot(ledger_path)
    with Ledger.open(ledger_path, clock=clock()) as ledger, pytest.raises(pp.DppError):
        ledger.import_bundle(data)
    assert snapshot(ledger_path) == before


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x81" * 100_000, b"\xa0", b"garbage" * 50])
def test_garbage_imports_are_refused_and_change_nothing(ledger_path: Place, data: bytes) -> None:
    before = snapshot(ledger_path)
    with Ledger.open(ledger_path) as ledger, pytest.raises(pp.DecodeError):
        ledger.import_bundle(data)
    assert snapshot(ledger_path) == before


def test_a_bundle_from_an_untrusted_brand_is_refused(new_location: NewPlace) -> None:
    with Ledger.create(new_location()) as ledger:
        ledger.records.add_trust_store(
            pp.TrustStore.of([r for r in W.trust.roots if r.brand == "Rival"])
        )
        with pytest.raises(pp.SignatureError, match="not a trusted root"):
            ledger.import_bundle(pp.bundle_to_bytes(W.bundle(W.sold())))
        assert ledger.counts()["events"] == 0


def test_the_schema_refuses_update_and_delete_of_events(sqlite_ledger: Path) -> None:
    conn = sqlite3.connect(sqlite_ledger)
    for statement in (
        "UPDATE events SET cose = x'00'",
        "DELETE FROM events",
        "UPDATE chains SET idx = 1",
        "DELETE FROM chains",
        "UPDATE event_hashes SET idx = 1",
        "DELETE FROM event_hashes",
        "UPDATE passports SET serial = 'other'",
        "DELETE FROM passports",
        "UPDATE brands SET name = 'other'",
        "DELETE FROM brands",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    # A fork cannot be written: a second event at a stored (pid, seq) breaks the chain's key.
    sold = W.sold()
    fork = W.then(sold[:2], W.alice, "resale", {"to": W.carol.kid.hex()})[-1]
    assert (fork.pid, fork.seq) == (sold[2].pid, sold[2].seq)
    conn.execute("INSERT INTO events (idx, cose) VALUES (4, ?)", [fork.raw])
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO chains (pid, seq, idx) VALUES (?, ?, 4)", [fork.pid, fork.seq])
    conn.rollback()
    conn.close()


def test_revocation_lists_only_go_up(ledger_path: Place) -> None:
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        ledger.records.add_revocations(pp.revoke(W.brand, number=2, issued=T0, revoked={}))
        before = snapshot(ledger_path)
        with pytest.raises(pp.AuthorityError, match="not newer than the stored list 2"):
            ledger.records.add_revocations(pp.revoke(W.brand, number=1, issued=T0, revoked={}))
        with pytest.raises(pp.AuthorityError, match="not signed by a trusted brand root"):
            ledger.records.add_revocations(pp.revoke(W.alice, number=9, issued=T0, revoked={}))
        assert [r.number for r in ledger.revocations()] == [2]
        assert snapshot(ledger_path) == before


def test_a_revoked_key_signs_nothing_more(ledger_path: Place) -> None:
    with Ledger.open(ledger_path, clock=clock()) as ledger:
        sold = W.sold()
        ledger.records.add_revocations(
            pp.revoke(W.brand, number=1, issued=T0 + 300 * DAY, revoked={W.repairer.kid: T0})
        )
        repair = pp.sign_event(
            W.repairer, "repair", {"work": "x"}, time=sold[-1].time + DAY, after=sold[-1]
        )
        # Not even as an "independent" repairer: a revoked key may be in a thief's hands.
        before = snapshot(ledger_path)
        with pytest.raises(pp.AuthorityError, match="'Atelier Repair' was revoked"):
            ledger.append(repair)
        assert snapshot(ledger_path) == before


def test_trust_roots_add_remove_and_export(new_location: NewPlace) -> None:
    with Ledger.create(new_location()) as ledger:
        ledger.records.add_trust_store(W.trust)
        assert pp.TrustStore.from_json(ledger.trust().to_json()) == ledger.trust()
        ledger.records.remove_root(W.rival.kid)
        assert [r.brand for r in ledger.trust().roots] == ["Maison Example"]
        with pytest.raises(NotFoundError):
            ledger.records.remove_root(W.rival.kid)
        with pytest.raises(pp.TrustError):
            ledger.records.add_root("Bad", W.rival.public_key, ["12"])


def test_opening_something_that_is_not_a_ledger(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no ledger at"):
        Ledger.open(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StorageError, match="not a usable ledger"):
        Ledger.open(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(StorageError, match="not a ledger file"):
        Ledger.open(other)


def test_a_version_1_ledger_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.commit()
    conn.close()
    before = snapshot(old)
    with pytest.raises(StorageError, match="a version 1 ledger file") as caught:
        Ledger.open(old)
    assert "\n" not in str(caught.value)
    assert snapshot(old) == before


def test_a_new_ledger_has_large_pages_and_a_wal(sqlite_ledger: Path) -> None:
    conn = sqlite3.connect(sqlite_ledger)
    assert conn.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_the_postgresql_schema_refuses_update_delete_and_forks(
    pg_location: Callable[[], str],
) -> None:
    """The same refusals as SQLite's triggers and keys, by PostgreSQL's own schema."""
    import psycopg

    location = pg_location()
    with new_ledger(location, W) as ledger:
        store_chain(ledger, W, W.sold())
    with psycopg.connect(location) as conn:
        for statement in (
            "UPDATE events SET cose = '\\x00'",
            "DELETE FROM events",
            "UPDATE chains SET idx = 1",
            "DELETE FROM passports",
            "UPDATE log_nodes SET idx = 1",
            "DELETE FROM checkpoints",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
            conn.rollback()
        sold = W.sold()
        fork = W.then(sold[:2], W.alice, "resale", {"to": W.carol.kid.hex()})[-1]
        conn.execute("INSERT INTO events (idx, cose) VALUES (4, %s)", [fork.raw])
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO chains (pid, seq, idx) VALUES (%s, %s, 4)", [fork.pid, fork.seq]
            )
        conn.rollback()


def test_a_transaction_inside_another_is_refused_on_both_backends(ledger_path: Place) -> None:
    with Ledger.open(ledger_path, clock=clock()) as ledger, ledger.db.write():
        with pytest.raises(StorageError), ledger.db.write():
            pass
        assert ledger.counts()["events"] == 3


def test_opening_postgresql_places_that_hold_no_ledger(pg_location: Callable[[], str]) -> None:
    from tests import pg

    with pytest.raises(StorageError, match=r"no ledger at .*dpp init --ledger"):
        Ledger.open(pg_location())
    missing = pg.schema_url("dpp_t_never_made")
    with pytest.raises(StorageError, match="the schema its search_path names does not exist"):
        Ledger.create(missing)
    with pytest.raises(StorageError, match="cannot connect to the PostgreSQL ledger") as caught:
        Ledger.open("postgresql://postgres@127.0.0.1:1/test")
    assert "\n" not in str(caught.value)

"""The ledger's transparency log: leaves in storage order, signed checkpoints, proofs in bundles,
audits across time, and the evidence when a log rewrites history."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import Ledger, check_ledger, issue_many
from dpp_ledger.ledger.log import STORED_LEVEL
from dpp_ledger.passport import merkle
from dpp_ledger.passport.audit import AuditError, audit
from dpp_ledger.passport.checkpoint import NoteVerifier, read_unverified, verify_checkpoint
from dpp_ledger.passport.errors import LogError
from dpp_ledger.passport.report import Outcome, Status
from tests.ledger_helpers import clock, new_ledger, store_chain
from tests.world import PRODUCT, T0, World, gtin, key

W = World()
NewPlace = Callable[..., Path | str]  # a ledger file, or a PostgreSQL URL
ORIGIN = "maison-example.com/dpp-log"
LOG_KEY = key("ledger-log")
NOW = T0 + 400 * 86_400


def _logged_ledger(path: Path) -> Ledger:
    ledger = new_ledger(path, W)
    ledger.checkpoints.set_log(ORIGIN, LOG_KEY)
    return ledger


def test_every_stored_event_is_a_leaf_in_storage_order(new_location: NewPlace) -> None:
    with _logged_ledger(new_location("l")) as ledger:
        store_chain(ledger, W, W.sold())
        items = [{**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"L{i}"} for i in range(37)]
        issue_many(ledger, W.factory, items, time=T0, batch_size=10)
        rows = ledger.db.execute("SELECT cose FROM events ORDER BY idx").fetchall()
        leaves = [merkle.leaf_hash(bytes(cose)) for (cose,) in rows]
        assert ledger.log.size() == len(leaves) == 40
        for size in (1, 2, 3, 7, 8, 9, 33, 40):
            assert ledger.log.root(size) == merkle.root_of(leaves[:size])
            for index in range(size):
                path = ledger.log.inclusion(index, size)
                merkle.verify_inclusion(leaves[index], index, size, path, ledger.log.root(size))
        for old in range(0, 41, 3):
            proof = ledger.log.consistency(old, 40)
            merkle.verify_consistency(
                old, 40, merkle.root_of(leaves[:old]), ledger.log.root(40), proof
            )
        # One checkpoint per write: three appends and four batches.
        sizes = [r[0] for r in ledger.db.execute("SELECT size FROM checkpoints ORDER BY size")]
        assert sizes == [1, 2, 3, 13, 23, 33, 40]
        latest = ledger.checkpoints.latest()
        assert latest is not None
        checkpoint = verify_checkpoint(latest, [NoteVerifier(ORIGIN, LOG_KEY.public_key)])
        assert (checkpoint.origin, checkpoint.size) == (ORIGIN, 40)
        assert checkpoint.root == merkle.root_of(leaves)


def test_exported_bundles_carry_the_checkpoint_and_a_proof_per_event(
    new_location: NewPlace,
) -> None:
    with _logged_ledger(new_location("l")) as ledger:
        store_chain(ledger, W, W.sold())
        data = ledger.export(W.sold()[0].pid)
        vkey = NoteVerifier(ORIGIN, LOG_KEY.public_key)
    bundle = pp.parse_bundle(data)
    assert bundle.log is not None
    assert [p.index for p in bundle.log.proofs] == [0, 1, 2]
    trust = pp.TrustStore.of(W.trust.roots, [vkey])
    report = pp.verify(data, trust, now=NOW)
    assert report.outcome is Outcome.VALID, report.failures
    log = next(c for c in report.checks if c.name == "log")
    assert log.status is Status.PASS
    assert log.detail == f"every event recorded in {ORIGIN} at size 3 (log indexes 0, 1, 2)"
    # Without the log's key the proofs still hold, but no one vouches for the log.
    plain = pp.verify(data, W.trust, now=NOW)
    assert "not in your trust store" in next(c for c in plain.checks if c.name == "log").detail


def _with_log(bundle: pp.Bundle, log: pp.LogEntry) -> bytes:
    return pp.bundle_to_bytes(
        pp.Bundle(bundle.events, bundle.certs, bundle.keys, bundle.revocations, log)
    )


def test_a_bad_proof_makes_the_bundle_invalid(new_location: NewPlace) -> None:
    with _logged_ledger(new_location("l")) as ledger:
        store_chain(ledger, W, W.sold())
        bundle = ledger.bundle(W.sold()[0].pid)
    trust = pp.TrustStore.of(W.trust.roots, [NoteVerifier(ORIGIN, LOG_KEY.public_key)])
    assert bundle.log is not None
    proofs = list(bundle.log.proofs)
    first = proofs[1].path[0]
    proofs[1] = pp.LogProof(1, (bytes([first[0] ^ 1]) + first[1:], *proofs[1].path[1:]))
    bad = _with_log(bundle, pp.LogEntry(bundle.log.checkpoint, tuple(proofs)))
    report = pp.verify(bad, trust, now=NOW)
    assert report.outcome is Outcome.INVALID
    assert report.failures[0].name == "log"
    assert "event 1 (sale): inclusion proof for leaf 1" in report.failures[0].detail
    moved = list(bundle.log.proofs)
    moved[0] = pp.LogProof(1, moved[0].path)
    assert not pp.verify(
        _with_log(bundle, pp.LogEntry(bundle.log.checkpoint, tuple(moved))), trust, now=NOW
    )
    forged_note = bundle.log.checkpoint.replace("\n3\n", "\n4\n", 1)
    report = pp.verify(
        _with_log(bundle, pp.LogEntry(forged_note, bundle.log.proofs)), trust, now=NOW
    )
    assert report.failures[0].name == "log"
    assert "does not verify" in report.failures[0].detail


def test_no_log_entry_when_no_checkpoint_covers_the_events(new_location: NewPlace) -> None:
    with new_ledger(new_location("l"), W) as ledger:
        store_chain(ledger, W, W.sold())
        assert ledger.bundle(W.sold()[0].pid).log is None
        with pytest.raises(LogError, match="no log key"):
            ledger.checkpoints.sign()


def test_an_audit_across_time_and_a_rewritten_log_caught(new_location: NewPlace) -> None:
    vkey = NoteVerifier(ORIGIN, LOG_KEY.public_key)
    with _logged_ledger(new_location("honest")) as ledger:
        store_chain(ledger, W, W.sold()[:2])
        old_note = ledger.checkpoints.latest()
        store_chain(ledger, W, W.sold()[2:])
        extra = W.then(W.sold(), W.bob, "resale", {"to": W.carol.kid.hex()})[-1]
        ledger.append(extra, keys=[W.carol.public_key])
        new_note = ledger.checkpoints.latest()
        assert old_note is not None
        assert new_note is not None
        proof = ledger.log.consistency(
            read_unverified(old_note).size, read_unverified(new_note).size
        )
        old, new = audit(old_note, new_note, proof, [vkey])
        assert (old.size, new.size) == (2, 4)
    # The same brand runs a second ledger with the same log key, without the boutique sale.
    with _logged_ledger(new_location("rewritten")) as other:
        made = W.sold()[:1]
        outlet = W.then(made, W.outlet, "outlet")
        store_chain(other, W, outlet)
        store_chain(
            other,
            W,
            W.then(outlet, W.outlet, "sale", {"owner": W.alice.kid.hex(), "channel": "outlet"})[2:],
        )
        store_chain(other, W, [pp.issue(W.factory, {**PRODUCT, "serial": "X"}, time=T0)])
        lying_note = other.checkpoints.latest()
        assert lying_note is not None
        lying_proof = other.log.consistency(2, 4)
    with pytest.raises(AuditError, match="does not link size 2 to size 4") as caught:
        audit(old_note, lying_note, lying_proof, [vkey])
    assert caught.value.old_note == old_note
    assert caught.value.new_note == lying_note
    assert caught.value.proof == tuple(lying_proof)


def test_two_checkpoints_of_one_size_with_different_roots_are_a_split_view(
    tmp_path: Path,
) -> None:
    vkey = NoteVerifier(ORIGIN, LOG_KEY.public_key)
    notes = []
    for name, serial in (("a.db", "A"), ("b.db", "B")):
        with _logged_ledger(tmp_path / name) as ledger:
            ledger.append(pp.issue(W.factory, {**PRODUCT, "serial": serial}, time=T0))
            notes.append(ledger.checkpoints.latest())
    with pytest.raises(AuditError, match="split view"):
        audit(notes[0], notes[1], [], [vkey])  # type: ignore[arg-type]


def test_the_origin_never_changes_and_the_log_is_append_only(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with _logged_ledger(path) as ledger:
        store_chain(ledger, W, W.sold())
        with pytest.raises(LogError, match="an origin never changes"):
            ledger.checkpoints.set_log("other.example/log", LOG_KEY)
        assert ledger.checkpoints.sign() == ledger.checkpoints.latest()  # same size, same note
        items = [{**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"A{i}"} for i in range(61)]
        issue_many(ledger, W.factory, items, time=T0)
        assert ledger.log.size() == 64
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM log_nodes").fetchone()[0] > 0
    for statement in (
        "UPDATE log_nodes SET hash = x'00'",
        "DELETE FROM log_nodes",
        "UPDATE checkpoints SET note = ''",
        "DELETE FROM checkpoints",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    conn.close()


def test_only_subtrees_of_a_block_or_more_are_stored(new_location: NewPlace) -> None:
    with _logged_ledger(new_location("l")) as ledger:
        items = [
            {**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"S{i}"} for i in range(300)
        ]
        issue_many(ledger, W.factory, items, time=T0, batch_size=70)
        store_chain(ledger, W, W.sold())
        rows = ledger.db.execute("SELECT level, idx FROM log_nodes ORDER BY level, idx").fetchall()
        # Exactly the complete subtrees of 2**STORED_LEVEL leaves and more, at every level.
        levels = range(STORED_LEVEL, (303).bit_length())
        assert rows == [(level, i) for level in levels for i in range(303 >> level)]
        assert list(ledger.log.shape()) == []
        assert list(ledger.log.audit_nodes()) == []
        assert list(ledger.log.audit_blocks(0, 303)) == []


def test_a_swapped_event_after_the_last_block_is_caught_by_the_checkpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    with _logged_ledger(path) as ledger:
        store_chain(ledger, W, W.sold())
        ledger.records.add_key(W.carol.public_key)
    sold = W.sold()
    other = W.then(sold[:2], W.alice, "resale", {"to": W.carol.kid.hex()})[-1]
    conn = sqlite3.connect(path)
    for table in ("events", "event_hashes"):
        conn.execute(f"DROP TRIGGER {table}_append_only_update")
    conn.execute("UPDATE events SET cose = ? WHERE idx = 3", [other.raw])
    conn.execute("UPDATE event_hashes SET hash = ? WHERE idx = 3", [other.hash])
    conn.commit()
    conn.close()
    report = check_ledger(path, jobs=1, now=NOW)
    # Log membership is proven once for the whole log (no proof is made per event): the
    # swapped event sits past the last stored block, where the signed root catches it.
    assert [(p.pid, p.message) for p in report.problems] == [
        (None, "checkpoint at size 3: the log's root differs from the signed one")
    ]
    # A bundle exported now proves its events against the signed checkpoint: that fails too.
    with Ledger.open(path, clock=clock()) as ledger:
        assert ledger.verify(sold[0].pid).failures[0].name == "log"


def test_a_reopened_ledger_signs_again_once_given_its_key(new_location: NewPlace) -> None:
    path = new_location("l")
    with _logged_ledger(path) as ledger:
        store_chain(ledger, W, W.sold()[:1])
    with Ledger.open(path, clock=clock()) as ledger:
        assert ledger.checkpoints.origin == ORIGIN
        ledger.checkpoints.set_log(ORIGIN, LOG_KEY)
        store_chain(ledger, W, W.sold()[1:])
        latest = ledger.checkpoints.latest()
        assert latest is not None
        assert read_unverified(latest).size == 3
        assert any(v.name == ORIGIN for v in ledger.trust().logs)


def test_the_log_benchmark_runs() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "merkle_log.py"), "3000"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert "append: 3,000 leaves" in result.stdout
    assert "inclusion proof at size 3,000" in result.stdout

"""Bulk issuance: batches, progress, and refused rows named while the rest are issued."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import Ledger, Outcome, Tally, check_ledger, issue_into, issue_many
from tests.ledger_helpers import clock, new_ledger
from tests.world import DAY, PRODUCT, RIVAL_GTIN, T0, World, gtin

W = World()
NewPlace = Callable[..., Path | str]  # a ledger file, or a PostgreSQL URL


def _items(count: int) -> list[dict[str, object]]:
    return [
        {**PRODUCT, "gtin": gtin(f"0361427{i % 1000:06d}"), "serial": f"B{i}"} for i in range(count)
    ]


def test_thousands_in_batches_with_progress(new_location: NewPlace) -> None:
    seen: list[int] = []
    with new_ledger(new_location("l"), W) as ledger:
        summary = issue_many(
            ledger, W.factory, _items(2500), time=T0, batch_size=1000, progress=seen.append
        )
        assert len(summary.issued) == 2500
        assert summary.refused == ()
        assert seen == [1000, 2000, 2500]
        assert ledger.counts()["events"] == 2500
        index, pid = summary.issued[1234]
        assert ledger.verify(pid).outcome == "valid"
        assert ledger.passport(pid).serial == f"B{index}"
    assert check_ledger(new_location("l"), jobs=1, now=T0 + DAY)


def test_refused_rows_are_named_and_the_rest_issued(new_location: NewPlace) -> None:
    items = _items(5)
    items[1] = {**PRODUCT, "gtin": "12345"}
    items[2] = {**PRODUCT, "gtin": RIVAL_GTIN, "serial": "R"}
    items[3] = dict(items[0])
    items.append("not a map")  # type: ignore[arg-type]
    with new_ledger(new_location("l"), W) as ledger:
        summary = issue_many(ledger, W.factory, items, time=T0, batch_size=2)
        assert [i for i, _ in summary.issued] == [0, 4]
        reasons = dict(summary.refused)
        assert "does not fit: expected" in reasons[1]
        assert "outside the GS1 prefixes" in reasons[2]
        assert "same GTIN and serial as item 0" in reasons[3] or "already issued" in reasons[3]
        assert "map of production data" in reasons[5]
        again = issue_many(ledger, W.factory, items[:1], time=T0)
        assert again.issued == ()
        assert again.refused == ()  # issued by an earlier run: counted apart, not refused
        assert again.already == ((0, summary.issued[0][1]),)


def test_a_batch_mixing_stored_and_new_items_issues_only_the_new(tmp_path: Path) -> None:
    # Every stored identifier is found with one primary-key search, never a table scan.
    items = _items(1400)
    with new_ledger(tmp_path / "l.db", W) as ledger:
        first = issue_many(ledger, W.factory, items[::2], time=T0)
        statements: list[str] = []
        ledger.db.conn.set_trace_callback(statements.append)
        again = issue_many(ledger, W.factory, items, time=T0, batch_size=1400)
        ledger.db.conn.set_trace_callback(None)
        assert [i for i, _ in again.issued] == list(range(1, 1400, 2))
        assert again.refused == ()
        by_item = dict(again.already)
        assert sorted(by_item) == list(range(0, 1400, 2))
        for (_, pid), index in zip(first.issued, range(0, 1400, 2), strict=True):
            assert by_item[index] == pid
        lookups = [s for s in statements if s.startswith("SELECT first FROM passports")]
        assert len(lookups) == 1400
        plan = " / ".join(row[3] for row in ledger.db.execute(f"EXPLAIN QUERY PLAN {lookups[0]}"))
        assert "SEARCH passports USING PRIMARY KEY" in plan, plan
        assert "SCAN passports" not in plan, plan


def test_an_unauthorised_signer_issues_nothing(new_location: NewPlace) -> None:
    with new_ledger(new_location("l"), W) as ledger:
        summary = issue_many(ledger, W.boutique, _items(3), time=T0)
        assert summary.issued == ()
        assert all("may not sign production" in reason for _, reason in summary.refused)
        stranger = pp.SigningKey.generate()
        summary = issue_many(ledger, stranger, _items(1), time=T0)
        assert "neither a trusted brand root nor certified" in summary.refused[0][1]
        assert ledger.counts()["passports"] == 0


def test_an_expired_factory_certificate_issues_nothing(new_location: NewPlace) -> None:
    with Ledger.create(new_location("l"), clock=clock()) as ledger:
        ledger.records.add_trust_store(W.trust)
        ledger.records.add_certificate(
            pp.delegate(
                W.brand,
                W.factory.public_key,
                name="Old factory",
                role="factory",
                nbf=T0 - 10 * DAY,
                exp=T0 - DAY,
            )
        )
        summary = issue_many(ledger, W.factory, _items(2), time=T0)
        assert summary.issued == ()
        assert "not at 2026-01-01" in summary.refused[0][1]


def test_a_streamed_run_keeps_each_outcome_under_the_callers_number(tmp_path: Path) -> None:
    items = _items(4)
    items[2] = dict(items[0])  # the same GTIN and serial as the row numbered 10
    numbered = list(zip((10, 11, 12, 13), items, strict=True))
    with new_ledger(tmp_path / "l.db", W) as ledger, Tally() as tally:
        issue_into(tally, ledger, W.factory, numbered, time=T0, batch_size=2, called="line")
        assert [n for n, _ in tally.outcomes(Outcome.ISSUED)] == [10, 11, 13]
        assert list(tally.outcomes(Outcome.REFUSED)) == [(12, "same GTIN and serial as line 10")]
        assert (
            tally.count(Outcome.ISSUED),
            tally.count(Outcome.ALREADY),
            tally.count(Outcome.REFUSED),
        ) == (3, 0, 1)
        with Tally() as again:  # a second run meets them all again
            issue_into(again, ledger, W.factory, numbered, time=T0, called="line")
            assert [n for n, _ in again.outcomes(Outcome.ALREADY)] == [10, 11, 13]
            assert list(again.outcomes(Outcome.REFUSED)) == [
                (12, "same GTIN and serial as line 10")
            ]


def test_numbers_that_do_not_increase_are_refused_before_anything_is_signed(
    tmp_path: Path,
) -> None:
    numbered = list(zip((5, 3), _items(2), strict=True))
    with new_ledger(tmp_path / "l.db", W) as ledger, Tally() as tally:
        with pytest.raises(pp.SchemaError, match="item numbers must increase: 3 after 5"):
            issue_into(tally, ledger, W.factory, numbered, time=T0)
        assert ledger.counts()["events"] == 0
        assert tally.count(Outcome.ISSUED) == 0

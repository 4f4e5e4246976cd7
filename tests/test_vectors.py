"""Golden vectors: rebuilt from fixed keys and compared byte for byte, then verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from tests.vectors import generate

HERE = Path(generate.__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected.json").read_text())
BUILT = generate.build()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_vector_is_reproduced_byte_for_byte(name: str) -> None:
    assert (HERE / f"{name}.dpp").read_bytes() == BUILT[name][0], (
        "format drift: rerun python -m tests.vectors.generate only for a deliberate change"
    )


def test_trust_store_file_is_reproduced() -> None:
    assert (HERE / "trust.json").read_text() == generate.trust_store()


@pytest.mark.parametrize("name", sorted(EXPECTED["vectors"]))
def test_vector_verifies_as_expected(name: str) -> None:
    trust = pp.TrustStore.from_json((HERE / "trust.json").read_text())
    report = pp.verify((HERE / f"{name}.dpp").read_bytes(), trust, now=EXPECTED["now"])
    expected = EXPECTED["vectors"][name]
    assert str(report.outcome) == expected["outcome"]
    assert (report.failures[0].name if report.failures else None) == expected["fails"]


def test_the_sealed_vector_opens_with_its_fixed_recipient_keys() -> None:
    trust = pp.TrustStore.from_json((HERE / "trust.json").read_text())
    sealed = (HERE / "sealed.dpp").read_bytes()
    assert b"Laboratorio" not in sealed
    world = generate.World()
    report = pp.verify(sealed, trust, now=EXPECTED["now"], open_with=[world.authority])
    assert report.outcome is pp.Outcome.VALID, report.failures
    shown = {r.field: r.value for r in report.restricted if r.value is not None}
    assert shown == {
        "site": "Laboratorio Via Maggio 7",
        "compliance_documents": ["EU DoC MX-2026-114"],
        "price": {"amount": 245_000, "currency": "EUR"},
    }
    restricted = {r.field: r.audiences for r in report.restricted if r.value is None}
    assert restricted == {"repair_information": ("repairers",)}
    moved = pp.verify(
        (HERE / "sealed-box-moved.dpp").read_bytes(),
        trust,
        now=EXPECTED["now"],
        open_with=[world.authority],
    )
    assert moved.restricted == ()
    assert "does not sign" in moved.failures[0].detail

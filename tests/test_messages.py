"""Messages quote what was wrong, cut to a readable length: never a 100,000-character line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import schema
from tests.homes import cli, make_home
from tests.world import PRODUCT, World

LONG = "x" * 100_000
CASES = {
    "a long text": ({"model": LONG}, "model: 'xxxx", "(100,000 characters) is too long"),
    "a long unknown field": (
        {LONG: 1},
        "Additional properties",
        "(100,000 characters) was unexpected",
    ),
    "a long identifier": ({"gtin": "1" * 100_000}, "gtin: '1111", "(100,000 characters) does not"),
    "a huge number": ({"recycled_content": 10**4000}, "recycled_content: 1000", "(4,001 digits)"),
    "a long list": (
        {"materials": [{"material": "a", "share": 1}] * 100_000},
        "materials: a list of 100,000 entries",
        "is too long",
    ),
    "a long key deep inside": (
        {"repairability": {LONG: 1}},
        "repairability: Additional properties",
        "(100,000 characters) was unexpected",
    ),
}


@pytest.mark.parametrize(("change", "start", "end"), list(CASES.values()), ids=list(CASES))
def test_schema_errors_cut_long_values(change: dict[str, object], start: str, end: str) -> None:
    with pytest.raises(pp.SchemaError) as refused:
        schema.validate_event_data("production", {**PRODUCT, **change}, what="data")
    message = str(refused.value)
    assert len(message) < 300, message[:400]
    assert start in message
    assert end in message


def test_the_cli_prints_one_short_line(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", World())
    data = tmp_path / "bag.json"
    data.write_text(json.dumps({"model": LONG}))
    result = cli(
        home,
        "issue",
        "--brand",
        "brand",
        "--gtin",
        PRODUCT["gtin"],
        "--serial",
        "L",
        "--data",
        str(data),
    )
    assert result.exit_code == 1
    assert len(result.stderr) < 300
    assert "(100,000 characters) is too long" in result.stderr

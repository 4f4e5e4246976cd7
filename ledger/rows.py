"""Rows files for bulk issuance: a CSV with a header, or JSON Lines; read whole, then issued.

The whole file is read and checked before anything is signed: a duplicated column, a row
with more or fewer cells than the header, an unterminated quote or an oversized cell refuses
the file, naming the line and column. An event signed into the log can never be taken back.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from dpp_ledger.passport.errors import DecodeError

from ._csv import Record, records
from .errors import NotFoundError
from .files import read_bounded

MAX_ROWS_FILE: Final = 256 * 1024 * 1024
MAX_CELL: Final = 8192  # characters: above any field the production schema allows
TEXT_COLUMNS: Final = (
    "gtin",
    "serial",
    "brand",
    "model",
    "category",
    "made_in",
    "site",
    "made_on",
    "care",
    "repair_information",
)
CSV_COLUMNS: Final = (
    *TEXT_COLUMNS,
    "recycled_content",
    "materials",
    "repair_score",
    "spare_parts_years",
    "repair_instructions",
    "substances_of_concern",
    "compliance_documents",
    "seal",
)
_DIGITS: Final = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a field


def read_rows(path: Path | str) -> list[tuple[int, Any]]:
    """(line number, production data) for each row of a .csv or .jsonl file.

    Raises:
        NotFoundError: no such file, or not a .csv or .jsonl file.
        DecodeError: not UTF-8, or malformed (the line and column are named).
    """
    name = str(path)
    if not name.endswith((".csv", ".jsonl")):
        raise NotFoundError(f"{name}: --from takes a .csv or a .jsonl file")
    raw = read_bounded(path, MAX_ROWS_FILE, what="rows file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DecodeError(f"{name} line {line}: not UTF-8 text") from None
    if name.endswith(".jsonl"):
        return _json_lines(text, name)
    return [(record.line, csv_row(cells)) for record, cells in _csv_rows(text, name)]


def _json_lines(text: str, name: str) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except (ValueError, RecursionError) as exc:
                raise DecodeError(f"{name} line {number}: not JSON ({exc})") from None
    return rows


def _csv_rows(text: str, name: str) -> list[tuple[Record, dict[str, str]]]:
    """Each row's record and cells by column name, once the whole text is known to be sound.

    Raises:
        DecodeError: see :func:`read_rows`.
    """
    found = records(text, what=name, limit=MAX_CELL)
    header = next(found, None)
    if header is None:
        raise DecodeError(f"{name}: empty; the first line names the columns (see dpp issue --help)")
    header = _check_header(header, name)
    rows = []
    for record in found:
        if len(record.cells) != len(header.cells):
            line, column = (
                (record.line, record.columns[len(header.cells)])
                if len(record.cells) > len(header.cells)
                else record.end
            )
            raise DecodeError(
                f"{name} line {line}, column {column}: {len(record.cells)} cells, "
                f"where the header has {len(header.cells)}"
            )
        rows.append((record, dict(zip(header.cells, record.cells, strict=True))))
    return rows


def _check_header(header: Record, name: str) -> Record:
    """The header with its column names in the case the columns have (any case is read).

    Raises:
        DecodeError: an unknown column (the expected ones are listed), or one named twice.
    """
    first: dict[str, int] = {}
    names = []
    for cell, column in zip(header.cells, header.columns, strict=True):
        where = f"{name} line {header.line}, column {column}"
        known = cell.strip().lower()
        if known not in CSV_COLUMNS:
            shown = cell if len(cell) <= 40 else cell[:40] + "…"
            raise DecodeError(
                f"{where}: unknown column {shown!r} (the columns: gtin, serial, model, "
                "made_in... in dpp issue --help)"
            )
        if known in first:
            raise DecodeError(
                f"{where}: column {known!r} appears twice (first at column {first[known]})"
            )
        first[known] = column
        names.append(known)
    return replace(header, cells=tuple(names))


def csv_row(row: dict[str, str]) -> dict[str, Any]:
    """Production data from one CSV row (empty cells are left out)."""
    cells = {k: v.strip() for k, v in row.items() if v.strip()}
    data: dict[str, Any] = {k: cells[k] for k in TEXT_COLUMNS if k in cells}
    if "gtin" in data and _DIGITS.fullmatch(data["gtin"]) and len(data["gtin"]) in (8, 12, 13):
        data["gtin"] = data["gtin"].zfill(14)
    if "recycled_content" in cells:
        data["recycled_content"] = _number(cells["recycled_content"])
    if "materials" in cells:
        data["materials"] = [_material(part) for part in cells["materials"].split(";") if part]
    repairability: dict[str, Any] = {
        field: _number(cells[column])
        for field, column in (("score", "repair_score"), ("spare_parts_years", "spare_parts_years"))
        if column in cells
    }
    if "repair_instructions" in cells:
        repairability["instructions"] = cells["repair_instructions"]
    if repairability:
        data["repairability"] = repairability
    return data | _restricted_cells(cells)


def _restricted_cells(cells: dict[str, str]) -> dict[str, Any]:
    """The ESPR Annex III columns, and the seal column (``field=audience;...``), of a row."""
    data: dict[str, Any] = {}
    if "compliance_documents" in cells:
        data["compliance_documents"] = [
            p.strip() for p in cells["compliance_documents"].split(";") if p.strip()
        ]
    if "substances_of_concern" in cells:
        data["substances_of_concern"] = [
            _substance(p) for p in cells["substances_of_concern"].split(";") if p.strip()
        ]
    if "seal" in cells:
        plan: dict[str, list[str]] = {}
        for spec in (p.strip() for p in cells["seal"].split(";") if p.strip()):
            field, _, audience = spec.partition("=")
            # A malformed spec goes on as it is: seal_plan names what is wrong with it.
            names = plan.setdefault(field.strip() if audience.strip() else spec, [])
            if audience.strip() and audience.strip() not in names:
                names.append(audience.strip())
        data["seal"] = plan
    return data


def _substance(text: str) -> dict[str, Any]:
    parts = [p.strip() for p in text.split(":")]
    found: dict[str, Any] = {"substance": parts[0]}
    for name, value in zip(("cas", "location"), parts[1:], strict=False):
        if value:
            found[name] = value
    return found


def _number(text: str) -> int | str:
    # Not digits, or more than fit a field: the text goes on as it is and the schema says what
    # is wrong with it.
    return int(text) if _DIGITS.fullmatch(text) else text


def _material(text: str) -> dict[str, Any]:
    parts = [p.strip() for p in text.split(":")]
    material: dict[str, Any] = {"material": parts[0]}
    if len(parts) > 1:
        material["share"] = _number(parts[1])
    if len(parts) > 2:
        material["origin"] = parts[2]
    return material

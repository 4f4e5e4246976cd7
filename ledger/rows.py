"""Rows files for bulk issuance: a CSV with a header, or JSON Lines; checked whole, then issued.

The whole file is checked before anything is signed: a duplicated column, a row with more or
fewer cells than the header, an unterminated quote or an oversized cell refuses the file,
naming the line and column. An event signed into the log can never be taken back.

The file is read as a stream, twice: once to check it, once to issue its rows. Nothing is
kept but the rows of one piece of the file at a time, so memory stays flat however many
rows it has (reading it whole held about 2 KB per row). If the file is changed between the
two readings, the second refuses it where it no longer parses, as the first would have.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from dpp_ledger.passport.errors import DecodeError

from ._csv import Record, records, separator_of
from .errors import NotFoundError
from .files import open_regular

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
    """(line number, production data) for each row of a .csv or .jsonl file, all at once.

    Raises:
        NotFoundError: no such file, or not a .csv or .jsonl file.
        DecodeError: not UTF-8, or malformed (the line and column are named).
    """
    return list(RowsFile(path))


class RowsFile:
    """A .csv or .jsonl rows file, read as a stream of (line number, production data).

    Raises:
        NotFoundError: not a .csv or .jsonl name (when made); no such file (when read).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = str(path)
        if not self.name.endswith((".csv", ".jsonl")):
            raise NotFoundError(f"{self.name}: --from takes a .csv or a .jsonl file")

    def check(self) -> int:
        """Read the whole file once, keeping nothing, and return how many rows it has.

        Raises:
            DecodeError: not UTF-8, or malformed (the line and column are named).
        """
        if self.name.endswith(".jsonl"):
            return sum(1 for _ in self._json_lines())
        return sum(1 for _ in self._csv_records())  # structure only: no rows built

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        """Each row, in order.

        Raises:
            DecodeError: not UTF-8, or malformed (the line and column are named).
        """
        if self.name.endswith(".jsonl"):
            return self._json_lines()
        return (
            (record.line, csv_row(dict(zip(header, record.cells, strict=True))))
            for record, header in self._csv_records()
        )

    def _json_lines(self) -> Iterator[tuple[int, Any]]:
        number = 0
        for piece in self._pieces():
            for line in piece.splitlines():
                number += 1
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except (ValueError, RecursionError) as exc:
                        raise DecodeError(f"{self.name} line {number}: not JSON ({exc})") from None

    def _csv_records(self) -> Iterator[tuple[Record, tuple[str, ...]]]:
        """Each row's record, with the column names of the header."""
        header: Record | None = None
        separator: str | None = None
        line = 1
        for chunk in _whole_rows(self._pieces()):
            separator = separator or separator_of(chunk)
            for record in records(
                chunk, what=self.name, limit=MAX_CELL, separator=separator, line=line
            ):
                if header is None:
                    header = _check_header(record, self.name)
                    continue
                _check_width(record, header, self.name)
                yield record, header.cells
            line += chunk.count("\n") + chunk.count("\r") - chunk.count("\r\n")
        if header is None:
            raise DecodeError(
                f"{self.name}: empty; the first line names the columns (see dpp issue --help)"
            )

    def _pieces(self) -> Iterator[str]:
        """The file's text, a line (or a megabyte of a longer one) at a time, strictly UTF-8.

        Raises:
            DecodeError: larger than :data:`MAX_ROWS_FILE`, or not UTF-8 (its line named).
        """
        decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        size = 0
        lines = 0
        with open_regular(self.path, what="rows file") as handle:
            while raw := handle.readline(_PIECE):
                size += len(raw)
                if size > MAX_ROWS_FILE:
                    raise DecodeError(f"rows file {self.path}: larger than {MAX_ROWS_FILE} bytes")
                try:
                    yield decoder.decode(raw)
                except UnicodeDecodeError as exc:
                    line = lines + raw[: max(0, exc.start)].count(b"\n") + 1
                    raise DecodeError(f"{self.name} line {line}: not UTF-8 text") from None
                lines += raw.count(b"\n")
            try:
                yield decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise DecodeError(f"{self.name} line {lines + 1}: not UTF-8 text") from None


_PIECE: Final = 1 << 20  # bytes read at most at once from one line
_CHUNK: Final = 1 << 16  # characters of whole rows handed to the CSV reader at once


def _whole_rows(pieces: Iterator[str]) -> Iterator[str]:
    """The text in chunks of whole rows: each ends at a line end outside any quoted cell.

    A quoted cell may hold line ends; the count of quotes so far says whether a line end
    closes a row (an escaped quote counts twice, so it never changes that).
    """
    buffer: list[str] = []
    size = 0
    quoted = False
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        quoted ^= piece.count('"') % 2 == 1
        # At a line feed only: a piece ending in CR may be half of a CRLF (a classic Mac file,
        # with CR alone, is then read in one chunk, up to the file size limit).
        if not quoted and size >= _CHUNK and piece.endswith("\n"):
            yield "".join(buffer)
            buffer.clear()
            size = 0
    if buffer:
        yield "".join(buffer)


def _check_width(record: Record, header: Record, name: str) -> None:
    """Refuse a row with more or fewer cells than the header, naming where.

    Raises:
        DecodeError: the row's width differs from the header's.
    """
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

"""A strict CSV reader (RFC 4180) that names the line and column of whatever it refuses.

Python's ``csv`` module forgives what a ledger must not: it accepts a quote left open until
the end of the file, stray quotes inside a cell and cells of any length up to its own limit,
and ``DictReader`` drops extra cells and fills missing ones. Here each of those refuses the
whole text, so a malformed file is never half signed. Lines end with CRLF, LF or CR. Cells
are separated by commas, or by semicolons when the first line holds more of those than of
commas (what a spreadsheet writes in locales where the comma is the decimal mark).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from dpp_ledger.passport.errors import DecodeError

_QUOTED: Final = re.compile(r'"[^"]*(?:""[^"]*)*"')
_PLAIN: Final = {
    ",": re.compile(r'[^,"\r\n]*'),
    ";": re.compile(r'[^;"\r\n]*'),
}
_ENDS: Final = ("\r\n", "\n", "\r")


@dataclass(frozen=True)
class Record:
    """One row of cells.

    ``line``: where it starts; ``columns``: where each cell starts; ``end``: the line and
    column just after its last cell.
    """

    line: int
    cells: tuple[str, ...]
    columns: tuple[int, ...]
    end: tuple[int, int]


class _Cursor:
    """A position in the text, with the line and column a person counts (from 1)."""

    def __init__(self, text: str, what: str, limit: int, separator: str) -> None:
        self.text = text
        self.separator = separator
        self.what = what
        self.limit = limit
        self.at = 0
        self.line = 1
        self.line_start = 0

    @property
    def column(self) -> int:
        return self.at - self.line_start + 1

    def refuse(
        self, reason: str, line: int | None = None, column: int | None = None
    ) -> DecodeError:
        where = f"line {line or self.line}, column {column or self.column}"
        return DecodeError(f"{self.what} {where}: {reason}")

    def cell(self) -> str:
        """Read one cell and leave the cursor on what follows it."""
        line, column = self.line, self.column
        quoted = self.text.startswith('"', self.at)
        if quoted:
            found = _QUOTED.match(self.text, self.at)
            if found is None:
                raise self.refuse("a quote opened here is never closed", line, column)
            body = found.group()[1:-1]
            self._count_lines(body)
            value = body.replace('""', '"')
        else:
            found = _PLAIN[self.separator].match(self.text, self.at)
            assert found is not None  # noqa: S101 - the pattern matches the empty string
            value = found.group()
        self.at = found.end()
        if len(value) > self.limit:
            size = f"a cell of {len(value):,} characters (at most {self.limit:,})"
            raise self.refuse(size, line, column)
        if self.at < len(self.text) and self.text[self.at] not in self.separator + "\r\n":
            raise self.refuse(
                "text after a closing quote (a quote inside a quoted cell is written twice)"
                if quoted
                else "a quote inside a cell that does not start with one (quote the whole cell)"
            )
        return value

    def _count_lines(self, body: str) -> None:
        """Count the line ends inside a quoted cell that starts at the cursor."""
        ends = body.count("\n") + body.count("\r") - body.count("\r\n")
        if ends:
            self.line += ends
            last = max(body.rfind("\n"), body.rfind("\r"))
            self.line_start = self.at + 1 + last + 1

    def end_of_line(self) -> bool:
        """Step over a line end if the cursor is on one."""
        for end in _ENDS:
            if self.text.startswith(end, self.at):
                self.at += len(end)
                self.line += 1
                self.line_start = self.at
                return True
        return False


def separator_of(text: str) -> str:
    """``;`` if the first line holds more semicolons than commas (outside quotes), else ``,``."""
    first = re.split(r"\r\n|\n|\r", text, maxsplit=1)[0]
    bare = _QUOTED.sub("", first)
    return ";" if bare.count(";") > bare.count(",") else ","


def records(text: str, *, what: str, limit: int) -> Iterator[Record]:
    """Each row of ``text``; a line that is empty (no cell at all) is skipped.

    Raises:
        DecodeError: a quote never closed, a stray quote, or a cell over ``limit`` characters,
            with its line and column.
    """
    cursor = _Cursor(text, what, limit, separator_of(text))
    while cursor.at < len(text):
        if cursor.end_of_line():
            continue  # an empty line
        line = cursor.line
        cells: list[str] = []
        columns: list[int] = []
        while True:
            columns.append(cursor.column)
            cells.append(cursor.cell())
            end = (cursor.line, cursor.column)
            if cursor.at >= len(text) or cursor.end_of_line():
                break
            cursor.at += 1  # the separator
        yield Record(line, tuple(cells), tuple(columns), end)

"""Bulk CSV files: anything malformed refuses the whole file, named by line and column, before
anything is signed; a resumed run counts what is issued already instead of refusing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import Ledger
from dpp_ledger.ledger._csv import records
from dpp_ledger.ledger.rows import MAX_CELL, read_rows
from tests.homes import DPP, cli, environment, make_home
from tests.ledger_helpers import snapshot
from tests.world import PRODUCT, World, gtin

ROOT = Path(__file__).resolve().parents[1]

HEADER = "gtin,serial,model\n"
GOOD = f"{PRODUCT['gtin']},OK-1,Sac\n{PRODUCT['gtin']},OK-2,Sac\n"

BAD = {
    "duplicated column": (
        "gtin,serial,serial\n1,A,B\n",
        "line 1, column 13: column 'serial' appears twice (first at column 6)",
    ),
    "extra cell": (
        HEADER + GOOD + f"{PRODUCT['gtin']},OK-3,Sac,extra\n",
        "line 4, column 25: 4 cells, where the header has 3",
    ),
    "missing cell": (
        HEADER + GOOD + f"{PRODUCT['gtin']},OK-3\n",
        "line 4, column 20: 2 cells, where the header has 3",
    ),
    "quote never closed": (
        HEADER + GOOD + f'{PRODUCT["gtin"]},OK-3,"Sac\n{PRODUCT["gtin"]},OK-4,Sac\n',
        "line 4, column 21: a quote opened here is never closed",
    ),
    "stray quote": (
        HEADER + f'{PRODUCT["gtin"]},OK"3,Sac\n',
        "line 2, column 18: a quote inside a cell that does not start with one",
    ),
    "text after a closing quote": (
        HEADER + f'{PRODUCT["gtin"]},"OK"3,Sac\n',
        "line 2, column 20: text after a closing quote",
    ),
    "oversized header cell": (
        "x" * 200_000 + ",serial\n1,2\n",
        f"line 1, column 1: a cell of 200,000 characters (at most {MAX_CELL:,})",
    ),
    "oversized cell after a multi-line one": (
        HEADER + f'{PRODUCT["gtin"]},"OK\n-1",{"y" * (MAX_CELL + 1)}\n',
        f"line 3, column 5: a cell of {MAX_CELL + 1:,} characters",
    ),
    "unknown column": ("gtin,serial,email\n", "line 1, column 13: unknown column 'email'"),
}


@pytest.mark.parametrize(("text", "message"), list(BAD.values()), ids=list(BAD))
def test_a_malformed_file_is_refused_by_line_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "run.csv"
    path.write_text(text)
    with pytest.raises(pp.DecodeError) as refused:
        read_rows(path)
    assert str(refused.value) == f"{path} {message}" or str(refused.value).startswith(
        f"{path} {message}"
    )
    assert len(str(refused.value)) < 200


def test_cells_quoted_over_several_lines_keep_the_line_count() -> None:
    text = 'a,b\r\n"x""y","two\nlines"\n3,4\n\n5,"\r\n"\n'
    found = [(r.line, r.cells) for r in records(text, what="t", limit=100)]
    assert found == [
        (1, ("a", "b")),
        (2, ('x"y', "two\nlines")),
        (4, ("3", "4")),
        (6, ("5", "\r\n")),
    ]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_home(tmp_path_factory.mktemp("rows") / "home", World())


@pytest.mark.parametrize(("text", "message"), list(BAD.values()), ids=list(BAD))
def test_nothing_is_signed_from_a_malformed_file(
    home: Path, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "run.csv"
    path.write_text(text)
    before = snapshot(home / "ledger.db")
    result = cli(home, "issue", "--brand", "brand", "--as", "factory", "--from", str(path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert snapshot(home / "ledger.db") == before


def _rows(first: int, last: int) -> str:
    return HEADER + "".join(f"{gtin(f'0361427{i:06d}')},RUN-{i},Sac\n" for i in range(first, last))


def test_a_resumed_run_counts_what_is_issued_already(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", World())
    half, whole = tmp_path / "half.csv", tmp_path / "whole.csv"
    half.write_text(_rows(0, 30))
    whole.write_text(_rows(0, 50))
    args = ("issue", "--brand", "brand", "--as", "factory", "--batch", "7", "--from")
    first = cli(home, *args, str(half))
    assert first.exit_code == 0, first.output
    resumed = cli(home, *args, str(whole))
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout == f"{whole}: 30 already issued, 20 new; refused 0\n"
    assert resumed.stderr == ""
    again = cli(home, *args, str(whole), "--json")
    assert again.exit_code == 0
    assert '"already_issued": 50' in again.stdout
    with Ledger.open(home / "ledger.db", read_only=True) as ledger:
        assert ledger.counts()["passports"] == 50


def test_a_row_repeated_in_one_file_is_still_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", World())
    path = tmp_path / "twice.csv"
    path.write_text(_rows(0, 3) + f"{gtin('0361427000001')},RUN-1,Sac\n")
    args = ("issue", "--brand", "brand", "--as", "factory", "--batch", "2", "--from", str(path))
    result = cli(home, *args)
    assert result.exit_code == 1
    assert "line 5: same GTIN and serial as line 3" in result.stderr
    assert cli(home, *args).exit_code == 1  # and again on a resumed run


def test_any_case_and_a_semicolon_separator_are_read_as_excel_writes_them(tmp_path: Path) -> None:
    gtin = "03614270000423"
    comma = tmp_path / "comma.csv"
    comma.write_text(f"gtin,serial,model\n{gtin},A1,Sac\n")
    semicolon = tmp_path / "semicolon.csv"
    # Excel in France: semicolons, capitalised headers, a quoted cell holding both marks.
    semicolon.write_text(f'GTIN;Serial;Model\r\n{gtin};A1;"Sac; 25, noir"\r\n')
    assert read_rows(comma) == [(2, {"gtin": gtin, "serial": "A1", "model": "Sac"})]
    assert read_rows(semicolon) == [(2, {"gtin": gtin, "serial": "A1", "model": "Sac; 25, noir"})]
    twice = tmp_path / "twice.csv"
    twice.write_text(f"gtin;serial;SERIAL\n{gtin};A;B\n")
    with pytest.raises(pp.DecodeError, match="column 'serial' appears twice"):
        read_rows(twice)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("gtin,serial,email\n1,2,3\n")
    with pytest.raises(pp.DecodeError, match="the columns: gtin, serial"):
        read_rows(unknown)


def _big_csv(rows: int, *, crlf: bool = False) -> str:
    end = "\r\n" if crlf else "\n"
    lines = [HEADER.strip()]
    for i in range(rows):
        # Every 7th row holds a quoted cell with line ends and escaped quotes inside.
        model = f'"Sac{end}""{i}""{end}noir"' if i % 7 == 0 else f"Sac {i}"
        lines.append(f"{PRODUCT['gtin']},S-{i},{model}")
    return end.join(lines) + end


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_a_large_file_read_in_pieces_gives_the_rows_a_whole_reading_gives(
    tmp_path: Path, crlf: bool
) -> None:
    text = _big_csv(6000, crlf=crlf)  # several chunks, with quoted line ends across them
    path = tmp_path / "run.csv"
    path.write_bytes(text.encode())
    whole = list(records(text, what=str(path), limit=MAX_CELL))
    streamed = read_rows(path)
    assert [line for line, _ in streamed] == [r.line for r in whole[1:]]
    assert [row["model"] for _, row in streamed] == [r.cells[2].strip() for r in whole[1:]]


def test_an_error_deep_in_a_large_file_names_its_own_line(tmp_path: Path) -> None:
    text = _big_csv(6000)
    line = text.count("\n") + 1
    path = tmp_path / "run.csv"
    path.write_text(text + f'{PRODUCT["gtin"]},BAD,"open\n')
    with pytest.raises(pp.DecodeError, match=rf"line {line}, column \d+: a quote"):
        read_rows(path)
    path.write_bytes(text.encode() + b"\xff\n")
    with pytest.raises(pp.DecodeError, match=rf"line {line}: not UTF-8"):
        read_rows(path)


def test_reading_rows_holds_one_piece_of_the_file_not_the_file(tmp_path: Path) -> None:
    import tracemalloc

    from dpp_ledger.ledger.rows import RowsFile

    def peak(rows: int) -> int:
        path = tmp_path / f"run-{rows}.csv"
        path.write_text(_big_csv(rows))
        tracemalloc.start()
        try:
            assert RowsFile(path).check() == rows
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(3000), peak(30_000)
    assert large < 1.5 * small, (small, large)  # ten times the rows, not ten times the memory


def test_issuing_from_a_file_holds_nothing_per_row(tmp_path: Path) -> None:
    # Memory flat in the file's size: a run of 8000 rows peaks where one of 2000 does (the
    # outcomes wait on disk). Holding even 20 bytes a row would add 120 KB here. Both files
    # are larger than the piece of text the reader holds at once. Measured in a fresh
    # interpreter after a warm-up run, so nothing else this session imported moves it.
    args = []
    for rows in (10, 2000, 8000):
        path = tmp_path / f"run-{rows}.csv"
        path.write_text(_rows(0, rows))
        args += [str(make_home(tmp_path / f"home-{rows}", World())), str(path)]
    probe = subprocess.run(
        [sys.executable, "-m", "tests.memory_probe", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    small, large = json.loads(probe.stdout)
    assert large - small < 64 * 1024, (small, large)


def test_a_report_reader_that_leaves_early_ends_the_run_quietly(tmp_path: Path) -> None:
    # `dpp issue --from FILE --json | head`: the outcomes are read back from their temporary
    # file as the report is written; a reader gone midway stops the report, not the issuance,
    # and nothing is printed about it.
    home = make_home(tmp_path / "home", World())
    path = tmp_path / "run.csv"
    path.write_text(_rows(0, 2500))  # a report well over a pipe's buffer
    args = ("issue", "--brand", "brand", "--as", "factory", "--from", str(path), "--json")
    child = subprocess.Popen(
        [DPP, "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
    )
    assert child.stdout is not None
    assert child.stderr is not None
    assert child.stdout.readline() == b"{\n"
    child.stdout.close()
    errors = child.stderr.read()
    assert child.wait(timeout=120) == 0
    assert errors == b""
    with Ledger.open(home / "ledger.db", read_only=True) as ledger:
        assert ledger.counts()["passports"] == 2500

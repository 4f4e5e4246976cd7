"""The `dpp` command through click's runner: help, exit codes, one-line errors, QR codes, JSON."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

import passport as pp
from cli.main import register
from ledger import KeyRole, KeyStore, Ledger
from tests.ledger_helpers import snapshot
from tests.vectors import generate
from tests.world import PRODUCT, T0, World

W = World()
DPP = register()
SECRET = "test passphrase"  # noqa: S105 - the tests' own throwaway keys
VECTORS = Path(generate.__file__).resolve().parent


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding the test world's keys (cheap KDF), roots, certificates and a log."""
    path = tmp_path_factory.mktemp("cli") / "home"
    keys = KeyStore(path / "keys", scrypt_log_n=14)
    for name, role in (
        ("brand", KeyRole.BRAND),
        ("factory", KeyRole.FACTORY),
        ("boutique", KeyRole.RETAILER),
        ("alice", KeyRole.OWNER),
        ("bob", KeyRole.OWNER),
        ("log", KeyRole.LOG),
    ):
        keys.add(
            name,
            role,
            getattr(W, name) if hasattr(W, name) else pp.SigningKey.generate(),
            lambda: SECRET,
        )
    with Ledger.create(path / "ledger.db") as ledger:
        ledger.records.add_trust_store(W.trust)
        for cert in W.certs.values():
            ledger.records.add_certificate(cert)
        ledger.checkpoints.set_log("test.example/log", keys.load("log", lambda: SECRET))
        ledger.checkpoints.sign()
    (path / "config.json").write_text('{"v": 1, "resolver": "https://id.example"}')
    return path


def run(
    home: Path | None, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> Result:
    base = ["--home", str(home)] if home else []
    environment = {"DPP_PASSPHRASE": SECRET, "DPP_HOME": ""} if env is None else env
    return CliRunner().invoke(DPP, [*base, *args], env=environment, input=input)


def _one_line_error(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(DPP), ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = run(None, *path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output or path in {
        ("key", "list"),
        ("trust", "list"),
        ("trust", "remove"),
        ("log", "key"),
    }


def test_the_main_help_lists_the_jobs() -> None:
    result = run(None, "--help")
    for command in ("demo", "issue", "record", "verify", "audit", "qr", "scan", "check"):
        assert command in result.output


# -- exit codes over the golden vectors ------------------------------------------------------

EXPECTED = json.loads((VECTORS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED["vectors"]))
def test_verify_exit_codes(name: str) -> None:
    expected = EXPECTED["vectors"][name]
    result = run(
        None,
        "verify",
        str(VECTORS / f"{name}.dpp"),
        "--trust",
        str(VECTORS / "trust.json"),
        "--at",
        str(EXPECTED["now"]),
        "--json",
    )
    if expected["fails"] == "decoding":
        assert result.exit_code == 2
        assert _one_line_error(result).startswith("dpp: bundle ")
        return
    assert result.exit_code == (0 if expected["outcome"] == "valid" else 1), result.output
    report = json.loads(result.stdout)["files"][0]
    assert report["outcome"] == expected["outcome"]


@pytest.mark.parametrize(
    "name", [n for n, v in sorted(EXPECTED["vectors"].items()) if v["outcome"] != "valid"]
)
def test_import_refuses_each_bad_vector_and_changes_nothing(home: Path, name: str) -> None:
    before = snapshot(home / "ledger.db")
    result = run(home, "import", str(VECTORS / f"{name}.dpp"))
    assert result.exit_code in (1, 2)
    assert _one_line_error(result).startswith("dpp: ")
    assert snapshot(home / "ledger.db") == before


@pytest.mark.parametrize(
    ("content", "code"), [(b"", 2), (b"\x00" * 10, 2), (b"\xa0", 2), (b"\x81" * 100_000, 2)]
)
def test_unreadable_bundles_exit_2(tmp_path: Path, content: bytes, code: int) -> None:
    path = tmp_path / "bad.dpp"
    path.write_bytes(content)
    result = run(None, "verify", str(path), "--trust", str(VECTORS / "trust.json"))
    assert result.exit_code == code
    _one_line_error(result)


def test_missing_files_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    trust = str(VECTORS / "trust.json")
    for args in (
        ("verify", str(tmp_path / "missing.dpp"), "--trust", trust),
        ("verify", str(VECTORS / "valid.dpp"), "--trust", str(tmp_path / "nope.json")),
        ("verify", str(VECTORS / "valid.dpp"), "--trust", trust, "--at", "yesterday"),
        ("verify", str(VECTORS / "valid.dpp")),
        ("record", "sale", "deadbeef", "--as", "x", "--owner", "y"),
        ("issue", "--brand", "x", "--gtin", "1"),
    ):
        result = run(None, *args)
        assert result.exit_code == 2, (args, result.output)
        _one_line_error(result)


def test_a_bad_trust_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "trust.json"
    bad.write_text('{"v": 1, "roots": [{"brand": "X"}]}')
    result = run(None, "verify", str(VECTORS / "valid.dpp"), "--trust", str(bad))
    assert result.exit_code == 2  # unreadable input, not "this item is not genuine"
    assert "'key' is a required property" in _one_line_error(result)


def test_no_passphrase_off_a_terminal(home: Path) -> None:
    result = run(home, "key", "new", "carol", env={"DPP_HOME": ""})
    assert result.exit_code == 1
    assert "no passphrase: set DPP_PASSPHRASE" in _one_line_error(result)


def test_a_wrong_passphrase(home: Path) -> None:
    result = run(
        home,
        "issue",
        "--brand",
        "brand",
        "--gtin",
        PRODUCT["gtin"],
        "--serial",
        "Z1",
        env={"DPP_PASSPHRASE": "wrong", "DPP_HOME": ""},
    )
    assert result.exit_code == 1
    assert "wrong passphrase for key 'brand'" in _one_line_error(result)


# -- the life of one passport through the command ---------------------------------------------


@pytest.fixture(scope="module")
def pid(home: Path) -> str:
    data = home.parent / "bag.json"
    data.write_text(json.dumps({k: v for k, v in PRODUCT.items() if k not in ("gtin", "serial")}))
    result = run(
        home,
        "issue",
        "--brand",
        "brand",
        "--as",
        "factory",
        "--gtin",
        PRODUCT["gtin"],
        "--serial",
        "CLI-1",
        "--data",
        str(data),
    )
    assert result.exit_code == 0, result.output
    result = run(
        home,
        "record",
        "sale",
        result.stdout.strip()[:12],
        "--as",
        "boutique",
        "--owner",
        "alice",
        "--json",
    )
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["pid"])


def test_issue_warns_about_missing_espr_data(home: Path) -> None:
    result = run(home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "BARE")
    assert result.exit_code == 0
    assert "warning: an ESPR passport should also carry: brand, model" in result.stderr
    assert len(result.stdout.strip()) == 64


def test_bulk_issue_names_refused_rows(home: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "gtin,serial,model\n"
        f"{PRODUCT['gtin']},BULK-1,Sac\n"
        "03614270000420,BULK-2,Sac\n"
        f"{PRODUCT['gtin']},BULK 3,Sac\n"
        f"{PRODUCT['gtin']},BULK-4,Sac\n"
    )
    before = Ledger.open(home / "ledger.db")
    count = before.counts()["passports"]
    before.close()
    result = run(home, "issue", "--brand", "brand", "--from", str(rows))
    assert result.exit_code == 1
    assert "Issued 2 passports" in result.stdout
    assert "line 3: " in result.stderr
    assert "check digit" in result.stderr
    assert "line 4: " in result.stderr
    with Ledger.open(home / "ledger.db") as ledger:
        assert ledger.counts()["passports"] == count + 2
    bad_columns = tmp_path / "rows2.csv"
    bad_columns.write_text("gtin,serial,email\n1,2,x@y\n")
    result = run(home, "issue", "--brand", "brand", "--from", str(bad_columns))
    assert result.exit_code == 2
    assert "unknown columns ['email']" in _one_line_error(result)


def test_show_export_and_verify_as_json(home: Path, pid: str, tmp_path: Path) -> None:
    shown = run(home, "show", pid[:10], "--json")
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["owner"] == W.alice.kid.hex()
    bundle = tmp_path / "bag.dpp"
    assert run(home, "export", pid, "-o", str(bundle)).exit_code == 0
    verified = run(home, "verify", str(bundle), "--json")
    assert verified.exit_code == 0, verified.output
    files = json.loads(verified.stdout)["files"]
    assert files[0]["outcome"] == "valid"
    assert [h["type"] for h in files[0]["history"]] == ["production", "sale"]


def test_an_invalid_record_is_refused_and_changes_nothing(home: Path, pid: str) -> None:
    before = snapshot(home / "ledger.db")
    result = run(home, "record", "resale", pid, "--as", "bob", "--to", "alice")
    assert result.exit_code == 1
    assert "not by the current owner" in _one_line_error(result)
    result = run(home, "record", "repair", pid, "--as", "alice")
    assert result.exit_code == 1
    assert "'work' is a required property" in _one_line_error(result)
    assert snapshot(home / "ledger.db") == before


def _decoders(path: Path) -> tuple[str, str]:
    import cv2
    import zxingcpp
    from PIL import Image

    first = zxingcpp.read_barcodes(Image.open(path))[0].text
    # OpenCV's ArUco-based detector reads dense codes (the offline form is ~version 25)
    # that its classic detector misses about one time in three.
    second, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(cv2.imread(str(path)))
    return first, second


def test_qr_codes_decode_with_two_independent_readers(home: Path, pid: str, tmp_path: Path) -> None:
    link = tmp_path / "link.png"
    result = run(home, "qr", pid, "-o", str(link))
    assert result.exit_code == 0, result.output
    expected = f"https://id.example/01/{PRODUCT['gtin']}/21/CLI-1?pid={pid}"
    assert _decoders(link) == (expected, expected)
    offline = tmp_path / "offline.png"
    assert run(home, "qr", pid, "--form", "offline", "-o", str(offline)).exit_code == 0
    text, again = _decoders(offline)
    assert text == again
    assert text.startswith("DPP1:")
    scanned = run(home, "scan", str(offline))
    assert scanned.exit_code == 0
    assert "Maison Example issued passport" in scanned.stdout
    scanned_link = run(home, "scan", str(link), "--json")
    assert json.loads(scanned_link.stdout)["pid"] == pid
    svg = tmp_path / "link.svg"
    assert run(home, "qr", pid, "-o", str(svg)).exit_code == 0
    assert svg.read_text().lstrip().startswith("<?xml")
    terminal = run(home, "qr", pid)
    assert expected in terminal.stdout


def test_verify_against_a_scanned_code(home: Path, pid: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bag.dpp"
    run(home, "export", pid, "-o", str(bundle))
    right = f"https://id.example/01/{PRODUCT['gtin']}/21/CLI-1"
    assert run(home, "verify", str(bundle), "--link", right).exit_code == 0
    wrong = run(
        home, "verify", str(bundle), "--link", f"https://id.example/01/{PRODUCT['gtin']}/21/OTHER"
    )
    assert wrong.exit_code == 1
    # The genuine file is the wrong item: that is the first thing a buyer reads.
    assert wrong.stdout.startswith("NOT THIS ITEM: the scanned code DOES NOT MATCH")
    not_a_qr = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (64, 64), 255).save(not_a_qr)
    result = run(home, "verify", str(bundle), "--qr", str(not_a_qr))
    assert result.exit_code == 2
    assert "no QR code found" in _one_line_error(result)


def test_ownership_proof(home: Path, pid: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bag.dpp"
    run(home, "export", pid, "-o", str(bundle))
    response = run(home, "owner", "prove", str(bundle), "--as", "alice", "--challenge", "c1")
    assert response.exit_code == 0
    good = run(
        home,
        "owner",
        "check",
        str(bundle),
        "--challenge",
        "c1",
        "--response",
        response.stdout.strip(),
    )
    assert good.exit_code == 0, good.output
    for challenge, answer in (("c2", response.stdout.strip()), ("c1", "bm90IGEgc2lnbmF0dXJl")):
        bad = run(
            home, "owner", "check", str(bundle), "--challenge", challenge, "--response", answer
        )
        assert bad.exit_code == 1
        _one_line_error(bad)
    thief = run(home, "owner", "prove", str(bundle), "--as", "bob", "--challenge", "c1")
    bad = run(
        home, "owner", "check", str(bundle), "--challenge", "c1", "--response", thief.stdout.strip()
    )
    assert "not signed by the current owner" in _one_line_error(bad)


def test_a_seller_appends_to_the_bundle_file(home: Path, pid: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bag.dpp"
    run(home, "export", pid, "-o", str(bundle))
    before = bundle.read_bytes()
    refused = run(home, "record", "resale", str(bundle), "--as", "bob", "--to", "alice")
    assert refused.exit_code == 1
    assert bundle.read_bytes() == before  # the file is only replaced by a verified chain
    done = run(home, "record", "resale", str(bundle), "--as", "alice", "--to", "bob")
    assert done.exit_code == 0, done.output
    report = pp.verify(bundle.read_bytes(), W.trust, now=T0 + 10**9)
    assert report.owner == W.bob.kid


def test_verify_two_copies_reports_a_fork(home: Path, pid: str, tmp_path: Path) -> None:
    one, two = tmp_path / "one.dpp", tmp_path / "two.dpp"
    run(home, "export", pid, "-o", str(one))
    shutil.copy(one, two)
    assert run(home, "record", "resale", str(one), "--as", "alice", "--to", "bob").exit_code == 0
    assert run(home, "record", "stolen", str(two), "--as", "alice").exit_code == 0
    plain = run(home, "verify", str(one), str(two))
    assert plain.exit_code == 1
    assert plain.stdout.startswith("FORK: "), plain.stdout[:200]
    result = run(home, "verify", str(one), str(two), "--json")
    assert result.exit_code == 1
    conflicts: list[dict[str, Any]] = json.loads(result.stdout)["conflicts"]
    assert [c["kind"] for c in conflicts] == ["fork"]


def test_log_audit_and_check(home: Path, pid: str, tmp_path: Path) -> None:
    old = tmp_path / "old.txt"
    assert run(home, "log", "checkpoint", "-o", str(old)).exit_code == 0
    run(home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "AUDIT-1")
    audit = run(home, "audit", str(old), "--json")
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout)["ok"] is True
    proofs = run(home, "log", "prove", pid)
    assert json.loads(proofs.stdout)["origin"] == "test.example/log"
    tampered = tmp_path / "tampered.txt"
    lines = old.read_text().split("\n")
    lines[2] = ("B" if lines[2][0] != "B" else "C") + lines[2][1:]  # another root, same shape
    tampered.write_text("\n".join(lines))
    bad = run(home, "audit", str(tampered))
    assert bad.exit_code == 1
    _one_line_error(bad)
    checked = run(home, "check", "--jobs", "1", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["problems"] == []


def test_init_with_a_bad_origin_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "h"
    result = run(home, "init", "--origin", "has space")
    assert result.exit_code == 2
    assert "cannot name a log" in _one_line_error(result)
    assert not home.exists()


def test_text_that_is_not_unicode_is_one_line(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "bad.json"
    data.write_text('{"model": "\\ud800"}')
    result = run(
        home,
        "issue",
        "--brand",
        "brand",
        "--gtin",
        PRODUCT["gtin"],
        "--serial",
        "U1",
        "--data",
        str(data),
    )
    assert result.exit_code == 1
    assert "not valid Unicode" in _one_line_error(result)


def test_an_unreadable_checkpoint_is_exit_2(home: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a checkpoint")
    result = run(home, "audit", str(garbage))
    assert result.exit_code == 2
    assert "not a readable checkpoint" in _one_line_error(result)


WRITERS = [
    pytest.param(("export", "{pid}"), id="export"),
    pytest.param(("qr", "{pid}"), id="qr"),
    pytest.param(("trust", "export"), id="trust-export"),
    pytest.param(("log", "checkpoint"), id="log-checkpoint"),
]


@pytest.mark.parametrize("command", WRITERS)
def test_output_never_replaces_the_ledger_a_key_a_device_or_a_folder(
    home: Path, pid: str, tmp_path: Path, command: tuple[str, ...]
) -> None:
    args = [part.format(pid=pid) for part in command]
    key_file = next((home / "keys").iterdir())
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    before = (snapshot(home / "ledger.db"), key_file.read_bytes())
    cases = [
        (home / "ledger.db", "inside the ledger home"),
        (key_file, "inside the ledger home"),
        (home / "keys" / ".." / "config.json", "inside the ledger home"),
        (fifo, "not a regular file"),
        (folder, "is a directory"),  # click refuses it first
        (tmp_path / "typo" / "x.out", "no folder"),
    ]
    for target, reason in cases:
        result = run(home, *args, "-o", str(target))
        assert result.exit_code == 2, (target, result.output)
        assert reason in _one_line_error(result), target
    assert (snapshot(home / "ledger.db"), key_file.read_bytes()) == before
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert folder.is_dir()
    assert not (tmp_path / "typo").exists()
    fine = run(home, *args, "-o", str(tmp_path / "out.svg"))
    assert fine.exit_code == 0, fine.output
    assert (tmp_path / "out.svg").stat().st_size > 0


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--origin", "log\udcff", "not valid UTF-8"),  # the byte 0xff from a shell
        ("--resolver", "http://a b", "give an http or https base URL"),
        ("--resolver", "javascript:alert(1)", "give an http or https base URL"),
        ("--resolver", "https://id.example/?q=1", "give an http or https base URL"),
    ],
)
def test_init_refuses_what_would_break_its_links_and_creates_nothing(
    tmp_path: Path, option: str, value: str, reason: str
) -> None:
    home = tmp_path / "h"
    result = run(home, "init", option, value)
    assert result.exit_code == 2
    assert reason in _one_line_error(result)
    assert not home.exists()


def test_arguments_that_are_not_utf8_are_one_line(home: Path, pid: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bag.dpp"
    run(home, "export", pid, "-o", str(bundle))
    for args in (
        ("owner", "prove", str(bundle), "--as", "alice", "--challenge", "c\udcff"),
        ("owner", "check", str(bundle), "--challenge", "c\udcff", "--response", "AAAA"),
        ("qr", pid, "--resolver", "https://id.example/\udcff"),
    ):
        result = run(home, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "UTF-8" in _one_line_error(result) or "resolver" in _one_line_error(result)


def test_csv_numbers_and_fields_out_of_bounds_are_named(home: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    header = "gtin,serial,model,recycled_content\n"
    for cell in ("9" * 5000, "\u00b2", "\u0661\u0662"):
        rows.write_text(header + f"{PRODUCT['gtin']},NUM-{len(cell)},Sac,{cell}\n")
        result = run(home, "issue", "--brand", "brand", "--from", str(rows))
        assert result.exit_code == 1, result.output
        assert "line 2: " in result.stderr
        assert "Traceback" not in result.output
    rows.write_text(header + f"{PRODUCT['gtin']},BIG,{'x' * 200_000},1\n")
    result = run(home, "issue", "--brand", "brand", "--from", str(rows))
    assert result.exit_code == 2
    assert "not CSV" in _one_line_error(result)

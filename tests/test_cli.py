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

import dpp_ledger.passport as pp
from dpp_ledger.cli.main import register
from dpp_ledger.ledger import KeyRole, KeyStore, Ledger
from dpp_ledger.passport import ownership
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
    assert "0 already issued, 2 new; refused 2" in result.stdout
    assert "line 3: " in result.stderr
    assert "check digit" in result.stderr
    assert "line 4: " in result.stderr
    with Ledger.open(home / "ledger.db") as ledger:
        assert ledger.counts()["passports"] == count + 2
    bad_columns = tmp_path / "rows2.csv"
    bad_columns.write_text("gtin,serial,email\n1,2,x@y\n")
    result = run(home, "issue", "--brand", "brand", "--from", str(bad_columns))
    assert result.exit_code == 2
    assert "line 1, column 13: unknown column 'email'" in _one_line_error(result)


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
    assert terminal.stderr == ""  # a resolver phones can reach: nothing to warn about
    local = run(home, "qr", pid, "--resolver", "http://127.0.0.1:8000", "-o", str(svg))
    assert local.exit_code == 0  # written, and the user told why a phone cannot open it
    assert "this machine itself, which no phone can reach" in local.stderr
    assert "dpp init --resolver URL" in local.stderr


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
    # A key that does not own the item gets no proof (it would fail at the buyer's check).
    thief = run(home, "owner", "prove", str(bundle), "--as", "bob", "--challenge", "c1")
    assert thief.exit_code == 1
    assert thief.stdout == ""
    message = _one_line_error(thief)
    assert f"its current owner is key {W.alice.kid.hex()[:8]}" in message
    forged = ownership.prove(W.bob, bytes.fromhex(pid), "c1")
    bad = run(home, "owner", "check", str(bundle), "--challenge", "c1", "--response", forged)
    assert "not signed by the current owner" in _one_line_error(bad)
    # Nor does a bundle that does not verify.
    tampered = tmp_path / "tampered.dpp"
    data = bytearray(bundle.read_bytes())
    data[-70] ^= 1
    tampered.write_bytes(bytes(data))
    refused = run(home, "owner", "prove", str(tampered), "--as", "alice", "--challenge", "c1")
    assert refused.exit_code in (1, 2)
    assert refused.stdout == ""
    _one_line_error(refused)


def test_a_seller_appends_to_the_bundle_file(home: Path, pid: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bag.dpp"
    run(home, "export", pid, "-o", str(bundle))
    before = bundle.read_bytes()
    refused = run(home, "record", "resale", str(bundle), "--as", "bob", "--to", "alice")
    assert refused.exit_code == 1
    assert bundle.read_bytes() == before  # the file is only replaced by a verified chain
    logged = pp.parse_bundle(before).log
    done = run(home, "record", "resale", str(bundle), "--as", "alice", "--to", "bob")
    assert done.exit_code == 0, done.output
    report = pp.verify(bundle.read_bytes(), W.trust, now=T0 + 10**9)
    assert report.owner == W.bob.kid
    # The earlier events keep their log proofs and the checkpoint; the new one is said to be
    # not yet in the brand's log (a warning, not "every check passed").
    after = pp.parse_bundle(bundle.read_bytes())
    assert logged is not None
    assert after.log == logged
    log = next(c for c in report.checks if c.name == "log")
    assert log.status is pp.Status.WARN
    assert f"event {len(after.events) - 1} (resale) is not yet in the brand's log" in log.detail


def test_verify_two_copies_reports_a_fork(home: Path, pid: str, tmp_path: Path) -> None:
    one, two = tmp_path / "one.dpp", tmp_path / "two.dpp"
    run(home, "export", pid, "-o", str(one))
    shutil.copy(one, two)
    assert run(home, "record", "resale", str(one), "--as", "alice", "--to", "bob").exit_code == 0
    assert run(home, "record", "stolen", str(two), "--as", "alice").exit_code == 0
    plain = run(home, "verify", str(one), str(two))
    assert plain.exit_code == 1
    first = plain.stdout.splitlines()[0]
    # In plain words first: what happened twice, by whom and when, and what to do.
    assert first.startswith("HISTORY SPLIT: passport "), first
    assert "Resold to owner" in first
    assert "Reported stolen" in first
    assert "by owner" in first
    assert "Neither bundle can be trusted to name the current owner" in first
    assert "GENUINE" not in plain.stdout  # neither side is told as genuine on its own
    assert plain.stdout.count("one side of the conflict above") == 2
    result = run(home, "verify", str(one), str(two), "--json")
    assert result.exit_code == 1
    conflicts: list[dict[str, Any]] = json.loads(result.stdout)["conflicts"]
    assert [c["kind"] for c in conflicts] == ["fork"]


def test_a_double_sale_says_sold_twice_and_a_clone_says_cloned(
    home: Path, pid: str, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.dpp", tmp_path / "two.dpp"
    run(home, "export", pid, "-o", str(one))
    shutil.copy(one, two)
    assert run(home, "record", "resale", str(one), "--as", "alice", "--to", "bob").exit_code == 0
    carol = pp.SigningKey.from_seed(bytes(range(32))).public_key.raw.hex()
    assert (
        run(home, "record", "resale", str(two), "--as", "alice", "--to-key", carol).exit_code == 0
    )
    first = run(home, "verify", str(one), str(two)).stdout.splitlines()[0]
    assert first.startswith("SOLD TWICE: passport "), first
    assert first.count("Resold to owner") == 2
    # Two first events for one item from one brand: a clone, whoever issued each.
    a, b = W.bundle(W.issue(time=T0)), W.bundle(W.issue(signer=W.brand, time=T0 + 60))
    (tmp_path / "a.dpp").write_bytes(pp.bundle_to_bytes(a))
    (tmp_path / "b.dpp").write_bytes(pp.bundle_to_bytes(b))
    clone = run(home, "verify", str(tmp_path / "a.dpp"), str(tmp_path / "b.dpp"))
    assert clone.exit_code == 1
    line = clone.stdout.splitlines()[0]
    assert line.startswith(
        f"CLONED: two different passports were issued for GTIN {PRODUCT['gtin']}"
    )
    assert "by Maison Example" in line
    assert "At least one item is a copy" in line


def test_log_audit_and_check(home: Path, pid: str, tmp_path: Path) -> None:
    old = tmp_path / "old.txt"
    assert run(home, "log", "checkpoint", "-o", str(old)).exit_code == 0
    run(home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "AUDIT-1")
    audit = run(home, "audit", str(old), "--json")
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout)["ok"] is True
    new = tmp_path / "new.txt"
    assert run(home, "log", "checkpoint", "-o", str(new)).exit_code == 0
    swapped = run(home, "audit", str(new), str(old))  # NEW OLD: audited, and said so
    assert swapped.exit_code == 0, swapped.output
    assert "OLD is the newer checkpoint" in swapped.stderr
    assert "audited them the other way round" in swapped.stderr
    assert "OLD is the newer" not in run(home, "audit", str(old), str(new)).stderr
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
    assert "line 2, column 20: a cell of 200,000 characters" in _one_line_error(result)


def test_a_stolen_item_leads_with_the_flag_and_what_to_do(tmp_path: Path) -> None:
    events = W.then(W.sold(), W.bob, "stolen", {"reference": "PP-2026-118"})
    bag = tmp_path / "bag.dpp"
    bag.write_bytes(pp.bundle_to_bytes(W.bundle(events)))
    trust = tmp_path / "trust.json"
    trust.write_text(W.trust.to_json())
    when = pp.report.format_time(events[-1].time)[:10]
    for command in (("verify", str(bag)), ("show", str(bag))):
        result = run(None, *command, "--trust", str(trust))
        first = result.stdout.splitlines()[0]
        assert first == (
            f"{bag if command[0] == 'verify' else 'Passport ' + events[0].pid.hex()[:16]}: "
            f"STOLEN: Reported stolen by its owner (key {W.bob.kid.hex()[:8]}) on {when} "
            "(case PP-2026-118): do not buy; contact the brand"
        ), first
        assert "GENUINE" not in first
    data = json.loads(run(None, "verify", str(bag), "--trust", str(trust), "--json").stdout)
    report = data["files"][0]
    assert report["stolen"] is True
    assert report["end_of_life"] is False
    assert report["alerts"][0]["kind"] == "stolen"
    assert report["alerts"][0]["when"].startswith(when)


def test_one_key_id_everywhere_and_a_unique_start_is_enough(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init", "--origin", "ids.example/log").exit_code == 0
    assert run(home, "brand", "new", "maison", "--gs1-prefix", "3614270").exit_code == 0
    assert run(home, "key", "new", "shop", "--role", "retailer").exit_code == 0
    assert (
        run(home, "delegate", "--brand", "maison", "--key", "shop", "--role", "retailer").exit_code
        == 0
    )
    exported = tmp_path / "trust.json"
    assert run(home, "trust", "export", "-o", str(exported)).exit_code == 0
    root = json.loads(exported.read_text())["roots"][0]
    listed = json.loads(run(home, "trust", "list", "--json").stdout)["roots"][0]
    assert root["kid"] == listed["kid"]  # the id `trust list` prints is in trust.json
    shop = next(
        k for k in json.loads(run(home, "key", "list", "--json").stdout) if k["name"] == "shop"
    )
    revoked = run(home, "revoke", "--brand", "maison", shop["kid"][:8].upper())
    assert revoked.exit_code == 0, revoked.output
    assert shop["kid"][:8] in revoked.stdout
    short_id = run(home, "trust", "remove", root["kid"][:5])
    assert short_id.exit_code == 2
    assert "first 8 or more" in _one_line_error(short_id)
    unknown = run(home, "trust", "remove", "0" * 10)
    assert unknown.exit_code == 2
    assert "no trusted root has a key id starting 0000000000" in _one_line_error(unknown)
    removed = run(home, "trust", "remove", root["kid"][:10])
    assert removed.exit_code == 0, removed.output
    assert json.loads(run(home, "trust", "list", "--json").stdout)["roots"] == []


def test_without_a_home_every_command_says_where_it_looked_and_how_to_make_one(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere"
    for args in (("key", "list"), ("issue", "--brand", "maison", "--gtin", "1"), ("trust", "list")):
        result = run(missing, *args)
        assert result.exit_code == 2, (args, result.output)
        line = _one_line_error(result)
        assert f"no home at {missing} (chosen by --home)" in line
        assert "run `dpp init`" in line
    default = run(None, "key", "list", env={"DPP_HOME": "", "DPP_PASSPHRASE": SECRET})
    assert "neither --home nor $DPP_HOME is set" in _one_line_error(default)


def test_home_may_follow_the_subcommand(home: Path) -> None:
    before = run(home, "key", "list")
    after = CliRunner().invoke(
        DPP, ["key", "list", "--home", str(home)], env={"DPP_HOME": "", "DPP_PASSPHRASE": SECRET}
    )
    assert after.exit_code == 0, after.output
    assert after.stdout == before.stdout
    joined = CliRunner().invoke(DPP, ["key", "list", f"--home={home}"], env={"DPP_HOME": ""})
    assert joined.stdout == before.stdout


def test_a_new_key_needs_the_passphrase_of_the_keys_already_there(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init").exit_code == 0
    wrong = run(home, "key", "new", "alice", env={"DPP_HOME": "", "DPP_PASSPHRASE": "another one!"})
    assert wrong.exit_code == 2
    assert "does not open the keys already in" in _one_line_error(wrong)
    assert "alice" not in run(home, "key", "list").stdout
    short = run(tmp_path / "other", "init", env={"DPP_HOME": "", "DPP_PASSPHRASE": "short"})
    assert short.exit_code == 0
    assert "a passphrase of 5 characters is easy to guess offline" in short.stderr


def test_an_owner_that_is_no_key_is_said_in_words(home: Path, pid: str) -> None:
    result = run(home, "record", "sale", pid, "--as", "boutique", "--owner", "nobody")
    assert result.exit_code == 2
    line = _one_line_error(result)
    assert "there is no key called 'nobody'" in line
    assert "`dpp key list` shows this home's keys" in line
    assert "does not match" not in line


def test_a_file_given_to_the_wrong_command_is_named_for_what_it_is(
    home: Path, pid: str, tmp_path: Path
) -> None:
    picture = tmp_path / "bag.png"
    assert run(home, "qr", pid, "-o", str(picture)).exit_code == 0
    bundle = tmp_path / "bag.dpp"
    assert run(home, "export", pid, "-o", str(bundle)).exit_code == 0
    trust = tmp_path / "trust.json"
    trust.write_text(W.trust.to_json())
    cases = [
        (
            ("verify", str(picture), "--trust", str(trust)),
            "is a PNG picture, not a passport bundle",
        ),
        (("verify", str(picture), "--trust", str(trust)), f"use `dpp scan {picture}`"),
        (
            ("verify", str(trust), "--trust", str(trust)),
            "is a JSON document, not a passport bundle",
        ),
        (("scan", str(bundle)), "not a picture (PNG, JPEG, GIF, BMP, WebP...)"),
        (("scan", str(bundle)), "a passport bundle: use `dpp verify` on it"),
        (("scan", str(trust)), "it looks like a JSON document"),
    ]
    for args, words in cases:
        result = run(home, *args)
        assert result.exit_code == 2, (args, result.output)
        line = _one_line_error(result)
        assert words in line, line
        assert "BytesIO" not in line
        assert "declares" not in line

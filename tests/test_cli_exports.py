"""`dpp export --format epcis|untp [--sign]`, `dpp show --json --format`, verifying a credential."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft7Validator, Draft202012Validator

from tests import test_cli
from tests.test_cli import _one_line_error, run
from tests.test_exports import EPCIS_VALIDATOR, UNTP_VALIDATOR, _errors

home = test_cli.home  # the same fixtures: a home with the test world's keys, a sold passport
pid = test_cli.pid
VALIDATORS: dict[str, Draft7Validator | Draft202012Validator] = {
    "epcis": EPCIS_VALIDATOR,
    "untp": UNTP_VALIDATOR,
}


def _trust(home: Path, tmp_path: Path) -> str:
    trust = tmp_path / "trust.json"
    assert run(home, "trust", "export", "-o", str(trust)).exit_code == 0
    return str(trust)


def test_export_views_are_valid_against_the_official_schemas(
    home: Path, pid: str, tmp_path: Path
) -> None:
    for fmt, validator in VALIDATORS.items():
        printed = run(home, "export", pid[:12], "--format", fmt)
        assert printed.exit_code == 0, printed.output
        document = json.loads(printed.stdout)
        assert _errors(validator, document) == []
        target = tmp_path / f"bag.{fmt}.json"
        written = run(home, "export", pid[:12], "--format", fmt, "-o", str(target))
        assert written.exit_code == 0, written.output
        assert json.loads(target.read_text())["type"] == document["type"]
    events = json.loads(run(home, "export", pid[:12], "--format", "epcis").stdout)
    assert [e["bizStep"] for e in events["epcisBody"]["eventList"]] == [
        "commissioning",
        "retail_selling",
    ]


def test_a_bundle_file_exports_offline_with_a_trust_file(
    home: Path, pid: str, tmp_path: Path
) -> None:
    bag = tmp_path / "bag.dpp"
    assert run(home, "export", pid[:12], "-o", str(bag)).exit_code == 0
    result = run(None, "export", str(bag), "--format", "epcis", "--trust", _trust(home, tmp_path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["epcisBody"]["eventList"][0]["dpp:passportId"] == pid


def test_show_json_in_each_format(home: Path, pid: str) -> None:
    report = json.loads(run(home, "show", pid[:12], "--json", "--format", "report").stdout)
    assert report["pid"] == pid
    untp = json.loads(run(home, "show", pid[:12], "--json", "--format", "untp").stdout)
    assert untp["credentialSubject"]["id"] == f"urn:dpp:passport:{pid}"
    refused = run(home, "show", pid[:12], "--format", "epcis")
    assert refused.exit_code == 2
    assert "add --json" in _one_line_error(refused)


def test_a_signed_credential_verifies_beside_its_bundle(
    home: Path, pid: str, tmp_path: Path
) -> None:
    bag, credential = tmp_path / "bag.dpp", tmp_path / "bag.vc.cose"
    assert run(home, "export", pid[:12], "-o", str(bag)).exit_code == 0
    signed = run(
        home, "export", pid[:12], "--format", "untp", "--sign", "factory", "-o", str(credential)
    )
    assert signed.exit_code == 0, signed.output
    assert credential.read_bytes()[:1] == b"\xd2"
    trust = _trust(home, tmp_path)
    result = run(None, "verify", str(credential), str(bag), "--trust", trust)
    assert result.exit_code == 0, result.output
    assert "GENUINE: a UNTP passport credential" in result.stdout
    assert "signed by Atelier Firenze (factory of Maison Example)" in result.stdout
    as_json = run(None, "verify", str(bag), str(credential), "--trust", trust, "--json")
    assert json.loads(as_json.stdout)["credential"]["valid"] is True


def test_a_credential_is_refused_beside_another_passport(
    home: Path, pid: str, tmp_path: Path
) -> None:
    credential, other = tmp_path / "bag.vc.cose", tmp_path / "other.dpp"
    run(home, "export", pid[:12], "--format", "untp", "--sign", "factory", "-o", str(credential))
    issued = run(
        home,
        "issue",
        "--brand",
        "brand",
        "--as",
        "factory",
        "--gtin",
        "03614270000423",
        "--serial",
        "CLI-OTHER",
    )
    assert issued.exit_code == 0, issued.output
    assert run(home, "export", issued.stdout.strip(), "-o", str(other)).exit_code == 0
    result = run(None, "verify", str(credential), str(other), "--trust", _trust(home, tmp_path))
    assert result.exit_code == 1
    assert "NOT GENUINE: the credential names" in result.stdout


def test_only_a_key_the_brand_certified_signs_and_nothing_is_written_otherwise(
    home: Path, pid: str, tmp_path: Path
) -> None:
    target = tmp_path / "forged.vc.cose"
    result = run(home, "export", pid[:12], "--format", "untp", "--sign", "alice", "-o", str(target))
    assert result.exit_code == 1
    assert "holds no certificate from 'Maison Example'" in _one_line_error(result)
    assert not target.exists()


def test_export_and_verify_usage_errors_are_one_line(home: Path, pid: str, tmp_path: Path) -> None:
    cases = [
        (["export", pid[:12]], "give -o FILE"),
        (["export", pid[:12], "--format", "epcis", "--sign", "factory"], "--format untp"),
        (["export", pid[:12], "--format", "untp", "--sign", "factory"], "give -o FILE"),
    ]
    for args, message in cases:
        result = run(home, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in _one_line_error(result)
    credential = tmp_path / "c.vc.cose"
    run(home, "export", pid[:12], "--format", "untp", "--sign", "factory", "-o", str(credential))
    alone = run(home, "verify", str(credential))
    assert alone.exit_code == 2
    assert "give it and that passport's bundle" in _one_line_error(alone)
    broken = tmp_path / "broken.vc.cose"
    broken.write_bytes(credential.read_bytes() + b"\0")
    bag = tmp_path / "bag.dpp"
    run(home, "export", pid[:12], "-o", str(bag))
    unreadable = run(home, "verify", str(broken), str(bag))
    assert unreadable.exit_code == 2
    assert _one_line_error(unreadable).startswith("dpp: credential")

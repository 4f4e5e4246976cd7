"""Trust by key, never by name: the holes an outside review found, each closed (issue 12).

A brand is its root key. A second root cannot borrow a brand's authority by its name, by a
prefix nested in the brand's, or by a revocation list; a checkpoint is its log's key too.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import checkpoint as notes
from dpp_ledger.passport import gs1, merkle
from dpp_ledger.passport.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint
from dpp_ledger.passport.evidence import ConflictKind, find_conflicts
from dpp_ledger.passport.report import Outcome, Status
from tests.ledger_helpers import new_ledger, store_chain
from tests.world import DAY, GTIN, T0, YEAR, World, gtin, key

W = World()
MAISON = W.trust.roots[0]
EVIL = key("evil-root")
EVIL_SHOP = key("evil-boutique")
EVIL_PREFIX = "5012345"
WINDOW = {"nbf": T0 - YEAR, "exp": T0 + 5 * YEAR}
NOW = T0 + 30 * DAY


def _store(*extra: pp.TrustedRoot) -> pp.TrustStore:
    return pp.TrustStore.of([MAISON, *extra])


def _evil(name: str = "Small Brand", prefixes: tuple[str, ...] = (EVIL_PREFIX,)) -> pp.TrustedRoot:
    return pp.TrustedRoot(name, EVIL.public_key, prefixes)


# -- 1. a second root with the brand's name ------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Maison Example",
        "MAISON EXAMPLE",
        " maison   example ",
        "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in "Maison Example"),
    ],
    ids=["same", "case", "spaces", "fullwidth"],
)
def test_a_second_root_with_the_brand_name_is_refused_naming_both(name: str) -> None:
    with pytest.raises(pp.TrustStoreError) as caught:
        _store(_evil(name))
    message = str(caught.value)
    assert MAISON.key.kid_hex[:16] in message
    assert EVIL.public_key.kid_hex[:16] in message
    assert "a brand is its key" in message.lower()
    with pytest.raises(pp.TrustStoreError, match="two roots are named"):
        pp.TrustStore.from_json(
            json.dumps(
                {
                    "v": 1,
                    "roots": [
                        {"brand": r.brand, "key": r.key.raw.hex(), "gs1_prefixes": r.gs1_prefixes}
                        for r in (MAISON, _evil(name))
                    ],
                }
            )
        )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("M\u0430ison Example", "mixes Cyrillic and Latin letters"),  # Cyrillic a
        ("Maison Ex\u0430mple", "mixes Cyrillic and Latin letters"),
        ("Ma\u03b9son Example", "mixes Greek and Latin letters"),  # Greek iota
        ("Maison\u200bExample", "invisible or control character"),
        ("Maison Example\u202e", "invisible or control character"),  # right-to-left override
    ],
)
def test_look_alike_names_are_refused(name: str, why: str) -> None:
    with pytest.raises(pp.TrustStoreError, match=why):
        _store(_evil(name))


def _evil_certs() -> tuple[pp.Certificate, ...]:
    return (
        pp.delegate(EVIL, EVIL_SHOP.public_key, name="Boutique Paris", role="retailer", **WINDOW),
        # The other root certifies Maison's own boutique key too: that gives it nothing.
        pp.delegate(EVIL, W.boutique.public_key, name="Boutique Paris", role="retailer", **WINDOW),
        pp.delegate(EVIL, W.repairer.public_key, name="Repair", role="repairer", **WINDOW),
    )


def _verify(
    events: list[pp.Event], *, revocations: tuple[pp.RevocationList, ...] = ()
) -> pp.Report:
    bundle = W.bundle(events, revocations=revocations)
    bundle = pp.Bundle(bundle.events, (*bundle.certs, *_evil_certs()), bundle.keys, revocations)
    return pp.verify(pp.bundle_to_bytes(bundle), _store(_evil()), now=events[-1].time + DAY)


def _fails(report: pp.Report, check: str, text: str) -> None:
    assert report.outcome is Outcome.INVALID
    assert report.failures[0].name == check, report.failures
    assert text in report.failures[0].detail, report.failures[0].detail


def test_another_roots_boutique_cannot_sell_the_brands_item() -> None:
    sale = {"owner": W.alice.kid.hex(), "channel": "boutique"}
    report = _verify(W.then(W.issue(), EVIL_SHOP, "sale", sale))
    _fails(report, "authority", "holds no certificate from 'Maison Example'")


@pytest.mark.parametrize(("kind", "data"), [("stolen", {}), ("end_of_life", {"fate": "recycled"})])
def test_another_root_cannot_flag_the_brands_item(kind: str, data: dict[str, str]) -> None:
    report = _verify(W.then(W.sold(), EVIL, kind, data))
    _fails(report, "authority", "signed by the root key of 'Small Brand'")


def test_another_roots_revocation_list_leaves_the_brands_delegates_alone() -> None:
    # It names Maison's boutique and repairer (both certified by it as well): only its own
    # certificates of those keys are revoked, never Maison's.
    revoked = {W.boutique.kid: T0 - DAY, W.repairer.kid: T0 - DAY, W.factory.kid: T0 - DAY}
    hostile = pp.revoke(EVIL, number=7, issued=T0, revoked=revoked)
    events = W.then(W.sold(), W.repairer, "repair", {"work": "new handles"})
    report = _verify(events, revocations=(hostile,))
    assert report, report.failures
    assert "independent_repair" not in report.flags
    assert "Atelier Repair (repairer of Maison Example)" in report.history[-1].actor
    # The brand's own list does revoke its boutique: the key, not the name, decides.
    own = pp.revoke(W.brand, number=1, issued=T0, revoked={W.boutique.kid: T0})
    _fails(_verify(W.sold(), revocations=(own,)), "authority", "was revoked by Maison Example")


def test_a_clone_is_two_first_events_from_one_root_key() -> None:
    by_factory = W.bundle(W.issue())
    by_root = W.bundle(W.issue(signer=W.brand, time=T0 + 5))
    found = find_conflicts(by_factory, by_root, W.trust, now=NOW)
    assert [e.kind for e in found] == [ConflictKind.CLONE]
    report = W.verify(by_factory)
    assert report.brand_key == MAISON.key.kid
    assert report.to_dict()["brand_key"] == MAISON.key.kid_hex


# -- 3. nested GS1 prefixes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brand", "evil"),
    [("9506000", "950600"), ("950600", "9506000"), ("3614270", "3614270"), ("3614270", "36142")],
)
def test_nested_prefixes_are_refused_naming_both_roots(brand: str, evil: str) -> None:
    with pytest.raises(pp.TrustStoreError, match="never nest") as caught:
        pp.TrustStore.of(
            [pp.TrustedRoot("Maison", W.brand.public_key, (brand,)), _evil(prefixes=(evil,))]
        )
    assert W.brand.public_key.kid_hex[:16] in str(caught.value)
    assert EVIL.public_key.kid_hex[:16] in str(caught.value)


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("0000", "GTIN-8s"),  # covers every GTIN-8 (00000 + 8 digits in GTIN-13 form)
        ("0000012", "GTIN-8s"),
        ("0212345", "restricted circulation"),
        ("2501234", "restricted circulation"),
        ("9912345", "coupons"),
    ],
)
def test_prefixes_no_company_can_hold_are_refused(prefix: str, why: str) -> None:
    with pytest.raises(pp.TrustStoreError, match=why):
        _store(_evil(prefixes=(prefix,)))


def test_one_root_cannot_list_nested_prefixes_either() -> None:
    with pytest.raises(pp.TrustStoreError, match="which it already covers"):
        _store(_evil(prefixes=("501234", EVIL_PREFIX)))


def test_each_gtin_has_at_most_one_root() -> None:
    store = _store(_evil())
    assert store.root_for(GTIN) == MAISON
    assert store.root_for(gtin("0501234500001")) is not None
    assert store.root_for(gtin("0777777700001")) is None


# -- 4. a checkpoint under a trusted origin, signed by another key ------------------------------

ORIGIN = "maison-example.com/dpp-log"
LOG_KEY = key("trust-by-key-log")


def _logged_bundle(tmp_path: Path) -> pp.Bundle:
    with new_ledger(tmp_path / "l.db", W) as ledger:
        ledger.checkpoints.set_log(ORIGIN, LOG_KEY)
        store_chain(ledger, W, W.sold())
        return ledger.bundle(W.sold()[0].pid)


def test_a_checkpoint_forged_under_a_trusted_origin_fails_the_log_check(tmp_path: Path) -> None:
    bundle = _logged_bundle(tmp_path)
    assert bundle.log is not None
    real = notes.read_unverified(bundle.log.checkpoint)
    forged_note = sign_checkpoint(Checkpoint(ORIGIN, real.size, real.root), ORIGIN, key("forger"))
    forged = pp.Bundle(
        bundle.events,
        bundle.certs,
        bundle.keys,
        bundle.revocations,
        pp.LogEntry(forged_note, bundle.log.proofs),
    )
    trust = pp.TrustStore.of(W.trust.roots, [NoteVerifier(ORIGIN, LOG_KEY.public_key)])
    report = pp.verify(pp.bundle_to_bytes(forged), trust, now=NOW)
    _fails(report, "log", f"claims the log {ORIGIN}, which you trust, but no signature")
    # The genuine note passes; a log nobody trusts stays a neutral, unvouched pass.
    assert pp.verify(pp.bundle_to_bytes(bundle), trust, now=NOW).outcome is Outcome.VALID
    plain = pp.verify(pp.bundle_to_bytes(forged), W.trust, now=NOW)
    log = next(c for c in plain.checks if c.name == "log")
    assert log.status is Status.PASS
    assert "not in your trust store" in log.detail


# -- 5. Digital Links: read from the right, no repeated parameter --------------------------------

PID = "ab" * 32


@pytest.mark.parametrize(
    "query",
    [f"pid={PID}&pid={'cd' * 32}", f"pid={PID}&pid={PID}", "x=1&x=2", f"p%69d={PID}&pid={PID}"],
)
def test_a_parameter_given_twice_is_refused(query: str) -> None:
    with pytest.raises(pp.SchemaError, match="twice"):
        gs1.parse_digital_link(f"https://id.example/01/{GTIN}/21/A?{query}")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"https://r.example/01/x/01/{GTIN}/21/S1", (GTIN, "S1", None, None)),
        (f"https://r.example/a/b/01/{GTIN}/21/S1", (GTIN, "S1", None, None)),
        (f"https://r.example/01/{GTIN}/10/LOT-7/21/S1", (GTIN, "S1", "LOT-7", None)),
        (f"https://r.example/01/{GTIN}/22/V2/10/L/21/S1", (GTIN, "S1", "L", "V2")),
        (f"https://r.example/01/{GTIN}/10/LOT-7", (GTIN, None, "LOT-7", None)),
        (f"https://r.example/01/{GTIN}", (GTIN, None, None, None)),
        (f"https://r.example/01/{GTIN[1:]}/21/A%2FB", (GTIN, "A/B", None, None)),
    ],
)
def test_digital_links_are_read_from_the_right(
    uri: str, expected: tuple[str, str | None, str | None, str | None]
) -> None:
    link = gs1.parse_digital_link(uri)
    assert (link.gtin, link.serial, link.lot, link.variant) == expected


@pytest.mark.parametrize(
    "path",
    [f"/01/{GTIN}/21/S/10/L", f"/01/{GTIN}/21/S/21/T", f"/01/{GTIN}/21/S/x", f"/01/{GTIN}/235/X"],
)
def test_qualifiers_out_of_order_or_unknown_are_refused(path: str) -> None:
    with pytest.raises(pp.SchemaError):
        gs1.parse_digital_link("https://r.example" + path)


@pytest.mark.parametrize(
    "start",
    ["HtTp://a", "https://$a", "https://a$", "https://user@a", "https://-a", "https://[::1%25lo]"],
)
def test_a_scheme_or_host_the_grammar_does_not_allow_is_refused(start: str) -> None:
    with pytest.raises(pp.SchemaError):
        gs1.parse_digital_link(f"{start}/01/{GTIN}/21/S")
    for fine in (
        "HTTPS://a",
        "https://id.example:8443",
        "https://[::1]",
        "https://xn--bcher-kva.ch",
    ):
        assert gs1.parse_digital_link(f"{fine}/01/{GTIN}/21/S").serial == "S"


@pytest.mark.parametrize(
    "query",
    ["10=ABC", "01=" + GTIN, "21=X", "99=", "99=ABC%00DEF", "98=XYZ+987", "99=" + "A" * 91],
)
def test_query_attributes_no_gs1_ai_allows_are_refused(query: str) -> None:
    with pytest.raises(pp.SchemaError, match="AI"):
        gs1.parse_digital_link(f"https://r.example/01/{GTIN}/10/L/21/S?{query}")
    ok = gs1.parse_digital_link(f"https://r.example/01/{GTIN}/21/S?99=ABC&linkType=gs1:pip")
    assert ok.serial == "S"


# -- 6. a bad trust file is unreadable input (exit 2), said in words ----------------------------


def _dpp() -> str:
    found = shutil.which("dpp", path=str(Path(sys.executable).parent))
    assert found is not None, "install the project: pip install -e '.[test]'"
    return found


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DPP_HOME": str(home), "DPP_PASSPHRASE": "a test passphrase"}
    return subprocess.run(
        [_dpp(), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not json at all", "is not JSON (expecting value on line 1)"),
        (b"\xff\xfe\x00junk", "is not text (it is not UTF-8)"),
        (b'{"v": 1, "roots": [{"brand": "X", "gs1_prefixes": ["3614270"]}]}', "'key'"),
        (
            b'{"v": 1, "roots": [{"brand": "X", "key": "' + b"00" * 32 + b'", '
            b'"gs1_prefixes": ["3614270"]}]}',
            "small order",
        ),
        (
            json.dumps(
                {
                    "v": 1,
                    "roots": [
                        {
                            "brand": "X",
                            "key": MAISON.key.raw.hex(),
                            "kid": EVIL.public_key.kid_hex,
                            "gs1_prefixes": ["3614270"],
                        }
                    ],
                }
            ).encode(),
            "is not the id of its key",
        ),
    ],
    ids=["not-json", "not-text", "schema", "bad-key", "kid-of-another-key"],
)
def test_a_bad_trust_file_exits_2_and_says_what_is_wrong(
    tmp_path: Path, content: bytes, words: str
) -> None:
    trust = tmp_path / "trust.json"
    trust.write_bytes(content)
    bundle = Path(__file__).parent / "vectors" / "valid.dpp"
    result = _run(tmp_path / "home", "verify", str(bundle), "--trust", str(trust))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0]
    assert "char " not in lines[0]  # no parser offsets


def test_trust_add_refuses_a_file_whose_root_takes_a_trusted_name(tmp_path: Path) -> None:
    """The attack end to end: trusting a look-alike file, then a sale by its boutique."""
    home = tmp_path / "buyer"
    assert _run(home, "init", "--origin", "buyer.example/log").returncode == 0
    maison = tmp_path / "maison.json"
    maison.write_text(pp.TrustStore.of([MAISON]).to_json())
    evil = tmp_path / "small-brand.json"
    evil.write_text(pp.TrustStore.of([_evil("Maison Example")]).to_json())
    assert _run(home, "trust", "add", str(maison)).returncode == 0
    before = _run(home, "trust", "list", "--json").stdout
    refused = _run(home, "trust", "add", str(evil))
    assert refused.returncode == 2, refused.stderr
    assert "two roots are named 'Maison Example'" in refused.stderr
    assert MAISON.key.kid_hex[:16] in refused.stderr
    assert EVIL.public_key.kid_hex[:16] in refused.stderr
    assert _run(home, "trust", "list", "--json").stdout == before  # nothing was added
    # Under a name of the buyer's own, the root is trusted, for its own prefixes only.
    renamed = _run(home, "trust", "add", str(evil), "--name", "Small Brand")
    assert renamed.returncode == 0, renamed.stderr
    listed = json.loads(_run(home, "trust", "list", "--json").stdout)["roots"]
    assert sorted(r["brand"] for r in listed) == ["Maison Example", "Small Brand"]
    sold = W.then(W.issue(), EVIL_SHOP, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"})
    bundle = W.bundle(sold)
    bag = tmp_path / "bag.dpp"
    bag.write_bytes(
        pp.bundle_to_bytes(
            pp.Bundle(bundle.events, (*bundle.certs, *_evil_certs()), bundle.keys, ())
        )
    )
    verdict = _run(home, "verify", str(bag))
    assert verdict.returncode == 1
    assert "NOT GENUINE" in verdict.stdout
    assert "holds no certificate from 'Maison Example'" in verdict.stdout


def test_trust_add_and_brand_new_refuse_nested_prefixes(tmp_path: Path) -> None:
    home = tmp_path / "brand"
    assert _run(home, "init", "--origin", "brand.example/log").returncode == 0
    made = _run(home, "brand", "new", "maison", "--gs1-prefix", "9506000")
    assert made.returncode == 0, made.stderr
    nested = tmp_path / "nested.json"
    nested.write_text(pp.TrustStore.of([_evil(prefixes=("950600",))]).to_json())
    refused = _run(home, "trust", "add", str(nested))
    assert refused.returncode == 2
    assert "GS1 prefix 950600 of 'Small Brand'" in refused.stderr
    assert "covers prefix 9506000 of 'maison'" in refused.stderr
    second = _run(home, "brand", "new", "other", "--gs1-prefix", "95060001")
    assert second.returncode == 2
    assert "never nest" in second.stderr
    keys = _run(home, "key", "list").stdout
    assert "other" not in keys  # refused before a key was made


# -- the standards' own suites ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leaf", "root", "path"),
    [
        (b"", b"", []),
        (bytes(32), b"", []),
        (b"", bytes(32), []),
        (bytes(31), bytes(31), []),
    ],
)
def test_inclusion_proofs_need_32_byte_hashes(leaf: bytes, root: bytes, path: list[bytes]) -> None:
    with pytest.raises(pp.DppError, match="SHA-256 has 32"):
        merkle.verify_inclusion(leaf, 0, 1, path, root)
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(3)]
    with pytest.raises(pp.DppError, match="SHA-256 has 32"):
        merkle.verify_inclusion(
            leaves[0], 0, 3, [leaves[1][:16], leaves[2]], merkle.root_of(leaves)
        )


def test_a_consistency_proof_from_the_empty_tree_needs_the_empty_root() -> None:
    root = merkle.root_of([merkle.leaf_hash(b"a")])
    merkle.verify_consistency(0, 1, merkle.EMPTY_ROOT, root, [])
    with pytest.raises(pp.DppError, match="root of the empty tree"):
        merkle.verify_consistency(0, 1, bytes(32), root, [])
    with pytest.raises(pp.DppError, match="root of the empty tree"):
        merkle.verify_consistency(0, 0, root, root, [])
    with pytest.raises(pp.DppError, match="SHA-256 has 32"):
        merkle.verify_consistency(0, 1, b"", root, [])


def test_a_checkpoint_of_size_0_carries_the_empty_root() -> None:
    good = Checkpoint("example.com/log", 0, merkle.EMPTY_ROOT).body()
    assert notes.parse_checkpoint(good).size == 0
    bad = Checkpoint("example.com/log", 0, bytes(32)).body()
    with pytest.raises(pp.DppError, match="size 0 must carry the empty tree's root"):
        notes.parse_checkpoint(bad)


def test_a_note_is_utf8_and_one_key_signing_twice_is_one_signature() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT), ORIGIN, LOG_KEY)
    verifier = NoteVerifier(ORIGIN, LOG_KEY.public_key)
    body, signature = note.split("\n\n")
    twice = f"{body}\n\n{signature}{signature}"
    assert notes.open_note(twice, [verifier])[1] == [verifier]
    not_utf8 = note.encode().replace(b"log", b"l\xffg").decode("utf-8", "surrogateescape")
    with pytest.raises(pp.DppError, match="valid UTF-8"):
        notes.open_note(not_utf8, [verifier])


def test_dpp_audit_refuses_a_checkpoint_that_is_not_utf8(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _run(home, "init", "--origin", "audit.example/log").returncode == 0
    note = tmp_path / "old.txt"
    body = Checkpoint("audit.example/log", 0, merkle.EMPTY_ROOT).body()
    note.write_bytes(body.encode() + b"\n\xe2\x80 x " + base64.b64encode(bytes(68)) + b"\n")
    result = _run(home, "audit", str(note))
    assert result.returncode == 2
    assert "not UTF-8 text" in result.stderr


@pytest.mark.parametrize(
    "char", ["\x1c", "\x1f", "\x85", "\u00a0", "\u2003", "\u3000", "\ufeff", "\u200b", "é"]
)
def test_log_key_names_read_the_same_in_the_schema_and_the_code(char: str) -> None:
    # Go's unicode.IsSpace decides (the signed-note reference); Python's \s and ECMA-262's \s
    # each differ from it on some of these.
    vkey = NoteVerifier("log" + char + "name", LOG_KEY.public_key).to_vkey()
    document = json.dumps({"v": 1, "roots": [], "logs": [vkey]})
    try:
        pp.TrustStore.from_json(document)
        schema_ok = True
    except pp.TrustStoreError:
        schema_ok = False
    try:
        NoteVerifier.from_vkey(vkey)
        code_ok = True
    except pp.DppError:
        code_ok = False
    go_space = char in "\x85\u00a0\u2003\u3000"
    assert schema_ok == code_ok == (not go_space), (schema_ok, code_ok)

"""Ed25519 on libsodium and on OpenSSL: one policy, the same answers on every vector.

The project's policy (passport/keys.py) is checked against Wycheproof's and C2SP CCTV's
published vectors on each backend; where a library left alone would decide differently, the
test names the cases and shows that the policy's own checks decide them first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import _ed25519
from tests.vectors import generate
from tests.world import World

VECTORS = Path(__file__).parent / "vectors"
STANDARDS = VECTORS / "standards" / "ed25519"
BACKENDS = sorted(_ed25519.BACKENDS)
STRICT_OK = frozenset({"low_order_component_A", "low_order_component_R"})


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[_ed25519.Backend]:
    with _ed25519.use(request.param) as chosen:
        yield chosen


def _verifies(public: bytes, signature: bytes, message: bytes) -> bool:
    """The project's verdict: key policy at entry, then the signature policy and equation."""
    try:
        pp.PublicKey.from_bytes(public).verify(signature, message)
    except (pp.InvalidKeyError, pp.SignatureError):
        return False
    return True


def _wycheproof() -> list[tuple[str, bytes, bytes, bytes, bool]]:
    document = json.loads((STANDARDS / "wycheproof_ed25519_test.json").read_text())
    return [
        (
            f"tc{test['tcId']}",
            bytes.fromhex(group["publicKey"]["pk"]),
            bytes.fromhex(test["sig"]),
            bytes.fromhex(test["msg"]),
            test["result"] == "valid",
        )
        for group in document["testGroups"]
        for test in group["tests"]
    ]


def _cctv() -> list[dict[str, Any]]:
    return list(json.loads((STANDARDS / "cctv_ed25519vectors.json").read_text()))


def test_both_backends_are_here_in_the_test_environment() -> None:
    # PyNaCl is a dependency; the fallback is tested in a subprocess below.
    assert BACKENDS == ["libsodium", "openssl"]
    assert _ed25519.DEFAULT == "libsodium"


def test_wycheproof_on_each_backend(backend: _ed25519.Backend) -> None:
    cases = _wycheproof()
    assert len(cases) == 151
    wrong = [name for name, pk, sig, msg, valid in cases if _verifies(pk, sig, msg) != valid]
    assert wrong == [], f"{backend.name} disagrees with Wycheproof on {wrong}"


def test_cctv_on_each_backend_follows_the_policy(backend: _ed25519.Backend) -> None:
    vectors = _cctv()
    assert len(vectors) == 914
    accepted = {
        v["number"]
        for v in vectors
        if _verifies(bytes.fromhex(v["key"]), bytes.fromhex(v["sig"]), v["msg"].encode())
    }
    policy = {v["number"] for v in vectors if set(v["flags"] or ()) <= STRICT_OK}
    assert len(policy) == 43
    assert accepted == policy, sorted(accepted ^ policy)[:20]


def test_where_each_library_alone_differs_from_the_policy() -> None:
    """Named cases: what OpenSSL alone would accept, and which check of ours refuses it first."""
    vectors = _cctv()
    raw: dict[str, set[int]] = {}
    for name, library in _ed25519.BACKENDS.items():
        raw[name] = set()
        for v in vectors:
            public = bytes.fromhex(v["key"])
            if library.verify(public, bytes.fromhex(v["sig"]), v["msg"].encode()):
                raw[name].add(v["number"])
    policy = {v["number"] for v in vectors if set(v["flags"] or ()) <= STRICT_OK}
    flags = {v["number"]: set(v["flags"] or ()) for v in vectors}
    # libsodium alone already follows the policy: nothing for our checks to overrule.
    assert raw["libsodium"] == policy
    # OpenSSL alone is "classic": it refuses a non-canonical R and a low-order residue, and
    # accepts the rest. Each vector it accepts beyond the policy has a small-order key (our
    # key check refuses it when it enters) or a small-order R (our signature check refuses it).
    extra = raw["openssl"] - policy
    assert len(extra) == 165
    assert all(flags[n] & {"non_canonical_R", "low_order_residue"} == set() for n in extra)
    by_key = {n for n in extra if flags[n] & {"low_order_A", "non_canonical_A"}}
    by_r = {n for n in extra - by_key if "low_order_R" in flags[n]}
    assert by_key | by_r == extra, sorted(extra - by_key - by_r)
    assert raw["openssl"] >= policy


def test_signatures_are_the_same_bytes_on_both_backends() -> None:
    world = World()
    keys = [world.brand, world.factory, world.alice, pp.SigningKey.from_seed(bytes(32))]
    messages = [b"", b"x", bytes(range(256)) * 40]
    signed = {}
    for name in BACKENDS:
        with _ed25519.use(name):
            signed[name] = [k.sign(m) for k in keys for m in messages]
    assert signed["libsodium"] == signed["openssl"]


def test_the_golden_bundles_verify_the_same_on_both_backends() -> None:
    trust = pp.TrustStore.from_json((VECTORS / "trust.json").read_text())
    for path in sorted(VECTORS.glob("*.dpp")):
        reports = []
        for name in BACKENDS:
            with _ed25519.use(name):
                reports.append(pp.verify(path.read_bytes(), trust, now=generate.NOW))
        assert reports[0] == reports[1], path.name


def test_without_pynacl_openssl_serves_the_same_answers(tmp_path: Path) -> None:
    script = f"""
import sys
sys.modules["nacl"] = None  # as if PyNaCl were not installed
import dpp_ledger.passport as pp
from dpp_ledger.passport import _ed25519
assert _ed25519.DEFAULT == "openssl" and list(_ed25519.BACKENDS) == ["openssl"]
from tests.vectors import generate
from pathlib import Path
vectors = Path({str(VECTORS)!r})
trust = pp.TrustStore.from_json((vectors / "trust.json").read_text())
expected = {{p.name: bool(pp.verify(p.read_bytes(), trust, now=generate.NOW))
            for p in sorted(vectors.glob("*.dpp"))}}
print(sorted(name for name, ok in expected.items() if ok))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "valid.dpp" in result.stdout

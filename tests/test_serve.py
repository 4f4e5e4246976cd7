"""The resolver: HTTP over the real app (ASGI client), a real `dpp serve`, and headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import dpp_ledger.passport as pp
from dpp_ledger.cli.serve import create_app
from dpp_ledger.ledger import Ledger, issue_many
from dpp_ledger.passport import merkle
from dpp_ledger.passport.bundle import BUNDLE_MEDIA_TYPE
from dpp_ledger.passport.checkpoint import NoteVerifier, verify_checkpoint
from tests.ledger_helpers import new_ledger, store_chain
from tests.world import PRODUCT, T0, World, gtin, key

W = World()
ORIGIN = "maison-example.com/dpp-log"
LOG = key("serve-log")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SOLD = W.sold()
PID = SOLD[0].pid.hex()
ITEM = f"/01/{PRODUCT['gtin']}/21/{PRODUCT['serial']}"
# A second bag, sold to Alice, then reported stolen by her.
_BAG = W.issue({**PRODUCT, "serial": "STOLEN-1"})
STOLEN = W.then(
    W.then(_BAG, W.boutique, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"}),
    W.alice,
    "stolen",
    {"reference": "PP-2026-118"},
)
STOLEN_ITEM = f"/01/{PRODUCT['gtin']}/21/STOLEN-1"
# The stolen bag's passport id on the first bag's label: a copied label.
WRONG_PID = f"{ITEM}?pid={STOLEN[0].pid.hex()}"


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "ledger.db"
    with new_ledger(path, W) as ledger:
        ledger.checkpoints.set_log(ORIGIN, LOG)
        store_chain(ledger, W, SOLD)
        store_chain(ledger, W, STOLEN)
        items = [{**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"S{i}"} for i in range(20)]
        issue_many(ledger, W.factory, items, time=T0)
    return path


@pytest.fixture(scope="module")
def client(ledger_path: Path) -> TestClient:
    return TestClient(create_app(ledger_path))


def test_the_page_a_phone_opens(client: TestClient) -> None:
    response = client.get(ITEM, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<h1>Genuine</h1>" in html
    for text in (
        "Sac 25",
        "calf leather 85% (France)",
        "Italy",
        "Atelier Firenze",
        "Made",
        "Sold",
        "Resold",
        "Boutique Paris (retailer of Maison Example)",
        W.bob.kid.hex()[:16],
        f"recorded in {ORIGIN} at size",
        f"/passports/{PID}/bundle.dpp",
        'name="viewport"',
    ):
        assert text in html, text
    # No third-party anything, no script that runs (one JSON-LD data block), no full owner key.
    data_block = re.search(r'<script type="application/ld\+json">[^<]*</script>', html)
    assert data_block is not None
    visible = html.replace(data_block.group(0), "")
    assert "<script" not in visible
    assert "http://" not in visible
    assert "https://" not in visible
    assert W.bob.kid.hex() not in html
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_content_negotiation(client: TestClient) -> None:
    bundle = client.get(ITEM, headers={"Accept": BUNDLE_MEDIA_TYPE})
    assert bundle.headers["content-type"] == BUNDLE_MEDIA_TYPE
    assert pp.verify(bundle.content, W.trust, now=T0 + 10**8).owner == W.bob.kid
    data = client.get(ITEM, headers={"Accept": "application/json"}).json()
    assert data["report"]["outcome"] == "valid"
    assert data["product"]["serial"] == PRODUCT["serial"]
    assert data["checkpoint"].startswith(ORIGIN)
    same = client.get(f"/passports/{PID}", headers={"Accept": "application/json"}).json()
    assert same["report"] == data["report"]
    download = client.get(f"/passports/{PID}/bundle.dpp")
    assert download.content == bundle.content
    assert "attachment" in download.headers["content-disposition"]


def test_a_stolen_item_says_so_first_in_red(client: TestClient) -> None:
    html = client.get(STOLEN_ITEM, headers={"Accept": "text/html"}).text
    verdict = html.split('id="verdict"', 1)[1].split("</section>", 1)[0]
    assert '<section class="verdict alert"' in html
    assert "<h1>Reported stolen</h1>" in verdict
    assert "do not buy; contact the brand" in verdict
    assert "Genuine" not in verdict
    data = client.get(STOLEN_ITEM, headers={"Accept": "application/json"}).json()
    assert data["report"]["stolen"] is True
    assert data["report"]["alerts"][0]["detail"] == "PP-2026-118"


def test_a_code_naming_another_item_is_called_a_sign_of_a_copied_label(
    client: TestClient,
) -> None:
    response = client.get(WRONG_PID, headers={"Accept": "text/html"})
    assert response.status_code == 409
    assert "<h1>This code names another item</h1>" in response.text
    assert "a sign of a copied label" in response.text
    assert "Unknown item" not in response.text


def test_digital_link_variants(client: TestClient) -> None:
    assert client.get(f"/01/{PRODUCT['gtin'][1:]}/21/{PRODUCT['serial']}").status_code == 200
    assert client.get(f"{ITEM}?pid={PID}").status_code == 200
    other = "0" * 64
    assert client.get(f"{ITEM}?pid={other}").status_code == 404


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        (f"/01/{PRODUCT['gtin']}/21/NOPE", 404, "No passport for GTIN"),
        ("/01/123/21/X", 400, "must be 8, 12, 13 or 14 digits"),
        (f"/01/{PRODUCT['gtin'][:-1]}0/21/X", 400, "wrong check digit"),
        (f"/01/{PRODUCT['gtin']}/21/" + "X" * 21, 400, "1 to 20 characters"),
        (f"{ITEM}?pid=XYZ", 400, "64 lowercase hex"),
        ("/passports/abc", 400, "64 lowercase hex"),
        ("/passports/" + "0" * 64, 404, "no passport"),
    ],
)
def test_unknown_and_malformed(client: TestClient, path: str, status: int, text: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert text in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_a_passport_that_no_longer_verifies_is_never_shown_as_genuine(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    with new_ledger(path, W) as ledger:
        store_chain(ledger, W, SOLD)
        # The brand later learns the boutique key was stolen before that sale.
        ledger.records.add_revocations(
            pp.revoke(W.brand, number=1, issued=T0 + 30 * 86_400, revoked={W.boutique.kid: T0})
        )
    html = TestClient(create_app(path)).get(ITEM).text
    assert "<h1>Not genuine</h1>" in html
    assert "revoked by Maison Example" in html


def test_log_endpoints_for_auditors(client: TestClient, ledger_path: Path) -> None:
    note = client.get("/log/checkpoint").text
    checkpoint = verify_checkpoint(note, [NoteVerifier(ORIGIN, LOG.public_key)])
    proof = client.get(f"/log/proof/consistency?old=2&new={checkpoint.size}").json()
    with Ledger.open(ledger_path) as ledger:
        old_root = ledger.log.root(2)
    merkle.verify_consistency(
        2, checkpoint.size, old_root, checkpoint.root, [bytes.fromhex(h) for h in proof["proof"]]
    )
    event = SOLD[1]
    answer = client.get(f"/log/proof/inclusion/{event.hash.hex()}?size={checkpoint.size}").json()
    merkle.verify_inclusion(
        merkle.leaf_hash(event.raw),
        answer["index"],
        checkpoint.size,
        [bytes.fromhex(h) for h in answer["path"]],
        checkpoint.root,
    )
    assert client.get("/log/proof/consistency?old=5&new=2").status_code == 400
    assert client.get("/log/proof/consistency?old=x&new=2").status_code == 400
    # Digits that str.isdigit() accepts and int() refuses or reads otherwise: a 400, never a 500.
    for digits in ("\u00b2", "\u0663", "\uff11", "1\n", " 1", "+1", "-1"):
        sent = urllib.parse.quote(digits)
        for query in (f"old={sent}&new=2", f"old=1&new={sent}"):
            answer = client.get(f"/log/proof/consistency?{query}")
            assert answer.status_code == 400, (query, answer.text)
            assert "decimal number" in answer.text
    event_hash = SOLD[1].hash.hex()
    assert client.get(f"/log/proof/inclusion/{event_hash}?size=\u00b2").status_code == 400
    assert client.get(f"/log/proof/inclusion/{'0' * 64}").status_code == 404


def test_imports_are_off_unless_enabled(client: TestClient) -> None:
    assert client.post("/bundles", content=b"\xa0").status_code == 403


def test_imports_when_enabled(tmp_path: Path) -> None:
    path = tmp_path / "mirror.db"
    with Ledger.create(path) as mirror:
        mirror.records.add_trust_store(W.trust)
    app = TestClient(create_app(path, accept_imports=True))
    data = pp.bundle_to_bytes(W.bundle(SOLD))
    first = app.post("/bundles", content=data)
    assert first.status_code == 200, first.text
    assert first.json()["new_events"] == 3
    assert app.post("/bundles", content=data).json()["new_events"] == 0
    double = W.then(
        SOLD[:1], W.boutique, "sale", {"owner": W.carol.kid.hex(), "channel": "boutique"}
    )
    assert app.post("/bundles", content=pp.bundle_to_bytes(W.bundle(double))).status_code == 409
    assert app.post("/bundles", content=b"\x00garbage").status_code == 400
    forged = W.then(SOLD, W.alice, "resale", {"to": W.carol.kid.hex()})
    assert app.post("/bundles", content=pp.bundle_to_bytes(W.bundle(forged))).status_code == 422
    huge = app.post("/bundles", content=b"\x00" * (16 * 1024 * 1024 + 1))
    assert huge.status_code == 413
    with Ledger.open(path) as mirror:
        assert mirror.counts()["events"] == 3


# -- a real server, and a real browser ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(ledger_path: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    home = tmp_path_factory.mktemp("servehome")
    shutil.copy(ledger_path, home / "ledger.db")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPP_")}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dpp"),
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/log/checkpoint", timeout=1)  # noqa: S310 - loopback
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"dpp serve did not start: {process.stderr.read() if process.stderr else ''}")
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_a_real_server_over_loopback(server: str) -> None:
    with urllib.request.urlopen(f"{server}{ITEM}", timeout=5) as response:  # noqa: S310
        assert response.status == 200
        assert "<h1>Genuine</h1>" in response.read().decode()
    request = urllib.request.Request(f"{server}{ITEM}", headers={"Accept": BUNDLE_MEDIA_TYPE})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert pp.verify(response.read(), W.trust, now=T0 + 10**8)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (.ci/run installs "
    "Debian's chromium; run `apt-get install chromium` to run this test)",
)
def test_the_page_in_headless_chromium(server: str, tmp_path: Path) -> None:
    url = f"{server}{ITEM}"
    profile = ["--user-data-dir=" + str(tmp_path / "profile"), "--window-size=390,1400"]
    dom = subprocess.run(
        [str(CHROMIUM), *FLAGS, *profile, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    assert "<h1>Genuine</h1>" in rendered
    for entry in ("Made", "Sold", "Resold", "by Boutique Paris"):
        assert entry in rendered
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "passport-page-phone.png"
    result = subprocess.run(
        [str(CHROMIUM), *FLAGS, *profile, f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    # The other views a buyer's phone may open, each rendered and screenshotted too.
    views = {
        "stolen": (STOLEN_ITEM, "Reported stolen"),
        "wrong-pid": (WRONG_PID, "This code names another item"),
        "not-found": (f"/01/{PRODUCT['gtin']}/21/NOPE", "Unknown item"),
    }
    for name, (path, headline) in views.items():
        page = subprocess.run(
            [str(CHROMIUM), *FLAGS, *profile, "--dump-dom", f"{server}{path}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert f"<h1>{headline}</h1>" in page.stdout, name
        shot = ARTIFACTS / f"passport-page-{name}-phone.png"
        taken = subprocess.run(
            [str(CHROMIUM), *FLAGS, *profile, f"--screenshot={shot}", f"{server}{path}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert taken.returncode == 0, taken.stderr[-2000:]
        assert shot.stat().st_size > 5_000, name


def _home_copy(ledger_path: Path, tmp_path: Path) -> tuple[list[str], dict[str, str], int]:
    """A home holding a copy of the test ledger: the `dpp serve` command, its env, a free port."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ledger_path, home / "ledger.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPP_")}
    command = [str(Path(sys.executable).parent / "dpp"), "--home", str(home), "serve"]
    return command, env, _free_port()


def test_a_client_that_hangs_up_mid_upload_leaves_no_traceback(
    ledger_path: Path, tmp_path: Path
) -> None:
    command, env, port = _home_copy(ledger_path, tmp_path)
    process = subprocess.Popen(
        [*command, "--port", str(port), "--accept-imports"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/log/checkpoint"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as upload:
                upload.sendall(
                    b"POST /bundles HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
                )
            time.sleep(0.2)
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200  # still serving
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "Traceback" not in err, err[-3000:]


def test_requests_are_logged_in_common_log_format_and_a_taken_port_is_one_line(
    ledger_path: Path, tmp_path: Path
) -> None:
    command, env, port = _home_copy(ledger_path, tmp_path)
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{base}{ITEM}", timeout=2).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/01/{PRODUCT['gtin']}/21/NOPE", timeout=2)  # noqa: S310
        taken = subprocess.run(
            [*command, "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert taken.returncode == 2
        assert taken.stderr.splitlines() == [
            f"dpp: cannot listen on 127.0.0.1:{port}: the port is already in use (another "
            "`dpp serve`?): stop it, or give another --port"
        ]
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    lines = [line for line in err.splitlines() if '"GET ' in line]
    clf = re.compile(
        r"^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "
        r'"GET (/\S+) HTTP/1\.1" (\d{3}) (\d+|-)$'
    )
    parsed = [clf.match(line) for line in lines]
    assert all(parsed), lines
    seen = {(m.group(1), m.group(2)) for m in parsed if m}
    assert (ITEM, "200") in seen
    assert (f"/01/{PRODUCT['gtin']}/21/NOPE", "404") in seen
    assert "Traceback" not in err


def test_the_root_says_what_this_is_and_unknown_paths_are_a_page(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert "<h1>Digital product passports</h1>" in home.text
    assert 'href="/trust.json"' in home.text
    trust = client.get("/trust.json")
    assert [r.key for r in pp.TrustStore.from_json(trust.content).roots] == [
        r.key for r in W.trust.roots
    ]
    for path in ("/nope", "/01", "/passports/"):
        missing = client.get(path, headers={"Accept": "text/html"})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "<h1>Nothing here</h1>" in missing.text
    as_json = client.get("/nope", headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert "nothing at /nope" in as_json.json()["error"]
    page = client.get(ITEM, headers={"Accept": "text/html"}).text
    assert 'href="/trust.json"' in page

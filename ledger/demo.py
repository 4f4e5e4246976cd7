"""The main job in one run, on the embedded default: the whole life of passports.

A brand and its delegates; items issued, sold, resold, repaired, moved to the outlet, stolen;
bundles and QR codes written; everything verified offline as a buyer would; a forged copy and
a double sale caught; restricted data sealed, opened by its audience, and erased.

Demo keys use a lighter scrypt setting (2^15) so the story runs in seconds; real homes use 2^17.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpp_ledger import passport as pp
from dpp_ledger.passport import gs1, ownership
from dpp_ledger.passport.audit import audit
from dpp_ledger.passport.checkpoint import read_unverified
from dpp_ledger.passport.evidence import find_conflicts
from dpp_ledger.passport.qr import offline_payload, read_payload

from . import demo_restricted, qrimage
from .bulk import issue_many
from .errors import ForkError
from .files import append_to_bundle, read_bundle, read_trust, write_atomic
from .keystore import KeyRole, KeyStore
from .storage import Location, new_postgres_schema
from .store import Ledger

Say = Callable[[str, str], None]
DAY = 86_400
DEMO_PASSPHRASE = "demo only: not a real secret"  # noqa: S105 - the demo's throwaway keys
ORIGIN = "maison-example.com/dpp-log"


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote things, and whether every expectation held."""

    directory: Path
    bundles: dict[str, Path]
    ok: bool
    ledger: Location = Path()


class _Story:
    def __init__(self, directory: Path, say: Say, location: Location) -> None:
        self.dir, self.say, self.ok = directory, say, True
        self.now = int(time.time())
        self.keys = KeyStore(directory / "home" / "keys", scrypt_log_n=15)
        self.ledger = Ledger.create(location)
        self.k: dict[str, pp.SigningKey] = {}
        self.snapshot = b""  # a bundle a former owner kept
        self.first_checkpoint = ""  # what an auditor saved early on

    def key(self, name: str, role: KeyRole) -> pp.SigningKey:
        self.keys.create(name, role, lambda: DEMO_PASSPHRASE)
        self.k[name] = self.keys.load(name, lambda: DEMO_PASSPHRASE)
        return self.k[name]

    def at(self, days_ago: int) -> int:
        return self.now - days_ago * DAY

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.ok = False
            self.say("UNEXPECTED", what)

    def record(
        self, pid: bytes, signer: str, kind: str, data: dict[str, object], *, days_ago: int
    ) -> pp.Event:
        head = self.ledger.chain(pid)[-1]
        event = pp.sign_event(self.k[signer], kind, data, time=self.at(days_ago), after=head)
        named = [data[f] for f in ("owner", "to") if f in data]
        owners = [k.public_key for k in self.k.values() if k.kid.hex() in named]
        self.ledger.append(event, keys=owners)
        return event


def run(directory: Path | str, say: Say, *, server: str | None = None) -> DemoResult:
    """Play the whole story in ``directory`` (created; must not hold a previous demo).

    With ``server`` (a ``postgresql://`` URL), the ledger is a new schema of that database,
    named in the demo home's settings; the files stay in ``directory``.
    """
    directory = Path(directory)
    if (directory / "home").exists():
        raise pp.StorageError(f"{directory} already holds a demo: choose another --dir")
    location: Location = directory / "home" / "ledger.db"
    if server is not None:
        location = new_postgres_schema(server, "dpp_demo_")
    directory.mkdir(parents=True, exist_ok=True)
    if server is not None:
        settings = {"v": 1, "ledger": location}
        write_atomic(directory / "home" / "config.json", json.dumps(settings).encode())
    story = _Story(directory, say, location)
    try:
        pids = _setup_and_issue(story)
        _lives(story, pids)
        bundles = _export(story, pids)
        _buyer(story, bundles)
        _attacks(story, bundles, pids)
        _audit(story)
        demo_restricted.play(story)
    finally:
        story.ledger.close()
    return DemoResult(directory, bundles, story.ok, location)


def _setup_and_issue(s: _Story) -> dict[str, bytes]:
    brand = s.key("maison", KeyRole.BRAND)
    s.ledger.records.add_root("Maison Example", brand.public_key, ["3614270"])
    s.ledger.checkpoints.set_log(ORIGIN, s.key("log", KeyRole.LOG))
    window = {"nbf": s.at(400), "exp": s.at(-365)}
    for name, role, display, types in (
        ("factory", KeyRole.FACTORY, "Atelier Firenze", None),
        ("boutique", KeyRole.RETAILER, "Boutique Paris", ["sale", "stolen"]),
        ("outlet", KeyRole.OUTLET, "Outlet Lyon", None),
        ("repairer", KeyRole.REPAIRER, "Atelier Réparation Paris", None),
    ):
        cert = pp.delegate(
            brand, s.key(name, role).public_key, name=display, role=str(role), types=types, **window
        )
        s.ledger.records.add_certificate(cert)
    for owner in ("alice", "bob", "carol", "dan"):
        s.key(owner, KeyRole.OWNER)
    s.say(
        "Brand",
        "Maison Example (GS1 prefix 3614270) with a factory, a boutique, an outlet "
        "and an authorised repairer; four buyers with pseudonymous owner keys",
    )
    models = ["Sac 25 handbag", "Sac 25 handbag", "Chrono 40 watch"]
    items = [sample_product(i, f"MX-{i:06d}", models[min(i, 2)]) for i in range(500)]
    started = time.perf_counter()
    summary = issue_many(s.ledger, s.k["factory"], items, time=s.at(300), batch_size=250)
    seconds = time.perf_counter() - started
    s.expect(len(summary.issued) == 500, "500 passports issued")
    s.first_checkpoint = s.ledger.checkpoints.latest() or ""
    s.say(
        "Issued",
        f"{len(summary.issued)} passports in one run ({seconds:.2f} s, two batches), "
        "each signed by the factory and logged",
    )
    return {
        "bag": summary.issued[0][1],
        "outlet_bag": summary.issued[1][1],
        "watch": summary.issued[2][1],
    }


def sample_brand(
    ledger: Ledger,
    brand: pp.SigningKey,
    delegates: Iterable[tuple[pp.SigningKey, str, str]],
    *,
    now: int,
    lasts: int,
    name: str = "Maison Example",
) -> None:
    """Trust ``brand`` as the root of the sample GS1 prefix, and certify each delegate.

    Delegates are (key, name, role), valid from a day before ``now`` to ``lasts`` seconds
    after it (benchmarks).
    """
    ledger.records.add_root(name, brand.public_key, ["3614270"])
    for key, display, role in delegates:
        ledger.records.add_certificate(
            pp.delegate(
                brand, key.public_key, name=display, role=role, nbf=now - 86_400, exp=now + lasts
            )
        )


def sample_product(index: int, serial: str, model: str = "Sac 25 handbag") -> dict[str, Any]:
    """Typical production data of an ESPR passport for a handbag (demo and benchmarks)."""
    body = f"0361427{index % 100000:06d}"
    return {
        "gtin": body + str(gs1.check_digit(body)),
        "serial": serial,
        "brand": "Maison Example",
        "model": model,
        "materials": [
            {"material": "calf leather", "share": 90, "origin": "FR"},
            {"material": "brass", "share": 10, "origin": "IT"},
        ],
        "made_in": "IT",
        "site": "Atelier Firenze",
        "made_on": "2025-09-01",
        "recycled_content": 12,
        "repairability": {"score": 85, "spare_parts_years": 20},
        "care": "Keep away from direct sunlight; clean with a dry cloth.",
    }


def _lives(s: _Story, pids: dict[str, bytes]) -> None:
    bag, outlet_bag, watch = pids["bag"], pids["outlet_bag"], pids["watch"]
    kid = {name: key.kid.hex() for name, key in s.k.items()}
    s.record(bag, "boutique", "sale", {"owner": kid["alice"], "channel": "boutique"}, days_ago=200)
    s.record(bag, "alice", "resale", {"to": kid["bob"], "platform": "a resale site"}, days_ago=100)
    s.record(bag, "repairer", "repair", {"work": "new handles", "parts": ["handle"]}, days_ago=50)
    s.say(
        "Handbag MX-000000",
        "sold at Boutique Paris to owner A, resold to owner B, repaired by the authorised repairer",
    )
    s.snapshot = s.ledger.export(bag)
    s.record(bag, "bob", "resale", {"to": kid["carol"]}, days_ago=20)
    s.say("Handbag MX-000000", "resold again, to owner C")
    s.record(outlet_bag, "outlet", "outlet", {"note": "end of season"}, days_ago=150)
    s.record(outlet_bag, "outlet", "sale", {"owner": kid["dan"], "channel": "outlet"}, days_ago=140)
    s.say("Handbag MX-000001", "unsold stock moved to Outlet Lyon and sold there: still genuine")
    s.record(watch, "boutique", "sale", {"owner": kid["alice"], "channel": "boutique"}, days_ago=90)
    s.record(watch, "alice", "stolen", {"reference": "case 2026-118"}, days_ago=10)
    s.say("Watch MX-000002", "sold to owner A, then reported stolen by her")


def _export(s: _Story, pids: dict[str, bytes]) -> dict[str, Path]:
    s.ledger.checkpoints.sign()
    out = s.dir / "bundles"
    files = {
        "handbag": out / "handbag.dpp",
        "outlet-handbag": out / "outlet-handbag.dpp",
        "stolen-watch": out / "stolen-watch.dpp",
    }
    for (_, path), pid in zip(
        files.items(), (pids["bag"], pids["outlet_bag"], pids["watch"]), strict=True
    ):
        write_atomic(path, s.ledger.export(pid))
    write_atomic(s.dir / "trust.json", s.ledger.trust().to_json().encode())
    bag = s.ledger.bundle(pids["bag"])
    first = bag.events[0]
    link = gs1.digital_link(
        "https://id.maison-example.com", first.data["gtin"], first.data["serial"], first.pid
    )
    qrimage.write_image(link, s.dir / "qr" / "handbag-link.png")
    qrimage.write_image(offline_payload(bag), s.dir / "qr" / "handbag-offline.png")
    read_back = read_payload(qrimage.read_image(s.dir / "qr" / "handbag-offline.png"))
    s.expect(
        read_back.offline is not None and read_back.offline.events[0].hash == first.hash,
        "the offline QR code reads back",
    )
    s.say(
        "Files",
        f"bundles in {out}, trust store {s.dir / 'trust.json'}, QR codes (a GS1 "
        f"Digital Link and an offline code) in {s.dir / 'qr'}",
    )
    return files


def _buyer(s: _Story, files: dict[str, Path]) -> None:
    trust = read_trust(s.dir / "trust.json")  # a buyer has nothing but this file and a bundle
    expected = {
        "handbag": pp.Outcome.VALID,
        "outlet-handbag": pp.Outcome.VALID,
        "stolen-watch": pp.Outcome.WARNINGS,
    }
    for name, path in files.items():
        report = pp.verify(read_bundle(path), trust, now=int(time.time()))
        s.expect(report.outcome is expected[name], f"{name} verifies as {expected[name]}")
        extra = f" ({report.warnings[0].detail})" if report.warnings else ""
        s.say(
            "Buyer verifies offline",
            f"{path.name}: {report.outcome}, {len(report.history)} "
            f"events, owner {report.owner.hex()[:12] if report.owner else '-'}{extra}",
        )
    bag = read_bundle(files["handbag"])
    challenge = "buyer-challenge-7f3a"
    proof = ownership.prove(s.k["carol"], bag.events[0].pid, challenge)
    ownership.check(s.k["carol"].public_key, bag.events[0].pid, challenge, proof)
    try:
        ownership.check(
            s.k["carol"].public_key,
            bag.events[0].pid,
            challenge,
            ownership.prove(s.k["bob"], bag.events[0].pid, challenge),
        )
        s.expect(False, "a former owner cannot prove ownership")
    except pp.SignatureError:
        pass
    s.say(
        "Ownership",
        "the seller (owner C) signs the buyer's challenge with the current owner "
        "key; a former owner (B) cannot",
    )


def _attacks(s: _Story, files: dict[str, Path], pids: dict[str, bytes]) -> None:
    trust = read_trust(s.dir / "trust.json")
    now = int(time.time())
    forged = s.dir / "bundles" / "forged-handbag.dpp"
    data = bytearray(files["handbag"].read_bytes())
    data[len(data) // 2] ^= 0x01
    write_atomic(forged, bytes(data))
    report = pp.verify(bytes(data), trust, now=now)
    s.expect(report.outcome is pp.Outcome.INVALID, "a forged copy is invalid")
    s.say(
        "Forged copy caught",
        f"{forged.name} (one bit changed): {report.outcome}: {report.failures[0].detail}",
    )
    stolen = read_bundle(files["stolen-watch"])
    resale = pp.sign_event(
        s.k["alice"], "resale", {"to": s.k["dan"].kid.hex()}, time=now, after=stolen.events[-1]
    )
    report = pp.verify(
        pp.Bundle(
            (*stolen.events, resale), stolen.certs, (*stolen.keys, s.k["dan"].public_key.raw)
        ),
        trust,
        now=now,
    )
    s.expect(report.outcome is pp.Outcome.INVALID, "a stolen item's resale is invalid")
    s.say("Stolen watch resold", f"{report.outcome}: {report.failures[0].detail}")
    # Owner B kept the bundle from before selling to C, and sells the bag again to D.
    old = s.dir / "bundles" / "handbag-double-sale.dpp"
    write_atomic(old, s.snapshot)
    head = read_bundle(old).events[-1]
    double = pp.sign_event(s.k["bob"], "resale", {"to": s.k["dan"].kid.hex()}, time=now, after=head)
    alone = append_to_bundle(old, double, trust, now=now, keys=[s.k["dan"].public_key])
    conflicts = find_conflicts(read_bundle(files["handbag"]), read_bundle(old), trust, now=now)
    s.expect(bool(alone) and [c.kind for c in conflicts] == ["fork"], "the double sale is a fork")
    try:
        s.ledger.import_bundle(old.read_bytes())
        s.expect(False, "the ledger refuses the double sale")
    except ForkError:
        s.say(
            "Double sale caught",
            "owner B kept an old bundle and sold the handbag again to D: "
            "that bundle verifies alone, but next to C's it proves a double sale; the brand's "
            "ledger refused it and kept both signed events as evidence",
        )


def _audit(s: _Story) -> None:
    notes = s.dir / "checkpoints"
    first = s.first_checkpoint
    latest = s.ledger.checkpoints.latest()
    assert latest is not None  # noqa: S101 - signed in _export
    write_atomic(notes / "first.txt", first.encode())
    write_atomic(notes / "latest.txt", latest.encode())
    sizes = (read_unverified(first).size, read_unverified(latest).size)
    old, new = audit(first, latest, s.ledger.log.consistency(*sizes), s.ledger.trust().logs)
    s.say(
        "Auditor",
        f"the log {new.origin} at size {new.size} extends its checkpoint at size "
        f"{old.size}: no event was dropped or changed (checkpoints in {notes})",
    )

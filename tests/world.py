"""A small, deterministic world for tests: a brand, its delegates, owners, a rival brand.

Keys come from fixed seeds, so every signature (Ed25519 is deterministic) and every file made
from them is the same on every run: the golden vectors in tests/vectors rely on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import dpp_ledger.passport as pp
from dpp_ledger.passport import cbor, cose, gs1

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
YEAR = 365 * DAY


def key(name: str) -> pp.SigningKey:
    return pp.SigningKey.from_seed(hashlib.sha256(b"dpp-test-key:" + name.encode()).digest())


def recipient(name: str) -> pp.RecipientSecret:
    """A recipient key (X25519 with its hybrid ML-KEM-768 + X25519 parts) from fixed seeds."""
    seed = hashlib.sha512(b"dpp-test-recipient:" + name.encode()).digest()
    return pp.RecipientSecret.from_bytes(seed + hashlib.sha512(seed).digest())


def gtin(body: str) -> str:
    """A valid GTIN-14 from 13 digits."""
    return body + str(gs1.check_digit(body))


GTIN = gtin("0361427000042")  # inside Maison Example's prefix 3614270
RIVAL_GTIN = gtin("0400000000001")  # inside Rival's prefix 4000000

PRODUCT: dict[str, Any] = {
    "gtin": GTIN,
    "serial": "MX-000123",
    "brand": "Maison Example",
    "model": "Sac 25",
    "materials": [
        {"material": "calf leather", "share": 85, "origin": "FR"},
        {"material": "brass", "share": 15, "origin": "IT"},
    ],
    "made_in": "IT",
    "site": "Atelier Firenze",
    "made_on": "2025-12-15",
    "recycled_content": 10,
    "repairability": {"score": 80, "spare_parts_years": 15},
    "care": "Keep away from direct sunlight.",
}


@dataclass
class World:
    brand: pp.SigningKey = field(default_factory=lambda: key("brand"))
    factory: pp.SigningKey = field(default_factory=lambda: key("factory"))
    boutique: pp.SigningKey = field(default_factory=lambda: key("boutique"))
    outlet: pp.SigningKey = field(default_factory=lambda: key("outlet"))
    repairer: pp.SigningKey = field(default_factory=lambda: key("repairer"))
    authenticator: pp.SigningKey = field(default_factory=lambda: key("authenticator"))
    alice: pp.SigningKey = field(default_factory=lambda: key("alice"))
    bob: pp.SigningKey = field(default_factory=lambda: key("bob"))
    carol: pp.SigningKey = field(default_factory=lambda: key("carol"))
    rival: pp.SigningKey = field(default_factory=lambda: key("rival"))
    rival_factory: pp.SigningKey = field(default_factory=lambda: key("rival-factory"))
    authority: pp.RecipientSecret = field(default_factory=lambda: recipient("authority"))
    repair_shop: pp.RecipientSecret = field(default_factory=lambda: recipient("repair-shop"))

    def __post_init__(self) -> None:
        self.audiences = {
            "authorities": pp.Audience.of("authorities", [self.authority.public_key]),
            "repairers": pp.Audience.of("repairers", [self.repair_shop.public_key]),
        }
        self.trust = pp.TrustStore.of(
            [
                pp.TrustedRoot(
                    "Maison Example",
                    self.brand.public_key,
                    ("3614270",),
                    tuple(self.audiences.values()),
                ),
                pp.TrustedRoot("Rival", self.rival.public_key, ("4000000",)),
            ]
        )
        window = {"nbf": T0 - YEAR, "exp": T0 + 5 * YEAR}
        self.certs = {
            "factory": pp.delegate(
                self.brand,
                self.factory.public_key,
                name="Atelier Firenze",
                role="factory",
                **window,
            ),
            "boutique": pp.delegate(
                self.brand,
                self.boutique.public_key,
                name="Boutique Paris",
                role="retailer",
                types=["sale", "stolen"],
                **window,
            ),
            "outlet": pp.delegate(
                self.brand, self.outlet.public_key, name="Outlet Lyon", role="outlet", **window
            ),
            "repairer": pp.delegate(
                self.brand,
                self.repairer.public_key,
                name="Atelier Repair",
                role="repairer",
                **window,
            ),
            "authenticator": pp.delegate(
                self.brand,
                self.authenticator.public_key,
                name="Authentic Lab",
                role="authenticator",
                **window,
            ),
            "rival_factory": pp.delegate(
                self.rival,
                self.rival_factory.public_key,
                name="Rival Works",
                role="factory",
                **window,
            ),
        }

    def issue(
        self,
        data: dict[str, Any] | None = None,
        *,
        signer: pp.SigningKey | None = None,
        time: int = T0,
    ) -> list[pp.Event]:
        return [pp.issue(signer or self.factory, data or PRODUCT, time=time)]

    def then(
        self,
        events: list[pp.Event],
        signer: pp.SigningKey,
        type: str,
        data: dict[str, Any] | None = None,
        *,
        dt: int = DAY,
    ) -> list[pp.Event]:
        event = pp.sign_event(signer, type, data or {}, time=events[-1].time + dt, after=events[-1])
        return [*events, event]

    def sold(self) -> list[pp.Event]:
        """Made, sold in the boutique to Alice, resold by Alice to Bob."""
        events = self.issue()
        events = self.then(
            events, self.boutique, "sale", {"owner": self.alice.kid.hex(), "channel": "boutique"}
        )
        return self.then(events, self.alice, "resale", {"to": self.bob.kid.hex()})

    def bundle(
        self,
        events: list[pp.Event],
        *,
        certs: list[str] | None = None,
        owners: list[pp.SigningKey] | None = None,
        revocations: tuple[pp.RevocationList, ...] = (),
    ) -> pp.Bundle:
        chosen = self.certs.values() if certs is None else [self.certs[c] for c in certs]
        named = {e.signer for e in events} | {
            bytes.fromhex(e.data[f]) for e in events for f in ("owner", "to") if f in e.data
        }
        people = owners if owners is not None else [self.alice, self.bob, self.carol]
        keys = tuple(k.public_key.raw for k in people if k.kid in named)
        return pp.Bundle(tuple(events), tuple(chosen), keys, revocations)

    def verify(
        self, bundle: pp.Bundle | bytes, *, now: int | None = None, **kwargs: Any
    ) -> pp.Report:
        if isinstance(bundle, pp.Bundle):
            now = now if now is not None else bundle.events[-1].time + DAY
            bundle = pp.bundle_to_bytes(bundle)
        return pp.verify(bundle, self.trust, now=now if now is not None else T0 + YEAR, **kwargs)


def forge(
    signer: pp.SigningKey,
    *,
    seq: int,
    type: str,
    time: int,
    data: dict[str, Any],
    pid: bytes | None = None,
    prev: bytes | None = None,
) -> bytes:
    """A correctly signed event record with whatever payload fields, bypassing every check."""
    payload = cbor.encode(
        {
            k: v
            for k, v in {
                "v": 1,
                "seq": seq,
                "type": type,
                "time": time,
                "data": data,
                "pid": pid,
                "prev": prev,
            }.items()
            if v is not None
        }
    )
    return cose.sign(signer, cose.CT_EVENT, payload).raw


def raw_bundle(
    events: list[bytes],
    certs: list[bytes] | None = None,
    keys: list[bytes] | None = None,
    revocations: list[bytes] | None = None,
) -> bytes:
    return cbor.encode(
        {
            "v": 1,
            "events": events,
            "certs": certs or [],
            "keys": keys or [],
            "revocations": revocations or [],
        }
    )

"""Golden test vectors: a valid bundle and named tampered copies, from fixed keys and times.

Regenerate with ``python -m tests.vectors.generate`` (from the repository root) after a
deliberate format change; tests/test_vectors.py rebuilds them and compares byte for byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import dpp_ledger.passport as pp
from dpp_ledger.passport import sealing
from dpp_ledger.passport.disclose import split
from tests.vectors import hpke_reference
from tests.world import DAY, PRODUCT, T0, World, forge, raw_bundle

HERE = Path(__file__).resolve().parent
NOW = T0 + 365 * DAY  # the verification time the expectations assume


def build() -> dict[str, tuple[bytes, str, str | None]]:
    """Name -> (bundle bytes, expected outcome, first failing check or None)."""
    w = World()
    sold = w.sold()
    valid = pp.bundle_to_bytes(w.bundle(sold))
    certs = [c.record.raw for c in w.certs.values()]
    keys = [w.alice.public_key.raw, w.bob.public_key.raw]

    flipped = bytearray(sold[-1].raw)
    flipped[-1] ^= 0x01
    other = w.then(w.issue({**sold[0].data, "serial": "OTHER-9"}), w.boutique, "sale",
                   {"owner": w.bob.kid.hex(), "channel": "boutique"})
    by_former_owner = w.then(sold, w.alice, "resale", {"to": w.carol.kid.hex()})
    stolen = w.then(w.then(sold, w.bob, "stolen"), w.bob, "resale", {"to": w.carol.kid.hex()})
    revocations = pp.revoke(w.brand, number=1, issued=T0 + 10 * DAY,
                            revoked={w.boutique.kid: T0})
    gap = forge(w.bob, seq=4, type="resale", time=sold[-1].time + DAY,
                data={"to": w.carol.kid.hex()}, pid=sold[0].pid, prev=sold[-1].hash)
    return {
        "valid": (valid, "valid", None),
        "bad-signature": (raw_bundle([e.raw for e in sold[:-1]] + [bytes(flipped)], certs, keys),
                          "invalid", "signatures"),
        "spliced-event": (raw_bundle([e.raw for e in sold[:2]] + [other[1].raw], certs, keys),
                          "invalid", "chain"),
        "seq-gap": (raw_bundle([e.raw for e in sold] + [gap], certs,
                               [*keys, w.carol.public_key.raw]), "invalid", "chain"),
        "resale-by-former-owner": (pp.bundle_to_bytes(w.bundle(by_former_owner)), "invalid",
                                   "authority"),
        "stolen-then-resold": (pp.bundle_to_bytes(w.bundle(stolen)), "invalid", "state"),
        "revoked-retailer": (pp.bundle_to_bytes(w.bundle(sold, revocations=(revocations,))),
                             "invalid", "authority"),
        "small-order-key": (valid.replace(w.bob.public_key.raw, (1).to_bytes(32, "little")),
                            "invalid", "keys"),
        "truncated": (valid[:-7], "invalid", "decoding"),
        "trailing-bytes": (valid + b"\x00", "invalid", "decoding"),
        **sealed_vectors(w),
    }


SEALED_DATA = {
    **PRODUCT,
    "site": "Laboratorio Via Maggio 7",
    "repair_information": "Open the lining at the base seam; spare handles: ref. H-25.",
    "compliance_documents": ["EU DoC MX-2026-114"],
}
SEALED_TO = {"site": "authorities", "compliance_documents": "authorities",
             "repair_information": "repairers", "price": "authorities"}


def _fixed(label: str) -> bytes:
    return hashlib.sha256(f"dpp-test-{label}".encode()).digest()


def _sealed_event(w: World, signer: pp.SigningKey, kind: str, data: dict[str, object],
                  after: pp.Event | None, time: int) -> tuple[pp.Event, list[pp.Box]]:
    """An event with every field of SEALED_TO it holds sealed, with fixed salts and boxes
    sealed by the RFC 9180 reference with fixed ephemeral keys (cryptography draws fresh ones)."""
    fields = [f for f in SEALED_TO if f in data]
    salts = iter(_fixed(f"salt:{kind}:{f}")[:16] for f in fields)
    public, disclosures = split(kind, data, fields, salt=lambda: next(salts))
    event = pp.sign_event(signer, kind, public, time=time, after=after)
    keys = {"authorities": w.authority.public_key, "repairers": w.repair_shop.public_key}
    boxes = []
    for item in disclosures:
        audience = SEALED_TO[item.field]
        key = keys[audience]
        info = sealing.info(event.hash, item.digest, item.field, audience)
        ct = hpke_reference.seal(key.raw[:32], info, item.raw,
                                 sk_e=_fixed(f"ephemeral:{kind}:{item.field}"))
        boxes.append(pp.Box(event.hash, item.digest, item.field, audience, pp.Kem.X25519,
                            key.kid, ct))
    return event, boxes


def sealed_chain(w: World) -> tuple[list[pp.Event], list[pp.Box]]:
    """Made with its workshop, documents and repair information sealed; sold at a sealed price."""
    made, boxes = _sealed_event(w, w.factory, "production", SEALED_DATA, None, T0)
    sale = {"owner": w.alice.kid.hex(), "channel": "boutique",
            "price": {"amount": 245_000, "currency": "EUR"}}
    sold, more = _sealed_event(w, w.boutique, "sale", sale, made, T0 + DAY)
    return [made, sold], boxes + more


def sealed_vectors(w: World) -> dict[str, tuple[bytes, str, str | None]]:
    events, boxes = sealed_chain(w)
    bundle = dataclasses.replace(w.bundle(events), disclosures=tuple(boxes))
    site = next(b for b in boxes if b.field == "site")
    moved = [dataclasses.replace(site, event=events[1].hash) if b is site else b for b in boxes]
    return {
        "sealed": (pp.bundle_to_bytes(bundle), "valid", None),
        "sealed-box-moved": (
            pp.bundle_to_bytes(dataclasses.replace(bundle, disclosures=tuple(moved))),
            "invalid", "disclosures"),
    }


def trust_store() -> str:
    """The trust store the vectors are verified against."""
    return World().trust.to_json()


def main() -> None:
    """Write every vector, the trust store and the expectations next to this file."""
    expected = {}
    for name, (data, outcome, failing) in build().items():
        (HERE / f"{name}.dpp").write_bytes(data)
        expected[name] = {"outcome": outcome, "fails": failing}
    (HERE / "trust.json").write_text(trust_store())
    (HERE / "expected.json").write_text(json.dumps({"now": NOW, "vectors": expected}, indent=2)
                                        + "\n")


if __name__ == "__main__":
    main()

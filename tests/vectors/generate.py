"""Golden test vectors: a valid bundle and named tampered copies, from fixed keys and times.

Regenerate with ``python -m tests.vectors.generate`` (from the repository root) after a
deliberate format change; tests/test_vectors.py rebuilds them and compares byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import passport as pp
from tests.world import DAY, T0, World, forge, raw_bundle

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

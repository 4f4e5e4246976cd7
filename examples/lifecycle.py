"""A passport's life in memory: issue, sell, resell, verify, and catch a forgery.

Runs the pure `passport` core only (no ledger, no files). Until the `dpp` command exists, this is
the project's main job in miniature.
"""

from __future__ import annotations

import time

import dpp_ledger.passport as pp
from dpp_ledger.passport import gs1

now = int(time.time())
day = 86_400

brand = pp.SigningKey.generate()
factory, boutique, outlet = (pp.SigningKey.generate() for _ in range(3))
alice, bob = pp.SigningKey.generate(), pp.SigningKey.generate()

trust = pp.TrustStore.of([pp.TrustedRoot("Maison Example", brand.public_key, ("3614270",))])
certs = (
    pp.delegate(
        brand,
        factory.public_key,
        name="Atelier Firenze",
        role="factory",
        nbf=now - 30 * day,
        exp=now + 365 * day,
    ),
    pp.delegate(
        brand,
        boutique.public_key,
        name="Boutique Paris",
        role="retailer",
        nbf=now - 30 * day,
        exp=now + 365 * day,
    ),
)

body = "361427000042"
gtin = "0" + body + str(gs1.check_digit("0" + body))
made = pp.issue(
    factory,
    {
        "gtin": gtin,
        "serial": "MX-000123",
        "brand": "Maison Example",
        "model": "Sac 25",
        "materials": [
            {"material": "calf leather", "share": 85, "origin": "FR"},
            {"material": "brass", "share": 15, "origin": "IT"},
        ],
        "made_in": "IT",
        "site": "Atelier Firenze",
        "made_on": "2026-01-15",
        "recycled_content": 10,
        "repairability": {"score": 80, "spare_parts_years": 15},
        "care": "Keep away from direct sunlight; clean with a dry cloth.",
    },
    time=now - 20 * day,
)
sold = pp.sign_event(
    boutique,
    "sale",
    {"owner": alice.kid.hex(), "channel": "boutique"},
    time=now - 10 * day,
    after=made,
)
resold = pp.sign_event(
    alice,
    "resale",
    {"to": bob.kid.hex(), "platform": "a resale platform"},
    time=now - day,
    after=sold,
)

bundle = pp.Bundle((made, sold, resold), certs, (alice.public_key.raw, bob.public_key.raw))
data = pp.bundle_to_bytes(bundle)
report = pp.verify(data, trust, now=now)

print(f"Passport {made.pid.hex()} ({len(data)} bytes as a bundle): {report.outcome}")
for check in report.checks:
    print(f"  [{check.status:4}] {check.name}: {check.detail}")
print("History:")
for entry in report.history:
    print(f"  {entry.when()}  {entry.actor}: {entry.summary}")

# A thief who once owned the bag (Alice) tries to sell it again.
forged = pp.sign_event(alice, "resale", {"to": alice.kid.hex()}, time=now, after=resold)
caught = pp.verify(pp.Bundle((made, sold, resold, forged), certs, bundle.keys), trust, now=now)
print(f"Forged resale by a former owner: {caught.outcome}: {caught.failures[0].detail}")

"""Where each ``dpp`` command lives, and its one-line help, so none is imported until run.

A command module imports what its command needs (SQLite, JSON Schema, Starlette, images);
``dpp --version`` and ``dpp verify`` must not pay for the others. ``dpp --help`` lists every
command from this table alone. ``tests/test_startup.py`` checks that each line below matches
the docstring of the command its module defines, so the two cannot drift apart.

The module names are relative to this package: the one place to edit if the package moves.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Entry(NamedTuple):
    """A command's module (relative to ``cli``) and the first paragraph of its help."""

    module: str
    help: str


COMMANDS: Final = {
    "audience": Entry(
        ".audience", "Audiences of restricted data: names and their recipients' keys, per brand."
    ),
    "audit": Entry(
        ".audit", "Check that the log still holds everything an OLD checkpoint committed to."
    ),
    "bench": Entry(
        ".bench",
        "Measure issuance, verification, checks, proofs, storage and sealing on this machine.",
    ),
    "brand": Entry(".admin", "Brand root keys."),
    "check": Entry(".audit", "Re-verify every chain and record in the ledger, on all cores."),
    "copy": Entry(
        ".moving",
        "Copy a whole ledger to another place, on either backend, and verify the copy.",
    ),
    "delegate": Entry(
        ".admin", "Let a factory, boutique, outlet, repairer or authenticator sign for a brand."
    ),
    "demo": Entry(
        ".demo",
        "Play a passport's whole life on the embedded default, and verify it as a buyer would.",
    ),
    "erase": Entry(
        ".erase",
        "Erase a restricted FIELD of a PASSPORT: its sealed values leave this ledger's file.",
    ),
    "export": Entry(
        ".bundles",
        "Write a passport as a bundle file anyone can verify offline, or as EPCIS or UNTP.",
    ),
    "import": Entry(
        ".bundles",
        "Verify bundle files and store what is new in them (forks and clones keep only evidence).",
    ),
    "init": Entry(".admin", "Create a home: ledger file, key store, trust store, and the log key."),
    "issue": Entry(".issuing", "Issue passports: one (--gtin, --serial) or many (--from FILE)."),
    "key": Entry(
        ".admin",
        "Private keys in this home (encrypted; the passphrase never goes on the command line).",
    ),
    "log": Entry(".audit", "This ledger's transparency log."),
    "owner": Entry(".buyer", "Prove, or check, that the seller holds the current owner key."),
    "qr": Entry(
        ".buyer", "Make the QR code for a passport: a GS1 Digital Link, or an offline code."
    ),
    "record": Entry(
        ".recording",
        "Record an event on a passport (in the ledger, or appended to a .dpp bundle file).",
    ),
    "resolver": Entry(
        ".admin", "Show, or set, the public base URL that this home's QR links point to."
    ),
    "revoke": Entry(
        ".admin", "Revoke a delegate's key (by key id): it signs nothing valid from that time on."
    ),
    "scan": Entry(".buyer", "Read a QR code from a photo or PNG and say what it names."),
    "serve": Entry(
        ".serve",
        "Serve this ledger's passports to phones, platforms and auditors (read-only by default).",
    ),
    "show": Entry(
        ".showing", "Show a passport's history as a person reads it, with its owner and flags."
    ),
    "trust": Entry(".admin", "The brand root keys (and log keys) this home trusts."),
    "upgrade": Entry(
        ".admin",
        "Convert this home's ledger file from version 1 to the current version, in place.",
    ),
    "verify": Entry(
        ".verify",
        "Verify a bundle offline: signatures, chain, authority, ownership, log, restricted data.",
    ),
}

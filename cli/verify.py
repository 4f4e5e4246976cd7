"""``dpp verify``: a bundle checked offline, as a buyer checks it before paying.

This is the command people run most, on phones and in scripts: it imports only what a
verification needs. No SQLite unless it reads the home's trust store, no image libraries
unless given a photo, no JSON Schema unless the data is invalid.
"""

from __future__ import annotations

from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger.clock import system_clock
from dpp_ledger.ledger.files import read_bounded, read_bundle
from dpp_ledger.passport import wire
from dpp_ledger.passport.cose import starts_as_sign1
from dpp_ledger.passport.events import EventType
from dpp_ledger.passport.evidence import ConflictKind, Evidence, find_conflicts
from dpp_ledger.passport.gs1 import DigitalLink
from dpp_ledger.passport.report import format_time

from .env import Home, TimeParam, UsageProblem, emit_json, json_option, short, trust_option
from .main import dpp
from .render import print_report
from .sealing import load_openers, open_option
from .sources import trust_for


def _scanned_matches(
    report: pp.Report, bundle: pp.Bundle, link: str | None, image: str | None
) -> tuple[bool, str]:
    """Whether the bundle is the item whose code was scanned, and what was compared."""
    if image:
        from dpp_ledger.ledger import (
            qrimage,  # images are read by libraries a bundle alone never needs
        )

    payload = link if link is not None else qrimage.read_image(image) if image else None
    if payload is None:
        return True, ""
    from dpp_ledger.passport.qr import read_payload

    scanned = read_payload(payload)
    if scanned.offline is not None:
        same = scanned.offline.events[0].hash == bundle.events[0].hash
        return same, "the offline QR code holds this passport's first event" if same else (
            "the offline QR code holds another passport's first event"
        )
    assert scanned.link is not None  # noqa: S101 - read_payload returns one of the two
    found = scanned.link
    same = (found.gtin, found.serial) == (report.gtin, report.serial) and (
        found.pid is None or found.pid == report.pid
    )
    what = describe_link(found)
    if found.serial is None:
        return False, f"the scanned code names {what}: a product, not one item (it has no serial)"
    return same, f"the scanned code names {what}" + ("" if same else ", not this bundle's item")


def describe_link(link: DigitalLink) -> str:
    """What a scanned Digital Link names, in words: GTIN, its qualifiers, the passport id."""
    parts = [f"GTIN {link.gtin}"]
    parts += [
        f"{name} {value}"
        for name, value in (("variant", link.variant), ("lot", link.lot), ("serial", link.serial))
        if value is not None
    ]
    if link.pid is not None:
        parts.append(f"passport {short(link.pid)}")
    return " ".join(parts)


@dpp.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@trust_option
@click.option("--link", help="The GS1 Digital Link the item's QR code gave.")
@click.option(
    "--qr", "image", type=click.Path(dir_okay=False), help="A photo of the item's QR code."
)
@click.option("--at", "at", type=TimeParam(), help="Verify as of this time (default: now).")
@open_option
@json_option
@click.pass_obj
def verify(
    home: Home,
    files: tuple[str, ...],
    trust_file: str | None,
    link: str | None,
    image: str | None,
    at: int | None,
    openers: tuple[str, ...],
    as_json: bool,
) -> None:
    """Verify a bundle offline: signatures, chain, authority, ownership, log, restricted data.

    Exit code 0 if valid (warnings are printed), 1 if invalid, 2 if unreadable.
    With two bundles of one passport, reports a fork (or a clone) with the signed events.
    With a UNTP credential (application/vc+cose, from `dpp export --format untp --sign`)
    and the bundle of the passport it names, checks who signed it and that it matches.

    Restricted fields are listed with their audiences; --open KEYNAME opens those sealed to
    that recipient key, each shown only if it matches the digest its event signed.

    \b
    Examples:
      dpp verify bag.dpp --trust trust.json
      dpp verify bag.dpp --trust trust.json --qr photo.png
      dpp verify copy-a.dpp copy-b.dpp --trust trust.json
      dpp verify bag.vc.cose bag.dpp --trust trust.json
      dpp verify bag.dpp --trust trust.json --open authorities
    """
    if len(files) > 2:
        raise UsageProblem("give one bundle, or two to compare")
    credential = secured_credential(files)
    if credential is not None:
        from . import exports  # credentials need the UNTP and EPCIS builders; bundles do not

        if link or image:
            raise UsageProblem("--link and --qr check a bundle alone, not a credential")
        exports.verify_credential(home, credential, trust_file, at, as_json)
        return
    if link and image:
        raise UsageProblem("give --link or --qr, not both")
    trust, known = trust_for(home, trust_file)
    now = at if at is not None else system_clock()
    bundles = [read_bundle(path) for path in files]
    keys = load_openers(home, openers)
    reports = [
        pp.verify(b, trust, now=now, known_revocations=known, open_with=keys) for b in bundles
    ]
    matches, compared = _scanned_matches(reports[0], bundles[0], link, image)
    conflicts = (
        find_conflicts(bundles[0], bundles[1], trust, now=now, known_revocations=known)
        if len(bundles) == 2
        else ()
    )
    if as_json:
        emit_json(
            {
                "files": [{"file": f, **r.to_dict()} for f, r in zip(files, reports, strict=True)],
                "scanned": {"matches": matches, "detail": compared} if compared else None,
                "conflicts": [_evidence(e) for e in conflicts],
            }
        )
    else:
        # What makes a genuine file the wrong answer comes first: a buyer reads the top line.
        if compared and not matches:
            click.echo(f"NOT THIS ITEM: the scanned code DOES NOT MATCH this passport: {compared}")
        for evidence in conflicts:
            click.echo(conflict_headline(evidence, reports, files))
            click.echo(f"  evidence: {evidence.detail}")
            click.echo(f"  first event  {evidence.first.hash.hex()} ({files[0]})")
            click.echo(f"  second event {evidence.second.hash.hex()} ({files[1]})")
        for path, report in zip(files, reports, strict=True):
            print_report(report, path, contested=bool(conflicts))
        if compared and matches:
            click.echo(f"Scanned code: MATCHES: {compared}")
    if not all(reports) or not matches or conflicts:
        raise click.exceptions.Exit(1)


def conflict_headline(evidence: Evidence, reports: list[pp.Report], files: tuple[str, ...]) -> str:
    """The conflict in plain words: what happened twice, by whom, when, and what to do."""
    sides = []
    for event, report, path in zip((evidence.first, evidence.second), reports, files, strict=True):
        entry = next((h for h in report.history if h.seq == event.seq), None)
        what = entry.summary if entry is not None else f"a {event.type} event"
        who = f" by {entry.actor}" if entry is not None else ""
        sides.append(f"{what}{who} on {format_time(event.time)[:10]} ({path})")
    advice = (
        "Neither bundle can be trusted to name the current owner: keep both files as "
        "evidence and contact the brand."
    )
    if evidence.kind is ConflictKind.CLONE:
        first = reports[0]
        return (
            f"CLONED: two different passports were issued for GTIN {first.gtin} serial "
            f"{first.serial} by {first.brand}: {sides[0]}; and {sides[1]}. At least one "
            f"item is a copy. {advice}"
        )
    sales = (EventType.SALE, EventType.RESALE)
    sold = evidence.first.type in sales and evidence.second.type in sales
    word = "SOLD TWICE" if sold else "HISTORY SPLIT"
    return (
        f"{word}: passport {short(evidence.first.pid)} has two different signed events "
        f"at step {evidence.first.seq}: {sides[0]}; and {sides[1]}. {advice}"
    )


def _evidence(evidence: Any) -> dict[str, Any]:
    return {
        "kind": str(evidence.kind),
        "detail": evidence.detail,
        "first": evidence.first.raw.hex(),
        "second": evidence.second.raw.hex(),
    }


def secured_credential(files: tuple[str, ...]) -> tuple[str, bytes, str] | None:
    """(credential file, its bytes, bundle file) if ``files`` hold a secured credential.

    Raises:
        UsageProblem: a credential without exactly one bundle beside it.
    """
    found = []
    for path in files:
        data = read_bounded(path, wire.MAX_BUNDLE_SIZE, what="bundle")
        if starts_as_sign1(data):
            found.append((path, data))
    if not found:
        return None
    if len(found) != 1 or len(files) != 2:
        raise UsageProblem(
            "a credential is checked against the passport it names: give it and that "
            "passport's bundle (dpp verify passport.vc.cose bag.dpp --trust trust.json)"
        )
    path, data = found[0]
    return path, data, next(f for f in files if f != path)

"""What a buyer does: verify a bundle offline, check the seller owns it, read QR codes."""

from __future__ import annotations

import urllib.parse
from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import qrimage, system_clock
from dpp_ledger.ledger.files import read_bundle
from dpp_ledger.passport import gs1, ownership
from dpp_ledger.passport.events import EventType
from dpp_ledger.passport.evidence import ConflictKind, Evidence, find_conflicts
from dpp_ledger.passport.gs1 import DigitalLink
from dpp_ledger.passport.qr import offline_payload, read_payload
from dpp_ledger.passport.report import format_time

from . import exports
from .env import (
    Home,
    TimeParam,
    UsageProblem,
    emit_json,
    json_option,
    output_path,
    resolve,
    resolver_url,
    short,
    trust_option,
)
from .items import is_bundle_path, trust_for
from .main import dpp
from .render import print_report
from .sealing import load_openers, open_option


def _scanned_matches(
    report: pp.Report, bundle: pp.Bundle, link: str | None, image: str | None
) -> tuple[bool, str]:
    """Whether the bundle is the item whose code was scanned, and what was compared."""
    payload = link if link is not None else qrimage.read_image(image) if image else None
    if payload is None:
        return True, ""
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
    credential = exports.secured_credential(files)
    if credential is not None:
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


@dpp.group()
def owner() -> None:
    """Prove, or check, that the seller holds the current owner key."""


@owner.command("prove")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "key_name", required=True, help="The owner key.")
@click.option("--challenge", required=True, help="The text the buyer chose.")
@trust_option
@click.pass_obj
def owner_prove(
    home: Home, file: str, key_name: str, challenge: str, trust_file: str | None
) -> None:
    """Sign the buyer's challenge with the owner key; print the response to hand over.

    The bundle is verified first: a key that no longer owns the item, or a bundle that does
    not verify, is refused (the buyer's check would fail), saying who the current owner is.

    \b
    Example:
      dpp owner prove bag.dpp --as bob --challenge "buyer-7f3a 2026-05-01"
    """
    bundle = read_bundle(file)
    trust, known = trust_for(home, trust_file)
    report = pp.verify(bundle, trust, now=system_clock(), known_revocations=known)
    key = home.signing_key(key_name)
    click.echo(ownership.prove_current(key, report, challenge))


@owner.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--challenge", required=True, help="The text you gave the seller.")
@click.option("--response", required=True, help="What the seller's `dpp owner prove` printed.")
@trust_option
@click.pass_obj
def owner_check(
    home: Home, file: str, challenge: str, response: str, trust_file: str | None
) -> None:
    """Check the seller's response against the current owner in the verified bundle.

    \b
    Example:
      dpp owner check bag.dpp --challenge "buyer-7f3a 2026-05-01" --response "3q2+7w…"
    """
    trust, known = trust_for(home, trust_file)
    bundle = read_bundle(file)
    report = pp.verify(bundle, trust, now=system_clock(), known_revocations=known)
    owner = ownership.check_current_owner(bundle, report, challenge, response)
    click.echo(
        f"The seller holds the current owner key {short(owner)} of passport {short(report.pid)}"
    )


@dpp.command()
@click.argument("reference", metavar="PASSPORT")
@click.option("--form", type=click.Choice(["link", "offline"]), default="link", show_default=True)
@click.option("--resolver", help="Base URL of the resolver (default: set by `dpp init`).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write a .png or .svg file (default: draw it in the terminal).",
)
@click.pass_obj
def qr(home: Home, reference: str, form: str, resolver: str | None, output: str | None) -> None:
    """Make the QR code for a passport: a GS1 Digital Link, or an offline code.

    \b
    Examples:
      dpp qr 3f1c9a2b -o bag-link.png
      dpp qr bag.dpp --form offline -o bag-offline.svg
    """
    target = output_path(home, output) if output else None
    if is_bundle_path(reference):
        bundle = read_bundle(reference)
    else:
        with home.reader() as ledger:
            bundle = ledger.bundle(resolve(ledger, reference))
    first = bundle.events[0]
    if form == "offline":
        payload = offline_payload(bundle)
    else:
        base = resolver_url(resolver or home.config().get("resolver") or DEFAULT_RESOLVER)
        _warn_if_unreachable(base)
        payload = gs1.digital_link(base, first.data["gtin"], first.data["serial"], first.pid)
    if target is not None:
        qrimage.write_image(payload, target)
        click.echo(f"Wrote {output}: {payload if form == 'link' else f'{len(payload)} characters'}")
    else:
        click.echo(qrimage.terminal_text(payload))
        click.echo(payload if form == "link" else f"(offline code, {len(payload)} characters)")


DEFAULT_RESOLVER = "https://localhost:8000"
_LOOPBACK = ("localhost", "127.", "[::1]", "0.0.0.0")  # noqa: S104 - names, not a bind


def _warn_if_unreachable(base: str) -> None:
    """Say on stderr when a QR link points where no phone can go (this machine itself)."""
    host = urllib.parse.urlsplit(base).netloc.rsplit("@", 1)[-1].lower()
    if host.startswith(_LOOPBACK):
        click.echo(
            f"dpp: note: the QR link points to {base}, this machine itself, which no phone can "
            "reach: give the public address of your `dpp serve` with --resolver URL, or set it "
            "for this home with `dpp init --resolver URL`",
            err=True,
        )


@dpp.command()
@click.argument("image", type=click.Path(dir_okay=False))
@trust_option
@json_option
@click.pass_obj
def scan(home: Home, image: str, trust_file: str | None, as_json: bool) -> None:
    """Read a QR code from a photo or PNG and say what it names.

    An offline code is verified against the trust store: who issued the passport.

    \b
    Example:
      dpp scan photo.png --trust trust.json
    """
    scanned = read_payload(qrimage.read_image(image))
    if scanned.link is not None:
        link = scanned.link
        result = {
            "form": "link",
            "gtin": link.gtin,
            "serial": link.serial,
            "lot": link.lot,
            "variant": link.variant,
            "pid": link.pid.hex() if link.pid else None,
        }
        if as_json:
            emit_json(result)
        else:
            note = "" if link.serial else " (no serial: it names a product, not one item)"
            click.echo(f"Digital Link: {describe_link(link)}{note}")
        return
    assert scanned.offline is not None  # noqa: S101 - read_payload returns one of the two
    trust, known = trust_for(home, trust_file)
    report = pp.verify(scanned.offline, trust, now=system_clock(), known_revocations=known)
    if as_json:
        emit_json({"form": "offline", **report.to_dict()})
    elif report:
        issued = report.history[0]
        click.echo(
            f"Offline code: {report.brand} issued passport {short(report.pid)} for GTIN "
            f"{report.gtin} serial {report.serial} ({issued.when()}, by {issued.actor})."
        )
        click.echo(
            "It proves who issued the passport; ask the seller for the bundle to see the "
            "item's history and current owner."
        )
    else:
        print_report(report, "Offline QR code")
    if not report:
        raise click.exceptions.Exit(1)

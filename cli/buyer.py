"""What a buyer does besides verifying: check the seller owns it, make and read QR codes."""

from __future__ import annotations

import urllib.parse

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import qrimage, system_clock
from dpp_ledger.ledger.files import read_bundle
from dpp_ledger.passport import gs1, ownership
from dpp_ledger.passport.qr import offline_payload, read_payload

from .env import (
    Home,
    emit_json,
    json_option,
    output_path,
    resolve,
    resolver_url,
    short,
    trust_option,
)
from .main import dpp
from .render import print_report
from .sources import is_bundle_path, trust_for
from .verify import describe_link


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

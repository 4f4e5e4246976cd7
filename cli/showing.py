"""Showing a passport's history as a person reads it, or as JSON (report, EPCIS or UNTP)."""

from __future__ import annotations

from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import system_clock
from dpp_ledger.ledger.files import read_bundle

from .env import Home, UsageProblem, emit_json, json_option, resolve, short, trust_option
from .main import dpp
from .render import print_report
from .sealing import erasures_json, load_openers, open_option, print_erasures
from .sources import is_bundle_path, trust_for


@dpp.command()
@click.argument("reference", metavar="PASSPORT")
@trust_option
@open_option
@json_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["report", "epcis", "untp"]),
    help="With --json: the verification report (default), EPCIS 2.0 events or the UNTP "
    "passport credential.",
)
@click.pass_obj
def show(
    home: Home,
    reference: str,
    trust_file: str | None,
    openers: tuple[str, ...],
    as_json: bool,
    fmt: str | None,
) -> None:
    """Show a passport's history as a person reads it, with its owner and flags.

    Exit code 0 if valid (warnings are printed), 1 if invalid (NOT GENUINE), 2 if
    unreadable: the same as dpp verify. Restricted fields are listed with their audiences;
    --open KEYNAME shows those sealed to that recipient key, verified against the signed
    digests. Erasures are listed.

    \b
    Examples:
      dpp show 3f1c9a2b
      dpp show 3f1c9a2b --json --format epcis
      dpp show 3f1c9a2b --open authorities
    """
    if fmt is not None:
        from . import exports

        if not as_json:
            raise UsageProblem("--format chooses what --json prints: add --json")
        emit_json(exports.view(exports.load(home, reference, trust_file), fmt))
        return
    keys = load_openers(home, openers)
    erasures: tuple[Any, ...] = ()
    if is_bundle_path(reference):
        trust, known = trust_for(home, trust_file)
        report = pp.verify(
            read_bundle(reference),
            trust,
            now=system_clock(),
            known_revocations=known,
            open_with=keys,
        )
    else:
        with home.reader() as ledger:
            pid = resolve(ledger, reference)
            report = ledger.verify(pid, open_with=keys)
            erasures = ledger.disclosures.erasures(pid)
    if as_json:
        emit_json({**report.to_dict(), "erasures": erasures_json(erasures)})
    else:
        print_report(report, f"Passport {short(report.pid)}", checks=not report)
        print_erasures(erasures)
    if not report:
        raise click.exceptions.Exit(1)

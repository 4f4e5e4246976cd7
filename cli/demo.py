"""``dpp demo``: the whole story in one command."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import click

from dpp_ledger.ledger import demo as scenario
from dpp_ledger.ledger.storage import checked_url, is_url

from .env import UsageProblem
from .main import dpp


@dpp.command()
@click.option(
    "--dir",
    "directory",
    default="dpp-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to write the demo's files.",
)
@click.option(
    "--ledger",
    "server",
    metavar="URL",
    help="Play it on PostgreSQL: a postgresql:// URL of a database where you may create a "
    "schema (the demo makes a new dpp_demo_... schema there, and says which).",
)
def demo(directory: str, server: str | None) -> None:
    """Play a passport's whole life on the embedded default, and verify it as a buyer would.

    A brand with a factory, a boutique, an outlet and a repairer; 500 items issued; one sold
    in the boutique and resold twice, one sold through the outlet, one repaired, one reported
    stolen; bundles and QR codes written; every bundle verified offline; a forged copy and a
    double sale caught; the log audited; a workshop sealed to authorities and repair
    information to repairers, opened by an authority, and erased.

    \b
    Examples:
      dpp demo --dir /tmp/dpp-demo
      dpp demo --ledger postgresql://postgres@127.0.0.1/test
    """

    def say(title: str, detail: str) -> None:
        click.echo(click.style(f"{title}: ", bold=True) + detail)

    if server is not None and not is_url(server):
        raise UsageProblem(f"--ledger {server[:80]!r}: give a postgresql:// URL")
    url = None if server is None else checked_url(server)
    result = scenario.run(Path(directory), say, server=url)
    if url is not None:
        schema = urllib.parse.unquote(str(result.ledger)).rsplit("search_path=", 1)[-1]
        click.echo(
            f"\nThe ledger is in PostgreSQL: {result.ledger} (when done exploring: "
            f"DROP SCHEMA {schema} CASCADE)"
        )
    click.echo(f"\nEverything is in {result.directory.resolve()}. Try:")
    bag = result.bundles["handbag"]
    click.echo(f"  dpp verify {bag} --trust {result.directory / 'trust.json'}")
    click.echo(
        f"  dpp scan {result.directory / 'qr' / 'handbag-offline.png'} "
        f"--trust {result.directory / 'trust.json'}"
    )
    # The demo's keys are throwaway ones under a passphrase everyone can read: say it, so the
    # demo home can be explored (a real home's passphrase is never printed, nor typed in argv).
    click.echo(
        f"  DPP_PASSPHRASE='{scenario.DEMO_PASSPHRASE}' dpp --home {result.directory / 'home'} "
        "key list   (a demo-only passphrase, printed because it protects nothing)"
    )
    if not result.ok:
        raise click.exceptions.Exit(1)

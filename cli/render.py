"""How reports and histories are printed for people."""

from __future__ import annotations

import json
from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.passport.report import Access, Status

from .env import short

MARKS = {Status.PASS: "ok", Status.WARN: "warn", Status.FAIL: "FAIL", Status.SKIP: "skip"}
VERDICT = {
    pp.Outcome.VALID: "GENUINE: every check passed",
    pp.Outcome.WARNINGS: "GENUINE, WITH WARNINGS: read them before you buy",
    pp.Outcome.INVALID: "NOT GENUINE: this passport does not verify",
}


ALERT_WORDS = {"stolen": "STOLEN", "end_of_life": "END OF LIFE"}


def verdict(report: pp.Report) -> str:
    """What a buyer must read first: a stolen or end-of-life flag, else the outcome."""
    if report and report.alerts:
        return "; ".join(f"{ALERT_WORDS[a.kind]}: {a.headline()}" for a in report.alerts)
    return VERDICT[report.outcome]


def print_report(
    report: pp.Report, title: str, *, checks: bool = True, contested: bool = False
) -> None:
    """The verdict first, then the checks, the history and the item's state.

    ``contested``: the bundle is one side of a fork or clone printed above it, so a valid
    report is not told as "genuine" on its own.
    """
    if contested and report:
        click.echo(f"{title}: its signatures verify, but it is one side of the conflict above")
    else:
        click.echo(f"{title}: {verdict(report)}")
        if report and report.alerts:
            click.echo("  (the passport itself verifies: the flag above is what matters)")
    if report.brand:
        click.echo(f"  {report.brand} item, GTIN {report.gtin}, serial {report.serial}")
    if checks:
        for check in report.checks:
            if check.status is not Status.SKIP or check.name == "log":
                click.echo(f"  [{MARKS[check.status]:>4}] {check.name:12} {check.detail}")
    if report.history:
        click.echo("  History:")
        for entry in report.history:
            click.echo(f"    {entry.when()}  {entry.summary}")
            click.echo(f"    {'':20}  by {entry.actor}")
    print_restricted(report)
    if report:
        flags = ", ".join(sorted(report.flags)) or "none"
        click.echo(
            f"  Current owner: {short(report.owner) if report.owner else 'none (unsold)'}"
            f"   channel: {report.channel or '-'}   flags: {flags}"
        )
    for failure in report.failures:
        click.echo(f"  Why: {failure.detail}")


def print_restricted(report: pp.Report) -> None:
    """One line per restricted value: restricted (audiences), opened and verified, or erased."""
    if not report.restricted:
        return
    click.echo("  Restricted data:")
    for entry in report.restricted:
        line = f"    event {entry.seq}  {entry.describe()}"
        if entry.access is Access.VERIFIED:
            line += f": {value_text(entry.value)}"
        click.echo(line)


def value_text(value: Any) -> str:
    """An opened value on one line: printable text as it is, anything else as JSON."""
    if isinstance(value, str) and value.isprintable():
        return value
    return json.dumps(value, ensure_ascii=False)

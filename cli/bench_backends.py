"""``dpp bench --ledger URL``: SQLite and PostgreSQL side by side (see ledger/bench_backends)."""

from __future__ import annotations

from collections.abc import Callable

import click

from dpp_ledger.ledger import bench_backends
from dpp_ledger.ledger.storage import checked_url, is_url

from .env import UsageProblem, emit_json

ROWS = (
    ("issue", "issue_eps", "{:,.0f} events/s"),
    ("verify", "verify_per_s", "{:,.0f} passports/s"),
    ("check", "check_eps", "{:,.0f} events/s"),
    ("4 writers appending", "append_per_s", "{:,.0f} events/s"),
    ("inclusion proof", "inclusion_ms", "{:.2f} ms"),
    ("consistency proof", "consistency_ms", "{:.2f} ms"),
)


def compare_backends(
    server: str, *, events: int, jobs: int | None, say: Callable[[str], None], as_json: bool
) -> None:
    """Measure both backends on ``events`` passports and print them side by side.

    Raises:
        UsageProblem: not a postgresql:// URL.
    """
    if not is_url(server):
        raise UsageProblem(f"--ledger {server[:80]!r}: give a postgresql:// URL")
    figures = bench_backends.compare(checked_url(server), events=events, jobs=jobs, say=say)
    if as_json:
        emit_json(figures)
        return
    click.echo(f"{events:,} passports on each backend, check with {figures['jobs']} processes:")
    click.echo(f"{'':18} {'SQLite':>20} {'PostgreSQL':>20}")
    for label, key, form in ROWS:
        sqlite, postgres = figures["sqlite"][key], figures["postgresql"][key]
        click.echo(f"{label:18} {form.format(sqlite):>20} {form.format(postgres):>20}")

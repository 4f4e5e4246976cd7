"""``dpp bench``: what this machine does, next to what it could do at best."""

from __future__ import annotations

import sys

import click

from dpp_ledger.ledger import bench as measure

from .env import emit_json, json_option
from .main import dpp

TARGETS = {"issue_ratio": 0.70, "verify_ratio": 0.85, "check_speedup": 1.7}


@dpp.command()
@click.option(
    "--items",
    default=6000,
    show_default=True,
    type=click.IntRange(100, 10_000_000),
    help="Passports to issue per repetition through the real path.",
)
@click.option(
    "--events",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(10, 100_000_000),
    help="Size of the log the proofs are timed on.",
)
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes for the ledger check.")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 50))
@click.option(
    "--ledger",
    "server",
    metavar="URL",
    help="Compare SQLite and PostgreSQL instead: --events passports into a temporary file and "
    "a new schema of this postgresql:// database (dropped after), side by side.",
)
@json_option
def bench(
    items: int, events: int, jobs: int | None, repeat: int, server: str | None, as_json: bool
) -> None:
    """Measure issuance, verification, checks, proofs, storage and sealing on this machine.

    Ratios compare the real code paths with the primitive ceiling (Ed25519, SHA-256, CBOR,
    SQLite) measured in the same run, so they mean the same on any machine.

    \b
    Examples:
      dpp bench --items 3000 --events 200000 --json
      dpp bench --ledger postgresql://postgres@127.0.0.1/test --events 1000000
    """

    def say(text: str) -> None:
        if sys.stderr.isatty() or not as_json:
            click.echo(f"  {text}", err=True)

    if server is not None:
        from .bench_backends import compare_backends

        compare_backends(server, events=events, jobs=jobs, say=say, as_json=as_json)
        return

    result = measure.run(items=items, events=events, jobs=jobs, repeat=repeat, say=say)
    if as_json:
        emit_json(result)
        return
    ceilings = result["ceilings_us"]
    click.echo(
        "Primitive ceiling per event (median µs): "
        + ", ".join(f"{name} {value['median']:.1f}" for name, value in ceilings.items())
    )
    rows = [
        (
            "issue",
            f"{result['issue_eps']:,.0f} events/s",
            "issue_ratio",
            f"of {result['issue_ceiling_eps']:,.0f}/s (sign+hash+encode+insert)",
        ),
        (
            "verify",
            f"{result['verify_eps']:,.0f} events/s",
            "verify_ratio",
            f"of {result['verify_ceiling_eps']:,.0f}/s (raw Ed25519 verify)",
        ),
        (
            "check",
            f"speed-up {result['check_speedup']:.2f}x",
            "check_speedup",
            f"with {result['parameters']['jobs']} processes, which do at best "
            f"{result['parallel_ceiling']:.2f}x the work of one here",
        ),
    ]
    for name, figure, key, context in rows:
        value = result[key]
        mark = "ok" if value >= TARGETS[key] else "below target"
        click.echo(
            f"{name:8} {figure:>22}  {key} {value:.2f} (target {TARGETS[key]}: {mark}) {context}"
        )
    click.echo(
        f"proofs   inclusion {result['inclusion_proof_ms']:.2f} ms, consistency "
        f"{result['consistency_proof_ms']:.2f} ms at {events:,} events (target < 5 ms)"
    )
    click.echo(
        f"storage  {result['bytes_per_event']:.0f} bytes per event on disk (target <= 650), "
        f"{result['details']['bytes_per_event_vacuumed']:.0f} once vacuumed"
    )
    for kem, cost in result["restricted_us"].items():
        click.echo(
            f"restricted {cost['fields']} sealed fields per event, {kem}: sealing "
            f"{cost['seal_us']:.0f} µs, opening {cost['open_us']:.0f} µs per event"
        )
    parts = result["breakdown_us"]
    for path, figures in parts.items():
        click.echo(
            f"{path} per event (µs): "
            + ", ".join(f"{name.replace('_', ' ')} {value:.1f}" for name, value in figures.items())
        )

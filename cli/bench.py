"""``dpp bench``: what this machine does, next to what it could do at best."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .env import emit_json, json_option
from .main import dpp

# Issue 18's goals; check_speedup is for 2 jobs on a quiet machine.
TARGETS = {"issue_ratio": 0.70, "verify_ratio": 0.85, "check_speedup": 1.8}


def dpp_command() -> list[str]:
    """How to start this very ``dpp``: its console script if beside the interpreter."""
    script = Path(sys.executable).parent / "dpp"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "dpp_ledger"]


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
    "--audit-events",
    type=click.IntRange(1000, 10**9),
    help="Instead: time `dpp check` on a ledger of this many events (a long run; the "
    "ledger is built once under --work and reused).",
)
@click.option(
    "--work",
    type=click.Path(file_okay=False),
    default="dpp-bench-work",
    show_default=True,
    help="Folder kept between runs for --audit-events.",
)
@click.option(
    "--ledger",
    "server",
    metavar="URL",
    help="Compare SQLite and PostgreSQL instead: --events passports into a temporary file and "
    "a new schema of this postgresql:// database (dropped after), side by side.",
)
@json_option
def bench(
    items: int,
    events: int,
    jobs: int | None,
    repeat: int,
    audit_events: int | None,
    work: str,
    server: str | None,
    as_json: bool,
) -> None:
    """Measure issuance, verification, checks, proofs, storage and sealing on this machine.

    Ratios compare the real code paths with the primitive ceiling (Ed25519, SHA-256, CBOR,
    SQLite) measured in turns with them in the same run, on CPU time, so they mean the same
    on any machine; each comes with its range over the turns, and a run whose turns
    disagree is flagged noisy rather than trusted. Start-up is timed against `python -c pass`.

    \b
    Examples:
      dpp bench --items 3000 --events 200000 --json
      dpp bench --audit-events 10000000 --jobs 2 --work /var/tmp/dpp-audit
      dpp bench --ledger postgresql://postgres@127.0.0.1/test --events 1000000
    """
    from dpp_ledger.ledger import bench as measure

    def say(text: str) -> None:
        if sys.stderr.isatty() or not as_json:
            click.echo(f"  {text}", err=True)

    if server is not None:
        from .bench_backends import compare_backends

        compare_backends(server, events=events, jobs=jobs, say=say, as_json=as_json)
        return
    if audit_events is not None:
        from dpp_ledger.ledger.bench_audit import audit

        found = audit(Path(work), audit_events, jobs or 2, say)
        if as_json:
            emit_json(found)
        else:
            _print_audit(found)
        return
    result = measure.run(
        items=items, events=events, jobs=jobs, repeat=repeat, say=say, dpp=dpp_command()
    )
    if as_json:
        emit_json(result)
        return
    _print(result)


def _print(result: dict[str, Any]) -> None:
    ceilings = result["ceilings_us"]
    click.echo(
        "Primitive ceiling per event (median CPU µs): "
        + ", ".join(f"{name} {value['median']:.1f}" for name, value in ceilings.items())
    )
    jobs = result["parameters"]["jobs"]
    rows = [
        ("issue", f"{result['issue_eps']:,.0f} events/s", "issue_ratio"),
        ("verify", f"{result['verify_eps']:,.0f} events/s", "verify_ratio"),
        ("check", f"{jobs} processes", "check_speedup"),
    ]
    for name, figure, key in rows:
        click.echo(f"{name:8} {figure:>18}  {_verdict(result, key)}")
    click.echo(
        f"         check's ceiling: {jobs} processes do at best "
        f"{result['parallel_ceiling']:.2f}x the work of one here"
    )
    startup = result.get("startup")
    if startup is not None:
        commands = startup["commands"]
        click.echo(
            "start-up (median CPU ms): "
            + ", ".join(f"{n} {f['cpu_s']['median'] * 1000:.0f}" for n, f in commands.items())
        )
        for key, label in (("version_ratio", "dpp --version"), ("verify_ratio", "dpp verify")):
            ratio = startup["ratios"][key]
            mark = "ok" if ratio["met"] else "above target"
            click.echo(
                f"         {label} = {ratio['median']:.1f}x python -c pass "
                f"({ratio['min']:.1f}-{ratio['max']:.1f}; target <= {ratio['target']:.0f}x: {mark})"
            )
    click.echo(
        f"proofs   inclusion {result['inclusion_proof_ms']:.2f} ms, consistency "
        f"{result['consistency_proof_ms']:.2f} ms at {result['parameters']['events']:,} "
        "events (target < 5 ms)"
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
    for path, figures in result["breakdown_us"].items():
        click.echo(
            f"{path} per event (CPU µs): "
            + ", ".join(f"{name.replace('_', ' ')} {value:.1f}" for name, value in figures.items())
        )
    for note in result["noisy"]:
        click.echo(f"noisy: {note}")


def _verdict(result: dict[str, Any], key: str) -> str:
    """A ratio with its range and target, or why it is not shown (a figure that cannot be)."""
    noted = [n for n in result["noisy"] if n.startswith(key)]
    if any("above its ceiling" in n for n in noted):
        return f"{key}: not shown, the run was noisy (see below); run again"
    value, turns = result[key], result["ratios"][key]
    mark = "ok" if value >= TARGETS[key] else "below target"
    flag = ", noisy" if noted else ""
    return (
        f"{key} {value:.2f} ({turns['min']:.2f}-{turns['max']:.2f} over the turns{flag}; "
        f"target {TARGETS[key]}: {mark})"
    )


def _print_audit(found: dict[str, Any]) -> None:
    wall, cpu = found["check_s"]["wall"], found["check_s"]["cpu"]
    # The goal is for 10^7 events: a smaller run is judged by what it projects.
    verdict = "within" if found["projected_10m_events_s"] < found["goal_s"] else "over"
    click.echo(
        f"check of {found['events']:,} events with {found['jobs']} processes: {wall:,.1f} s "
        f"wall, {cpu:,.1f} s CPU ({found['check_us_per_event']['wall']:.1f} µs per event; "
        f"10^7 events would take {found['projected_10m_events_s'] / 60:,.1f} min, {verdict} "
        f"the {found['goal_s'] / 60:.0f}-minute goal)"
    )
    click.echo(
        f"ledger {found['ledger']} ({'reused' if found['reused'] else 'built'} in "
        f"{found['build_s']:,.0f} s)"
    )
    if found["append_us"]:
        stretches = ", ".join(f"{s['to']:,}: {s['cpu']:.0f}" for s in found["append_us"])
        click.echo(f"appending, CPU µs per event up to each size: {stretches}")

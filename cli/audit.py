"""What an auditor does: the log's key and checkpoints, proofs, audits over time, ledger checks."""

from __future__ import annotations

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import check_ledger
from dpp_ledger.ledger.files import MAX_TEXT_FILE, read_text, write_atomic
from dpp_ledger.passport.audit import AuditError, audit
from dpp_ledger.passport.checkpoint import read_unverified
from dpp_ledger.passport.errors import LogError
from dpp_ledger.passport.report import plural

from .env import (
    Home,
    UsageProblem,
    emit_json,
    json_option,
    output_path,
    progress,
    resolve,
    short,
    trust_option,
)
from .main import dpp
from .sources import trust_for


@dpp.group()
def log() -> None:
    """This ledger's transparency log."""


@log.command("key")
@click.pass_obj
def log_key(home: Home) -> None:
    """Print the log's verifier key (give it to auditors and buyers for their trust store)."""
    with home.reader() as ledger:
        origin = ledger.checkpoints.origin
        logs = [v for v in ledger.trust().logs if v.name == origin]
    if not logs:
        raise UsageProblem("this ledger has no log key (run `dpp init`)")
    click.echo(logs[0].to_vkey())


@log.command("checkpoint")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write it to a file.")
@click.pass_obj
def log_checkpoint(home: Home, output: str | None) -> None:
    """Print the log's newest checkpoint, as it was signed.

    Every write signs one, so the stored checkpoint is printed as it is, without the log
    key; only if the log grew without one (a write made without the key) is a new one signed,
    which needs the log key's passphrase.

    \b
    Example:
      dpp log checkpoint -o checkpoint-2026-05-01.txt
    """
    target = output_path(home, output) if output else None  # refused before anything is signed
    with home.reader() as ledger:
        note = ledger.checkpoints.latest()
        if note is not None and read_unverified(note).size != ledger.log.size():
            note = None
    if note is None:
        with home.ledger(write=True) as ledger:
            note = ledger.checkpoints.sign()
    if target is not None:
        write_atomic(target, note.encode())
    click.echo(note, nl=False)


@log.command("prove")
@click.argument("reference", metavar="PASSPORT")
@click.pass_obj
def log_prove(home: Home, reference: str) -> None:
    """Print, as JSON, the inclusion proof of each of a passport's events in the log.

    \b
    Example:
      dpp log prove 3f1c9a2b
    """
    with home.reader() as ledger:
        bundle = ledger.bundle(resolve(ledger, reference))
    if bundle.log is None:
        raise UsageProblem("no checkpoint covers this passport yet: run `dpp log checkpoint`")
    checkpoint = read_unverified(bundle.log.checkpoint)
    emit_json(
        {
            "checkpoint": bundle.log.checkpoint,
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "proofs": [
                {"event": e.hash.hex(), "index": p.index, "path": [h.hex() for h in p.path]}
                for e, p in zip(bundle.events, bundle.log.proofs, strict=True)
            ],
        }
    )


@dpp.command("audit")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", required=False, type=click.Path(dir_okay=False))
@trust_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the evidence).")
@click.pass_obj
def audit_command(
    home: Home, old: str, new: str | None, trust_file: str | None, as_json: bool
) -> None:
    """Check that the log still holds everything an OLD checkpoint committed to.

    NEW is a newer checkpoint file (default: this ledger's newest). The consistency proof comes
    from this ledger. A log that dropped or changed anything fails, with both checkpoints and
    the proof as evidence.

    \b
    Example:
      dpp audit checkpoint-2026-05-01.txt
    """
    old_note = read_text(old, MAX_TEXT_FILE, what="checkpoint")
    trust, _ = trust_for(home, trust_file)
    with home.reader() as ledger:
        new_note = (
            read_text(new, MAX_TEXT_FILE, what="checkpoint") if new else ledger.checkpoints.latest()
        )
        if new_note is None:
            raise UsageProblem("this ledger has signed no checkpoint yet")
        try:
            given = (read_unverified(old_note).size, read_unverified(new_note).size)
        except LogError as error:
            raise pp.DecodeError(f"not a readable checkpoint: {error}") from None
        sizes = sorted(given)
        if given[0] > given[1]:
            click.echo(
                f"dpp: note: OLD is the newer checkpoint (size {given[0]}, NEW is size "
                f"{given[1]}): audited them the other way round",
                err=True,
            )
        proof = ledger.log.consistency(*sizes) if sizes[1] <= ledger.log.size() else []
        verifiers = (*trust.logs, *ledger.trust().logs)
    try:
        first, second = audit(old_note, new_note, proof, verifiers)
    except AuditError as failure:
        evidence = {
            "ok": False,
            "reason": str(failure),
            "old": failure.old_note,
            "new": failure.new_note,
            "proof": [h.hex() for h in failure.proof],
        }
        if as_json:
            emit_json(evidence)
        raise
    if as_json:
        emit_json(
            {
                "ok": True,
                "origin": first.origin,
                "old_size": first.size,
                "new_size": second.size,
                "proof": [h.hex() for h in proof],
            }
        )
    else:
        click.echo(
            f"{first.origin}: the log at size {second.size} extends the checkpoint at "
            f"size {first.size}; nothing was dropped or changed"
        )


@dpp.command()
@click.option("--jobs", type=click.IntRange(1, 256), help="Processes (default: every core).")
@json_option
@click.pass_obj
def check(home: Home, jobs: int | None, as_json: bool) -> None:
    """Re-verify every chain and record in the ledger, on all cores.

    \b
    Example:
      dpp check --jobs 2
    """
    if not home.exists():
        raise UsageProblem(f"no ledger in {home.path}: run `dpp init` (or pass --home DIR)")
    with home.reader() as ledger:
        total = ledger.counts()["passports"]
    update, close = progress(total, "Checking")
    try:
        report = check_ledger(
            home.ledger_location, jobs=jobs, progress=lambda done, _total: update(done)
        )
    finally:
        close()
    if as_json:
        emit_json(
            {
                "passports": report.passports,
                "events": report.events,
                "jobs": report.jobs,
                "problems": [
                    {"pid": p.pid.hex() if p.pid else None, "problem": p.message}
                    for p in report.problems
                ],
            }
        )
    else:
        click.echo(
            f"Checked {plural(report.passports, 'passport')}, {plural(report.events, 'event')} "
            f"with {plural(report.jobs, 'process', 'processes')}: "
            f"{plural(len(report.problems), 'problem')}"
        )
        for problem in report.problems:
            click.echo(f"  {short(problem.pid)}: {problem.message}")
    if report.problems:
        raise click.exceptions.Exit(1)

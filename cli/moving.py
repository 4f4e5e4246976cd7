"""``dpp copy``: a whole ledger to another backend (SQLite file <-> PostgreSQL), verified."""

from __future__ import annotations

from pathlib import Path

import click

from dpp_ledger.ledger.storage import Location, as_location, is_url
from dpp_ledger.ledger.transfer import copy_ledger

from .env import Home, emit_json, json_option
from .main import dpp


def place(text: str) -> Location:
    """A ledger named on the command line: a URL, a home folder, or a ledger file.

    Raises:
        LocationError: a URL holding a password, or another scheme.
    """
    location = as_location(text)
    if isinstance(location, Path) and location.is_dir():
        return Home(location).ledger_location
    return location


@dpp.command(name="copy")
@click.argument("source")
@click.argument("dest")
@click.option(
    "--batch",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Events per transaction.",
)
@json_option
def copy_command(source: str, dest: str, batch: int, as_json: bool) -> None:
    """Copy a whole ledger to another place, on either backend, and verify the copy.

    SOURCE and DEST are each a postgresql:// URL (no password: PGPASSWORD, ~/.pgpass or a
    service file), a home folder, or a ledger file (made if missing). Success is reported only
    once DEST's log has SOURCE's root at the size of its newest checkpoint. Interrupted, run the
    same command again: it checks what DEST holds and goes on from there.

    \b
    Examples:
      dpp copy .dpp/ledger.db postgresql://dpp@db.example.com/registry
      dpp copy postgresql://dpp@db.example.com/registry backup.db
    """
    src, dst = place(source), place(dest)
    if str(src) == str(dst):
        raise click.UsageError("SOURCE and DEST are the same ledger")
    result = copy_ledger(src, dst, batch=batch)
    if as_json:
        emit_json(
            {
                "events": result.events,
                "copied": result.copied,
                "checkpoint_size": result.checkpoint_size,
                "root": result.root_b64,
            }
        )
        return
    shown = dest if is_url(dest) else str(dst)
    click.echo(
        f"Copied {result.copied} events ({result.events} in all) to {shown}; verified: the log "
        f"has the same root at checkpoint size {result.checkpoint_size} ({result.root_b64})"
    )

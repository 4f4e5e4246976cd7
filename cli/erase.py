"""``dpp erase``: delete a restricted field's sealed values from this ledger, for good."""

from __future__ import annotations

import click

from dpp_ledger.ledger.disclosures import Erasure, compact

from .env import Home, UsageProblem, emit_json, json_option, resolve, short
from .main import dpp
from .sealing import erasures_json


@dpp.command()
@click.argument("reference", metavar="PASSPORT", required=False)
@click.option("--field", help="The restricted field to erase (e.g. site).")
@click.option(
    "--reason", help="Why, in one line (kept in the erasure record; never personal data)."
)
@click.option("--vacuum", is_flag=True, help="Then rewrite the whole ledger file (VACUUM).")
@json_option
@click.pass_obj
def erase(
    home: Home,
    reference: str | None,
    field: str | None,
    reason: str | None,
    vacuum: bool,
    as_json: bool,
) -> None:
    """Erase a restricted FIELD of a PASSPORT: its sealed values leave this ledger's file.

    Every sealed box of the field is deleted with SQLite's secure_delete and the WAL is
    emptied, so the bytes are gone from the file, not just unlinked; --vacuum rewrites the
    whole file as well (alone, it only rewrites it). Events, signatures and the log are
    untouched: they hold salted digests only. An erasure record (event, field, time, reason)
    stays, and `dpp show` lists it. Copies handed out before cannot be recalled.

    \b
    Examples:
      dpp erase 3f1c9a2b --field site --reason "GDPR art. 17 request 2026-114"
      dpp erase --vacuum
    """
    if reference is None and (field or reason):
        raise UsageProblem("--field and --reason erase from a PASSPORT: name it")
    if reference is not None and not (field and reason):
        raise UsageProblem("give --field NAME and --reason TEXT (or only --vacuum)")
    if reference is None and not vacuum:
        raise UsageProblem("give PASSPORT --field NAME --reason TEXT, or --vacuum")
    records: tuple[Erasure, ...] = ()
    with home.ledger() as ledger:  # signs no checkpoint: needs no log key
        if reference is not None and field and reason:
            chain = ledger.chain(resolve(ledger, reference))
            records = ledger.disclosures.erase(chain, field, reason=reason, time=ledger.clock())
        emptied = compact(ledger.db, vacuum=vacuum)
    if as_json:
        emit_json({"erased": erasures_json(records), "vacuumed": vacuum, "wal_emptied": emptied})
        return
    for record in records:
        click.echo(f"Erased from passport {short(record.pid)}: {record.describe()}")
    if vacuum:
        what = "the sealed boxes' table" if home.shared else str(home.ledger_path)
        click.echo(f"Rewrote {what} (VACUUM)")
    if not emptied:
        click.echo(
            "warning: another process is reading the ledger, so its WAL still holds the "
            "erased pages: run `dpp erase --vacuum` once it is done",
            err=True,
        )

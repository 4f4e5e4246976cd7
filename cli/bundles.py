"""Passports out of the ledger and into it: export as a bundle file (or EPCIS, UNTP), import."""

from __future__ import annotations

from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger.files import read_bounded, write_atomic
from dpp_ledger.passport import wire
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


@dpp.command()
@click.argument("reference", metavar="PASSPORT")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="The file to write (epcis and untp: standard output if left out).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["bundle", "epcis", "untp"]),
    default="bundle",
    show_default=True,
    help="A .dpp bundle, EPCIS 2.0 JSON-LD events, or the UNTP passport credential.",
)
@click.option(
    "--sign",
    "signer_name",
    metavar="KEY",
    help="untp: secure the credential as COSE_Sign1 (application/vc+cose) with this key, "
    "the brand's or a delegate's whose certificate the passport carries (the factory).",
)
@trust_option
@click.pass_obj
def export(
    home: Home,
    reference: str,
    output: str | None,
    fmt: str,
    signer_name: str | None,
    trust_file: str | None,
) -> None:
    """Write a passport as a bundle file anyone can verify offline, or as EPCIS or UNTP.

    PASSPORT is a passport in this ledger, or (for epcis and untp) a .dpp bundle file.

    \b
    Examples:
      dpp export 3f1c9a2b -o bag.dpp
      dpp export 3f1c9a2b --format epcis -o bag.epcis.jsonld
      dpp export 3f1c9a2b --format untp --sign factory -o bag.vc.cose
    """
    if fmt != "bundle" or signer_name is not None:
        from . import exports

        exports.export_view(home, reference, fmt, output, signer_name, trust_file)
        return
    if output is None:
        raise UsageProblem("a bundle is binary: give -o FILE")
    target = output_path(home, output)
    with home.reader() as ledger:
        pid = resolve(ledger, reference)
        data = ledger.export(pid)
    write_atomic(target, data)
    click.echo(f"Wrote {output} ({len(data)} bytes, passport {short(pid)})")


@dpp.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_option
@click.pass_obj
def import_(home: Home, files: tuple[str, ...], as_json: bool) -> None:
    """Verify bundle files and store what is new in them (forks and clones keep only evidence).

    With several files, each refused one is named and the rest are imported (exit code 1).

    \b
    Example:
      dpp import bag.dpp watch.dpp
    """
    results: list[dict[str, Any]] = []
    update, close = progress(len(files), "Importing")
    with home.ledger(write=True) as ledger:
        for done, path in enumerate(files, start=1):
            try:
                data = read_bounded(path, wire.MAX_BUNDLE_SIZE, what="bundle")
                result = ledger.import_bundle(data)
            except pp.DppError as error:
                if len(files) == 1:
                    raise  # one file: its own error and exit code
                results.append({"file": path, "error": str(error)})
            else:
                results.append(
                    {
                        "file": path,
                        "pid": result.pid.hex(),
                        "new_events": result.new_events,
                        "new_boxes": result.new_boxes,
                    }
                )
            update(done)
    close()
    if as_json:
        emit_json(results)
    else:
        for entry in results:
            if "error" in entry:
                click.echo(f"{entry['file']}: refused: {entry['error']}", err=True)
            else:
                boxes = (
                    f", {plural(entry['new_boxes'], 'new sealed box', 'new sealed boxes')}"
                    if entry["new_boxes"]
                    else ""
                )
                click.echo(
                    f"{entry['file']}: passport {entry['pid'][:16]}, "
                    f"{plural(entry['new_events'], 'new event')}{boxes}"
                )
    if any("error" in entry for entry in results):
        raise click.exceptions.Exit(1)

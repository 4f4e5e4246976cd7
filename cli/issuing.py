"""Issuing passports: one from the command line, or one per row of a CSV or JSON Lines file."""

from __future__ import annotations

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import Tally, issue_into
from dpp_ledger.ledger.audiences import sign_planned
from dpp_ledger.ledger.bulk import Outcome
from dpp_ledger.ledger.rows import RowsFile
from dpp_ledger.passport import gs1, schema

from ._jsonfile import read_json_object
from .env import Home, UsageProblem, emit_json, emit_json_streamed, json_option, progress
from .main import dpp
from .sealing import parse_seal, seal_options


@dpp.command()
@click.option("--brand", "brand_name", required=True, help="The brand root key.")
@click.option("--as", "signer_name", help="Sign with this key instead (a factory delegate).")
@click.option("--gtin", help="GTIN-8/12/13/14 of the item.")
@click.option("--serial", help="Serial number (GS1 AI 21: 1-20 characters).")
@click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False),
    help="JSON file of production data (model, materials, made_in, ...).",
)
@click.option(
    "--from",
    "rows_file",
    type=click.Path(dir_okay=False),
    help="Issue one passport per row of a .csv or .jsonl file.",
)
@click.option("--batch", default=1000, show_default=True, help="Rows per transaction.")
@seal_options
@json_option
@click.pass_obj
def issue(
    home: Home,
    brand_name: str,
    signer_name: str | None,
    gtin: str | None,
    serial: str | None,
    data_file: str | None,
    rows_file: str | None,
    batch: int,
    seal: tuple[str, ...],
    kem: str,
    as_json: bool,
) -> None:
    """Issue passports: one (--gtin, --serial) or many (--from FILE).

    \b
    CSV columns (header row; only gtin and serial are required):
      gtin, serial, brand, model, category, made_in, site, made_on (YYYY-MM-DD),
      recycled_content (%), care, materials ("calf leather:85:FR;brass:15:IT"),
      repair_score (0-100), spare_parts_years, repair_instructions,
      repair_information, compliance_documents ("EU DoC 114;REACH 33 statement"),
      substances_of_concern ("lead:7439-92-1:zipper;..."), and
      seal: the row's fields sealed to audiences ("site=authorities;...")
    A .jsonl file holds one JSON object of production data per line ("seal": {...}).
    --seal FIELD=AUDIENCE seals a field to one of the brand's audiences: the passport
    signs only a salted digest; the value goes, encrypted, to the audience's keys.
    \b
    Examples:
      dpp issue --brand maison --gtin 03614270000423 --serial MX-1 --data bag.json
      dpp issue --brand maison --as factory --from run-2026-05.csv
      dpp issue --brand maison --gtin 03614270000423 --serial MX-2 --data bag.json \\
        --seal site=authorities --seal repair_information=repairers
    """
    signer = home.signing_key(signer_name or brand_name)
    plan = parse_seal(seal)
    if rows_file:
        if gtin or serial or data_file or plan:
            raise UsageProblem(
                "--from issues from a file: leave out --gtin, --serial, --data and --seal "
                "(the file's seal column says what to seal)"
            )
        _issue_many(home, signer, rows_file, batch, as_json, pp.Kem(kem))
        return
    if not gtin or not serial:
        raise UsageProblem("give --gtin and --serial (or --from FILE)")
    data = read_json_object(data_file, "production data") if data_file else {}
    data.update({"gtin": gs1.normalize_gtin(gtin), "serial": serial})
    with home.ledger(write=True) as ledger:
        event, boxes = sign_planned(
            signer,
            "production",
            data,
            trust=ledger.trust(),
            gtin=data["gtin"],
            plan=plan,
            kem=pp.Kem(kem),
            time=ledger.clock(),
            after=None,
        )
        ledger.append(event, boxes=boxes)
    missing = schema.missing_product_fields(data)
    if missing:
        click.echo(f"warning: an ESPR passport should also carry: {', '.join(missing)}", err=True)
    if as_json:
        emit_json({"pid": event.pid.hex(), "missing": list(missing)})
    else:
        click.echo(event.pid.hex())


def _issue_many(
    home: Home, signer: pp.SigningKey, rows_file: str, batch: int, as_json: bool, kem: pp.Kem
) -> None:
    rows = RowsFile(rows_file)
    total = rows.check()  # the whole file, checked before anything is signed
    update, close = progress(total, "Issuing")
    # Outcomes wait on disk, not in memory, and the report is written as it is read back:
    # a file of millions of rows costs no more memory than one of a thousand.
    with Tally() as tally:
        with home.ledger(write=True) as ledger:
            try:
                issue_into(
                    tally,
                    ledger,
                    signer,
                    rows,
                    batch_size=batch,
                    progress=update,
                    kem=kem,
                    called="line",
                )
            finally:
                close()
        refused = tally.count(Outcome.REFUSED)
        if as_json:
            emit_json_streamed(
                {
                    "issued": (
                        {"line": line, "pid": pid.hex()}
                        for line, pid in tally.outcomes(Outcome.ISSUED)
                    ),
                    "already_issued": tally.count(Outcome.ALREADY),
                    "refused": (
                        {"line": line, "reason": reason}
                        for line, reason in tally.outcomes(Outcome.REFUSED)
                    ),
                }
            )
        else:
            click.echo(
                f"{rows_file}: {tally.count(Outcome.ALREADY)} already issued, "
                f"{tally.count(Outcome.ISSUED)} new; refused {refused}"
            )
            for line, reason in tally.outcomes(Outcome.REFUSED):
                click.echo(f"  line {line}: {reason}", err=True)
    if refused:
        raise click.exceptions.Exit(1)

"""A passport's life: issue (one or thousands), record events, show, export, import."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import issue_many, system_clock
from dpp_ledger.ledger.audiences import sign_planned
from dpp_ledger.ledger.files import (
    MAX_TEXT_FILE,
    append_to_bundle,
    read_bounded,
    read_bundle,
    write_atomic,
)
from dpp_ledger.ledger.rows import read_rows
from dpp_ledger.passport import gs1, schema, wire
from dpp_ledger.passport.report import plural

from .admin import public_key_of
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
from .render import print_report
from .sealing import (
    erasures_json,
    load_openers,
    open_option,
    parse_seal,
    print_erasures,
    seal_options,
)


def read_json_object(path: str, what: str) -> dict[str, Any]:
    """A JSON object from a file (bounded, strictly parsed).

    Raises:
        DecodeError: not a JSON object.
    """
    try:
        value = json.loads(read_bounded(path, MAX_TEXT_FILE, what=what))
    except (ValueError, RecursionError) as exc:
        raise pp.DecodeError(f"{what} {path}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise pp.DecodeError(f"{what} {path}: must hold a JSON object")
    return value


def is_bundle_path(reference: str) -> bool:
    """Whether a PASSPORT argument names a bundle file rather than a ledger passport.

    Any existing path that is not a folder counts, so that a FIFO or a device is refused
    as a file rather than looked up as a passport id.
    """
    path = Path(reference)
    return reference.endswith(".dpp") or (path.exists() and not path.is_dir())


# -- issue -----------------------------------------------------------------------------------


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
    rows = read_rows(rows_file)  # the whole file, checked before anything is signed
    update, close = progress(len(rows), "Issuing")
    with home.ledger(write=True) as ledger:
        try:
            summary = issue_many(
                ledger, signer, (r for _, r in rows), batch_size=batch, progress=update, kem=kem
            )
        finally:
            close()
    lines = [line for line, _ in rows]
    refused = [(lines[i], reason) for i, reason in summary.refused]
    if as_json:
        emit_json(
            {
                "issued": [{"line": lines[i], "pid": pid.hex()} for i, pid in summary.issued],
                "already_issued": len(summary.already),
                "refused": [{"line": n, "reason": r} for n, r in refused],
            }
        )
    else:
        click.echo(
            f"{rows_file}: {len(summary.already)} already issued, {len(summary.issued)} new; "
            f"refused {len(refused)}"
        )
        for line, reason in refused:
            click.echo(f"  line {line}: {reason}", err=True)
    if refused:
        raise click.exceptions.Exit(1)


# -- record ----------------------------------------------------------------------------------

EVENT_TYPES = (
    "sale",
    "outlet",
    "resale",
    "repair",
    "authentication",
    "stolen",
    "recovered",
    "end-of-life",
)


@dpp.command()
@click.argument("event_type", metavar="TYPE", type=click.Choice(EVENT_TYPES))
@click.argument("reference", metavar="PASSPORT")
@click.option("--as", "signer_name", required=True, help="The key that signs the event.")
@click.option("--owner", help="sale: the buyer (key id, or a key name in this home).")
@click.option("--owner-key", help="sale: the buyer's raw public key (hex), kept in the bundle.")
@click.option(
    "--channel",
    type=click.Choice(["boutique", "online", "outlet", "department_store", "other"]),
    help="sale: where it was sold.",
)
@click.option(
    "--receipt",
    type=click.Path(dir_okay=False),
    help="sale: a receipt file, stored only as a salted hash.",
)
@click.option("--to", "to", help="resale: the new owner (key id, or a key name in this home).")
@click.option("--to-key", help="resale: the new owner's raw public key (hex).")
@click.option("--platform", help="resale: the platform it was sold on.")
@click.option("--work", help="repair: what was done.")
@click.option("--part", "parts", multiple=True, help="repair: a part replaced; repeatable.")
@click.option(
    "--verdict",
    type=click.Choice(["genuine", "not_genuine", "inconclusive"]),
    help="authentication: the verdict.",
)
@click.option("--method", help="authentication: how the item was inspected.")
@click.option("--reference", "case", help="stolen/recovered: a police or insurance reference.")
@click.option(
    "--fate",
    type=click.Choice(["recycled", "destroyed", "upcycled"]),
    help="end-of-life: what became of the item.",
)
@click.option("--facility", help="end-of-life: where.")
@click.option("--note", help="outlet: a note.")
@click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False),
    help="JSON file of event data (options given here override it).",
)
@trust_option
@seal_options
@json_option
@click.pass_obj
def record(
    home: Home, /, event_type: str, reference: str, signer_name: str, **options: Any
) -> None:
    """Record an event on a passport (in the ledger, or appended to a .dpp bundle file).

    PASSPORT is a passport id, a unique prefix (8+ hex digits), a GS1 Digital Link URI,
    or the path of a .dpp bundle file.

    \b
    Examples:
      dpp record sale 3f1c9a2b --as boutique --owner alice --channel boutique
      dpp record resale bag.dpp --as alice --to-key "$(dpp key export bob --raw)"
      dpp record repair 3f1c9a2b --as repairer --work "new handles" --part handle
      dpp record repair 3f1c9a2b --as repairer --work "new lining" --part lining \\
        --seal parts=authorities
    """
    as_json = options.pop("as_json")
    trust_file = options.pop("trust_file")
    sealing = (parse_seal(options.pop("seal")), pp.Kem(options.pop("kem")))
    kind = event_type.replace("-", "_")
    data, keys, salt = _event_data(home, kind, options)
    signer = home.signing_key(signer_name)
    keys.append(signer.public_key)  # an owner's or independent signer's key travels with the chain
    if is_bundle_path(reference):
        event, report = _append_to_file(
            home, reference, signer, (kind, data, sealing), keys, trust_file
        )
    else:
        with home.ledger(write=True) as ledger:
            chain = ledger.chain(resolve(ledger, reference))
            event, boxes = sign_planned(
                signer,
                kind,
                data,
                trust=ledger.trust(),
                gtin=chain[0].data["gtin"],
                plan=sealing[0],
                kem=sealing[1],
                time=max(ledger.clock(), chain[-1].time),
                after=chain[-1],
            )
            report = ledger.append(event, keys=keys, boxes=boxes)
    if as_json:
        emit_json(
            {
                "pid": event.pid.hex(),
                "seq": event.seq,
                "event": event.hash.hex(),
                "outcome": str(report.outcome),
                "receipt_salt": salt,
            }
        )
    else:
        click.echo(
            f"Recorded {event.label()} on passport {short(event.pid)}: {report.history[-1].summary}"
        )
        if salt:
            click.echo(f"Receipt salt (give it to the buyer; it is not stored anywhere): {salt}")


def _event_data(
    home: Home, kind: str, options: dict[str, Any]
) -> tuple[dict[str, Any], list[pp.PublicKey], str | None]:
    data_file = options.pop("data_file")
    data = read_json_object(data_file, "event data") if data_file else {}
    keys: list[pp.PublicKey] = []
    for field, key_option, name in (("owner", "owner_key", "owner"), ("to", "to_key", "to")):
        if options.get(key_option):
            key = public_key_of(home, options[key_option])
            keys.append(key)
            data[field] = key.kid_hex
        elif options.get(name):
            data[field] = _kid_or_name(home, options[name], keys)
    salt = None
    if options.get("receipt"):
        salt = secrets.token_hex(16)
        receipt = read_bounded(options["receipt"], MAX_TEXT_FILE, what="receipt")
        data["receipt"] = hashlib.sha256(bytes.fromhex(salt) + receipt).hexdigest()
    simple = {
        "channel": "channel",
        "platform": "platform",
        "work": "work",
        "verdict": "verdict",
        "method": "method",
        "case": "reference",
        "fate": "fate",
        "facility": "facility",
        "note": "note",
    }
    for option, field in simple.items():
        if options.get(option):
            data[field] = options[option]
    if options.get("parts"):
        data["parts"] = list(options["parts"])
    if kind == "sale":
        data.setdefault("channel", "boutique")
    return data, keys, salt


def _kid_or_name(home: Home, value: str, keys: list[pp.PublicKey]) -> str:
    """A key name in this home, or a key id (64 hex digits): the key id either way.

    Raises:
        UsageProblem: neither, said in words with how to list the keys.
    """
    try:
        if home.keystore.exists(value):
            key = home.keystore.info(value).public_key
            keys.append(key)
            return key.kid_hex
    except pp.DppError:
        pass
    kid = value.strip().lower()
    if len(kid) == 64 and all(c in "0123456789abcdef" for c in kid):
        return kid
    raise UsageProblem(
        f"there is no key called {value[:40]!r} in {home.path}, and it is not a key id (64 hex "
        "digits): `dpp key list` shows this home's keys; a buyer's own key is given with its "
        "key id, or with --owner-key / --to-key and the raw public key"
    )


def _append_to_file(
    home: Home,
    path: str,
    signer: pp.SigningKey,
    what: tuple[str, dict[str, Any], tuple[dict[str, list[str]], pp.Kem]],
    keys: list[pp.PublicKey],
    trust_file: str | None,
) -> tuple[pp.Event, pp.Report]:
    kind, data, (plan, kem) = what
    trust, known = trust_for(home, trust_file)
    bundle = read_bundle(path)
    head = bundle.events[-1]
    now = system_clock()
    event, boxes = sign_planned(
        signer,
        kind,
        data,
        trust=trust,
        gtin=bundle.events[0].data["gtin"],
        plan=plan,
        kem=kem,
        time=max(now, head.time),
        after=head,
    )
    report = append_to_bundle(
        path, event, trust, now=now, keys=keys, known_revocations=known, boxes=boxes
    )
    return event, report


def trust_for(
    home: Home, trust_file: str | None
) -> tuple[pp.TrustStore, tuple[pp.RevocationList, ...]]:
    """The trust store to verify against: --trust FILE, else this home's (with its revocations).

    With --trust the ledger is never opened: an offline check needs nothing but the file.

    Raises:
        UsageProblem: neither is available.
    """
    from dpp_ledger.ledger.files import read_trust

    if trust_file:
        return read_trust(trust_file), ()
    if not home.exists():
        raise UsageProblem("no trust store: pass --trust FILE (or use a home with `--home`)")
    with home.reader() as ledger:
        return ledger.trust(), ledger.revocations()


# -- show, export, import --------------------------------------------------------------------


@dpp.command()
@click.argument("reference", metavar="PASSPORT")
@trust_option
@open_option
@json_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["report", "epcis", "untp"]),
    help="With --json: the verification report (default), EPCIS 2.0 events or the UNTP "
    "passport credential.",
)
@click.pass_obj
def show(
    home: Home,
    reference: str,
    trust_file: str | None,
    openers: tuple[str, ...],
    as_json: bool,
    fmt: str | None,
) -> None:
    """Show a passport's history as a person reads it, with its owner and flags.

    Exit code 0 if valid (warnings are printed), 1 if invalid (NOT GENUINE), 2 if
    unreadable: the same as dpp verify. Restricted fields are listed with their audiences;
    --open KEYNAME shows those sealed to that recipient key, verified against the signed
    digests. Erasures are listed.

    \b
    Examples:
      dpp show 3f1c9a2b
      dpp show 3f1c9a2b --json --format epcis
      dpp show 3f1c9a2b --open authorities
    """
    if fmt is not None:
        from . import exports

        if not as_json:
            raise UsageProblem("--format chooses what --json prints: add --json")
        emit_json(exports.view(exports.load(home, reference, trust_file), fmt))
        return
    keys = load_openers(home, openers)
    erasures: tuple[Any, ...] = ()
    if is_bundle_path(reference):
        trust, known = trust_for(home, trust_file)
        report = pp.verify(
            read_bundle(reference),
            trust,
            now=system_clock(),
            known_revocations=known,
            open_with=keys,
        )
    else:
        with home.reader() as ledger:
            pid = resolve(ledger, reference)
            report = ledger.verify(pid, open_with=keys)
            erasures = ledger.disclosures.erasures(pid)
    if as_json:
        emit_json({**report.to_dict(), "erasures": erasures_json(erasures)})
    else:
        print_report(report, f"Passport {short(report.pid)}", checks=not report)
        print_erasures(erasures)
    if not report:
        raise click.exceptions.Exit(1)


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

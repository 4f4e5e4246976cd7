"""Recording an event on a passport: in the ledger, or appended to a .dpp bundle file."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import system_clock
from dpp_ledger.ledger.audiences import sign_planned
from dpp_ledger.ledger.files import MAX_TEXT_FILE, append_to_bundle, read_bounded, read_bundle

from ._jsonfile import read_json_object
from .admin import public_key_of
from .env import Home, UsageProblem, emit_json, json_option, resolve, short, trust_option
from .main import dpp
from .sealing import parse_seal, seal_options
from .sources import is_bundle_path, trust_for

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

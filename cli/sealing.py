"""The CLI's side of restricted data: --seal, --kem and --open, and how restricted values print."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger.disclosures import Erasure
from dpp_ledger.ledger.recipients import RecipientStore

from .env import Home, UsageProblem

F = TypeVar("F", bound=Callable[..., Any])


def seal_options(command: F) -> F:
    """Add ``--seal FIELD=AUDIENCE`` (repeatable) and ``--kem`` to a command."""
    command = click.option(
        "--kem",
        type=click.Choice([str(k) for k in pp.Kem]),
        default=str(pp.Kem.X25519),
        show_default=True,
        help="The KEM of the sealed boxes: mlkem768-x25519 for data that must stay secret "
        "for decades.",
    )(command)
    return click.option(
        "--seal",
        "seal",
        multiple=True,
        metavar="FIELD=AUDIENCE",
        help="Seal FIELD to an audience of the brand: only its keys can read it; repeatable.",
    )(command)


def parse_seal(specs: Iterable[str]) -> dict[str, list[str]]:
    """``["site=authorities", ...]`` as {field: [audience, ...]}.

    Raises:
        UsageProblem: a spec that is not FIELD=AUDIENCE.
    """
    plan: dict[str, list[str]] = {}
    for spec in specs:
        field, _, audience = spec.partition("=")
        if not field.strip() or not audience.strip():
            raise UsageProblem(f"--seal {spec!r}: give FIELD=AUDIENCE, e.g. site=authorities")
        names = plan.setdefault(field.strip(), [])
        if audience.strip() not in names:
            names.append(audience.strip())
    return plan


open_option = click.option(
    "--open",
    "openers",
    multiple=True,
    metavar="KEYNAME",
    help="Open the restricted values sealed to this recipient key of the home; repeatable.",
)


def recipients(home: Home) -> RecipientStore:
    """The home's recipient keys (in its key store)."""
    return RecipientStore(home.keystore.directory)


def load_openers(home: Home, names: Iterable[str]) -> list[pp.RecipientSecret]:
    """The recipient private keys ``--open`` names, decrypted with the home's passphrase."""
    store = recipients(home)
    return [store.load(name, home.passphrase) for name in names]


def print_erasures(erasures: Iterable[Erasure]) -> None:
    """The erasure records of a passport (never the values)."""
    found = list(erasures)
    if found:
        click.echo("  Erasures:")
        for record in found:
            click.echo(f"    {record.describe()}")


def erasures_json(erasures: Iterable[Erasure]) -> list[dict[str, Any]]:
    """The erasure records as JSON."""
    return [
        {
            "seq": e.seq,
            "event": e.event.hex(),
            "field": e.field,
            "digests": [d.hex() for d in e.digests],
            "time": e.time,
            "reason": e.reason,
        }
        for e in erasures
    ]

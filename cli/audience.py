"""Audiences: who may open a brand's restricted data (repairers, recyclers, authorities)."""

from __future__ import annotations

from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import KeyRole, Ledger
from dpp_ledger.passport.recipients import check_audience_name

from .env import Home, UsageProblem, emit_json, json_option, short
from .main import dpp
from .sealing import recipients


@dpp.group()
def audience() -> None:
    """Audiences of restricted data: names and their recipients' keys, per brand.

    \b
    A brand publishes its audiences in its trust file (dpp trust export); each repairer,
    recycler or authority keeps its own private key and gives the brand its public key.
    """


def _name(name: str) -> str:
    try:
        return check_audience_name(name)
    except pp.SchemaError as error:
        raise UsageProblem(str(error)) from None


def _brand_root(home: Home, ledger: Ledger, brand_name: str | None) -> bytes | None:
    """The root key id of --brand, else of the one brand root key of this home, else None.

    Raises:
        UsageProblem: --brand names no brand root key trusted here, or the home holds several.
    """
    trust = ledger.trust()
    if brand_name is not None:
        kid = home.keystore.info(brand_name).public_key.kid
        if trust.root(kid) is None:
            raise UsageProblem(f"{brand_name} is not a brand root this ledger trusts")
        return kid
    mine = [
        i.public_key.kid
        for i in home.keystore.list()
        if i.role is KeyRole.BRAND and trust.root(i.public_key.kid) is not None
    ]
    if len(mine) > 1:
        raise UsageProblem("this home holds several brand roots: say which with --brand")
    return mine[0] if mine else None


brand_option = click.option(
    "--brand", "brand_name", help="The brand root key whose audience it is (default: the one here)."
)


@audience.command("new")
@click.argument("name")
@brand_option
@click.option(
    "--x25519-only", is_flag=True, help="No ML-KEM-768 part: the key cannot open hybrid boxes."
)
@json_option
@click.pass_obj
def audience_new(
    home: Home, name: str, brand_name: str | None, x25519_only: bool, as_json: bool
) -> None:
    """Make a recipient key NAME in this home; in a brand's home it joins audience NAME.

    The private key is kept encrypted in the key store. In a repairer's or an authority's
    own home (no brand root here), give the public key `dpp audience export NAME` prints to
    the brand, which adds it with `dpp audience add`.

    \b
    Examples:
      dpp audience new repairers
      dpp --home ./authority audience new authorities
    """
    _name(name)
    root = None
    if home.exists():
        with home.ledger() as ledger:
            root = _brand_root(home, ledger, brand_name)
    elif brand_name is not None:
        raise UsageProblem(f"no ledger in {home.path}: --brand needs one (run `dpp init`)")
    info = recipients(home).create(name, home.passphrase.new, hybrid=not x25519_only)
    if root is not None:
        with home.ledger() as ledger:
            ledger.audiences.add(root, name, info.public_key)
    if as_json:
        emit_json(
            {
                "name": name,
                "kid": info.public_key.kid_hex,
                "public_key": info.public_key.raw.hex(),
                "brand_root": root.hex() if root else None,
            }
        )
    elif root is not None:
        click.echo(f"Audience {name} of root {short(root)}: key {info.public_key.kid_hex}")
    else:
        click.echo(f"Recipient key {name}: {info.public_key.kid_hex}")
        click.echo(f"Give the brand its public key: dpp audience export {name}")


@audience.command("add")
@click.argument("name")
@click.argument("public_key", metavar="PUBLIC-KEY")
@brand_option
@click.pass_obj
def audience_add(home: Home, name: str, public_key: str, brand_name: str | None) -> None:
    """Add another party's recipient PUBLIC-KEY (hex) to the brand's audience NAME.

    The key's holder keeps its private key; `dpp trust export` publishes the audience.

    \b
    Example:
      dpp audience add authorities "$(dpp --home ./authority audience export authorities)"
    """
    _name(name)
    try:
        key = pp.RecipientKey.from_bytes(bytes.fromhex(public_key.strip()))
    except ValueError:
        raise UsageProblem("PUBLIC-KEY is hex: what `dpp audience export` prints") from None
    with home.ledger() as ledger:
        root = _brand_root(home, ledger, brand_name)
        if root is None:
            raise UsageProblem("no brand root key in this home: an audience belongs to a brand")
        new = ledger.audiences.add(root, name, key)
    kems = ", ".join(key.kems)
    click.echo(
        f"{'Added' if new else 'Already in'} audience {name} of root {short(root)}: "
        f"key {key.kid_hex} ({kems})"
    )


@audience.command("list")
@json_option
@click.pass_obj
def audience_list(home: Home, as_json: bool) -> None:
    """List the brands' audiences this home knows, and the recipient keys it holds.

    \b
    Example:
      dpp audience list --json
    """
    listed: list[dict[str, Any]] = []
    if home.exists():
        with home.ledger() as ledger:
            trust = ledger.trust()
            for root_kid, group in ledger.audiences.listed():
                root = trust.root(root_kid)
                listed.append(
                    {
                        "brand": root.brand if root else None,
                        "root": root_kid.hex(),
                        "name": group.name,
                        "keys": [_key(k) for k in group.keys],
                    }
                )
    held = [{"name": i.name, **_key(i.public_key)} for i in recipients(home).list()]
    if as_json:
        emit_json({"audiences": listed, "keys": held})
        return
    for entry in listed:
        for key in entry["keys"]:
            click.echo(
                f"{entry['brand'] or entry['root'][:16]:24} {entry['name']:16} "
                f"{key['kid']}  {'+'.join(key['kems'])}"
            )
    for key in held:
        click.echo(f"{'(key held here)':24} {key['name']:16} {key['kid']}  {'+'.join(key['kems'])}")


def _key(key: pp.RecipientKey) -> dict[str, Any]:
    return {"kid": key.kid_hex, "public_key": key.raw.hex(), "kems": [str(k) for k in key.kems]}


@audience.command("export")
@click.argument("name")
@click.pass_obj
def audience_export(home: Home, name: str) -> None:
    """Print the public key of the recipient key NAME (hex), to hand to a brand.

    \b
    Example:
      dpp --home ./authority audience export authorities
    """
    click.echo(recipients(home).info(name).public_key.raw.hex())

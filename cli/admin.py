"""Setting a home up: init, keys, brands, delegation, revocation, the trust store."""

from __future__ import annotations

import json

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import KeyRole, KeyStoreError
from dpp_ledger.ledger.files import read_trust, write_atomic
from dpp_ledger.ledger.setup import HomePlan, HomeState, create_home, finish_home, home_state
from dpp_ledger.ledger.storage import checked_url, is_url
from dpp_ledger.ledger.upgrade import upgrade as ledger_upgrade
from dpp_ledger.passport.certs import Role
from dpp_ledger.passport.checkpoint import check_name
from dpp_ledger.passport.report import format_time, plural

from .env import (
    Home,
    TimeParam,
    UsageProblem,
    emit_json,
    json_option,
    match_id,
    output_path,
    resolver_url,
    short,
)
from .main import dpp

YEAR = 365 * 86_400


@dpp.command()
@click.option("--origin", help="Name of this ledger's transparency log (default: dpp-ledger/<id>).")
@click.option(
    "--ledger",
    "ledger_url",
    metavar="URL",
    help="Keep the ledger on a PostgreSQL server (postgresql://user@host/db) instead of in the "
    "home's file. Never put a password in it: libpq reads PGPASSWORD, ~/.pgpass or a service "
    "file. The tables go in the first schema of the URL's search_path.",
)
@click.option(
    "--resolver",
    help="Public base URL that QR links point to: where `dpp serve` answers phones "
    "(set it later with `dpp resolver URL`).",
)
@click.pass_obj
def init(home: Home, origin: str | None, ledger_url: str | None, resolver: str | None) -> None:
    """Create a home: ledger file, key store, trust store, and the log key.

    The home is built in a hidden folder beside it and renamed into place, so an interrupted
    init leaves nothing behind; a home that an older init left half made is finished.

    \b
    Examples:
      DPP_HOME=./maison dpp init --origin maison-example.com/dpp-log \\
        --resolver https://id.maison-example.com
      dpp init --ledger postgresql://dpp@db.maison-example.com/registry
    """
    if origin is not None:
        try:
            check_name(origin)
        except pp.DppError as error:
            raise UsageProblem(str(error)) from None
    # Everything is checked before anything is created.
    if ledger_url is not None:
        if not is_url(ledger_url):
            raise UsageProblem(
                f"--ledger {ledger_url[:80]!r}: give a postgresql:// URL (without it, the "
                "ledger is a file in the home)"
            )
        ledger_url = checked_url(ledger_url)
    resolver = None if resolver is None else resolver_url(resolver)
    state, parts = home_state(home.path)
    if state is HomeState.COMPLETE:
        raise UsageProblem(f"{home.path} already holds a ledger")
    settings: dict[str, object] = {"v": 1} if resolver is None else {"v": 1, "resolver": resolver}
    if ledger_url is not None:
        settings["ledger"] = ledger_url
    config = (json.dumps(settings, indent=2) + "\n").encode()
    plan = HomePlan(origin, config, home.passphrase, home.passphrase.new, ledger=ledger_url)
    if state is HomeState.NONE:
        verifier = create_home(home.path, plan)
    else:
        if parts:
            click.echo(
                f"dpp: {home.path} holds a home an interrupted init left unfinished "
                f"({', '.join(parts)}); finishing it",
                err=True,
            )
        verifier = finish_home(home.path, plan)
    where = f"ledger on {ledger_url}" if ledger_url else "ledger"
    click.echo(f"Created {home.path}: {where}, key store, log {verifier.name}")
    click.echo(f"Log verifier key: {verifier.to_vkey()}")
    if resolver is None:
        click.echo(
            "dpp: note: no resolver set, so QR links cannot reach a phone yet: set the public "
            "address of your `dpp serve` with `dpp resolver URL`",
            err=True,
        )


@dpp.command()
@click.argument("url", required=False)
@click.pass_obj
def resolver(home: Home, url: str | None) -> None:
    """Show, or set, the public base URL that this home's QR links point to.

    It is where `dpp serve` answers phones, usually behind a TLS reverse proxy.

    \b
    Examples:
      dpp resolver
      dpp resolver https://id.maison-example.com
    """
    if not home.exists():
        raise UsageProblem(f"no ledger in {home.path}: run `dpp init` (or pass --home DIR)")
    config = home.config()
    if url is None:
        click.echo(config.get("resolver") or "not set (QR links use https://localhost:8000)")
        return
    config["resolver"] = resolver_url(url)
    home.save_config(config)
    click.echo(f"QR links of this home now point to {config['resolver']}")


@dpp.command()
@json_option
@click.pass_obj
def upgrade(home: Home, as_json: bool) -> None:
    """Convert this home's ledger file from version 1 to the current version, in place.

    One transaction: the events keep their log order, so the log's roots and every signed
    checkpoint stay true; the conversion checks the newest checkpoint's root before it
    commits, and anything wrong leaves the file as it was. Keep a copy of the file first,
    and stop every other dpp on it.

    \b
    Example:
      dpp upgrade
    """
    if not home.exists():
        raise UsageProblem(f"no ledger in {home.path}: nothing to upgrade")
    if home.shared:
        raise UsageProblem("a PostgreSQL ledger upgrades itself when opened: nothing to do here")
    done = ledger_upgrade(home.ledger_path)
    if as_json:
        emit_json(
            {
                "events": done.events,
                "passports": done.passports,
                "checked": done.checkpoint_size,
                "not_compacted": done.not_compacted,
            }
        )
        return
    checked = (
        f"; the log's root at checkpoint {done.checkpoint_size} is unchanged"
        if done.checkpoint_size is not None
        else ""
    )
    click.echo(
        f"Upgraded {home.ledger_path}: {plural(done.events, 'event')}, "
        f"{plural(done.passports, 'passport')}{checked}"
    )
    if done.not_compacted is not None:
        click.echo(
            f"Not compacted ({done.not_compacted}): the ledger works; the space the version 1 "
            "tables held is reused as it grows",
            err=True,
        )


# -- keys ------------------------------------------------------------------------------------


@dpp.group()
def key() -> None:
    """Private keys in this home (encrypted; the passphrase never goes on the command line)."""


@key.command("new")
@click.argument("name")
@click.option(
    "--role", type=click.Choice([str(r) for r in KeyRole]), default="owner", show_default=True
)
@json_option
@click.pass_obj
def key_new(home: Home, name: str, role: str, as_json: bool) -> None:
    """Generate a key called NAME.

    \b
    Example:
      dpp key new alice --role owner
    """
    home.require()
    info = home.keystore.create(name, role, home.new_passphrase)
    if as_json:
        emit_json(
            {
                "name": name,
                "role": role,
                "kid": info.public_key.kid_hex,
                "public_key": info.public_key.raw.hex(),
            }
        )
    else:
        click.echo(f"{name} ({role}) kid {info.public_key.kid_hex}")


@key.command("list")
@json_option
@click.pass_obj
def key_list(home: Home, as_json: bool) -> None:
    """List the keys in this home (public parts only).

    A damaged or unsafe key file is named on stderr, the others are listed, and the exit
    code is 1.
    """
    home.require()
    infos, damaged = home.keystore.scan()
    if as_json:
        emit_json(
            [{"name": i.name, "role": str(i.role), "kid": i.public_key.kid_hex} for i in infos]
            + [{"name": name, "problem": problem} for name, problem in damaged]
        )
    else:
        for info in infos:
            click.echo(f"{info.name:24} {info.role:14} {info.public_key.kid_hex}")
        for _, problem in damaged:
            click.echo(f"dpp: {problem}", err=True)
    if damaged:
        raise click.exceptions.Exit(1)


@key.command("export")
@click.argument("name")
@click.option("--raw", is_flag=True, help="Raw public key as hex instead of PEM.")
@click.pass_obj
def key_export(home: Home, name: str, raw: bool) -> None:
    """Print the public key NAME (PEM SubjectPublicKeyInfo, or --raw hex).

    \b
    Example:
      dpp key export alice --raw      # give this to the seller as --to-key
    """
    home.require()
    public = home.keystore.info(name).public_key
    click.echo(public.raw.hex() if raw else public.to_pem().rstrip())


# -- brands, delegation, revocation ------------------------------------------------------------


@dpp.group()
def brand() -> None:
    """Brand root keys."""


@brand.command("new")
@click.argument("name")
@click.option(
    "--gs1-prefix",
    "prefixes",
    multiple=True,
    required=True,
    help="A GS1 company prefix (4-12 digits) the brand issues for; repeatable.",
)
@click.option("--display-name", help="The brand's name as verifiers see it (default: NAME).")
@click.pass_obj
def brand_new(home: Home, name: str, prefixes: tuple[str, ...], display_name: str | None) -> None:
    """Create a brand root key NAME, trusted by this home for its GS1 prefixes.

    \b
    Example:
      dpp brand new maison --gs1-prefix 3614270 --display-name "Maison Example"
    """
    with home.ledger(write=True) as ledger:
        # Refused before a key is made: a name or prefixes that another trusted root holds.
        probe = pp.TrustedRoot(display_name or name, pp.SigningKey.generate().public_key, prefixes)
        pp.TrustStore.from_json(pp.TrustStore((probe,)).to_json())  # the file's own rules
        ledger.records.check_addition([probe])
        info = home.keystore.create(name, KeyRole.BRAND, home.new_passphrase)
        ledger.records.add_root(display_name or name, info.public_key, prefixes)
    click.echo(
        f"Brand {display_name or name}: root key {name}, kid {info.public_key.kid_hex}, "
        f"GS1 prefixes {', '.join(prefixes)}"
    )


def public_key_of(home: Home, reference: str) -> pp.PublicKey:
    """A key name in this home, or a raw public key as 64 hex digits."""
    try:
        if home.keystore.exists(reference):
            return home.keystore.info(reference).public_key
    except KeyStoreError:
        pass  # not a key name: perhaps a raw key
    try:
        return pp.PublicKey.from_bytes(bytes.fromhex(reference))
    except ValueError:
        raise UsageProblem(
            f"{reference!r} is neither a key in this home nor a public key (64 hex digits)"
        ) from None


@dpp.command()
@click.option("--brand", "brand_name", required=True, help="The brand root key that signs.")
@click.option(
    "--key",
    "delegate_key",
    required=True,
    help="The delegate: a key name in this home, or its raw public key (hex).",
)
@click.option("--role", type=click.Choice([str(r) for r in Role]), required=True)
@click.option("--types", help="Comma-separated event types (default: the role's usual ones).")
@click.option("--name", "display", help="The delegate's name in histories (default: --key).")
@click.option("--from", "nbf", type=TimeParam(), help="Valid from (default: now).")
@click.option("--until", "exp", type=TimeParam(), help="Valid until (default: one year).")
@click.pass_obj
def delegate(
    home: Home,
    brand_name: str,
    delegate_key: str,
    role: str,
    types: str | None,
    display: str | None,
    nbf: int | None,
    exp: int | None,
) -> None:
    """Let a factory, boutique, outlet, repairer or authenticator sign for a brand.

    \b
    Example:
      dpp delegate --brand maison --key boutique --role retailer --name "Boutique Paris"
    """
    with home.ledger(write=True) as ledger:
        now = ledger.clock()
        subject = public_key_of(home, delegate_key)
        chosen = None if types is None else [t.strip() for t in types.split(",") if t.strip()]
        cert = pp.delegate(
            home.signing_key(brand_name),
            subject,
            name=display or delegate_key,
            role=role,
            types=chosen,
            nbf=nbf if nbf is not None else now,
            exp=exp if exp is not None else now + YEAR,
        )
        ledger.records.add_certificate(cert)
    granted = ", ".join(sorted(cert.types))
    click.echo(
        f"{cert.name} ({role}) may sign {granted} for {brand_name} until "
        f"{format_time(cert.exp)}; kid {short(cert.subject_kid)}"
    )


@dpp.command()
@click.option("--brand", "brand_name", required=True, help="The brand root key that signs.")
@click.argument("kid")
@click.option("--from", "since", type=TimeParam(), help="Revoked from (default: now).")
@click.pass_obj
def revoke(home: Home, brand_name: str, kid: str, since: int | None) -> None:
    """Revoke a delegate's key (by key id): it signs nothing valid from that time on.

    KID is the delegate's key id as `dpp key list` prints it: all 64 digits, or a unique start
    of 8 or more among the keys this brand certified or this home holds.

    \b
    Example:
      dpp revoke --brand maison 3f1c9a2b --from 2026-06-01
    """
    with home.ledger(write=True) as ledger:
        root = home.signing_key(brand_name)
        certified = {c.subject_kid.hex() for c in ledger.records.certificates_from(root.kid)} | {
            i.public_key.kid_hex for i in home.keystore.list()
        }
        full = kid.strip().lower()
        if len(full) == 64 and all(c in "0123456789abcdef" for c in full):
            revoked_kid = bytes.fromhex(full)  # a key this ledger may never have certified
        else:
            revoked_kid = bytes.fromhex(match_id(kid, certified, "delegate"))
        current = [r for r in ledger.revocations() if r.issuer == root.kid]
        entries = dict(current[0].revoked) if current else {}
        now = ledger.clock()
        entries[revoked_kid] = since if since is not None else now
        number = current[0].number + 1 if current else 1
        ledger.records.add_revocations(pp.revoke(root, number=number, issued=now, revoked=entries))
    click.echo(
        f"Revocation list {number} of {brand_name}: {short(revoked_kid)} revoked from "
        f"{format_time(entries[revoked_kid])}"
    )


# -- trust -----------------------------------------------------------------------------------


@dpp.group()
def trust() -> None:
    """The brand root keys (and log keys) this home trusts."""


@trust.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--name",
    "rename",
    help="Trust the file's one root under this name instead of the one it gives.",
)
@click.pass_obj
def trust_add(home: Home, file: str, rename: str | None) -> None:
    """Trust every brand root and log in a trust store FILE.

    A brand is its root key; its name is only a label. A root whose name another trusted
    root already holds, or whose GS1 prefixes nest with another's, is refused with both
    named, and nothing from the file is added. To trust such a root anyway, give it a name
    of your own with --name (for a file of one root).

    \b
    Examples:
      dpp trust add maison-trust.json
      dpp trust add small-brand.json --name "Small Brand (Lyon)"
    """
    store = read_trust(file)
    if rename is not None:
        if len(store.roots) != 1:
            raise UsageProblem(f"--name renames a file's one root; {file} holds {len(store.roots)}")
        root = store.roots[0]
        store = pp.TrustStore((pp.TrustedRoot(rename, root.key, root.gs1_prefixes),), store.logs)
    with home.ledger() as ledger:
        added = ledger.records.add_trust_store(store)
        for log in store.logs:
            ledger.records.add_log_verifier(log.to_vkey())
        audiences = ledger.audiences.add_published(store)
    click.echo(
        f"Trusted {plural(len(store.roots), 'brand root')} ({added} new) and "
        f"{plural(len(store.logs), 'log')}"
        + (f"; learnt {plural(audiences, 'audience key')}" if audiences else "")
    )


@trust.command("list")
@json_option
@click.pass_obj
def trust_list(home: Home, as_json: bool) -> None:
    """List the trusted brand roots and logs."""
    with home.reader() as ledger:
        # As stored, unchecked: a store that breaks the rules must still be listed to repair.
        roots, logs = ledger.records.roots(), ledger.records.log_verifiers()
    if as_json:
        emit_json(
            {
                "roots": [
                    {"brand": r.brand, "kid": r.key.kid_hex, "gs1_prefixes": list(r.gs1_prefixes)}
                    for r in roots
                ],
                "logs": [v.to_vkey() for v in logs],
            }
        )
        return
    for root in roots:
        click.echo(f"{root.brand:24} {root.key.kid_hex}  GS1 {', '.join(root.gs1_prefixes)}")
    for log in logs:
        click.echo(f"log {log.to_vkey()}")


@trust.command("export")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def trust_export(home: Home, output: str) -> None:
    """Write this home's trust store to a file another verifier can use.

    \b
    Example:
      dpp trust export -o trust.json
    """
    target = output_path(home, output)
    with home.reader() as ledger:
        text = ledger.trust().to_json()
    write_atomic(target, text.encode())
    click.echo(f"Wrote {output}")


@trust.command("remove")
@click.argument("kid")
@click.pass_obj
def trust_remove(home: Home, kid: str) -> None:
    """Stop trusting the brand root with key id KID (as `dpp trust list` and trust.json give it).

    A unique start of the id (8 digits or more) is enough.

    \b
    Example:
      dpp trust remove 3f1c9a2b
    """
    with home.ledger() as ledger:
        roots = {r.key.kid_hex: r for r in ledger.records.roots()}
        chosen = match_id(kid, roots, "trusted root")
        ledger.records.remove_root(bytes.fromhex(chosen))
    click.echo(f"Removed {roots[chosen].describe()}")

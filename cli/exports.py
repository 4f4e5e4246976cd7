"""The standards' views of a passport on the command line: EPCIS 2.0, the UNTP credential.

``dpp export --format epcis|untp [--sign --as KEY]``, ``dpp show --json --format``, and
``dpp verify`` of a secured credential beside the bundle of the passport it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import click

from dpp_ledger import passport as pp
from dpp_ledger.ledger import system_clock
from dpp_ledger.ledger.files import read_bounded, read_bundle, write_atomic
from dpp_ledger.passport import epcis, untp, wire
from dpp_ledger.passport.credential import (
    check_credential,
    looks_secured,
    read_credential,
    sign_credential,
)
from dpp_ledger.passport.report import format_time

from .env import Home, UsageProblem, emit_json, output_path, resolve, short
from .render import print_report

FORMATS = ("bundle", "epcis", "untp")
VIEWS = ("report", "epcis", "untp")


@dataclass(frozen=True)
class Verified:
    """A passport as an export needs it: bundle, its report, the trust and the time used."""

    bundle: pp.Bundle
    report: pp.Report
    trust: pp.TrustStore
    now: int
    known: tuple[pp.RevocationList, ...] = ()


def load(home: Home, reference: str, trust_file: str | None) -> Verified:
    """A ledger passport (by id, prefix or Digital Link) or a bundle file, verified now.

    Raises:
        DppError: unreadable file, unknown passport, no trust store.
    """
    from .items import is_bundle_path, trust_for

    if is_bundle_path(reference):
        trust, known = trust_for(home, trust_file)
        bundle = read_bundle(reference)
        now = system_clock()
        return Verified(
            bundle, pp.verify(bundle, trust, now=now, known_revocations=known), trust, now, known
        )
    with home.ledger() as ledger:
        pid = resolve(ledger, reference)
        bundle, now = ledger.bundle(pid), ledger.clock()
        trust, known = ledger.trust(), ledger.revocations()
    return Verified(
        bundle, pp.verify(bundle, trust, now=now, known_revocations=known), trust, now, known
    )


def view(passport: Verified, fmt: str) -> dict[str, Any]:
    """The passport as ``fmt`` (``report``, ``epcis`` or ``untp``), a JSON-ready document.

    Raises:
        DppError: an EPCIS or UNTP view of a passport that does not verify (its own error).
    """
    return document(fmt, passport.bundle, passport.report, passport.trust, passport.now)


def document(
    fmt: str, bundle: pp.Bundle, report: pp.Report, trust: pp.TrustStore, now: int
) -> dict[str, Any]:
    """A verified passport as ``fmt``; ``now`` is the document's creation time.

    Raises:
        DppError: an EPCIS or UNTP view of a passport that does not verify (its own error).
    """
    if fmt == "report":
        return report.to_dict()
    if fmt == "epcis":
        return epcis.epcis_document(bundle, report, created=now)
    root = trust.root(report.brand_key or b"")
    if root is None:
        report.raise_for_outcome()
        raise pp.TrustError("the passport's brand root is not in the trust store")
    # An event may be up to the verifier's skew ahead of this clock: never issue before it.
    issued = max(now, bundle.events[-1].time)
    return untp.credential(bundle, report, root, issued=issued)


def export_view(
    home: Home,
    reference: str,
    fmt: str,
    output: str | None,
    signer_name: str | None,
    trust_file: str | None,
) -> None:
    """``dpp export --format epcis|untp``: write (or print) the view, signed if asked.

    Raises:
        UsageProblem: --as for a format that is not signed, a signed view without -o.
        DppError: the passport does not verify, or the signer may not sign its credential.
    """
    if signer_name is not None and fmt != "untp":
        raise UsageProblem("--sign signs the UNTP credential: use it with --format untp")
    target = output_path(home, output) if output else None
    passport = load(home, reference, trust_file)
    document = view(passport, fmt)
    if signer_name is None:
        data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    else:
        if target is None:
            raise UsageProblem("a signed credential is binary (application/vc+cose): give -o FILE")
        data = sign_credential(home.signing_key(signer_name), document)
        # Never hand out a credential its own verifier would refuse (a key the brand did not
        # certify, or one whose certificate the passport's bundle does not carry).
        check_credential(
            read_credential(data),
            passport.bundle,
            passport.report,
            passport.trust,
            now=passport.now,
            known_revocations=passport.known,
        )
    if target is None:
        click.echo(data.decode("utf-8"), nl=False)
        return
    write_atomic(target, data)
    what = "signed credential" if signer_name else f"{fmt} view"
    click.echo(
        f"Wrote {output} ({what}, {len(data)} bytes, passport {short(passport.bundle.pid)})",
        err=True,
    )


def secured_credential(files: tuple[str, ...]) -> tuple[str, bytes, str] | None:
    """(credential file, its bytes, bundle file) if ``files`` hold a secured credential.

    Raises:
        UsageProblem: a credential without exactly one bundle beside it.
    """
    found = []
    for path in files:
        data = read_bounded(path, wire.MAX_BUNDLE_SIZE, what="bundle")
        if looks_secured(data):
            found.append((path, data))
    if not found:
        return None
    if len(found) != 1 or len(files) != 2:
        raise UsageProblem(
            "a credential is checked against the passport it names: give it and that "
            "passport's bundle (dpp verify passport.vc.cose bag.dpp --trust trust.json)"
        )
    path, data = found[0]
    return path, data, next(f for f in files if f != path)


def verify_credential(
    home: Home,
    found: tuple[str, bytes, str],
    trust_file: str | None,
    at: int | None,
    as_json: bool,
) -> None:
    """``dpp verify CREDENTIAL BUNDLE``: the bundle's report, then the credential's verdict.

    Raises:
        DecodeError: the credential or the bundle cannot be read (exit code 2).
        click.exceptions.Exit: 1 when the bundle or the credential does not verify.
    """
    from .items import trust_for

    path, data, bundle_path = found
    signed = read_credential(data, what=f"credential {path}")
    trust, known = trust_for(home, trust_file)
    now = at if at is not None else system_clock()
    bundle = read_bundle(bundle_path)
    report = pp.verify(bundle, trust, now=now, known_revocations=known)
    result: dict[str, Any] = {"file": path, "valid": False}
    try:
        check = check_credential(signed, bundle, report, trust, now=now, known_revocations=known)
    except pp.DppError as error:
        result["detail"] = str(error)
    else:
        result.update(
            valid=True,
            pid=check.pid.hex(),
            events=check.events,
            signer=check.signer,
            issued=format_time(check.issued),
            detail=(
                f"a UNTP passport credential of passport {short(check.pid)}, its first "
                f"{check.events} of {len(bundle.events)} events, issued {format_time(check.issued)}"
                f" and signed by {check.signer}"
            ),
        )
    if as_json:
        emit_json({"files": [{"file": bundle_path, **report.to_dict()}], "credential": result})
    else:
        print_report(report, bundle_path)
        verdict = "GENUINE" if result["valid"] else "NOT GENUINE"
        click.echo(f"Credential {path}: {verdict}: {result['detail']}")
    if not result["valid"]:
        raise click.exceptions.Exit(1)

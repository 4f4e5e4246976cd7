"""The offline verifier: bundle bytes + trust store + the current time -> a report.

Steps run in a fixed order, each believing only what the steps before it established:
1. decode the bundle; 2. trust store is not empty; 3. certificates chain to trusted roots;
4. revocation lists are signed by trusted roots; 5. owner keys are usable points;
6. every event is signed by the key it names; 7. the events form one chain; 8. event data
matches its schema; 9-11. every signer was entitled (authority, ownership) and every event
could happen when it did (state rules); 12. transparency log entry; 13. restricted data:
sealed boxes belong to their events, and those the caller's keys open hash to signed digests.
The first failing step fails the bundle and the steps after it are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from . import schema, wire
from .bundle import Bundle
from .certs import RevocationList
from .checkpoint import read_unverified, verify_checkpoint
from .errors import (
    AuthorityError,
    ChainError,
    DppError,
    InvalidKeyError,
    LogError,
    RuleError,
    SchemaError,
    SignatureError,
    TrustError,
    UntrustedLogError,
)
from .events import MAX_TIME, Event, EventType
from .keyring import Keyring
from .keys import kid_of
from .merkle import leaf_hash, verify_inclusion
from .recipients import RecipientSecret
from .report import Check, Outcome, Report, Restricted, Status, format_time, plural
from .restricted import check_disclosures
from .rules import PassportState, Walker
from .trust import TrustStore

_LOG = logging.getLogger(__name__)

DEFAULT_SKEW: Final = 300
"""Seconds an event's time may lie ahead of the verifier's clock."""

StepResult = tuple[Status, str]


@dataclass
class _Run:
    trust: TrustStore
    now: int
    skew: int
    known: tuple[RevocationList, ...]
    secrets: Sequence[RecipientSecret] = ()
    checks: list[Check] = field(default_factory=list)
    failed: str | None = None
    bundle: Bundle | None = None
    keyring: Keyring | None = None
    state: PassportState | None = None
    restricted: tuple[Restricted, ...] = ()

    def step(self, name: str, action: Callable[[], StepResult]) -> None:
        if self.failed is not None:
            self.checks.append(Check(name, Status.SKIP, f"not checked: {self.failed} failed"))
            return
        try:
            status, detail = action()
        except DppError as exc:
            self.checks.append(Check(name, Status.FAIL, str(exc), exc))
            self.failed = name
            return
        self.checks.append(Check(name, status, detail))


def verify(
    bundle: bytes | Bundle,
    trust: TrustStore,
    *,
    now: int,
    skew: int = DEFAULT_SKEW,
    known_revocations: Iterable[RevocationList] = (),
    open_with: Iterable[RecipientSecret] = (),
) -> Report:
    """Verify one passport bundle offline and report every check.

    ``now`` is the verifier's time in Unix seconds; ``known_revocations`` are revocation lists
    the verifier already holds (a bundle cannot roll them back); ``open_with`` are recipient
    keys that open the restricted values sealed to them. Never raises for a bad bundle: a
    :class:`DecodeError` or any other failure is a failed check in the report.

    Raises:
        SchemaError: ``now`` or ``skew`` (the caller's own parameters) is out of range.
    """
    if isinstance(now, bool) or not isinstance(now, int) or not 0 <= now <= MAX_TIME:
        raise SchemaError(f"the verification time must be Unix seconds in [0, {MAX_TIME}]")
    if isinstance(skew, bool) or not isinstance(skew, int) or not 0 <= skew <= 86_400:
        raise SchemaError("the clock skew must be 0 to 86400 seconds")
    run = _Run(trust, now, skew, tuple(known_revocations), tuple(open_with))
    steps = _Steps(run, bundle)
    run.step("decoding", steps.decoding)
    run.step("trust", steps.trust_store)
    run.step("certificates", steps.certificates)
    run.step("revocations", steps.revocations)
    run.step("keys", steps.keys)
    run.step("signatures", steps.signatures)
    run.step("chain", steps.chain)
    run.step("data", steps.data)
    steps.walk()
    run.step("log", steps.log)
    run.step("disclosures", steps.disclosures)
    report = _report(run)
    if _LOG.isEnabledFor(logging.DEBUG):
        failed = [c.name for c in report.checks if c.status is not Status.PASS]
        _LOG.debug("verified a bundle: %s; not passed: %s", report.outcome, failed or "none")
    return report


class _Steps:
    def __init__(self, run: _Run, bundle: bytes | Bundle) -> None:
        self.run = run
        self.source = bundle

    @property
    def bundle(self) -> Bundle:
        assert self.run.bundle is not None  # noqa: S101 - set by the decoding step
        return self.run.bundle

    @property
    def keyring(self) -> Keyring:
        assert self.run.keyring is not None  # noqa: S101 - set by the certificates step
        return self.run.keyring

    def decoding(self) -> StepResult:
        bundle = self.source
        if not isinstance(bundle, Bundle):
            bundle = wire.parse_bundle(bundle)
        if not bundle.events:
            raise ChainError("the bundle holds no events")
        self.run.bundle = bundle
        return Status.PASS, (
            f"{plural(len(bundle.events), 'event')}, {plural(len(bundle.certs), 'certificate')}, "
            f"{plural(len(bundle.keys), 'key')}, "
            f"{plural(len(bundle.revocations), 'revocation list')}"
        )

    def trust_store(self) -> StepResult:
        if not self.run.trust.roots:
            raise TrustError("the trust store is empty: add the brand root keys you trust")
        return Status.PASS, f"{plural(len(self.run.trust.roots), 'trusted brand root')}"

    def certificates(self) -> StepResult:
        self.run.keyring = Keyring(self.run.trust)
        ignored = self.keyring.add_certificates(self.bundle.certs)
        accepted = sum(len(c) for c in self.keyring.certs.values())
        detail = f"{plural(accepted, 'delegation certificate')} signed by trusted roots"
        return (
            (Status.WARN, f"{detail}; " + "; ".join(ignored)) if ignored else (Status.PASS, detail)
        )

    def revocations(self) -> StepResult:
        notes = self.keyring.add_revocations(self.bundle.revocations, self.run.known)
        lists = ", ".join(
            f"{root.brand} #{r.number}"
            for root in self.run.trust.roots
            if (r := self.keyring.revocations.get(root.key.kid)) is not None
        )
        detail = f"revocation lists in force: {lists}" if lists else "no revocation lists"
        return (Status.WARN, f"{detail}; " + "; ".join(notes)) if notes else (Status.PASS, detail)

    def keys(self) -> StepResult:
        keys = self.bundle.keys
        if len(set(keys)) != len(keys):
            raise InvalidKeyError("a public key is listed twice in the bundle")
        self.keyring.add_keys(keys)
        named = named_kids(self.bundle.events)
        for raw in keys:
            if kid_of(raw) not in named:
                raise InvalidKeyError(
                    f"public key {kid_of(raw).hex()[:16]}… in the bundle is "
                    "neither a signer nor an owner named by any event"
                )
        return Status.PASS, f"{plural(len(keys), 'owner key')}, each a valid key named by the chain"

    def signatures(self) -> StepResult:
        for event in self.bundle.events:
            key = self.keyring.public_key(event.signer)
            if key is None:
                raise SignatureError(
                    f"{event.label()}: signer {event.signer.hex()[:16]}… is not "
                    "a trusted root, a certified delegate or a key in the bundle"
                )
            try:
                event.record.verify(key)
            except SignatureError as exc:
                raise SignatureError(f"{event.label()}: {exc}") from exc
        return Status.PASS, (
            "the event carries a valid signature"
            if len(self.bundle.events) == 1
            else f"all {len(self.bundle.events)} events carry valid signatures"
        )

    def chain(self) -> StepResult:
        check_chain(self.bundle.events, now=self.run.now, skew=self.run.skew)
        events = self.bundle.events
        return Status.PASS, (
            f"seq 0 to {len(events) - 1}, each event linked to the one before; "
            f"passport id {events[0].pid.hex()[:16]}…"
        )

    def data(self) -> StepResult:
        for event in self.bundle.events:
            schema.validate_event_data(event.type, event.data, what=event.label())
        return Status.PASS, "every event's data matches its schema"

    def walk(self) -> None:
        run = self.run
        if run.failed is not None:
            for name in ("authority", "ownership", "state"):
                run.checks.append(Check(name, Status.SKIP, f"not checked: {run.failed} failed"))
            return
        walker = Walker(self.keyring)
        run.state = walker.state
        try:
            for event in self.bundle.events:
                walker.apply(event)
        except AuthorityError as exc:
            run.failed = "authority"
            run.checks += [
                Check("authority", Status.FAIL, str(exc), exc),
                Check("ownership", Status.SKIP, "not checked: authority failed"),
                Check("state", Status.SKIP, "not checked: authority failed"),
            ]
            return
        except RuleError as exc:
            run.failed = "state"
            run.checks += [
                Check("authority", Status.PASS, "signers entitled up to the failure"),
                Check("ownership", Status.SKIP, "not checked: state failed"),
                Check("state", Status.FAIL, str(exc), exc),
            ]
            return
        state = walker.state
        run.checks.append(
            Check(
                "authority",
                Status.PASS,
                f"every signer was entitled at its event's time ({state.brand})",
            )
        )
        run.checks.append(self._ownership(state))
        run.checks.append(_state_check(state))

    def _ownership(self, state: PassportState) -> Check:
        if state.owner is None:
            return Check("ownership", Status.PASS, "not sold yet: no owner")
        owner = f"current owner {state.owner.hex()[:16]}…"
        if state.owner not in self.keyring.keys:
            return Check(
                "ownership",
                Status.WARN,
                f"{owner}; its public key is not in the "
                "bundle, so the seller cannot prove ownership offline",
            )
        return Check("ownership", Status.PASS, f"{owner}, its public key in the bundle")

    def log(self) -> StepResult:
        entry = self.bundle.log
        if entry is None:
            return Status.SKIP, "the bundle carries no transparency log entry"
        trusted = True
        try:
            checkpoint = verify_checkpoint(entry.checkpoint, self.run.trust.logs)
        except UntrustedLogError:
            checkpoint, trusted = read_unverified(entry.checkpoint), False
            # A log is its key too: a note under a trusted log's origin that its key did not
            # sign is a forgery of that log, not an unknown log.
            if any(log.name == checkpoint.origin for log in self.run.trust.logs):
                raise LogError(
                    f"the checkpoint claims the log {checkpoint.origin}, which you trust, but "
                    "no signature on it is by that log's key"
                ) from None
        events = self.bundle.events
        if not 0 < len(entry.proofs) <= len(events):
            raise LogError(f"the log entry has {len(entry.proofs)} proofs for {len(events)} events")
        for event, proof in zip(events, entry.proofs, strict=False):
            try:
                verify_inclusion(
                    leaf_hash(event.raw), proof.index, checkpoint.size, proof.path, checkpoint.root
                )
            except LogError as exc:
                raise LogError(f"{event.label()}: {exc}") from exc
        indexes = ", ".join(str(p.index) for p in entry.proofs)
        which = (
            "every event"
            if len(entry.proofs) == len(events)
            else (f"events 0 to {len(entry.proofs) - 1}")
        )
        detail = (
            f"{which} recorded in {checkpoint.origin} at size {checkpoint.size} "
            f"(log indexes {indexes})"
        )
        if not trusted and len(entry.proofs) < len(events):
            detail += ", a log whose key is not in your trust store"
        if len(entry.proofs) < len(events):
            # Appended offline (a resale from the bundle file): nothing shows yet whether the
            # same owner also signed another event at the same step somewhere else.
            newer = events[len(entry.proofs) :]
            names = ", ".join(e.label() for e in newer)
            return Status.WARN, (
                f"{detail}; {names} {'is' if len(newer) == 1 else 'are'} not yet in the "
                "brand's log: until a ledger logs it, a second sale of the item at that step "
                "could not be seen"
            )
        if not trusted:
            # Neutral, like a bundle without a log: consistent with that log, vouched by no one.
            return Status.PASS, f"{detail}, a log whose key is not in your trust store"
        return Status.PASS, detail

    def disclosures(self) -> StepResult:
        state = self.run.state
        found = check_disclosures(self.bundle, state.root if state else None, self.run.secrets)
        self.run.restricted = found.restricted
        return found.status, found.detail


def named_kids(events: Iterable[Event]) -> set[bytes]:
    """Key ids the chain names: every signer and every owner a sale or resale names."""
    named = set()
    for event in events:
        named.add(event.signer)
        for name in ("owner", "to"):
            value = (
                event.data.get(name) if event.type in (EventType.SALE, EventType.RESALE) else None
            )
            if isinstance(value, str) and len(value) == 64:
                try:
                    named.add(bytes.fromhex(value))
                except ValueError:
                    continue  # the data step names the malformed field
    return named


def _state_check(state: PassportState) -> Check:
    notes = list(state.notes)
    if state.stolen:
        notes.append("the item is reported stolen")
    if state.ended:
        notes.append("the item reached its end of life")
    if notes:
        return Check("state", Status.WARN, "; ".join(notes))
    return Check("state", Status.PASS, "every event could happen when it did")


def check_chain(events: Iterable[Event], *, now: int, skew: int = DEFAULT_SKEW) -> None:
    """Check that ``events`` form one chain: seq 0, 1, 2...; links; one passport id; times.

    Raises:
        ChainError: the first break, naming the event.
    """
    previous: Event | None = None
    for event in events:
        if previous is None:
            if event.seq != 0 or event.type is not EventType.PRODUCTION:
                raise ChainError(
                    f"{event.label()}: a chain starts with a production event at seq 0"
                )
        else:
            _check_link(previous, event)
        if event.time > now + skew:
            raise ChainError(
                f"{event.label()}: time {format_time(event.time)} is in the future "
                f"(now {format_time(now)})"
            )
        previous = event


def _check_link(previous: Event, event: Event) -> None:
    expected = previous.seq + 1
    if event.seq != expected:
        kind = "repeats" if event.seq <= previous.seq else "skips to"
        raise ChainError(f"{event.label()}: seq {kind} {event.seq} where {expected} was expected")
    if event.pid != previous.pid:
        raise ChainError(
            f"{event.label()}: belongs to passport {event.pid.hex()[:16]}…, "
            f"not {previous.pid.hex()[:16]}…"
        )
    if event.prev != previous.hash:
        raise ChainError(f"{event.label()}: prev does not match the hash of event {previous.seq}")
    if event.type is EventType.PRODUCTION:
        raise ChainError(f"{event.label()}: only the first event is a production event")
    if event.time < previous.time:
        raise ChainError(
            f"{event.label()}: time {format_time(event.time)} is before the "
            f"previous event's {format_time(previous.time)}"
        )


def _report(run: _Run) -> Report:
    bundle, state = run.bundle, run.state
    if bundle is None or state is None:
        return Report(tuple(run.checks), pid=bundle.pid if bundle else None)
    complete = run.failed is None
    return Report(
        tuple(run.checks),
        history=tuple(state.history),
        pid=bundle.pid,
        brand=state.brand,
        brand_key=None if state.root is None else state.root.key.kid,
        gtin=state.gtin,
        serial=state.serial,
        owner=state.owner if complete else None,
        channel=state.channel,
        flags=frozenset(
            state.flags
            | ({"stolen"} if state.stolen else set())
            | ({"end_of_life"} if state.ended else set())
        ),
        head=bundle.events[-1].hash if complete else None,
        alerts=tuple(a for a in (state.stolen_report, state.end) if a is not None),
        restricted=run.restricted if complete else (),
    )


__all__ = ["DEFAULT_SKEW", "Outcome", "Report", "check_chain", "named_kids", "verify"]

"""The passport's state machine: who may sign each event type, and what may follow what.

Applied to a chain whose signatures and links already passed. Each event either moves the
state on and yields a history line, or raises :class:`AuthorityError` (the signer was not
entitled) or :class:`RuleError` (the event cannot happen in this state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .certs import Certificate
from .countries import country_name
from .errors import AuthorityError, RuleError
from .events import Event, EventType
from .keyring import Keyring
from .report import Alert, HistoryEntry, format_time
from .trust import TrustedRoot

OUTLET_CHANNEL = "outlet"


@dataclass
class PassportState:
    """What the chain says about the item so far; ``root`` is the brand that issued it."""

    root: TrustedRoot | None = None
    gtin: str | None = None
    serial: str | None = None
    owner: bytes | None = None
    channel: str | None = None
    outlet: bool = False
    stolen: bool = False
    ended: bool = False
    stolen_report: Alert | None = None
    end: Alert | None = None
    flags: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def brand(self) -> str | None:
        """The issuing root's name as the trust store labels it (for display only)."""
        return None if self.root is None else self.root.brand


def _short(kid: bytes) -> str:
    return kid.hex()[:8]


class Walker:
    """Applies events one by one to a :class:`PassportState`."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.state = PassportState()

    def apply(self, event: Event) -> None:
        """Check ``event`` against the state and move the state on.

        Raises:
            AuthorityError: the signer may not sign this event at its time.
            RuleError: the event cannot follow what came before.
        """
        if self.state.ended:
            raise RuleError(f"{event.label()}: nothing may follow the item's end of life")
        actor, summary = _HANDLERS[event.type](self, event)
        self.state.history.append(HistoryEntry(event.seq, event.time, event.type, actor, summary))

    # -- who signed ------------------------------------------------------------------------

    def _brand_actor(self, event: Event) -> tuple[str, Certificate | None]:
        """The item's root itself, or a delegate it certified for ``event``; else AuthorityError.

        Roots are compared by key: another root's key, or another root's certificate, gives
        no authority over this item, whatever name that root goes by.
        """
        root = self.state.root
        if root is None:  # only production sets it, and nothing else runs before production
            raise AuthorityError(f"{event.label()}: the item has no issuing brand")
        brand = root.brand
        if event.signer == root.key.kid:
            return f"{brand} (brand)", None
        other = self.keyring.trust.root(event.signer)
        if other is not None:
            raise AuthorityError(
                f"{event.label()}: signed by the root key of {other.describe()}, but the item "
                f"was issued by {root.describe()}"
            )
        certs = [c for c in self.keyring.certs.get(event.signer, []) if c.issuer == root.key.kid]
        if not certs:
            raise AuthorityError(
                f"{event.label()}: signer {_short(event.signer)} holds no certificate from "
                f"{root.describe()}"
            )
        reasons = []
        for cert in certs:
            reason = self._cert_problem(cert, event)
            if reason is None:
                return f"{cert.name} ({cert.role} of {brand})", cert
            reasons.append(reason)
        raise AuthorityError(f"{event.label()}: " + "; ".join(reasons))

    def _cert_problem(self, cert: Certificate, event: Event) -> str | None:
        if event.type not in cert.types:
            return f"'{cert.name}' ({cert.role}) may not sign {event.type}"
        if not cert.in_window(event.time):
            return (
                f"'{cert.name}' is valid from {format_time(cert.nbf)} until "
                f"{format_time(cert.exp)}, not at {format_time(event.time)}"
            )
        since = self.keyring.revoked_from(cert)
        if since is not None and event.time >= since:
            brand = self.keyring.root_of(cert).brand
            return f"'{cert.name}' was revoked by {brand} from {format_time(since)}"
        return None

    def _owner_actor(self, event: Event) -> str:
        owner = self.state.owner
        if owner is None:
            raise RuleError(f"{event.label()}: the item has no owner yet (it was never sold)")
        if event.signer != owner:
            raise AuthorityError(
                f"{event.label()}: signed by {_short(event.signer)}, not by the "
                f"current owner {_short(owner)}"
            )
        return f"owner {_short(owner)}"

    def _owner_or_brand(self, event: Event) -> str:
        if self.state.owner is not None and event.signer == self.state.owner:
            return f"owner {_short(event.signer)}"
        try:
            return self._brand_actor(event)[0]
        except AuthorityError as exc:
            raise AuthorityError(f"{exc} (nor is it the current owner)") from None

    def _delegate_or_independent(self, event: Event, kind: str) -> tuple[str, bool]:
        """A delegate of the brand (authorised) or any other key (independent)."""
        try:
            return self._brand_actor(event)[0], True
        except AuthorityError:
            self._refuse_if_revoked(event)
            if event.signer == self.state.owner:
                return f"owner {_short(event.signer)}, independent {kind}", False
            return f"independent {kind} {_short(event.signer)}", False

    def _refuse_if_revoked(self, event: Event) -> None:
        """A key the brand revoked signs nothing more, not even as an independent party."""
        root = self.state.root
        for cert in self.keyring.certs.get(event.signer, []):
            since = self.keyring.revoked_from(cert)
            if (
                since is not None
                and event.time >= since
                and root is not None
                and cert.issuer == root.key.kid
            ):
                raise AuthorityError(
                    f"{event.label()}: signer '{cert.name}' was revoked by "
                    f"{self.state.brand} from {format_time(since)}"
                )

    # -- event types -----------------------------------------------------------------------

    def _production(self, event: Event) -> tuple[str, str]:
        """Event 0: the one root whose prefixes cover the GTIN issued it, or its delegate did."""
        gtin = event.data["gtin"]
        root = self.keyring.trust.root_for(gtin)
        acts_for = self._roots_of(event.signer)
        if not acts_for:
            raise AuthorityError(
                f"{event.label()}: signer {_short(event.signer)} is neither a trusted brand "
                "root nor certified by one"
            )
        if root is None or root.key.kid not in acts_for:
            names = ", ".join(sorted(r.describe() for r in acts_for.values()))
            within = "" if root is None else f"; it lies within those of {root.describe()}"
            raise AuthorityError(
                f"{event.label()}: GTIN {gtin} is outside the GS1 prefixes of {names}, "
                f"for which its signer acts{within}"
            )
        self.state.root = root
        try:
            actor, _ = self._brand_actor(event)
        except AuthorityError:
            self.state.root = None
            raise
        self.state.gtin, self.state.serial = gtin, event.data["serial"]
        self._check_claimed_brand(event, root.brand)
        return actor, _describe_product(event.data, root.brand)

    def _roots_of(self, signer: bytes) -> dict[bytes, TrustedRoot]:
        """The roots ``signer`` may act for, by key id: itself, or those that certified it."""
        own = self.keyring.trust.root(signer)
        if own is not None:
            return {signer: own}
        roots = (self.keyring.root_of(c) for c in self.keyring.certs.get(signer, []))
        return {r.key.kid: r for r in roots}

    def _check_claimed_brand(self, event: Event, brand: str) -> None:
        """The data's brand label is the signer's claim; the trust store's name is the truth."""
        claimed = event.data.get("brand")
        if isinstance(claimed, str) and claimed.casefold() != brand.casefold():
            self.state.flags.add("brand_mismatch")
            self.state.notes.append(
                f"{event.label()}: the product data says '{claimed}', but the key that issued "
                f"it belongs to {brand}"
            )

    def _sale(self, event: Event) -> tuple[str, str]:
        actor, cert = self._brand_actor(event)
        if self.state.owner is not None:
            raise RuleError(
                f"{event.label()}: the item was already sold; a change of owner is a "
                "resale signed by the owner"
            )
        if self.state.stolen:
            raise RuleError(f"{event.label()}: the item is reported stolen and cannot be sold")
        channel = event.data["channel"]
        outlet = self.state.outlet or (cert is not None and cert.role == "outlet")
        if outlet != (channel == OUTLET_CHANNEL):
            raise RuleError(
                f"{event.label()}: channel '{channel}' does not match the item's "
                f"{'outlet' if outlet else 'regular'} channel"
            )
        self.state.owner, self.state.channel = bytes.fromhex(event.data["owner"]), channel
        note = " (outlet item: genuine, sold through the brand's outlet)" if outlet else ""
        return actor, f"Sold through {channel} to owner {event.data['owner'][:8]}{note}"

    def _outlet(self, event: Event) -> tuple[str, str]:
        actor, _ = self._brand_actor(event)
        if self.state.owner is not None:
            raise RuleError(f"{event.label()}: only unsold stock moves to the outlet")
        if self.state.outlet:
            raise RuleError(f"{event.label()}: the item is already in the outlet channel")
        self.state.outlet, self.state.channel = True, OUTLET_CHANNEL
        self.state.flags.add("outlet")
        return actor, "Moved to the outlet channel as unsold stock; the item stays genuine"

    def _resale(self, event: Event) -> tuple[str, str]:
        actor = self._owner_actor(event)
        if self.state.stolen:
            raise RuleError(f"{event.label()}: the item is reported stolen; its resale is invalid")
        new_owner = bytes.fromhex(event.data["to"])
        if new_owner == self.state.owner:
            raise RuleError(f"{event.label()}: resale to the key that already owns the item")
        self.state.owner = new_owner
        via = f" via {event.data['platform']}" if "platform" in event.data else ""
        return actor, f"Resold to owner {event.data['to'][:8]}{via}"

    def _repair(self, event: Event) -> tuple[str, str]:
        actor, authorised = self._delegate_or_independent(event, "repairer")
        parts = event.data.get("parts", [])
        summary = f"Repaired: {event.data['work']}" + (
            f" (parts: {', '.join(parts)})" if parts else ""
        )
        if not authorised:
            self.state.flags.add("independent_repair")
            self.state.notes.append(
                f"{event.label()}: repair not authorised by {self.state.brand} ({actor})"
            )
        return actor, summary

    def _authentication(self, event: Event) -> tuple[str, str]:
        actor, authorised = self._delegate_or_independent(event, "authenticator")
        verdict = event.data["verdict"]
        if not authorised:
            self.state.flags.add("independent_authentication")
            self.state.notes.append(
                f"{event.label()}: inspection not certified by {self.state.brand} ({actor})"
            )
        if verdict != "genuine":
            self.state.flags.add("authentication_" + verdict)
            self.state.notes.append(f"{event.label()}: inspection verdict '{verdict}' by {actor}")
        return actor, f"Inspected: verdict {verdict}" + (
            f" ({event.data['method']})" if "method" in event.data else ""
        )

    def _stolen(self, event: Event) -> tuple[str, str]:
        actor = self._owner_or_brand(event)
        if self.state.stolen:
            raise RuleError(f"{event.label()}: the item is already reported stolen")
        self.state.stolen = True
        case = event.data.get("reference", "")
        self.state.stolen_report = Alert("stolen", event.time, _reporter(actor), case)
        return actor, "Reported stolen" + (f" (case {case})" if case else "")

    def _recovered(self, event: Event) -> tuple[str, str]:
        actor = self._owner_or_brand(event)
        if not self.state.stolen:
            raise RuleError(f"{event.label()}: the item was not reported stolen")
        self.state.stolen, self.state.stolen_report = False, None
        return actor, "Reported recovered"

    def _end_of_life(self, event: Event) -> tuple[str, str]:
        actor = self._owner_or_brand(event)
        self.state.ended = True
        fate = event.data["fate"]
        self.state.end = Alert("end_of_life", event.time, _reporter(actor), fate)
        where = f" at {event.data['facility']}" if "facility" in event.data else ""
        return actor, f"End of life: {fate}{where}"


def _reporter(actor: str) -> str:
    """Who reported a flag, as a buyer reads it: the owner, or the brand's party by name."""
    return f"its owner (key {actor.split()[1]})" if actor.startswith("owner ") else actor


def _describe_product(data: Any, brand: str) -> str:
    model = f" {data['model']}" if "model" in data else ""
    where = f", made in {country_name(data['made_in'])}" if "made_in" in data else ""
    site = f" at {data['site']}" if "site" in data else ""
    when = f" on {data['made_on']}" if "made_on" in data else ""
    return (
        f"Passport issued by {brand}:{model or ' item'}, GTIN {data['gtin']} serial "
        f"{data['serial']}{where}{site}{when}"
    )


# One table for every walker (a walker is made per passport, thousands per second).
_HANDLERS: dict[EventType, Callable[[Walker, Event], tuple[str, str]]] = {
    EventType.PRODUCTION: Walker._production,
    EventType.SALE: Walker._sale,
    EventType.OUTLET: Walker._outlet,
    EventType.RESALE: Walker._resale,
    EventType.REPAIR: Walker._repair,
    EventType.AUTHENTICATION: Walker._authentication,
    EventType.STOLEN: Walker._stolen,
    EventType.RECOVERED: Walker._recovered,
    EventType.END_OF_LIFE: Walker._end_of_life,
}

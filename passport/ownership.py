"""Proof of ownership: the seller signs a buyer's challenge with the current owner key.

The signed message is domain-separated (it can never be mistaken for an event or a note) and
binds the passport id, so a proof for one item proves nothing about another.
"""

from __future__ import annotations

import base64
from typing import Final

from .bundle import Bundle
from .errors import RuleError, SignatureError
from .keys import PublicKey, SigningKey, kid_of
from .report import Report

CONTEXT: Final = b"dpp ownership proof v1\n"
MAX_CHALLENGE: Final = 1024


def _message(pid: bytes, challenge: str) -> bytes:
    encoded = challenge.encode("utf-8")
    if not 0 < len(encoded) <= MAX_CHALLENGE:
        raise SignatureError(f"a challenge is 1 to {MAX_CHALLENGE} bytes of text")
    return CONTEXT + pid + len(encoded).to_bytes(2, "big") + encoded


def prove(key: SigningKey, pid: bytes, challenge: str) -> str:
    """The response (base64) that proves holding ``key`` for passport ``pid``."""
    return base64.b64encode(key.sign(_message(pid, challenge))).decode()


def prove_current(key: SigningKey, report: Report, challenge: str) -> str:
    """Prove ownership for a bundle ``report`` found valid, only if ``key`` owns the item now.

    A proof by a former owner, or for a bundle that does not verify, is bound to fail at the
    buyer's check: it is refused here, saying who the current owner is.

    Raises:
        DppError: the report failed; RuleError: the item is unsold, or ``key`` is not its
            current owner.
    """
    report.raise_for_outcome()
    if report.pid is None or report.owner is None:
        raise RuleError("the item has no owner yet (it was never sold): nobody can prove owning it")
    if report.owner != key.kid:
        raise RuleError(
            f"key {key.kid.hex()[:8]} does not own this item: its current owner is key "
            f"{report.owner.hex()[:8]}, so a proof by this key would fail the buyer's check"
        )
    return prove(key, report.pid, challenge)


def check(owner: PublicKey, pid: bytes, challenge: str, response: str) -> None:
    """Check a response against the current owner's public key.

    Raises:
        SignatureError: malformed, or not signed by the owner for this passport and challenge.
    """
    try:
        signature = base64.b64decode(response.strip(), validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise SignatureError("the response is not base64") from None
    try:
        owner.verify(signature, _message(pid, challenge))
    except SignatureError:
        raise SignatureError(
            "the response was not signed by the current owner's key for this passport and challenge"
        ) from None


def check_current_owner(bundle: Bundle, report: Report, challenge: str, response: str) -> bytes:
    """Check a response against the current owner of a bundle ``report`` found valid.

    Returns the owner's key id.

    Raises:
        DppError: the report failed; RuleError: no owner, or the bundle lacks the owner's key;
            SignatureError: the response is not the owner's.
    """
    report.raise_for_outcome()
    if report.owner is None:
        raise RuleError("the item has no owner yet: nobody can prove owning it")
    keys = {kid_of(raw): raw for raw in bundle.keys}
    if report.owner not in keys:
        raise RuleError(
            "the bundle lacks the current owner's public key: ask the seller for "
            "a bundle that carries it"
        )
    check(PublicKey.from_bytes(keys[report.owner]), bundle.events[0].pid, challenge, response)
    return report.owner

"""schemas/dpp.cddl and the code agree on every name: fields, event types, roles, media types.

(A grammar check was tried with pycddl, which mis-validates choices and nested maps; until a
sound CDDL validator is available, this test keeps the document and the code in step.)
"""

from __future__ import annotations

import re
from importlib import resources

from dpp_ledger.passport import cose, wire, wire_boxes
from dpp_ledger.passport.certs import Role
from dpp_ledger.passport.disclose import SALT_SIZE
from dpp_ledger.passport.events import MAX_SEQ, MAX_TIME, EventType
from dpp_ledger.passport.recipients import Kem

CDDL = resources.files("schemas").joinpath("dpp.cddl").read_text()


def _rule(name: str) -> str:
    match = re.search(rf"^{re.escape(name)} = (.+?)(?=^\S)", CDDL + "\nend", re.M | re.S)
    assert match, f"no rule {name} in dpp.cddl"
    return match.group(1)


def _fields(text: str) -> set[str]:
    return set(re.findall(r'"([a-z_]+)":', text))


def test_payload_fields_match_the_wire_layouts() -> None:
    assert _fields(_rule("first-event")) | _fields(_rule("next-event")) == wire._EVENT_KEYS
    assert _fields(_rule("certificate-payload")) == wire._CERT_KEYS
    assert _fields(_rule("revocation-payload")) == wire._REVOCATION_KEYS
    assert _fields(_rule("bundle")) == wire._BUNDLE_KEYS
    assert _fields(_rule("box")) == wire_boxes._BOX_KEYS


def test_event_types_roles_and_media_types_match() -> None:
    assert set(re.findall(r'"(\w+)"', _rule("event-type"))) == {str(t) for t in EventType}
    roles = re.search(r'"role": (.+),', _rule("certificate-payload"))
    assert roles
    assert set(re.findall(r'"(\w+)"', roles.group(1))) == {str(r) for r in Role}
    for content_type in (cose.CT_EVENT, cose.CT_CERT, cose.CT_REVOCATIONS):
        assert f'"{content_type}"' in CDDL
    kems = re.search(r'"kem": (.+?),', _rule("box"))
    assert kems
    assert set(re.findall(r'"([\w-]+)"', kems.group(1))) == {str(k) for k in Kem}


def test_ranges_and_sizes_match() -> None:
    assert f"unix-time = 0..{MAX_TIME}" in CDDL
    assert f'"seq": 1..{MAX_SEQ}' in CDDL
    assert "signature: bstr .size 64" in CDDL
    assert "1 => -19" in CDDL
    assert f"[1*{wire_boxes.MAX_BOXES_PER_EVENT} box]" in CDDL
    assert f"at most {wire_boxes.MAX_BOXES} boxes" in CDDL
    assert f"salt: bstr .size {SALT_SIZE}" in CDDL

"""Boxes are standard RFC 9180: the RFC's vector, and cryptography's HPKE against ours.

tests/vectors/hpke_reference.py implements the one suite from the RFC's text; it reproduces
Appendix A.2.1 exactly, and it and the library that seals every box open each other's boxes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

import dpp_ledger.passport as pp
from dpp_ledger.passport import sealing
from dpp_ledger.passport.disclose import disclose
from tests.vectors import hpke_reference as ref

VECTOR = json.loads(
    (Path(__file__).with_name("vectors") / "standards" / "hpke" / "rfc9180_a2_1.json").read_text()
)
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


def _hex(name: str) -> bytes:
    return bytes.fromhex(VECTOR[name])


def test_the_reference_reproduces_rfc_9180_a_2_1() -> None:
    enc = _hex("pkEm")
    secret = ref._shared_secret(
        x25519.X25519PrivateKey.from_private_bytes(_hex("skEm")).exchange(
            x25519.X25519PublicKey.from_public_bytes(_hex("pkRm"))
        ),
        enc,
        _hex("pkRm"),
    )
    assert secret == _hex("shared_secret")
    assert ref.key_schedule(secret, _hex("info")) == (_hex("key"), _hex("base_nonce"))
    for case in VECTOR["encryptions"]:
        pt, aad, seq = (
            bytes.fromhex(case["pt"]),
            bytes.fromhex(case["aad"]),
            case["sequence_number"],
        )
        sealed = ref.seal(_hex("pkRm"), _hex("info"), pt, sk_e=_hex("skEm"), aad=aad, seq=seq)
        assert sealed == _hex("enc") + bytes.fromhex(case["ct"])
        assert ref.open_(_hex("skRm"), _hex("info"), sealed, aad=aad, seq=seq) == pt


def test_the_library_opens_what_the_reference_seals_and_back() -> None:
    recipient = x25519.X25519PrivateKey.from_private_bytes(_hex("skRm"))
    info, pt = _hex("info"), b"a restricted value"
    by_reference = ref.seal(_hex("pkRm"), info, pt, sk_e=_hex("skEm"))
    assert SUITE.decrypt(by_reference, recipient, info=info) == pt
    by_library = SUITE.encrypt(pt, recipient.public_key(), info=info)
    assert ref.open_(_hex("skRm"), info, by_library) == pt
    with pytest.raises(InvalidTag):
        SUITE.decrypt(by_reference, recipient, info=info + b"!")


def test_a_box_is_an_rfc_9180_ciphertext_of_its_disclosure() -> None:
    secret = pp.RecipientSecret.from_bytes(_hex("skRm"))
    item = disclose("site", "Atelier Firenze", salt=bytes(16))
    box = sealing.seal(
        item,
        event=bytes(32),
        audience="authorities",
        recipient=secret.public_key,
        kem=pp.Kem.X25519,
    )
    assert ref.open_(_hex("skRm"), box.info(), box.ct) == item.raw
    assert box.info() == pp.wire.cbor.encode(
        ["dpp-ledger disclosure v1", bytes(32), item.digest, "site", "authorities"]
    )
    assert sealing.open_box(box, secret).value == "Atelier Firenze"

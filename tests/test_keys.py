"""Ed25519 keys: RFC 8032 vectors, key ids, and the small-order keys OpenSSL would accept."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dpp_ledger.passport import _edwards
from dpp_ledger.passport.errors import InvalidKeyError, SignatureError
from dpp_ledger.passport.keys import PublicKey, SigningKey, kid_of

# RFC 8032 §7.1 TEST 1-3: (secret seed, public key, message, signature).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(
    ("seed", "public", "message", "signature"), RFC8032, ids=["test1", "test2", "test3"]
)
def test_rfc8032_vectors(seed: str, public: str, message: str, signature: str) -> None:
    key = SigningKey.from_seed(bytes.fromhex(seed))
    assert key.public_key.raw.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    PublicKey.from_bytes(bytes.fromhex(public)).verify(
        bytes.fromhex(signature), bytes.fromhex(message)
    )
    assert key.seed().hex() == seed


def test_kid_is_sha256_of_the_raw_public_key() -> None:
    key = SigningKey.from_seed(bytes(32))
    assert key.kid == hashlib.sha256(key.public_key.raw).digest() == kid_of(key.public_key.raw)
    assert key.public_key.kid_hex == key.kid.hex()


def test_pem_export_is_subject_public_key_info() -> None:
    pem = SigningKey.from_seed(bytes(32)).public_key.to_pem()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")


# -- small-order points ---------------------------------------------------------------------

P = _edwards.P


def _encode(y: int, sign: int) -> bytes:
    return (y | sign << 255).to_bytes(32, "little")


SMALL_ORDER = sorted({_encode(y, s) for y in _edwards.SMALL_ORDER_Y for s in (0, 1)})
NON_CANONICAL = [_encode(P, 0), _encode(P + 1, 0), _encode(P + 1, 1), _encode(2**255 - 1, 0)]


def _add(p1: tuple[int, int], p2: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = p1, p2
    t = _edwards.D * x1 * x2 * y1 * y2
    return (
        (x1 * y2 + x2 * y1) * pow(1 + t, -1, P) % P,
        (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P,
    )


@pytest.mark.parametrize("y", sorted(_edwards.SMALL_ORDER_Y))
def test_the_small_order_table_holds_exactly_points_of_order_dividing_8(y: int) -> None:
    x = _edwards.recover_x(y, 0)
    assert x is not None
    point, total = (x, y), (0, 1)
    for _ in range(8):
        total = _add(total, point)
    assert total == (0, 1)


def test_an_ordinary_key_is_not_of_small_order() -> None:
    y = int.from_bytes(SigningKey.from_seed(bytes(32)).public_key.raw, "little") & ((1 << 255) - 1)
    assert y not in _edwards.SMALL_ORDER_Y


@pytest.mark.parametrize("raw", SMALL_ORDER, ids=lambda b: b.hex()[:8] + "…" + b.hex()[-2:])
def test_small_order_keys_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_bytes(raw)


@pytest.mark.parametrize("raw", NON_CANONICAL, ids=["p", "p+1", "p+1-neg", "2^255-1"])
def test_non_canonical_encodings_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidKeyError, match=r"non-canonical|not a point"):
        PublicKey.from_bytes(raw)


def test_openssl_accepts_a_forgery_under_the_identity_key_and_we_do_not() -> None:
    identity = _encode(1, 0)
    forged = identity + bytes(32)  # R = identity, S = 0: verifies for every message
    Ed25519PublicKey.from_public_bytes(identity).verify(forged, b"any message at all")
    with pytest.raises(InvalidKeyError, match="small order"):
        PublicKey.from_bytes(identity).verify(forged, b"any message at all")


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_wrong_key_lengths_are_refused(size: int) -> None:
    with pytest.raises(InvalidKeyError, match="32 bytes"):
        PublicKey.from_bytes(b"\x07" * size)


def test_a_point_off_the_curve_is_refused() -> None:
    # y = 2 has no x on edwards25519.
    assert _edwards.recover_x(2, 0) is None
    with pytest.raises(InvalidKeyError, match="not a point"):
        PublicKey.from_bytes(_encode(2, 0))


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(InvalidKeyError):
        SigningKey.from_seed(b"short")


# -- signatures -----------------------------------------------------------------------------

KEY = SigningKey.from_seed(bytes.fromhex(RFC8032[1][0]))
MESSAGE = b"\x72"
SIGNATURE = KEY.sign(MESSAGE)


@pytest.mark.parametrize(
    ("signature", "match"),
    [
        (SIGNATURE[:63], "64 bytes"),
        (SIGNATURE + b"\x00", "64 bytes"),
        (bytes(64), "R is of small order"),
        (SIGNATURE[:32] + _edwards.L.to_bytes(32, "little"), "not reduced"),
        (
            SIGNATURE[:32]
            + (int.from_bytes(SIGNATURE[32:], "little") + _edwards.L).to_bytes(32, "little"),
            "not reduced",
        ),
        (bytes([SIGNATURE[0] ^ 1]) + SIGNATURE[1:], "does not verify"),
    ],
    ids=["63-bytes", "65-bytes", "all-zero", "S=L", "S+L", "flipped-R"],
)
def test_bad_signatures_are_refused(signature: bytes, match: str) -> None:
    with pytest.raises(SignatureError, match=match):
        KEY.public_key.verify(signature, MESSAGE)


def test_signature_over_another_message_is_refused() -> None:
    with pytest.raises(SignatureError):
        KEY.public_key.verify(SIGNATURE, b"\x73")

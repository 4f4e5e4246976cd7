"""RFC 9180 base mode for one suite, from the RFC's text: DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, ChaCha20-Poly1305. Test code only: an independent implementation to check
`cryptography`'s HPKE against, and to seal golden boxes with a fixed ephemeral key (the
library draws a fresh one for every box, as it must).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

KEM_ID, KDF_ID, AEAD_ID = 0x0020, 0x0001, 0x0003
KEM_SUITE = b"KEM" + KEM_ID.to_bytes(2, "big")
HPKE_SUITE = b"HPKE" + KEM_ID.to_bytes(2, "big") + KDF_ID.to_bytes(2, "big") + AEAD_ID.to_bytes(2, "big")
N_H, N_K, N_N = 32, 32, 12


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(N_H), ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand(prk, length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, length)


def _shared_secret(dh: bytes, enc: bytes, pk_r: bytes) -> bytes:
    eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh)
    return labeled_expand(KEM_SUITE, eae_prk, b"shared_secret", enc + pk_r, N_H)


def key_schedule(shared_secret: bytes, info: bytes) -> tuple[bytes, bytes]:
    """(key, base_nonce) of mode_base (no PSK)."""
    psk_id_hash = labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(HPKE_SUITE, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(HPKE_SUITE, shared_secret, b"secret", b"")
    return (
        labeled_expand(HPKE_SUITE, secret, b"key", context, N_K),
        labeled_expand(HPKE_SUITE, secret, b"base_nonce", context, N_N),
    )


def _nonce(base: bytes, seq: int) -> bytes:
    return (int.from_bytes(base, "big") ^ seq).to_bytes(N_N, "big")


def seal(
    pk_r: bytes, info: bytes, plaintext: bytes, *, sk_e: bytes, aad: bytes = b"", seq: int = 0
) -> bytes:
    """enc || ciphertext of message ``seq`` of a base-mode context set up with ``sk_e``."""
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(sk_e)
    enc = ephemeral.public_key().public_bytes_raw()
    dh = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(pk_r))
    key, base_nonce = key_schedule(_shared_secret(dh, enc, pk_r), info)
    return enc + ChaCha20Poly1305(key).encrypt(_nonce(base_nonce, seq), plaintext, aad)


def open_(sk_r: bytes, info: bytes, sealed: bytes, *, aad: bytes = b"", seq: int = 0) -> bytes:
    """The plaintext of ``enc || ciphertext`` (raises cryptography's InvalidTag if altered)."""
    recipient = x25519.X25519PrivateKey.from_private_bytes(sk_r)
    enc, ciphertext = sealed[:32], sealed[32:]
    pk_r = recipient.public_key().public_bytes_raw()
    dh = recipient.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    key, base_nonce = key_schedule(_shared_secret(dh, enc, pk_r), info)
    return ChaCha20Poly1305(key).decrypt(_nonce(base_nonce, seq), ciphertext, aad)

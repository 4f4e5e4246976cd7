"""An independent verifier for tests: signatures, chain links and log inclusion, read with cbor2
and cryptography alone. It imports nothing of this project and knows nothing of disclosures,
schemas or rules: what an auditor's own minimal tool would check of a bundle.
"""

from __future__ import annotations

import base64
import hashlib

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _signed(record: bytes, keys: dict[bytes, bytes]) -> dict[object, object]:
    protected, _, payload, signature = cbor2.loads(record).value
    kid = cbor2.loads(protected)[4]
    message = cbor2.dumps(["Signature1", protected, b"", payload])
    Ed25519PublicKey.from_public_bytes(keys[kid]).verify(signature, message)  # raises if bad
    fields: dict[object, object] = cbor2.loads(payload)
    return fields


def _root_from_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2, step by step."""
    fn, sn, r = index, size - 1, _sha256(b"\x00" + leaf)
    for p in path:
        assert sn != 0, "inclusion path too long"
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0, "inclusion path too short"
    return r


def check(bundle: bytes, root_keys: list[bytes]) -> int:
    """Check a bundle's signatures, links and log inclusion; return how many events it holds.

    Raises:
        AssertionError or cryptography's InvalidSignature: the first thing that is wrong.
    """
    document = cbor2.loads(bundle)
    keys = {_sha256(k): k for k in [*root_keys, *document["keys"]]}
    for cert in document["certs"]:
        subject = _signed(cert, keys)["key"]
        assert isinstance(subject, bytes)
        keys[_sha256(subject)] = subject
    events = document["events"]
    for seq, raw in enumerate(events):
        fields = _signed(raw, keys)
        assert fields["seq"] == seq
        if seq:
            assert fields["prev"] == _sha256(events[seq - 1])
            assert fields["pid"] == _sha256(events[0])
    lines = document["log"]["checkpoint"].split("\n")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    for raw, proof in zip(events, document["log"]["proofs"], strict=True):
        assert _root_from_inclusion(raw, proof["index"], size, proof["path"]) == root
    return len(events)

"""C2SP signed notes and checkpoints: parse, verify, and refuse every changed or foreign part."""

from __future__ import annotations

import base64

import pytest

from dpp_ledger.passport import merkle
from dpp_ledger.passport.audit import AuditError, audit
from dpp_ledger.passport.checkpoint import (
    Checkpoint,
    NoteVerifier,
    check_name,
    check_same_view,
    key_hash,
    open_note,
    read_unverified,
    sign_checkpoint,
    verify_checkpoint,
)
from dpp_ledger.passport.errors import LogError, UntrustedLogError
from tests.world import key

ORIGIN = "maison-example.com/dpp-log"
LOG = key("log")
VERIFIER = NoteVerifier(ORIGIN, LOG.public_key)
ROOT = merkle.leaf_hash(b"root")
NOTE = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), ORIGIN, LOG)


def test_note_layout() -> None:
    body, blank, signature = NOTE.partition("\n\n")
    assert body == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}"
    assert blank == "\n\n"
    assert signature.startswith("\u2014 " + ORIGIN + " ")
    assert signature.endswith("\n")
    blob = base64.b64decode(signature.split(" ")[-1])
    assert blob[:4] == key_hash(ORIGIN, LOG.public_key)
    LOG.public_key.verify(blob[4:], (body + "\n").encode())


def test_key_hash_follows_the_spec() -> None:
    import hashlib

    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + LOG.public_key.raw).digest()[:4]
    assert key_hash(ORIGIN, LOG.public_key) == expected


def test_verifier_key_round_trip() -> None:
    vkey = VERIFIER.to_vkey()
    name, hash_hex, encoded = vkey.split("+")
    assert (name, hash_hex) == (ORIGIN, VERIFIER.key_hash.hex())
    assert base64.b64decode(encoded) == b"\x01" + LOG.public_key.raw
    assert NoteVerifier.from_vkey(vkey) == VERIFIER


@pytest.mark.parametrize(
    ("vkey", "match"),
    [
        ("nonsense", "reads <name>"),
        (f"{ORIGIN}+00000000+" + VERIFIER.to_vkey().split("+")[2], "key hash does not match"),
        (
            f"{ORIGIN}+{VERIFIER.key_hash.hex()}+"
            + base64.b64encode(b"\x02" + LOG.public_key.raw).decode(),
            "not an Ed25519 key",
        ),
        (
            f"{ORIGIN}+{VERIFIER.key_hash.hex()}+" + base64.b64encode(b"\x01" + bytes(32)).decode(),
            "small order|not a point",
        ),
        ("a b+00000000+AA==", "reads <name>"),
    ],
    ids=["nonsense", "wrong-hash", "not-ed25519", "bad-key", "space-in-name"],
)
def test_bad_verifier_keys(vkey: str, match: str) -> None:
    with pytest.raises(LogError, match=match):
        NoteVerifier.from_vkey(vkey)


def test_verify_and_read() -> None:
    checkpoint = verify_checkpoint(NOTE, [VERIFIER])
    assert checkpoint == Checkpoint(ORIGIN, 42, ROOT)
    assert read_unverified(NOTE) == checkpoint


def test_a_changed_line_is_refused() -> None:
    for old, new in (("\n42\n", "\n43\n"), (ORIGIN + "\n", ORIGIN + "x\n")):
        with pytest.raises(LogError, match=r"does not verify|not from a known"):
            verify_checkpoint(NOTE.replace(old, new, 1), [VERIFIER])
    changed_root = NOTE.replace(
        base64.b64encode(ROOT).decode(), base64.b64encode(bytes(32)).decode()
    )
    with pytest.raises(LogError, match="does not verify"):
        verify_checkpoint(changed_root, [VERIFIER])


def test_a_wrong_key_hash_means_an_unknown_signer() -> None:
    line = NOTE.split("\n")[-2]
    blob = bytearray(base64.b64decode(line.split(" ")[-1]))
    blob[0] ^= 0xFF
    forged = NOTE.replace(line.split(" ")[-1], base64.b64encode(bytes(blob)).decode())
    with pytest.raises(UntrustedLogError, match="no signature on the note is from a known log key"):
        verify_checkpoint(forged, [VERIFIER])


def test_a_wrong_origin_is_refused() -> None:
    other = sign_checkpoint(Checkpoint("other.example/log", 42, ROOT), ORIGIN, LOG)
    with pytest.raises(LogError, match=r"signed by 'maison-example\.com/dpp-log', not by that log"):
        verify_checkpoint(other, [VERIFIER])


def test_extra_signatures_from_unknown_keys_are_ignored() -> None:
    stranger = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), "witness.example", key("witness"))
    both = NOTE + stranger.split("\n\n")[1]
    assert verify_checkpoint(both, [VERIFIER]).size == 42
    _, good = open_note(both, [VERIFIER])
    assert [v.name for v in good] == [ORIGIN]
    with pytest.raises(UntrustedLogError):
        verify_checkpoint(stranger, [VERIFIER])


def test_a_known_key_with_a_bad_signature_rejects_the_note() -> None:
    line = NOTE.split("\n")[-2]
    blob = bytearray(base64.b64decode(line.split(" ")[-1]))
    blob[-1] ^= 1
    bad = NOTE.replace(line.split(" ")[-1], base64.b64encode(bytes(blob)).decode())
    with pytest.raises(LogError, match="does not verify"):
        verify_checkpoint(bad, [VERIFIER])


@pytest.mark.parametrize(
    ("note", "match"),
    [
        ("", "body, a blank line"),
        (NOTE.replace("\n\n", "\n"), "body, a blank line"),
        (NOTE.rstrip("\n"), "body, a blank line"),
        (NOTE.replace("\u2014 ", "- "), "em dash"),
        (NOTE.replace("42", "042"), "does not verify|leading zeros"),
        (NOTE.replace("\n42\n", "\n4\t2\n"), "control characters"),
        (NOTE + "x" * 20_000, "at most"),
        (NOTE.split("\n\n")[0] + "\n\n" + ("\u2014 a AAAAAAA=\n" * 101), "more than 100"),
    ],
    ids=["empty", "no-blank", "no-final-newline", "hyphen", "leading-zero", "tab", "huge", "many"],
)
def test_malformed_notes(note: str, match: str) -> None:
    with pytest.raises(LogError, match=match):
        verify_checkpoint(note, [VERIFIER])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (f"{ORIGIN}\n042\n{base64.b64encode(ROOT).decode()}\n", "leading zeros"),
        (f"{ORIGIN}\n42\n", "origin, size and root"),
        (f"{ORIGIN}\n42\nnot-base64!\n", "not base64"),
        (f"{ORIGIN}\n42\n{base64.b64encode(b'short').decode()}\n", "32 bytes"),
        (f"\n42\n{base64.b64encode(ROOT).decode()}\n", "needs an origin"),
    ],
)
def test_malformed_checkpoint_bodies(body: str, match: str) -> None:
    from dpp_ledger.passport.checkpoint import parse_checkpoint

    with pytest.raises(LogError, match=match):
        parse_checkpoint(body)


def test_extension_lines_are_kept_and_signed() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT, ("ext one",)), ORIGIN, LOG)
    assert verify_checkpoint(note, [VERIFIER]).extensions == ("ext one",)


def test_split_view() -> None:
    with pytest.raises(LogError, match="split view"):
        check_same_view(Checkpoint(ORIGIN, 42, ROOT), Checkpoint(ORIGIN, 42, bytes(32)))
    check_same_view(Checkpoint(ORIGIN, 42, ROOT), Checkpoint(ORIGIN, 43, bytes(32)))


def test_audit_of_two_checkpoints() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(10)]
    subtree = lambda a, b: merkle.root_of(leaves[a:b])  # noqa: E731
    old = sign_checkpoint(Checkpoint(ORIGIN, 6, merkle.root_of(leaves[:6])), ORIGIN, LOG)
    new = sign_checkpoint(Checkpoint(ORIGIN, 10, merkle.root_of(leaves)), ORIGIN, LOG)
    proof = merkle.consistency_path(6, 10, subtree)
    first, second = audit(old, new, proof, [VERIFIER])
    assert (first.size, second.size) == (6, 10)
    assert audit(new, old, proof, [VERIFIER])[0].size == 6  # order does not matter
    rewritten = [*leaves[:3], merkle.leaf_hash(b"changed"), *leaves[4:]]
    lying = sign_checkpoint(Checkpoint(ORIGIN, 10, merkle.root_of(rewritten)), ORIGIN, LOG)
    with pytest.raises(AuditError, match="does not link size 6 to size 10") as caught:
        audit(
            old,
            lying,
            merkle.consistency_path(6, 10, lambda a, b: merkle.root_of(rewritten[a:b])),
            [VERIFIER],
        )
    assert (caught.value.old_note, caught.value.new_note) == (old, lying)
    twin = sign_checkpoint(Checkpoint(ORIGIN, 6, bytes(32)), ORIGIN, LOG)
    with pytest.raises(AuditError, match="split view"):
        audit(old, twin, [], [VERIFIER])


def test_verifier_keys_whose_base64_holds_a_plus_sign() -> None:
    seeds = (key(f"plus-{i}") for i in range(200))
    signer = next(
        k for k in seeds if "+" in NoteVerifier("log", k.public_key).to_vkey().split("+", 2)[2]
    )
    verifier = NoteVerifier("log", signer.public_key)
    assert NoteVerifier.from_vkey(verifier.to_vkey()) == verifier


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "no spaces"),
        ("a b", "no spaces"),
        ("a+b", "no spaces"),
        ("x" * 257, "up to 256 characters"),
        ("log\udcff", "not valid UTF-8"),  # the byte 0xff from a command line
    ],
)
def test_names_a_log_cannot_have(name: str, reason: str) -> None:
    with pytest.raises(LogError, match=reason):
        check_name(name)
    assert check_name("example.com/log-é") == "example.com/log-é"

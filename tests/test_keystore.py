"""Private keys at rest: scrypt and AES-GCM, 0600 files; wrong passphrases, unsafe files refused."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import KeyRole, KeyStore, KeyStoreError

FAST = 14  # scrypt cost for tests; the default is 17


def secret(text: str = "correct horse battery staple"):  # type: ignore[no-untyped-def]
    return lambda: text


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys", scrypt_log_n=FAST)


def test_create_load_and_sign(store: KeyStore) -> None:
    info = store.create("maison", KeyRole.BRAND, secret())
    key = store.load("maison", secret())
    assert key.public_key == info.public_key
    info.public_key.verify(key.sign(b"m"), b"m")
    assert store.info("maison").role is KeyRole.BRAND
    assert [i.name for i in store.list()] == ["maison"]


def test_files_are_private_and_hold_no_plain_secret(store: KeyStore) -> None:
    seed = pp.SigningKey.generate()
    info = store.add("shop", "retailer", seed, secret())
    mode = stat.S_IMODE(info.path.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(info.path.parent.stat().st_mode) == 0o700
    content = info.path.read_bytes()
    assert seed.seed().hex().encode() not in content
    assert seed.seed() not in content
    document = json.loads(content)
    assert document["kdf"]["alg"] == "scrypt"
    assert document["aead"] == "AES-256-GCM"


def test_default_kdf_cost_is_memory_hard(tmp_path: Path) -> None:
    info = KeyStore(tmp_path / "k").create("k", "owner", secret())
    kdf = json.loads(info.path.read_text())["kdf"]
    assert (kdf["log_n"], kdf["r"]) == (17, 8)  # 2^17 * 128 * 8 bytes = 128 MiB


def test_wrong_passphrase(store: KeyStore) -> None:
    store.create("k", "owner", secret())
    with pytest.raises(KeyStoreError, match="wrong passphrase for key 'k'"):
        store.load("k", secret("nope"))


def test_readable_by_others_is_refused(store: KeyStore) -> None:
    info = store.create("k", "owner", secret())
    os.chmod(info.path, 0o644)
    with pytest.raises(KeyStoreError, match="group or others can access it"):
        store.load("k", secret())


def test_a_name_is_never_overwritten(store: KeyStore) -> None:
    store.create("k", "owner", secret())
    before = (store.directory / "k.key").read_bytes()
    with pytest.raises(KeyStoreError, match="already exists"):
        store.create("k", "owner", secret())
    assert (store.directory / "k.key").read_bytes() == before


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 65, "sp ace"])
def test_bad_names(store: KeyStore, name: str) -> None:
    with pytest.raises(KeyStoreError, match="key name"):
        store.create(name, "owner", secret())


def test_empty_passphrase_and_unknown_role(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match="non-empty passphrase"):
        store.create("k", "owner", secret(""))
    with pytest.raises(KeyStoreError, match="unknown key role"):
        store.create("k", "emperor", secret())
    assert not store.exists("k")


def test_swapping_the_role_in_the_file_breaks_decryption(store: KeyStore) -> None:
    info = store.create("k", "owner", secret())
    document = json.loads(info.path.read_text())
    document["role"] = "brand"
    info.path.write_text(json.dumps(document))
    with pytest.raises(KeyStoreError, match=r"wrong passphrase .*or the file was altered"):
        store.load("k", secret())


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"v": 2}', b"x" * 70_000])
def test_damaged_files(store: KeyStore, content: bytes) -> None:
    store.directory.mkdir(mode=0o700)
    path = store.directory / "k.key"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(KeyStoreError, match="damaged"):
        store.load("k", secret())


def test_missing_key(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match="no key called 'ghost'"):
        store.load("ghost", secret())
    assert store.list() == []


def test_public_key_exports(store: KeyStore) -> None:
    info = store.create("k", "owner", secret())
    assert info.public_key.to_pem().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(info.public_key.raw.hex()) == 64


@pytest.mark.parametrize("kdf", [123, [], "scrypt", None, {"alg": "scrypt"}])
def test_a_key_file_with_a_damaged_kdf_is_named_damaged(store: KeyStore, kdf: object) -> None:
    info = store.create("k", "owner", secret())
    document = json.loads(info.path.read_text())
    document["kdf"] = kdf
    info.path.write_text(json.dumps(document))
    with pytest.raises(KeyStoreError, match="damaged"):
        store.load("k", secret())
    del document["kdf"]
    info.path.write_text(json.dumps(document))
    with pytest.raises(KeyStoreError, match="damaged: no field 'kdf'"):
        store.load("k", secret())


def test_an_empty_key_file_is_named_and_the_others_still_listed(store: KeyStore) -> None:
    store.create("brand", KeyRole.BRAND, secret())
    store.create("shop", KeyRole.RETAILER, secret())
    empty = store.directory / "factory.key"
    empty.touch(mode=0o600)  # what a full disk left behind before key files were atomic
    infos, damaged = store.scan()
    assert [i.name for i in infos] == ["brand", "shop"]
    assert damaged == (
        ("factory", "key file for 'factory' is damaged: the file is empty (an interrupted write?)"),
    )
    with pytest.raises(KeyStoreError, match="'factory' is damaged"):
        store.list()
    with pytest.raises(KeyStoreError, match="already exists"):
        store.create("factory", KeyRole.FACTORY, secret())  # never replaced: it is the user's


def test_a_new_key_file_appears_whole_and_leaves_nothing_else(store: KeyStore) -> None:
    store.create("brand", KeyRole.BRAND, secret())
    with pytest.raises(KeyStoreError, match="already exists"):
        store.create("brand", KeyRole.BRAND, secret())
    assert sorted(p.name for p in store.directory.iterdir()) == ["brand.key"]
    assert stat.S_IMODE((store.directory / "brand.key").stat().st_mode) == 0o600

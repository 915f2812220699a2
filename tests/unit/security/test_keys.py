"""The centre's key store, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.security.keys import KeyStore, load_key_encryption_key
from qharbor.settings import Settings
from qharbor.store import Database
from qharbor.store.tables import centre_keys

KEK = os.urandom(32)


def test_keys_are_made_once_and_loaded_again(db: Database) -> None:
    first = KeyStore(db, KEK)
    first.ensure()
    second = KeyStore(db, KEK)
    second.ensure()

    assert second.signer.key_id == first.signer.key_id
    assert second.sealing_key_id == first.sealing_key_id
    assert second.signer.public_bytes == first.signer.public_bytes
    assert {k.purpose for k in second.published()} == {"signing", "sealing"}


def test_another_key_encryption_key_cannot_open_the_keys(db: Database) -> None:
    KeyStore(db, KEK).ensure()

    with pytest.raises(errors.KeyEncryptionKeyInvalid, match="QHARBOR_KEY_ENCRYPTION_KEY"):
        KeyStore(db, os.urandom(32)).ensure()


def test_private_keys_are_never_stored_in_clear(db: Database) -> None:
    store = KeyStore(db, KEK)
    store.ensure()
    seeds = [
        store.signer.private_key.private_bytes_raw(),
        store.sealing_private_key(store.sealing_key_id).private_bytes_raw(),
    ]
    with db.read() as conn:
        rows = repr(conn.execute(sa.select(centre_keys)).all())

    for seed in seeds:
        assert base64.b64encode(seed).decode() not in rows and seed.hex() not in rows


def test_a_user_key_replaces_the_previous_one(db: Database) -> None:
    from cryptography.hazmat.primitives.asymmetric import mlkem

    from qharbor.security.identity import Identity

    user_id, _token = Identity(db).create_user("alice", "physics")
    store = KeyStore(db, KEK)
    publics = [
        base64.b64encode(mlkem.MLKEM768PrivateKey.generate().public_key().public_bytes_raw())
        for _ in range(2)
    ]

    first = store.register_user_key(user_id, publics[0].decode())
    second = store.register_user_key(user_id, publics[1].decode())

    current = store.user_key(user_id)
    assert current is not None and current.id == second.id != first.id
    assert store.user_key_by_id(first.id).retired_at is not None
    assert store.retire_user_key(user_id) and store.user_key(user_id) is None


def test_without_a_configured_key_one_is_made_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    kek = load_key_encryption_key(settings)

    path = settings.key_encryption_key_path
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_key_encryption_key(settings) == kek and len(kek) == 32


def test_a_configured_key_must_be_32_bytes(tmp_path: Path) -> None:
    good = base64.b64encode(KEK).decode()
    assert load_key_encryption_key(Settings(data_dir=tmp_path, key_encryption_key=good)) == KEK

    with pytest.raises(errors.KeyEncryptionKeyInvalid, match="32 bytes"):
        load_key_encryption_key(Settings(data_dir=tmp_path, key_encryption_key="c2hvcnQ="))

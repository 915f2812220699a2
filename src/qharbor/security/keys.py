"""The centre's key store: its ML-DSA signing key, its ML-KEM sealing key, and
the ML-KEM public keys users register to receive sealed results.

Private keys are stored in the ``centre_keys`` table as their 32- or 64-byte
seeds, encrypted with AES-256-GCM under the key-encryption key (KEK) from the
settings; the database never holds them in clear. Each key has an id derived
from its public key, so keys can be rotated: retired keys stay published, and
old results still verify.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError

from qharbor import errors, wire
from qharbor.security import sealing, signing
from qharbor.settings import Settings
from qharbor.store import Database
from qharbor.store.tables import centre_keys, user_keys

log = logging.getLogger(__name__)

SIGNING = "signing"
SEALING = "sealing"
_WRAP_VERSION = "v1"


def load_key_encryption_key(settings: Settings) -> bytes:
    """The 32-byte KEK: from the settings, else the data dir's file, else a new file.

    Raises:
        errors.KeyEncryptionKeyInvalid: the configured value is not base64 of 32 bytes.
    """
    if settings.key_encryption_key is not None:
        return _decode_kek(settings.key_encryption_key.get_secret_value(), "the setting")
    path = settings.key_encryption_key_path
    if path.exists():
        return _decode_kek(path.read_text().strip(), str(path))
    kek = os.urandom(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(kek).decode("ascii") + "\n")
    log.warning(
        "no QHARBOR_KEY_ENCRYPTION_KEY set: made a key-encryption key in %s (mode 0600). "
        "Back it up; without it the centre's private keys cannot be opened. In production "
        "keep it apart from the database and pass it as QHARBOR_KEY_ENCRYPTION_KEY.",
        path,
    )
    return kek


def _decode_kek(value: str, where: str) -> bytes:
    try:
        kek = base64.b64decode(value, validate=True)
    except ValueError:
        kek = b""
    if len(kek) != 32:
        raise errors.KeyEncryptionKeyInvalid(
            f"the key-encryption key in {where} must be base64 of 32 bytes "
            "(make one with: python -c 'import base64,os; print(base64.b64encode(os.urandom(32))"
            ".decode())')"
        )
    return kek


def wrap(kek: bytes, key_id: str, secret: bytes) -> str:
    """A private key's seed, encrypted under the KEK and bound to its key id."""
    nonce = os.urandom(12)
    sealed = AESGCM(kek).encrypt(nonce, secret, f"qharbor/key/{key_id}".encode())
    return f"{_WRAP_VERSION}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def unwrap(kek: bytes, key_id: str, wrapped: str) -> bytes:
    """The seed that :func:`wrap` encrypted.

    Raises:
        errors.KeyEncryptionKeyInvalid: the KEK is not the one the key was stored with.
    """
    version, _, body = wrapped.partition(":")
    try:
        if version != _WRAP_VERSION:
            raise ValueError(version)
        raw = base64.b64decode(body, validate=True)
        return AESGCM(kek).decrypt(raw[:12], raw[12:], f"qharbor/key/{key_id}".encode())
    except (InvalidTag, ValueError):
        raise errors.KeyEncryptionKeyInvalid(
            f"the key-encryption key cannot open the centre's key {key_id}: set "
            "QHARBOR_KEY_ENCRYPTION_KEY (or data_dir/key-encryption-key) to the key it was "
            "stored with",
            key_id=key_id,
        ) from None


@dataclass(frozen=True)
class PublicKey:
    """A published key."""

    id: str
    purpose: str
    algorithm: str
    public_key: bytes
    created_at: dt.datetime
    retired_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "purpose": self.purpose,
            "algorithm": self.algorithm,
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "created_at": wire.iso(self.created_at),
            "retired_at": wire.iso(self.retired_at),
        }


class KeyStore:
    """Makes, loads and publishes the centre's keys; records users' public keys.

    Args:
        db: the database.
        kek: the 32-byte key-encryption key.
    """

    def __init__(self, db: Database, kek: bytes) -> None:
        self.db = db
        self._kek = kek
        self._signer: signing.Signer | None = None
        self._sealing: tuple[str, mlkem.MLKEM768PrivateKey] | None = None
        self._retired_sealing: dict[str, mlkem.MLKEM768PrivateKey] = {}

    def ensure(self) -> None:
        """Load the active keys, making any that do not exist yet (first start)."""
        self._signer = self._load_or_make(SIGNING, _make_signing_key)
        sealing_key = self._load_or_make(SEALING, _make_sealing_key)
        self._sealing = sealing_key

    def _load_or_make(self, purpose: str, make: Any) -> Any:
        for _ in range(2):
            row = self._active_row(purpose)
            if row is not None:
                return _from_row(row, unwrap(self._kek, row.id, row.private_key))
            key_id, algorithm, public, seed, value = make()
            try:
                with self.db.write() as conn:
                    conn.execute(
                        centre_keys.insert().values(
                            id=key_id,
                            purpose=purpose,
                            algorithm=algorithm,
                            public_key=base64.b64encode(public).decode("ascii"),
                            private_key=wrap(self._kek, key_id, seed),
                            active_purpose=purpose,
                            created_at=dt.datetime.now(dt.UTC),
                        )
                    )
            except IntegrityError:
                continue  # another centre on this database made one first; load it
            log.info("made the centre's %s key %s (%s)", purpose, key_id, algorithm)
            return value
        raise RuntimeError(f"could not make or load the centre's {purpose} key")

    def _active_row(self, purpose: str) -> Any:
        with self.db.read() as conn:
            return conn.execute(
                sa.select(centre_keys).where(centre_keys.c.active_purpose == purpose)
            ).first()

    @property
    def loaded(self) -> bool:
        """Whether the signing and sealing keys are loaded (``ensure`` has run)."""
        return self._signer is not None and self._sealing is not None

    @property
    def signer(self) -> signing.Signer:
        if self._signer is None:
            raise RuntimeError("KeyStore.ensure() was not called")
        return self._signer

    @property
    def sealing_key_id(self) -> str:
        return self._sealing_key()[0]

    def _sealing_key(self) -> tuple[str, mlkem.MLKEM768PrivateKey]:
        if self._sealing is None:
            raise RuntimeError("KeyStore.ensure() was not called")
        return self._sealing

    def sealing_private_key(self, key_id: str) -> mlkem.MLKEM768PrivateKey:
        """The centre's ML-KEM private key with this id (active or retired).

        Raises:
            errors.SealedPayloadInvalid: no such centre key.
        """
        active_id, active = self._sealing_key()
        if key_id == active_id:
            return active
        if key_id not in self._retired_sealing:
            with self.db.read() as conn:
                row = conn.execute(
                    sa.select(centre_keys).where(
                        centre_keys.c.id == key_id, centre_keys.c.purpose == SEALING
                    )
                ).first()
            if row is None:
                raise errors.SealedPayloadInvalid(
                    f"the payload is sealed to key {key_id!r}, which is not this centre's; "
                    f"seal it to {active_id} (GET /v1/keys)",
                    key_id=key_id,
                )
            self._retired_sealing[key_id] = mlkem.MLKEM768PrivateKey.from_seed_bytes(
                unwrap(self._kek, row.id, row.private_key)
            )
        return self._retired_sealing[key_id]

    def unwrap(self, envelope: dict[str, Any]) -> bytes:
        """The AES key of an envelope sealed to one of the centre's keys."""
        if not isinstance(envelope, dict):
            raise errors.SealedPayloadInvalid("a sealed payload must be a JSON object")
        return sealing.unwrap(self.sealing_private_key(str(envelope.get("key_id"))), envelope)

    def seal_to_centre(self, value: Any, aad: str) -> dict[str, Any]:
        """Seal a JSON value to the centre's active ML-KEM key."""
        key_id, private = self._sealing_key()
        return wire.seal(private.public_key().public_bytes_raw(), key_id, value, aad)

    def published(self) -> list[PublicKey]:
        """Every centre key, active and retired, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(centre_keys).order_by(centre_keys.c.created_at.desc())
            ).all()
        return [
            PublicKey(
                r.id,
                r.purpose,
                r.algorithm,
                base64.b64decode(r.public_key),
                r.created_at,
                r.retired_at,
            )
            for r in rows
        ]

    def signing_public_keys(self) -> dict[str, bytes]:
        """Key id to raw public key, for every signing key the centre has had."""
        return {k.id: k.public_key for k in self.published() if k.purpose == SIGNING}

    # --- users' keys ------------------------------------------------------------------

    def register_user_key(self, user_id: str, public_key_b64: str) -> PublicKey:
        """Make this ML-KEM-768 public key the user's key for sealed results.

        The user's previous key, if any, is retired.

        Raises:
            errors.KeyInvalid: not a valid ML-KEM-768 public key.
        """
        raw = sealing.check_public_key(public_key_b64)
        key_id = wire.key_id(wire.KEM_ALGORITHM, raw)
        now = dt.datetime.now(dt.UTC)
        with self.db.write() as conn:
            conn.execute(
                user_keys.update()
                .where(
                    user_keys.c.user_id == user_id,
                    user_keys.c.retired_at.is_(None),
                    user_keys.c.id != key_id,
                )
                .values(retired_at=now)
            )
            existing = conn.execute(sa.select(user_keys).where(user_keys.c.id == key_id)).first()
            if existing is None:
                conn.execute(
                    user_keys.insert().values(
                        id=key_id,
                        user_id=user_id,
                        algorithm=wire.KEM_ALGORITHM,
                        public_key=base64.b64encode(raw).decode("ascii"),
                        created_at=now,
                    )
                )
            elif existing.user_id != user_id:
                raise errors.KeyInvalid("this public key is registered to another user")
            else:
                conn.execute(
                    user_keys.update().where(user_keys.c.id == key_id).values(retired_at=None)
                )
        key = self.user_key(user_id)
        assert key is not None
        return key

    def retire_user_key(self, user_id: str) -> bool:
        """Stop sealing the user's results. Returns whether a key was active."""
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    user_keys.update()
                    .where(user_keys.c.user_id == user_id, user_keys.c.retired_at.is_(None))
                    .values(retired_at=dt.datetime.now(dt.UTC))
                ).rowcount
            )

    def user_key(self, user_id: str) -> PublicKey | None:
        """The user's active ML-KEM public key, if they registered one."""
        with self.db.read() as conn:
            row = conn.execute(_ACTIVE_USER_KEY, {"user_id": user_id}).first()
        return None if row is None else _user_public(row)

    def user_key_by_id(self, key_id: str) -> PublicKey:
        """A user's key by id, retired or not (results are sealed to the key of submission).

        Raises:
            errors.KeyInvalid: no such key (its user was erased).
        """
        with self.db.read() as conn:
            row = conn.execute(sa.select(user_keys).where(user_keys.c.id == key_id)).first()
        if row is None:
            raise errors.KeyInvalid(
                f"the key {key_id} this job's result was to be sealed to no longer exists",
                key_id=key_id,
            )
        return _user_public(row)


#: A user's active key: read on every submission, so built once.
_ACTIVE_USER_KEY = sa.select(user_keys).where(
    user_keys.c.user_id == sa.bindparam("user_id"), user_keys.c.retired_at.is_(None)
)


def _user_public(row: Any) -> PublicKey:
    return PublicKey(
        row.id,
        "user-sealing",
        row.algorithm,
        base64.b64decode(row.public_key),
        row.created_at,
        row.retired_at,
    )


def _make_signing_key() -> tuple[str, str, bytes, bytes, signing.Signer]:
    signer = signing.Signer.generate()
    seed = signer.private_key.private_bytes_raw()
    return signer.key_id, wire.SIGNATURE_ALGORITHM, signer.public_bytes, seed, signer


def _make_sealing_key() -> tuple[str, str, bytes, bytes, tuple[str, mlkem.MLKEM768PrivateKey]]:
    private = mlkem.MLKEM768PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    key_id = wire.key_id(wire.KEM_ALGORITHM, public)
    return key_id, wire.KEM_ALGORITHM, public, private.private_bytes_raw(), (key_id, private)


def _from_row(row: Any, seed: bytes) -> Any:
    if row.purpose == SIGNING:
        return signing.Signer(row.id, mldsa.MLDSA65PrivateKey.from_seed_bytes(seed))
    return (row.id, mlkem.MLKEM768PrivateKey.from_seed_bytes(seed))

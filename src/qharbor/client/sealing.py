"""Sealed payloads on the client's side: ML-KEM-768 with AES-256-GCM.

Programs are sealed to the centre's ML-KEM key before they leave this process;
results sealed to the user's own key are opened here. The user's private keys
live in a key folder (``$QHARBOR_KEY_DIR``, default ``~/.qharbor/keys``), one
file per key named by its id, readable by its owner only. The envelope format
is described in ``docs/security.md``; this module repeats it without importing
the server, and imports ``cryptography`` only when it is used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from qharbor import errors
from qharbor.client.accounts import write_private
from qharbor.client.signatures import canonical

ALGORITHM = "ML-KEM-768+AES-256-GCM"
KEM_ALGORITHM = "ML-KEM-768"
KDF_INFO = b"qharbor/seal/v1"
PROGRAMS_AAD = "qharbor/programs"
KEY_DIR_ENV = "QHARBOR_KEY_DIR"
DEFAULT_KEY_DIR = Path("~/.qharbor/keys")


def result_aad(job_id: str) -> str:
    return f"qharbor/result/{job_id}"


def key_dir_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The key folder in force: ``path``, else ``$QHARBOR_KEY_DIR``, else the default."""
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get(KEY_DIR_ENV) or DEFAULT_KEY_DIR).expanduser()


def key_id_for(public_key: bytes) -> str:
    """The id the centre gives an ML-KEM-768 public key."""
    return f"mlkem768-{hashlib.sha256(public_key).hexdigest()[:16]}"


def _aes_key(shared_secret: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KDF_INFO).derive(
        shared_secret
    )


def seal(public_key: bytes, key_id: str, value: Any, aad: str) -> dict[str, Any]:
    """Seal a JSON value to an ML-KEM-768 public key (raw bytes)."""
    from cryptography.hazmat.primitives.asymmetric import mlkem
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    shared, encapsulated = mlkem.MLKEM768PublicKey.from_public_bytes(public_key).encapsulate()
    nonce = os.urandom(12)
    ciphertext = AESGCM(_aes_key(shared)).encrypt(nonce, canonical(value), aad.encode())
    return {
        "algorithm": ALGORITHM,
        "key_id": key_id,
        "encapsulated": base64.b64encode(encapsulated).decode("ascii"),
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
    }


def open_sealed(seed: bytes, envelope: dict[str, Any], aad: str) -> Any:
    """Open an envelope with an ML-KEM-768 private key given as its 64-byte seed.

    Raises:
        errors.SealedPayloadInvalid: altered, or sealed to another key or purpose.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric import mlkem
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        private = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
        shared = private.decapsulate(base64.b64decode(envelope["encapsulated"], validate=True))
        plaintext = AESGCM(_aes_key(shared)).decrypt(
            base64.b64decode(envelope["nonce"], validate=True),
            base64.b64decode(envelope["ciphertext"], validate=True),
            aad.encode(),
        )
        return json.loads(plaintext)
    except (InvalidTag, KeyError, ValueError, TypeError):
        raise errors.SealedPayloadInvalid(
            "the sealed result does not open with your key: it was altered, or sealed "
            "for another job or key"
        ) from None


class KeyRing:
    """The user's ML-KEM-768 private keys in a folder, one file per key id.

    Args:
        path: The folder; by default ``$QHARBOR_KEY_DIR`` or ``~/.qharbor/keys``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = key_dir_path(path)

    def generate(self) -> tuple[str, bytes]:
        """Make and save a new key pair. Returns its id and raw public key."""
        from cryptography.hazmat.primitives.asymmetric import mlkem

        private = mlkem.MLKEM768PrivateKey.generate()
        public = private.public_key().public_bytes_raw()
        key_id = key_id_for(public)
        body = {
            "id": key_id,
            "algorithm": KEM_ALGORITHM,
            "seed": base64.b64encode(private.private_bytes_raw()).decode("ascii"),
            "public_key": base64.b64encode(public).decode("ascii"),
        }
        write_private(self.path / f"{key_id}.json", json.dumps(body, indent=2) + "\n")
        return key_id, public

    def seed(self, key_id: str) -> bytes | None:
        """The private key (64-byte seed) with this id, if this folder holds it."""
        if "/" in key_id or "\\" in key_id or key_id.startswith("."):
            return None
        file = self.path / f"{key_id}.json"
        if not file.is_file():
            return None
        return base64.b64decode(json.loads(file.read_text(encoding="utf-8"))["seed"])

    def open_result(self, document: dict[str, Any], job_id: str) -> dict[str, Any]:
        """A sealed result document, opened: the plaintext result with the outer timings.

        Raises:
            errors.SealedPayloadInvalid: no key for it here, or it does not open.
        """
        envelope = document["sealed"]
        key_id = str(envelope.get("key_id"))
        seed = self.seed(key_id)
        if seed is None:
            raise errors.SealedPayloadInvalid(
                f"the result is sealed to your key {key_id}, which is not in {self.path}; "
                "open it where that key is, or point QHARBOR_KEY_DIR at it",
                key_id=key_id,
            )
        inner = open_sealed(seed, envelope, result_aad(job_id))
        if str(inner.get("job_id")) != job_id:
            raise errors.SealedPayloadInvalid("the sealed result is for another job")
        timings = {**(inner.get("timings") or {}), **(document.get("timings") or {})}
        return {**inner, "timings": timings}

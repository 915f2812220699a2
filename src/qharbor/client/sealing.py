"""Sealed payloads on the client's side: ML-KEM-768 with AES-256-GCM.

Programs are sealed to the centre's ML-KEM key before they leave this process;
results sealed to the user's own key are opened here. The user's private keys
live in a key folder (``$QHARBOR_KEY_DIR``, default ``~/.qharbor/keys``), one
file per key named by its id, readable by its owner only. The envelope format
is :mod:`qharbor.wire`'s, shared with the centre; ``cryptography`` is imported
only when it is used.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from qharbor import errors, wire
from qharbor.client.accounts import write_private

KEY_DIR_ENV = "QHARBOR_KEY_DIR"
DEFAULT_KEY_DIR = Path("~/.qharbor/keys")


def key_dir_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The key folder in force: ``path``, else ``$QHARBOR_KEY_DIR``, else the default."""
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get(KEY_DIR_ENV) or DEFAULT_KEY_DIR).expanduser()


def open_sealed(seed: bytes, envelope: dict[str, Any], aad: str) -> Any:
    """Open an envelope with an ML-KEM-768 private key given as its 64-byte seed.

    Raises:
        errors.SealedPayloadInvalid: altered, or sealed to another key or purpose.
    """
    from cryptography.hazmat.primitives.asymmetric import mlkem

    try:
        private = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
        shared = private.decapsulate(wire.encapsulated_key(envelope))
        return wire.open_with_key(wire.derive_key(shared), envelope, aad)
    except (errors.SealedPayloadInvalid, KeyError, ValueError, TypeError):
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
        key_id = wire.key_id(wire.KEM_ALGORITHM, public)
        body = {
            "id": key_id,
            "algorithm": wire.KEM_ALGORITHM,
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
        inner = open_sealed(seed, envelope, wire.result_aad(job_id))
        if str(inner.get("job_id")) != job_id:
            raise errors.SealedPayloadInvalid("the sealed result is for another job")
        timings = {**(inner.get("timings") or {}), **(document.get("timings") or {})}
        return {**inner, "timings": timings}

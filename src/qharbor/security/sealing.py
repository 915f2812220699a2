"""Sealed payloads: ML-KEM-768 key encapsulation with AES-256-GCM.

An envelope is a JSON object::

    {"algorithm": "ML-KEM-768+AES-256-GCM", "key_id": ..., "encapsulated": b64,
     "nonce": b64, "ciphertext": b64}

The AES key is HKDF-SHA256 of the ML-KEM shared secret (info
:data:`KDF_INFO`). The additional authenticated data names what the payload is
(``qharbor/programs`` or ``qharbor/result/<job id>``), so a sealed result cannot
be passed off as another job's, nor as a program list. The plaintext is
canonical JSON. The client has its own implementation of this format
(``qharbor.client.sealing``); tests check that the two agree.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from qharbor import errors
from qharbor.security.signing import canonical

ALGORITHM = "ML-KEM-768+AES-256-GCM"
KEM_ALGORITHM = "ML-KEM-768"
KDF_INFO = b"qharbor/seal/v1"
PROGRAMS_AAD = "qharbor/programs"
PUBLIC_KEY_BYTES = 1184


def result_aad(job_id: str) -> str:
    """The additional data that binds a sealed result to its job."""
    return f"qharbor/result/{job_id}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any) -> bytes:
    return base64.b64decode(str(value), validate=True)


def derive_key(shared_secret: bytes) -> bytes:
    """The AES-256 key for an ML-KEM shared secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KDF_INFO).derive(
        shared_secret
    )


def seal(public_key: bytes, key_id: str, value: Any, aad: str) -> dict[str, Any]:
    """Seal a JSON value to an ML-KEM-768 public key (raw bytes)."""
    shared, encapsulated = mlkem.MLKEM768PublicKey.from_public_bytes(public_key).encapsulate()
    nonce = os.urandom(12)
    ciphertext = AESGCM(derive_key(shared)).encrypt(nonce, canonical(value), aad.encode())
    return {
        "algorithm": ALGORITHM,
        "key_id": key_id,
        "encapsulated": _b64(encapsulated),
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }


def unwrap(private_key: mlkem.MLKEM768PrivateKey, envelope: dict[str, Any]) -> bytes:
    """The envelope's AES key: all a worker needs to open this one payload.

    Raises:
        errors.SealedPayloadInvalid: the envelope is malformed.
    """
    if not isinstance(envelope, dict) or envelope.get("algorithm") != ALGORITHM:
        raise errors.SealedPayloadInvalid(f"a sealed payload must use {ALGORITHM}")
    try:
        return derive_key(private_key.decapsulate(_unb64(envelope["encapsulated"])))
    except (KeyError, ValueError, TypeError):
        raise errors.SealedPayloadInvalid(
            "the sealed payload's encapsulated key is malformed; seal it again"
        ) from None


def open_with_key(key: bytes, envelope: dict[str, Any], aad: str) -> Any:
    """Decrypt an envelope with its AES key and parse the JSON inside.

    Raises:
        errors.SealedPayloadInvalid: altered, sealed for something else, or not JSON.
    """
    try:
        plaintext = AESGCM(key).decrypt(
            _unb64(envelope["nonce"]), _unb64(envelope["ciphertext"]), aad.encode()
        )
        return json.loads(plaintext)
    except (InvalidTag, KeyError, ValueError, TypeError):
        raise errors.SealedPayloadInvalid(
            "the sealed payload does not open: it was altered, or sealed to another key or "
            "for another purpose; seal it again to the key from GET /v1/keys"
        ) from None


def open_envelope(private_key: mlkem.MLKEM768PrivateKey, envelope: dict[str, Any], aad: str) -> Any:
    """Unwrap and decrypt in one step."""
    return open_with_key(unwrap(private_key, envelope), envelope, aad)


def check_public_key(public_key_b64: str) -> bytes:
    """The raw bytes of a base64 ML-KEM-768 public key.

    Raises:
        errors.KeyInvalid: not base64, or not a valid key of that size.
    """
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
        if len(raw) != PUBLIC_KEY_BYTES:
            raise ValueError(len(raw))
        mlkem.MLKEM768PublicKey.from_public_bytes(raw)
    except ValueError:
        raise errors.KeyInvalid(field="public_key", expected_bytes=PUBLIC_KEY_BYTES) from None
    return raw

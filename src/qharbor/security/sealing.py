"""Sealed payloads on the centre's side: opening envelopes with the centre's ML-KEM key.

The envelope format, and sealing itself, live in :mod:`qharbor.wire`, which the
client shares; this module adds what only the holder of a private key object
does: unwrapping an envelope's AES key and checking a public key a user
registers.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric import mlkem

from qharbor import errors, wire

PUBLIC_KEY_BYTES = 1184


def unwrap(private_key: mlkem.MLKEM768PrivateKey, envelope: dict[str, Any]) -> bytes:
    """The envelope's AES key: all a worker needs to open this one payload.

    Raises:
        errors.SealedPayloadInvalid: the envelope is malformed.
    """
    try:
        return wire.derive_key(private_key.decapsulate(wire.encapsulated_key(envelope)))
    except (KeyError, ValueError, TypeError):
        raise errors.SealedPayloadInvalid(
            "the sealed payload's encapsulated key is malformed; seal it again"
        ) from None


def open_envelope(private_key: mlkem.MLKEM768PrivateKey, envelope: dict[str, Any], aad: str) -> Any:
    """Unwrap and decrypt in one step."""
    return wire.open_with_key(unwrap(private_key, envelope), envelope, aad)


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

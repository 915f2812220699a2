"""ML-DSA-65 signatures over results.

A result is signed over one canonical byte string: the result document and its
context (job id, project, device, calibration snapshot id and input hash),
serialised as sorted-key compact JSON (:func:`qharbor.wire.signed_message`).
The ML-DSA context string :data:`qharbor.wire.SIGNATURE_CONTEXT` keeps these
signatures from being valid for anything else the key might ever sign.
``docs/security.md`` specifies the format for verifiers written in other languages.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa

from qharbor import errors, wire

#: The fields of a signature's context, in the order the docs list them.
CONTEXT_FIELDS = ("job_id", "project", "device", "calibration_snapshot_id", "input_hash")


@dataclass(frozen=True)
class Signer:
    """Signs results with one ML-DSA-65 private key.

    Args:
        key_id: the id the centre publishes the key under.
        private_key: the key.
    """

    key_id: str
    private_key: mldsa.MLDSA65PrivateKey

    @classmethod
    def generate(cls) -> Signer:
        private = mldsa.MLDSA65PrivateKey.generate()
        return cls(
            wire.key_id(wire.SIGNATURE_ALGORITHM, private.public_key().public_bytes_raw()), private
        )

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    def sign(self, result: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """The signature block stored with the result (and returned with it).

        Args:
            result: the result document, without a ``signature`` field.
            context: the values named in :data:`CONTEXT_FIELDS`.
        """
        missing = set(CONTEXT_FIELDS) - set(context)
        if missing:
            raise ValueError(f"signature context lacks {sorted(missing)}")
        value = self.private_key.sign(wire.signed_message(result, context), wire.SIGNATURE_CONTEXT)
        return {
            "algorithm": wire.SIGNATURE_ALGORITHM,
            "key_id": self.key_id,
            "context": dict(context),
            "value": base64.b64encode(value).decode("ascii"),
        }


def verify(result: dict[str, Any], public_keys: dict[str, bytes]) -> dict[str, Any]:
    """Check a result that carries its ``signature`` block.

    Args:
        result: the result as the API returns it.
        public_keys: key id to raw ML-DSA-65 public key.

    Returns:
        The signature's context.

    Raises:
        errors.SignatureInvalid: a missing, malformed or failing signature.
    """
    block = result.get("signature")
    if not isinstance(block, dict) or block.get("algorithm") != wire.SIGNATURE_ALGORITHM:
        raise errors.SignatureInvalid("the result carries no ML-DSA-65 signature")
    public = public_keys.get(str(block.get("key_id")))
    if public is None:
        raise errors.SignatureInvalid(
            f"the result was signed with key {block.get('key_id')!r}, which this centre "
            "does not publish",
            key_id=block.get("key_id"),
        )
    try:
        signature = base64.b64decode(str(block.get("value")), validate=True)
        context = block["context"]
        mldsa.MLDSA65PublicKey.from_public_bytes(public).verify(
            signature, wire.signed_message(result, context), wire.SIGNATURE_CONTEXT
        )
    except (InvalidSignature, ValueError, KeyError, TypeError):
        raise errors.SignatureInvalid() from None
    return dict(context)

"""Checking a result's ML-DSA-65 signature, on the client's side.

The centre signs the canonical serialisation (sorted-key compact JSON, ASCII)
of ``{"context": ..., "result": ...}``, where ``result`` is the result document
as returned, without its ``signature`` field, and ``context`` names the job id,
project, device, calibration snapshot id and input hash. The ML-DSA context
string is ``qharbor/result/v1``. The format is :mod:`qharbor.wire`'s, shared
with the centre; ``cryptography`` is imported only when it is used.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qharbor import errors, wire


@dataclass(frozen=True)
class Verification:
    """A signature that verified.

    Attributes:
        key_id: The centre key that signed.
        job_id: The job the result belongs to.
        project: The project that ran it.
        device: The device it ran on.
        calibration_snapshot_id: The device calibration it ran under, if recorded.
        input_hash: The centre's SHA-256 of the submission.
    """

    key_id: str
    job_id: str
    project: str
    device: str
    calibration_snapshot_id: str | None
    input_hash: str


def verify_signed(
    document: Mapping[str, Any],
    public_keys: Mapping[str, bytes],
    *,
    job_id: str | None = None,
) -> Verification:
    """Check a result document's signature block.

    Args:
        document: The result exactly as the centre returned it (sealed or not).
        public_keys: Key id to raw ML-DSA-65 public key, from ``GET /v1/keys``.
        job_id: The job the caller asked for; the signature must name it.

    Raises:
        errors.SignatureInvalid: No signature, an unknown key, a signature that
            fails, or one made for another job.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import mldsa

    block = document.get("signature")
    if not isinstance(block, Mapping) or block.get("algorithm") != wire.SIGNATURE_ALGORITHM:
        raise errors.SignatureInvalid("the result carries no ML-DSA-65 signature")
    key_id = str(block.get("key_id"))
    public = public_keys.get(key_id)
    if public is None:
        raise errors.SignatureInvalid(
            f"the result was signed with key {key_id!r}, which the centre does not publish",
            key_id=key_id,
        )
    context = block.get("context")
    if not isinstance(context, Mapping):
        raise errors.SignatureInvalid("the signature has no context")
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        message = wire.signed_message(body, context)
        signature = base64.b64decode(str(block.get("value")), validate=True)
        mldsa.MLDSA65PublicKey.from_public_bytes(public).verify(
            signature, message, wire.SIGNATURE_CONTEXT
        )
    except (InvalidSignature, ValueError, TypeError):
        raise errors.SignatureInvalid(key_id=key_id) from None
    signed_job = str(context.get("job_id"))
    if job_id is not None and signed_job != job_id:
        raise errors.SignatureInvalid(
            f"the signature is for job {signed_job}, not {job_id}", job_id=job_id
        )
    if body.get("job_id") is not None and str(body["job_id"]) != signed_job:
        raise errors.SignatureInvalid("the result names another job than its signature")
    return Verification(
        key_id=key_id,
        job_id=signed_job,
        project=str(context.get("project")),
        device=str(context.get("device")),
        calibration_snapshot_id=context.get("calibration_snapshot_id"),
        input_hash=str(context.get("input_hash")),
    )


def signing_keys(keys_body: Mapping[str, Any]) -> dict[str, bytes]:
    """Key id to raw public key, for the signing keys in a ``GET /v1/keys`` answer."""
    return {
        str(k["id"]): base64.b64decode(k["public_key"])
        for k in keys_body.get("keys", [])
        if k.get("algorithm") == wire.SIGNATURE_ALGORITHM
    }

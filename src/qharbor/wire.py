"""Formats the client and the centre share: canonical JSON, signatures, sealing, time.

Both sides must produce the same bytes, so each format is written here once.
This module imports only the standard library and :mod:`qharbor.errors`, so the
plain client (``pip install qharbor``, no server extras) can use it; the
``cryptography`` package is imported only inside the functions that need it,
so importing this module stays cheap.

Sealing envelope (``docs/security.md``) is a JSON object::

    {"algorithm": "ML-KEM-768+AES-256-GCM", "key_id": ..., "encapsulated": b64,
     "nonce": b64, "ciphertext": b64}

The AES-256 key is HKDF-SHA256 of the ML-KEM shared secret (info
:data:`KDF_INFO`). The additional authenticated data names what the payload is
(:data:`PROGRAMS_AAD`, or :func:`result_aad` of a job), so a sealed result
cannot be passed off as another job's, nor as a program list. The plaintext is
canonical JSON.

A result's signature covers :func:`signed_message`: the canonical JSON of
``{"context": ..., "result": ...}`` with the result's own ``signature`` field
left out, under the ML-DSA context string :data:`SIGNATURE_CONTEXT`.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, overload

from qharbor import errors

#: The algorithm that signs results.
SIGNATURE_ALGORITHM = "ML-DSA-65"
#: The ML-DSA context string, so a result signature is valid for nothing else.
SIGNATURE_CONTEXT = b"qharbor/result/v1"

#: The algorithm an envelope names.
SEAL_ALGORITHM = "ML-KEM-768+AES-256-GCM"
#: The key-encapsulation half of :data:`SEAL_ALGORITHM`; sealing keys carry this name.
KEM_ALGORITHM = "ML-KEM-768"
#: The HKDF info that derives an envelope's AES key.
KDF_INFO = b"qharbor/seal/v1"
#: The additional data of sealed programs.
PROGRAMS_AAD = "qharbor/programs"

#: A source of the current time (aware, UTC); tests pass their own.
Clock = Callable[[], dt.datetime]


# Canonical JSON ------------------------------------------------------------


#: The values :func:`plain` shares as they are (``asdict`` would copy them to no avail).
_LEAVES = (str, int, float, type(None))


def plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copy, for values about to be serialised.

    Dataclasses become dicts and containers are rebuilt as ``asdict`` rebuilds them,
    but their leaves are shared, not copied: a request's programs are read once for
    its fingerprint, and copying them cost more than hashing them.
    """
    if isinstance(value, _LEAVES):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(plain(v) for v in value))
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((plain(k), plain(v)) for k, v in value.items())
    return value


def canonical_json(value: Any) -> str:
    """Sorted-key compact JSON in ASCII: what is signed, sealed and stored.

    Floats are written as Python's shortest round-trip ``repr``; non-ASCII
    characters are escaped (``\\uXXXX``). The database stores JSON columns in
    this same form, so a stored signed result is byte for byte what was signed.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical(value: Any) -> bytes:
    """:func:`canonical_json` as bytes: the bytes that are signed or sealed."""
    return canonical_json(value).encode("ascii")


# Keys and signatures -------------------------------------------------------


def key_id(algorithm: str, public_key: bytes) -> str:
    """A key's id: its algorithm and the first 16 hex digits of SHA-256 of its public key."""
    prefix = algorithm.lower().replace("-", "")
    return f"{prefix}-{hashlib.sha256(public_key).hexdigest()[:16]}"


def signed_message(result: Mapping[str, Any], context: Mapping[str, Any]) -> bytes:
    """The exact bytes a result's signature covers."""
    body = {k: v for k, v in result.items() if k != "signature"}
    return canonical({"context": dict(context), "result": body})


# Sealing -------------------------------------------------------------------


def result_aad(job_id: str) -> str:
    """The additional data that binds a sealed result to its job."""
    return f"qharbor/result/{job_id}"


def derive_key(shared_secret: bytes) -> bytes:
    """The AES-256 key for an ML-KEM shared secret."""
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
    ciphertext = AESGCM(derive_key(shared)).encrypt(nonce, canonical(value), aad.encode())
    return {
        "algorithm": SEAL_ALGORITHM,
        "key_id": key_id,
        "encapsulated": _b64(encapsulated),
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }


def encapsulated_key(envelope: Mapping[str, Any]) -> bytes:
    """The envelope's ML-KEM ciphertext, which the private key decapsulates.

    Raises:
        errors.SealedPayloadInvalid: not an envelope of :data:`SEAL_ALGORITHM`.
        ValueError: the field is not base64.
        KeyError: the field is missing.
    """
    if not isinstance(envelope, Mapping) or envelope.get("algorithm") != SEAL_ALGORITHM:
        raise errors.SealedPayloadInvalid(f"a sealed payload must use {SEAL_ALGORITHM}")
    return _unb64(envelope["encapsulated"])


def open_with_key(key: bytes, envelope: Mapping[str, Any], aad: str) -> Any:
    """Decrypt an envelope with its AES key and parse the JSON inside.

    Raises:
        errors.SealedPayloadInvalid: altered, sealed for something else, or not JSON.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any) -> bytes:
    return base64.b64decode(str(value), validate=True)


# Time ----------------------------------------------------------------------


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@overload
def iso(value: dt.datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: dt.datetime | None) -> str | None: ...
def iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` and microseconds, or None.

    A naive datetime is taken to be in UTC.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> dt.datetime:
    """An ISO 8601 time (a trailing ``Z`` allowed) as an aware UTC datetime; naive means UTC.

    Raises:
        ValueError: not an ISO 8601 time.
    """
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


#: The columns of the accounting export, in order (``GET /v1/usage/accounting``).
ACCOUNTING_COLUMNS = (
    "project",
    "user",
    "slurm_cluster",
    "slurm_job_id",
    "device",
    "jobs",
    "device_s",
    "first_charged_at",
    "last_charged_at",
)


def accounting_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The accounting rows as CSV with a header line; a missing value is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ACCOUNTING_COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in ACCOUNTING_COLUMNS])
    return out.getvalue()

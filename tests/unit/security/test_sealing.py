"""Sealed payloads: what one side seals the other opens, and both refuse anything
altered or addressed elsewhere."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem

from qharbor import errors, wire
from qharbor.client import sealing as client_sealing
from qharbor.security import sealing

PROGRAMS = [{"source": "OPENQASM 3.0; qubit q;", "format": "qasm3", "name": "é"}]


@pytest.fixture(scope="module")
def key() -> mlkem.MLKEM768PrivateKey:
    return mlkem.MLKEM768PrivateKey.generate()


def test_the_centre_opens_what_the_client_seals(key: mlkem.MLKEM768PrivateKey) -> None:
    public = key.public_key().public_bytes_raw()
    envelope = wire.seal(public, "k", PROGRAMS, wire.PROGRAMS_AAD)

    assert sealing.open_envelope(key, envelope, wire.PROGRAMS_AAD) == PROGRAMS


def test_the_client_opens_what_the_centre_seals(key: mlkem.MLKEM768PrivateKey) -> None:
    public = key.public_key().public_bytes_raw()
    envelope = wire.seal(public, "k", {"job_id": "j1"}, wire.result_aad("j1"))

    opened = client_sealing.open_sealed(key.private_bytes_raw(), envelope, wire.result_aad("j1"))

    assert opened == {"job_id": "j1"}


def test_a_payload_sealed_for_another_purpose_does_not_open(
    key: mlkem.MLKEM768PrivateKey,
) -> None:
    public = key.public_key().public_bytes_raw()
    envelope = wire.seal(public, "k", {"job_id": "j1"}, wire.result_aad("j1"))

    with pytest.raises(errors.SealedPayloadInvalid):
        sealing.open_envelope(key, envelope, wire.result_aad("j2"))
    with pytest.raises(errors.SealedPayloadInvalid):
        sealing.open_envelope(key, envelope, wire.PROGRAMS_AAD)


@pytest.mark.parametrize("field", ["encapsulated", "nonce", "ciphertext"])
def test_any_altered_part_of_an_envelope_is_refused(
    key: mlkem.MLKEM768PrivateKey, field: str
) -> None:
    public = key.public_key().public_bytes_raw()
    envelope = wire.seal(public, "k", PROGRAMS, wire.PROGRAMS_AAD)
    raw = bytearray(base64.b64decode(envelope[field]))
    raw[len(raw) // 2] ^= 0x01
    altered = {**envelope, field: base64.b64encode(bytes(raw)).decode()}

    with pytest.raises(errors.SealedPayloadInvalid):
        sealing.open_envelope(key, altered, wire.PROGRAMS_AAD)


def test_a_payload_sealed_to_another_key_does_not_open(key: mlkem.MLKEM768PrivateKey) -> None:
    other = mlkem.MLKEM768PrivateKey.generate().public_key().public_bytes_raw()
    envelope = wire.seal(other, "k", PROGRAMS, wire.PROGRAMS_AAD)

    with pytest.raises(errors.SealedPayloadInvalid):
        sealing.open_envelope(key, envelope, wire.PROGRAMS_AAD)


def test_a_public_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(errors.KeyInvalid):
        sealing.check_public_key(base64.b64encode(b"\0" * 1000).decode())
    with pytest.raises(errors.KeyInvalid):
        sealing.check_public_key("not base64!")


def test_the_key_ring_keeps_private_keys_readable_by_their_owner_only(tmp_path: Path) -> None:
    ring = client_sealing.KeyRing(tmp_path / "keys")

    key_id, public = ring.generate()

    assert key_id == f"mlkem768-{hashlib.sha256(public).hexdigest()[:16]}"
    assert (tmp_path / "keys" / f"{key_id}.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert ring.seed(key_id) is not None
    assert ring.seed("../escape") is None

"""Signed results and sealed payloads through real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from qharbor import HarborService, errors, wire
from qharbor.store.tables import centre_keys, jobs, results
from tests.integration.conftest import RunningCentre

# A program whose text is easy to look for in raw database rows.
MARKED = """OPENQASM 2.0;
include "qelib1.inc";
qreg zebraqubits[2];
creg zebrabits[2];
h zebraqubits[0];
cx zebraqubits[0],zebraqubits[1];
measure zebraqubits -> zebrabits;
"""
MARKERS = ("zebra", "OPENQASM", "qelib1")


def _service(running: RunningCentre, key_dir: Path, token: str | None = None) -> HarborService:
    return HarborService(running.url, token or running.token, key_dir=key_dir)


def _raw_rows(running: RunningCentre, table: sa.Table, job_id: str) -> str:
    """Every column of the job's rows in a table, as the database returns them."""
    key = table.c.id if table is jobs else table.c.job_id
    with running.centre.db.read() as conn:
        rows = conn.execute(
            sa.select(*[sa.cast(c, sa.Text) for c in table.c]).where(key == job_id)
        ).all()
    assert rows, f"no {table.name} row for {job_id}"
    return repr([tuple(r) for r in rows])


def test_keys_are_published_without_a_token(running: RunningCentre) -> None:
    body: dict[str, Any] = httpx.get(f"{running.url}/v1/keys").json()

    by_id = {k["id"]: k for k in body["keys"]}
    signing = by_id[body["signing_key_id"]]
    sealing_key = by_id[body["sealing_key_id"]]
    assert (signing["algorithm"], signing["purpose"]) == ("ML-DSA-65", "signing")
    assert (sealing_key["algorithm"], sealing_key["purpose"]) == ("ML-KEM-768", "sealing")
    assert len(base64.b64decode(signing["public_key"])) == 1952
    assert len(base64.b64decode(sealing_key["public_key"])) == 1184


def test_every_result_is_signed_and_verifies(running: RunningCentre, tmp_path: Path) -> None:
    with _service(running, tmp_path) as service:
        job = service.run(MARKED, shots=100, seed=3)
        result = job.result(timeout=120)
        checked = service.verify(result)
        by_id = service.verify(job.job_id)

    assert checked == by_id
    assert checked.job_id == job.job_id
    assert checked.project == "default"
    assert checked.device == "statevector"
    assert checked.calibration_snapshot_id is None
    assert len(checked.input_hash) == 64


def test_a_result_changed_after_it_left_the_centre_fails_verification(
    running: RunningCentre, tmp_path: Path
) -> None:
    job_id = running.submit(programs=[MARKED], shots=100, seed=3)["id"]
    document = running.result(job_id)
    experiment = document["experiments"][0]
    outcome = next(iter(experiment["counts"]))
    experiment["counts"][outcome] += 1

    with _service(running, tmp_path) as service, pytest.raises(errors.SignatureInvalid):
        service.verify(document)


def test_a_sealed_job_runs_and_the_database_holds_only_ciphertext(
    running: RunningCentre, tmp_path: Path
) -> None:
    with _service(running, tmp_path) as service:
        job = service.run(MARKED, shots=200, seed=5, sealed=True)
        result = job.result(timeout=120)
        checked = service.verify(result)
        again = service.job(job.job_id).result()

    assert job.data["sealed"] is True and job.data["result_sealed"] is True
    assert set(result.get_counts()) <= {"00", "11"} and sum(result.get_counts().values()) == 200
    assert again.get_counts() == result.get_counts()
    assert checked.job_id == job.job_id
    with _service(running, tmp_path / "elsewhere") as keyless:
        assert keyless.verify(job.job_id) == checked  # checking needs no private key
        with pytest.raises(errors.SealedPayloadInvalid, match="not in"):
            keyless.job(job.job_id).result()
    job_row = _raw_rows(running, jobs, job.job_id)
    result_row = _raw_rows(running, results, job.job_id)
    for marker in MARKERS:
        assert marker not in job_row and marker not in result_row
    for plaintext in ('"counts"', '"experiments"', '"num_qubits"', "zebrabits"):
        assert plaintext not in result_row
    assert "ML-KEM-768+AES-256-GCM" in job_row and "ML-KEM-768+AES-256-GCM" in result_row


def test_the_http_answer_for_a_sealed_job_carries_no_plaintext(
    running: RunningCentre, tmp_path: Path
) -> None:
    with _service(running, tmp_path) as service:
        job = service.run(MARKED, shots=50, seed=5, sealed=True)
        job.wait(timeout=120)
        raw = service.client.session._http.get(f"/v1/jobs/{job.job_id}/result").text

    assert '"sealed"' in raw and '"signature"' in raw
    assert '"counts"' not in raw and "zebra" not in raw


def test_a_sealed_submission_needs_a_registered_key(running: RunningCentre) -> None:
    client = running.new_user("no-key-user", "sealers")
    keys = httpx.get(f"{running.url}/v1/keys").json()
    centre = next(k for k in keys["keys"] if k["id"] == keys["sealing_key_id"])
    envelope = wire.seal(
        base64.b64decode(centre["public_key"]), centre["id"], [MARKED], wire.PROGRAMS_AAD
    )

    response = client.post("/v1/jobs", json={"device": "statevector", "sealed": envelope})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SEALING_KEY_REQUIRED"


def test_an_altered_or_misaddressed_sealed_submission_is_refused(
    running: RunningCentre, tmp_path: Path
) -> None:
    with _service(running, tmp_path) as service:
        service.ensure_sealing_key()
        keys = service.keys()
    centre = next(k for k in keys["keys"] if k["id"] == keys["sealing_key_id"])
    envelope = wire.seal(
        base64.b64decode(centre["public_key"]), centre["id"], [MARKED], wire.PROGRAMS_AAD
    )
    ciphertext = bytearray(base64.b64decode(envelope["ciphertext"]))
    ciphertext[3] ^= 0x01
    altered = {**envelope, "ciphertext": base64.b64encode(bytes(ciphertext)).decode()}
    other_key = {**envelope, "key_id": "mlkem768-0000000000000000"}
    as_result = wire.seal(
        base64.b64decode(centre["public_key"]), centre["id"], [MARKED], "qharbor/result/x"
    )
    before = len(running.http.get("/v1/jobs", params={"limit": 500}).json()["jobs"])

    for bad in (altered, other_key, as_result):
        response = running.http.post("/v1/jobs", json={"device": "statevector", "sealed": bad})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "SEALED_PAYLOAD_INVALID"
    assert len(running.http.get("/v1/jobs", params={"limit": 500}).json()["jobs"]) == before


def test_a_sealed_program_is_checked_like_any_other(running: RunningCentre, tmp_path: Path) -> None:
    with _service(running, tmp_path) as service, pytest.raises(errors.ProgramSyntax):
        service.run("OPENQASM 2.0; qreg q[1]; hadamard q[0];", sealed=True)


def test_a_job_has_either_programs_or_sealed_programs(running: RunningCentre) -> None:
    keys = httpx.get(f"{running.url}/v1/keys").json()
    centre = next(k for k in keys["keys"] if k["id"] == keys["sealing_key_id"])
    envelope = wire.seal(
        base64.b64decode(centre["public_key"]), centre["id"], [MARKED], wire.PROGRAMS_AAD
    )

    both = {"device": "statevector", "programs": [MARKED], "sealed": envelope}
    for body in (both, {"device": "statevector"}):
        response = running.http.post("/v1/jobs", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "INVALID_REQUEST"


def test_a_registered_key_must_be_a_valid_ml_kem_key(running: RunningCentre) -> None:
    client = running.new_user("bad-key-user", "sealers")

    response = client.post("/v1/me/keys", json={"public_key": base64.b64encode(b"x" * 32).decode()})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "KEY_INVALID"


def test_private_keys_are_stored_encrypted(running: RunningCentre) -> None:
    keys = running.centre.keys
    seeds = [
        keys.signer.private_key.private_bytes_raw(),
        keys.sealing_private_key(keys.sealing_key_id).private_bytes_raw(),
    ]
    with running.centre.db.read() as conn:
        rows = repr(conn.execute(sa.select(centre_keys)).all())

    for seed in seeds:
        assert base64.b64encode(seed).decode() not in rows
        assert seed.hex() not in rows
    assert rows.count("'v1:") >= 2


def test_a_user_with_a_registered_key_gets_every_result_sealed(
    running: RunningCentre, tmp_path: Path
) -> None:
    _user, token = running.centre.identity.create_user("keyholder", "sealers")
    with _service(running, tmp_path, token) as service:
        key_id = service.ensure_sealing_key()
        job = service.run(MARKED, shots=100, seed=9)  # not sealed on the way in
        result = job.result(timeout=120)
        checked = service.verify(result)
        mine = service.client.me_key_get()

    assert mine["id"] == key_id and job.data["sealed"] is False
    assert job.data["result_sealed"] is True
    assert sum(result.get_counts().values()) == 100 and checked.project == "sealers"
    result_row = _raw_rows(running, results, job.job_id)
    assert '"counts"' not in result_row and key_id in result_row

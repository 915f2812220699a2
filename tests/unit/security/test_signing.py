"""Signed results: every stored result verifies, and any altered byte is caught.

Each test runs on SQLite and PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.client.signatures import verify_signed
from qharbor.devices import default_catalogue
from qharbor.jobs.manager import JobManager
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.jobs.result import stored_result
from qharbor.security.identity import Identity
from qharbor.security.signing import Signer
from qharbor.store import Database
from qharbor.store.tables import results
from qharbor.workers.execution import execute
from tests.programs import BELL

DEVICES = default_catalogue()


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate()


def _finished_job(db: Database, signer: Signer) -> tuple[JobManager, str, str]:
    """A job run for real and completed through the manager; (manager, project id, job id)."""
    manager = JobManager(db, signer=signer)
    identity = Identity(db)
    _user_id, token = identity.create_user("alice", "physics")
    principal = identity.authenticate(token)
    device = DEVICES.get("statevector")
    prepared = prepare(
        JobRequest(device="statevector", programs=(ProgramSpec(BELL),), shots=200, seed=11),
        device,
        max_program_bytes=1 << 20,
        max_experiments=10,
    )
    job, _ = manager.create(principal.project_id, principal.user_id, prepared)
    (claim,) = manager.claim("owner", 30.0, 1, {"statevector": 1})
    result = execute(claim.prepared(device))
    assert manager.complete(job.id, claim.attempt, result)
    return manager, principal.project_id, job.id


def _stored_text(db: Database, job_id: str) -> tuple[str, str]:
    """The result's data and signature columns, as the text the database holds."""
    with db.read() as conn:
        row = conn.execute(
            sa.select(
                sa.cast(results.c.data, sa.Text).label("data"),
                sa.cast(results.c.signature, sa.Text).label("signature"),
            ).where(results.c.job_id == job_id)
        ).one()
    return row.data, row.signature


def _accepts(data_text: str, signature_text: str, keys: dict[str, bytes], job_id: str) -> bool:
    """Whether stored column texts, read as the manager reads them, give a result that
    verifies."""
    try:
        verify_signed(stored_result(job_id, data_text, signature_text), keys, job_id=job_id)
    except (errors.ResultCorrupt, errors.SignatureInvalid):
        return False
    return True


def _flip(text: str, position: int) -> str:
    raw = bytearray(text.encode("utf-8"))
    raw[position] ^= 0x01
    return raw.decode("utf-8", errors="surrogateescape")


def test_a_stored_result_carries_a_signature_that_verifies(db: Database, signer: Signer) -> None:
    manager, project_id, job_id = _finished_job(db, signer)

    result = manager.result(project_id, job_id)
    verification = verify_signed(result, {signer.key_id: signer.public_bytes}, job_id=job_id)

    assert verification.job_id == job_id
    assert verification.project == "physics"
    assert verification.device == "statevector"
    assert verification.calibration_snapshot_id is None
    assert len(verification.input_hash) == 64
    assert result["signature"]["algorithm"] == "ML-DSA-65"


def test_flipping_any_byte_of_the_stored_result_fails_verification(
    db: Database, signer: Signer
) -> None:
    _manager, _project_id, job_id = _finished_job(db, signer)
    keys = {signer.key_id: signer.public_bytes}
    data_text, signature_text = _stored_text(db, job_id)
    assert _accepts(data_text, signature_text, keys, job_id)

    # Every byte of both stored columns: the result and its signature block.
    accepted = [
        ("data", i)
        for i in range(len(data_text.encode()))
        if _accepts(_flip(data_text, i), signature_text, keys, job_id)
    ] + [
        ("signature", i)
        for i in range(len(signature_text.encode()))
        if _accepts(data_text, _flip(signature_text, i), keys, job_id)
    ]

    assert len(data_text) > 500 and len(signature_text) > 4000
    assert accepted == []


def test_a_flipped_byte_written_to_the_database_is_caught_when_read_back(
    db: Database, signer: Signer
) -> None:
    manager, project_id, job_id = _finished_job(db, signer)
    keys = {signer.key_id: signer.public_bytes}
    data_text, _signature_text = _stored_text(db, job_id)
    size = len(data_text.encode())
    value = "CAST(:text AS JSON)" if not db.is_sqlite else ":text"
    written = 0
    for position in range(0, size, max(1, size // 64)):
        flipped = _flip(data_text, position)
        try:
            json.loads(flipped)
        except ValueError:
            continue  # PostgreSQL refuses it; the manager's reading refuses it (above)
        with db.write() as conn:
            conn.execute(
                sa.text(f"UPDATE results SET data = {value} WHERE job_id = :job"),
                {"text": flipped, "job": job_id},
            )
        written += 1
        with pytest.raises((errors.ResultCorrupt, errors.SignatureInvalid)):
            verify_signed(manager.result(project_id, job_id), keys, job_id=job_id)

    assert written >= 20


def test_an_altered_byte_that_keeps_every_value_is_caught_too(db: Database, signer: Signer) -> None:
    # A space after the first colon changes no value, so the signature would
    # still verify; only the check that stored text is canonical catches it.
    manager, project_id, job_id = _finished_job(db, signer)
    data_text, _signature_text = _stored_text(db, job_id)
    spaced = data_text.replace(":", ": ", 1)
    assert json.loads(spaced) == json.loads(data_text)
    value = "CAST(:text AS JSON)" if not db.is_sqlite else ":text"
    with db.write() as conn:
        conn.execute(
            sa.text(f"UPDATE results SET data = {value} WHERE job_id = :job"),
            {"text": spaced, "job": job_id},
        )
    with pytest.raises(errors.ResultCorrupt):
        manager.result(project_id, job_id)


def test_a_signature_for_another_job_is_refused(db: Database, signer: Signer) -> None:
    manager, project_id, job_id = _finished_job(db, signer)
    result = manager.result(project_id, job_id)

    with pytest.raises(errors.SignatureInvalid, match="not other-job"):
        verify_signed(result, {signer.key_id: signer.public_bytes}, job_id="other-job")


def test_an_unknown_signing_key_is_refused(db: Database, signer: Signer) -> None:
    manager, project_id, job_id = _finished_job(db, signer)
    other = Signer.generate()

    with pytest.raises(errors.SignatureInvalid, match="does not publish"):
        verify_signed(manager.result(project_id, job_id), {other.key_id: other.public_bytes})

"""Results: typed values whose JSON is exactly what the centre stores, signs and serves.

Each job here runs for real (parsed, compiled and executed by the worker) and is
stored through the manager with a signature; the round trip is checked against
the text the database holds. Each test runs on SQLite and PostgreSQL (``db``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import mlkem

from qharbor import wire
from qharbor.client import results as client_results
from qharbor.client.sealing import open_sealed
from qharbor.client.signatures import verify_signed
from qharbor.devices import default_catalogue
from qharbor.devices.catalogue import load_twins, twin_device
from qharbor.devices.device import Device
from qharbor.devices.twins import calibration as calib
from qharbor.devices.twins.document import TwinDocument
from qharbor.jobs import result as results_module
from qharbor.jobs.manager import JobManager
from qharbor.jobs.options import JobOptions
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.jobs.result import Result, SealedResult
from qharbor.security.identity import Identity
from qharbor.security.signing import Signer
from qharbor.store import Database
from qharbor.store.tables import results
from qharbor.workers.execution import execute
from tests.programs import BELL, ROTATION

DEVICES = default_catalogue()
TWIN = load_twins()[0]
T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate()


def run_and_store(
    db: Database,
    signer: Signer,
    request: JobRequest,
    device: Device,
    **task: Any,
) -> tuple[Result | SealedResult, dict[str, Any], str]:
    """Run a job through the worker and store it signed.

    Returns:
        The worker's value, the stored result as the manager reads it (with its
        signature), and the text of the stored result's data column.
    """
    manager = JobManager(db, signer=signer)
    identity = Identity(db)
    _user_id, token = identity.create_user("alice", "physics")
    principal = identity.authenticate(token)
    prepared = prepare(request, device, max_program_bytes=1 << 20, max_experiments=10)
    job, _ = manager.create(principal.project_id, principal.user_id, prepared)
    (claim,) = manager.claim("owner", 30.0, 1, {device.name: 1})
    value = execute(claim.prepared(device, **task))
    assert manager.complete(job.id, claim.attempt, value)
    stored = manager.result(principal.project_id, job.id)
    verify_signed(stored, {signer.key_id: signer.public_bytes}, job_id=job.id)
    with db.read() as conn:
        text = conn.execute(
            sa.select(sa.cast(results.c.data, sa.Text)).where(results.c.job_id == job.id)
        ).scalar_one()
    return value, stored, text


def unsigned(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k != "signature"}


def assert_round_trip(value: Result | SealedResult, stored: dict[str, Any], text: str) -> None:
    """The stored document reads back into the worker's value and writes the same bytes."""
    document = unsigned(stored)
    again = results_module.from_json(document)
    assert type(again) is type(value)
    assert again.to_json() == document
    assert wire.canonical_json(again.to_json()) == text
    # What the worker built is what was stored, apart from the times the store adds.
    assert again.timings.queued_s is not None and again.timings.total_s is not None
    assert again.with_queue_times(0.0, 0.0) == value.with_queue_times(0.0, 0.0)


def test_a_circuit_job_result_round_trips_through_the_store(db: Database, signer: Signer) -> None:
    request = JobRequest(
        device="statevector",
        programs=(
            ProgramSpec(ROTATION, name="rx", parameters=({"theta": 0.5}, {"theta": 2.0})),
            ProgramSpec(BELL),
        ),
        shots=300,
        seed=11,
    )
    value, stored, text = run_and_store(db, signer, request, DEVICES.get("statevector"))
    assert isinstance(value, Result)
    assert [e.parameters for e in value.experiments] == [{"theta": 0.5}, {"theta": 2.0}, None]
    assert_round_trip(value, stored, text)


def test_the_client_reads_every_field_the_centre_writes(db: Database, signer: Signer) -> None:
    request = JobRequest(device="statevector", programs=(ProgramSpec(BELL),), shots=100, seed=3)
    _value, stored, _text = run_and_store(db, signer, request, DEVICES.get("statevector"))
    document = unsigned(stored)
    parsed = client_results.JobResult.from_json(document)
    assert parsed.to_json() == document
    assert parsed.experiments[0].extra == {}  # every field of a plain row is modelled
    assert parsed.get_counts() == stored["experiments"][0]["counts"]


@pytest.mark.parametrize(
    "kind, pub",
    [
        ("sampler", {"circuit": BELL, "format": "auto", "shots": 64}),
        (
            "estimator",
            {
                "circuit": BELL.replace("measure q -> c;\n", ""),
                "format": "auto",
                "observables": [{"ZZ": 1.0}, {"XX": 0.5}],
            },
        ),
    ],
)
def test_a_primitive_job_result_round_trips_through_the_store(
    db: Database, signer: Signer, kind: str, pub: dict[str, Any]
) -> None:
    request = JobRequest(
        device="statevector", programs=(), shots=64, seed=5, kind=kind, pubs=(pub,)
    )
    value, stored, text = run_and_store(db, signer, request, DEVICES.get("statevector"))
    assert isinstance(value, Result) and value.kind == kind and value.pubs
    assert stored["kind"] == kind and stored["experiments"] == []
    assert_round_trip(value, stored, text)


def test_a_twin_job_result_round_trips_with_its_calibration(db: Database, signer: Signer) -> None:
    document = TwinDocument.of(TWIN, calib.recalibrate(TWIN, 1, T0)).to_json()
    request = JobRequest(
        device=TWIN.name,
        programs=(ProgramSpec(BELL),),
        shots=200,
        seed=9,
        options=JobOptions(mitigate_readout=True),
    )
    value, stored, text = run_and_store(db, signer, request, twin_device(TWIN), twin=document)
    assert isinstance(value, Result)
    assert value.metadata.method == "twin"
    assert value.metadata.calibration_snapshot_id == document["calibration"]["id"]
    assert value.timings.qpu_s is not None
    assert {"physical_qubits", "compiled_qasm3", "mitigation"} <= set(value.experiments[0].extra)
    assert_round_trip(value, stored, text)


def test_a_sealed_result_round_trips_and_opens_to_the_plain_one(
    db: Database, signer: Signer
) -> None:
    private = mlkem.MLKEM768PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    key_id = wire.key_id(wire.KEM_ALGORITHM, public)
    request = JobRequest(device="statevector", programs=(ProgramSpec(BELL),), shots=50, seed=2)
    value, stored, text = run_and_store(
        db, signer, request, DEVICES.get("statevector"), result_key=(key_id, public)
    )
    assert isinstance(value, SealedResult)
    assert set(stored) == {"job_id", "device", "sealed", "timings", "signature"}
    assert_round_trip(value, stored, text)
    opened = open_sealed(
        private.private_bytes_raw(), stored["sealed"], wire.result_aad(stored["job_id"])
    )
    plain = Result.from_json(opened)
    assert plain.to_json() == opened
    assert plain.experiments[0].shots == 50

"""Submission: a job is opened, checked once and stored, or refused with nothing stored."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import mlkem
from qiskit import QuantumCircuit, qasm2

from qharbor import errors, wire
from qharbor.devices import default_catalogue
from qharbor.devices.fleet import Fleet
from qharbor.devices.records import DeviceRecords
from qharbor.jobs import backlog
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.parsed import ParsedProgram, load_circuit
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.jobs.sessions import SessionManager, SessionMode
from qharbor.jobs.submission import JobSubmission, SealedPrograms, Submission
from qharbor.security import sealing
from qharbor.security.identity import Identity, Principal
from qharbor.security.keys import KeyStore, load_key_encryption_key
from qharbor.security.quotas import DeviceClass, Period, Quotas
from qharbor.settings import Settings
from qharbor.store import Database
from qharbor.store.tables import jobs as jobs_table


def _bell() -> str:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return qasm2.dumps(circuit)


BELL = _bell()


@dataclasses.dataclass
class Harness:
    """A submission service over a real database, and what it was asked to do."""

    service: Submission
    db: Database
    keys: KeyStore
    sessions: SessionManager
    quotas: Quotas
    principal: Principal
    woken: list[None]
    recorded: list[sa.Connection]

    def submit(self, submission: JobSubmission) -> Any:
        return self.service.submit(submission, self.principal, record=self.recorded.append)

    def stored(self) -> list[Any]:
        with self.db.read() as conn:
            return conn.execute(sa.select(jobs_table)).all()


@pytest.fixture
def harness(db: Database, tmp_path: Path) -> Harness:
    settings = Settings(data_dir=tmp_path / "centre", max_programs_per_job=3)
    settings.data_dir.mkdir()
    catalogue = default_catalogue(settings.max_shots)
    manager = JobManager(db)
    sessions = SessionManager(
        db,
        manager,
        max_ttl_s=settings.session_max_ttl_seconds,
        idle_ttl_s=settings.session_idle_ttl_seconds,
    )
    keys = KeyStore(db, load_key_encryption_key(settings))
    keys.ensure()
    quotas = Quotas(db, catalogue, backlog)
    identity = Identity(db)
    _user_id, token = identity.create_user("alice", "physics")
    woken: list[None] = []
    service = Submission(
        settings,
        catalogue,
        Fleet(catalogue, DeviceRecords(db)),
        manager,
        sessions,
        keys,
        quotas,
        parsers=None,
        wake=lambda: woken.append(None),
    )
    return Harness(service, db, keys, sessions, quotas, identity.authenticate(token), woken, [])


def plain(*sources: str, key: str | None = None, **fields: Any) -> JobSubmission:
    request = JobRequest(
        "statevector",
        tuple(ProgramSpec(s) for s in sources),
        shots=100,
        seed=3,
        idempotency_key=key,
        **fields,
    )
    return JobSubmission(request)


def _read(plaintext: Any) -> tuple[ProgramSpec, ...]:
    if not isinstance(plaintext, list):
        raise errors.SealedPayloadInvalid("not a list")
    return tuple(ProgramSpec(p) for p in plaintext)


def sealed(harness: Harness, programs: list[str], fingerprint: str = "f" * 64) -> JobSubmission:
    """Programs sealed by the client's implementation to the centre's active key."""
    key_id = harness.keys.sealing_key_id
    public = next(k.public_key for k in harness.keys.published() if k.id == key_id)
    envelope = wire.seal(public, key_id, programs, wire.PROGRAMS_AAD)
    request = JobRequest("statevector", (), shots=100, seed=3)
    return JobSubmission(request, SealedPrograms(envelope, fingerprint, _read))


def register_user_key(harness: Harness) -> str:
    public = mlkem.MLKEM768PrivateKey.generate().public_key().public_bytes_raw()
    return harness.keys.register_user_key(
        harness.principal.user_id, base64.b64encode(public).decode()
    ).id


def test_a_job_is_stored_queued_with_its_audit_entry_and_wakes_the_scheduler(
    harness: Harness,
) -> None:
    job, replayed = harness.submit(plain(BELL))

    assert not replayed
    assert job.status is JobStatus.QUEUED
    (row,) = harness.stored()
    assert row.id == job.id
    [program] = [ParsedProgram.from_json(body) for body in row.programs]
    assert (program.source, program.format, program.name, program.bindings) == (
        BELL,
        "qasm2",
        None,
        (),
    )
    assert program.circuit() == QuantumCircuit.from_qasm_str(BELL)
    assert row.sealed is False
    assert len(harness.recorded) == 1
    assert len(harness.woken) == 1


def test_a_replayed_idempotency_key_answers_the_stored_job_without_waking(
    harness: Harness,
) -> None:
    first, _ = harness.submit(plain(BELL, key="k1"))
    again, replayed = harness.submit(plain(BELL, key="k1"))

    assert replayed
    assert again.id == first.id
    assert len(harness.stored()) == 1
    assert len(harness.woken) == 1
    with pytest.raises(errors.IdempotencyConflict):
        harness.submit(plain(BELL, BELL, key="k1"))


def test_a_refused_program_stores_nothing(harness: Harness) -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        harness.submit(plain(BELL, "OPENQASM 2.0; qreg q[1]; hh q[0];"))

    assert caught.value.detail["program"] == 1
    assert harness.stored() == []
    assert harness.woken == [] and harness.recorded == []


def test_more_programs_than_the_centre_allows_are_refused(harness: Harness) -> None:
    with pytest.raises(errors.ProgramLimit) as caught:
        harness.submit(plain(BELL, BELL, BELL, BELL))

    assert caught.value.detail["max_programs"] == 3
    assert harness.stored() == []


def test_a_project_over_its_quota_is_refused_inside_the_write(harness: Harness) -> None:
    harness.quotas.set_budget(harness.principal.project_id, DeviceClass.SIMULATOR, 0.0, Period.DAY)

    with pytest.raises(errors.QuotaExceeded):
        harness.submit(plain(BELL))

    assert harness.stored() == []
    assert harness.recorded == [] and harness.woken == []


def test_a_job_in_an_open_session_is_claimed_first(harness: Harness) -> None:
    project, user = harness.principal.project_id, harness.principal.user_id
    session = harness.sessions.create(project, user, "statevector")
    batch = harness.sessions.create(project, user, "statevector", mode=SessionMode.BATCH)

    in_session, _ = harness.submit(plain(BELL, session_id=session.id))
    in_batch, _ = harness.submit(plain(BELL, session_id=batch.id))

    priorities = {row.id: row.priority for row in harness.stored()}
    assert priorities == {in_session.id: 1, in_batch.id: 0}


def test_a_closed_session_or_another_devices_session_is_refused(harness: Harness) -> None:
    project, user = harness.principal.project_id, harness.principal.user_id
    other = harness.sessions.create(project, user, "stabilizer")
    closed = harness.sessions.create(project, user, "statevector")
    harness.sessions.close(project, closed.id)

    with pytest.raises(errors.InvalidRequest, match="stabilizer"):
        harness.submit(plain(BELL, session_id=other.id))
    with pytest.raises(errors.SessionClosed):
        harness.submit(plain(BELL, session_id=closed.id))
    with pytest.raises(errors.SessionNotFound):
        harness.submit(plain(BELL, session_id="0" * 32))
    assert harness.stored() == []


def test_sealed_programs_are_checked_then_stored_sealed_again(harness: Harness) -> None:
    user_key = register_user_key(harness)

    harness.submit(sealed(harness, [BELL, BELL], fingerprint="a" * 64))

    (row,) = harness.stored()
    assert row.sealed is True
    assert row.num_programs == 2
    assert row.result_key_id == user_key
    assert row.request_hash == "a" * 64
    (stored,) = row.programs
    private = harness.keys.sealing_private_key(stored["sealed"]["key_id"])
    opened = sealing.open_envelope(private, stored["sealed"], wire.PROGRAMS_AAD)
    programs = [ParsedProgram.from_json(body) for body in opened]
    assert [(p.source, p.format, p.bindings) for p in programs] == [(BELL, "qasm2", ())] * 2
    # The parsed circuits are sealed with the text: neither is readable at rest.
    assert BELL not in str(row.programs)
    assert programs[0].packed not in str(row.programs)


def test_sealed_programs_need_the_submitters_key(harness: Harness) -> None:
    with pytest.raises(errors.SealingKeyRequired):
        harness.submit(sealed(harness, [BELL]))

    assert harness.stored() == []


def test_sealed_programs_are_refused_if_they_do_not_open_to_programs(harness: Harness) -> None:
    register_user_key(harness)
    with pytest.raises(errors.SealedPayloadInvalid, match="empty"):
        harness.submit(sealed(harness, []))
    with pytest.raises(errors.ProgramSyntax):
        harness.submit(sealed(harness, ["OPENQASM 2.0; qreg q[1]; hh q[0];"]))
    tampered = sealed(harness, [BELL])
    assert tampered.sealed is not None
    envelope = dict(tampered.sealed.envelope, ciphertext=base64.b64encode(b"x" * 40).decode())
    with pytest.raises(errors.SealedPayloadInvalid):
        harness.submit(
            dataclasses.replace(
                tampered, sealed=dataclasses.replace(tampered.sealed, envelope=envelope)
            )
        )
    assert harness.stored() == []


def test_a_dry_run_checks_and_compiles_but_stores_nothing(harness: Harness) -> None:
    ghz = QuantumCircuit(3)
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(1, 2)
    ghz.measure_all()

    answer = harness.service.dry_run(plain(BELL, qasm2.dumps(ghz)), harness.principal)

    assert answer["valid"] is True
    assert answer["device"] == "statevector"
    assert [e["program"] for e in answer["experiments"]] == [0, 1]
    reference = [QuantumCircuit.from_qasm_str(BELL), ghz]
    assert [e["depth"] for e in answer["experiments"]] == [c.depth() for c in reference]
    assert [e["two_qubit_gates"] for e in answer["experiments"]] == [
        c.count_ops().get("cx", 0) for c in reference
    ]
    assert [e["active_qubits"] for e in answer["experiments"]] == [2, 3]
    assert harness.stored() == [] and harness.woken == []
    with pytest.raises(errors.ProgramLimit):
        harness.service.dry_run(plain(BELL, BELL, BELL, BELL), harness.principal)


def _as_stored_by_an_older_release(harness: Harness, job_id: str, programs: list) -> None:
    with harness.db.write() as conn:
        conn.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(programs=programs))


def test_queued_jobs_stored_without_parsed_circuits_are_parsed_again_once(
    harness: Harness,
) -> None:
    job, _ = harness.submit(plain(BELL))
    plain_job = [{"source": BELL, "format": "qasm2", "name": None, "bindings": []}]
    _as_stored_by_an_older_release(harness, job.id, plain_job)

    assert harness.service.readmit_stored() == 1
    assert harness.service.readmit_stored() == 0  # nothing left to read again

    (row,) = harness.stored()
    [program] = [ParsedProgram.from_json(body) for body in row.programs]
    assert program.source == BELL
    assert program.circuit() == QuantumCircuit.from_qasm_str(BELL)


def test_sealed_jobs_stored_without_parsed_circuits_are_parsed_again_and_stay_sealed(
    harness: Harness,
) -> None:
    register_user_key(harness)
    job, _ = harness.submit(sealed(harness, [BELL]))
    legacy = [{"source": BELL, "format": "qasm2", "name": None, "bindings": []}]
    envelope = harness.keys.seal_to_centre(legacy, wire.PROGRAMS_AAD)
    _as_stored_by_an_older_release(harness, job.id, [{"sealed": envelope}])

    assert harness.service.readmit_stored() == 1
    assert harness.service.readmit_stored() == 0

    (row,) = harness.stored()
    assert BELL not in str(row.programs)
    (stored,) = row.programs
    private = harness.keys.sealing_private_key(stored["sealed"]["key_id"])
    opened = sealing.open_envelope(private, stored["sealed"], wire.PROGRAMS_AAD)
    [program] = [ParsedProgram.from_json(body) for body in opened]
    assert program.circuit() == QuantumCircuit.from_qasm_str(BELL)


def test_jobs_stored_with_parsed_circuits_are_not_read_again(harness: Harness) -> None:
    register_user_key(harness)
    harness.submit(plain(BELL))
    harness.submit(sealed(harness, [BELL]))
    assert harness.service.readmit_stored() == 0


def test_queued_primitive_jobs_stored_without_parsed_circuits_are_parsed_again(
    harness: Harness,
) -> None:
    request = JobRequest("statevector", (), shots=100, kind="sampler", pubs=({"circuit": BELL},))
    job, _ = harness.submit(JobSubmission(request))
    (row,) = harness.stored()
    legacy = {
        "pubs": [
            {k: v for k, v in pub.items() if k != "circuit_qpy"} for pub in row.primitive["pubs"]
        ]
    }
    with harness.db.write() as conn:
        conn.execute(jobs_table.update().where(jobs_table.c.id == job.id).values(primitive=legacy))

    assert harness.service.readmit_stored() == 1
    assert harness.service.readmit_stored() == 0

    (row,) = harness.stored()
    [pub] = row.primitive["pubs"]
    assert load_circuit(pub["circuit_qpy"]) == QuantumCircuit.from_qasm_str(BELL)

"""Sessions and batches in the store: priority, closing, expiry (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses

import pytest

from qharbor import errors
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.jobs.sessions import SessionManager, SessionMode, SessionStatus
from qharbor.store import Database
from tests.programs import BELL_QASM3 as BELL
from tests.results import a_result
from tests.unit.jobs.test_manager import DEVICES, LEASE_S, Clock, Member, _member

MAX_TTL_S = 600.0
IDLE_TTL_S = 60.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def manager(db: Database, clock: Clock) -> JobManager:
    return JobManager(db, clock=clock)


@pytest.fixture
def sessions(db: Database, manager: JobManager, clock: Clock) -> SessionManager:
    return SessionManager(db, manager, max_ttl_s=MAX_TTL_S, idle_ttl_s=IDLE_TTL_S, clock=clock)


@pytest.fixture
def alice(db: Database) -> Member:
    return _member(db, "alice", "physics")


def submit(
    manager: JobManager,
    sessions: SessionManager,
    who: Member,
    session_id: str | None = None,
    device: str = "statevector",
) -> str:
    """Submit a Bell job the way the API does, in a session when one is named."""
    request = JobRequest(
        device=device, programs=(ProgramSpec(BELL),), shots=10, seed=1, session_id=session_id
    )
    prepared = prepare(request, DEVICES.get(device), max_program_bytes=100_000, max_experiments=100)
    if session_id is not None:
        session = sessions.admit(who.project_id, session_id, device)
        if session.mode is SessionMode.SESSION:
            prepared = dataclasses.replace(prepared, priority=1)
    job, _ = manager.create(who.project_id, who.user_id, prepared)
    return job.id


def status(manager: JobManager, who: Member, job_id: str) -> JobStatus:
    return manager.get(who.project_id, job_id).status


def test_session_jobs_are_claimed_before_older_ordinary_jobs(
    manager: JobManager, sessions: SessionManager, alice: Member
) -> None:
    ordinary = [submit(manager, sessions, alice) for _ in range(5)]
    session = sessions.create(alice.project_id, alice.user_id, "statevector")
    urgent = submit(manager, sessions, alice, session.id)
    assert manager.get(alice.project_id, urgent).queue_position == 0
    assert manager.get(alice.project_id, ordinary[0]).queue_position == 1
    first = manager.claim("a", LEASE_S, 1, {"statevector": 4})
    assert [c.job_id for c in first] == [urgent]
    rest = manager.claim("a", LEASE_S, 8, {"statevector": 8})
    assert [c.job_id for c in rest] == ordinary


def test_batch_jobs_keep_their_place_in_the_queue(
    manager: JobManager, sessions: SessionManager, alice: Member
) -> None:
    ordinary = submit(manager, sessions, alice)
    batch = sessions.create(alice.project_id, alice.user_id, "statevector", SessionMode.BATCH)
    grouped = submit(manager, sessions, alice, batch.id)
    claimed = manager.claim("a", LEASE_S, 8, {"statevector": 8})
    assert [c.job_id for c in claimed] == [ordinary, grouped]


def test_closing_a_session_fails_its_queued_jobs_with_session_closed(
    manager: JobManager, sessions: SessionManager, alice: Member
) -> None:
    session = sessions.create(alice.project_id, alice.user_id, "statevector")
    running = submit(manager, sessions, alice, session.id)
    manager.claim("a", LEASE_S, 1, {"statevector": 1})
    queued = [submit(manager, sessions, alice, session.id) for _ in range(2)]
    outsider = submit(manager, sessions, alice)
    closed = sessions.close(alice.project_id, session.id)
    assert closed.status is SessionStatus.CLOSED and closed.close_reason == "closed"
    for job_id in queued:
        job = manager.get(alice.project_id, job_id)
        assert job.status is JobStatus.FAILED
        assert job.error_code == "SESSION_CLOSED"
        assert "was closed" in (job.error_message or "")
    assert status(manager, alice, running) is JobStatus.RUNNING
    assert status(manager, alice, outsider) is JobStatus.QUEUED
    assert sessions.summary(closed)["FAILED"] == 2


def test_closing_a_batch_lets_its_queued_jobs_run(
    manager: JobManager, sessions: SessionManager, alice: Member
) -> None:
    batch = sessions.create(alice.project_id, alice.user_id, "statevector", SessionMode.BATCH)
    queued = submit(manager, sessions, alice, batch.id)
    sessions.close(alice.project_id, batch.id)
    assert status(manager, alice, queued) is JobStatus.QUEUED
    with pytest.raises(errors.SessionClosed):
        submit(manager, sessions, alice, batch.id)


def test_a_closed_session_refuses_new_jobs_and_closing_again_is_harmless(
    manager: JobManager, sessions: SessionManager, alice: Member
) -> None:
    session = sessions.create(alice.project_id, alice.user_id, "statevector")
    sessions.close(alice.project_id, session.id)
    again = sessions.close(alice.project_id, session.id)
    assert again.status is SessionStatus.CLOSED
    with pytest.raises(errors.SessionClosed) as caught:
        submit(manager, sessions, alice, session.id)
    assert caught.value.detail["reason"] == "closed"


def test_a_session_expires_at_its_maximum_lifetime_and_fails_queued_jobs(
    manager: JobManager, sessions: SessionManager, alice: Member, clock: Clock
) -> None:
    session = sessions.create(alice.project_id, alice.user_id, "statevector", max_ttl_s=100)
    queued = submit(manager, sessions, alice, session.id)
    clock.advance(99)
    assert sessions.expire_due() == []
    clock.advance(1)
    assert sessions.expire_due() == [session.id]
    expired = sessions.get(alice.project_id, session.id)
    assert expired.status is SessionStatus.EXPIRED and expired.close_reason == "max_ttl"
    job = manager.get(alice.project_id, queued)
    assert job.status is JobStatus.FAILED and job.error_code == "SESSION_CLOSED"
    assert "maximum lifetime" in (job.error_message or "")


def test_a_session_with_work_is_never_idle(
    manager: JobManager, sessions: SessionManager, alice: Member, clock: Clock
) -> None:
    session = sessions.create(alice.project_id, alice.user_id, "statevector", idle_ttl_s=10)
    job_id = submit(manager, sessions, alice, session.id)
    [claimed] = manager.claim("a", LEASE_S, 1, {"statevector": 1})
    clock.advance(30)
    assert sessions.expire_due() == []
    manager.complete(job_id, claimed.attempt, a_result(job_id))
    clock.advance(9)
    assert sessions.expire_due() == []  # idle time counts from the job's end
    clock.advance(1)
    assert sessions.expire_due() == [session.id]
    assert sessions.get(alice.project_id, session.id).close_reason == "idle"
    assert status(manager, alice, job_id) is JobStatus.DONE


def test_submitting_keeps_a_session_from_going_idle(
    manager: JobManager, sessions: SessionManager, alice: Member, clock: Clock
) -> None:
    session = sessions.create(alice.project_id, alice.user_id, "statevector", idle_ttl_s=10)
    clock.advance(8)
    job_id = submit(manager, sessions, alice, session.id)
    manager.cancel(alice.project_id, job_id)
    clock.advance(8)
    assert sessions.expire_due() == []
    clock.advance(2)
    assert sessions.expire_due() == [session.id]


def test_lifetimes_over_the_centre_limits_are_refused(
    sessions: SessionManager, alice: Member
) -> None:
    with pytest.raises(errors.InvalidRequest, match="max_ttl_s"):
        sessions.create(alice.project_id, alice.user_id, "statevector", max_ttl_s=MAX_TTL_S + 1)
    with pytest.raises(errors.InvalidRequest, match="idle_ttl_s"):
        sessions.create(alice.project_id, alice.user_id, "statevector", idle_ttl_s=IDLE_TTL_S * 2)
    session = sessions.create(alice.project_id, alice.user_id, "statevector")
    assert (session.max_ttl_s, session.idle_ttl_s) == (MAX_TTL_S, IDLE_TTL_S)


def test_sessions_are_private_to_their_project_and_bound_to_their_device(
    manager: JobManager, sessions: SessionManager, alice: Member, db: Database
) -> None:
    bob = _member(db, "bob", "chemistry")
    session = sessions.create(alice.project_id, alice.user_id, "statevector")
    with pytest.raises(errors.SessionNotFound):
        sessions.get(bob.project_id, session.id)
    with pytest.raises(errors.SessionNotFound):
        submit(manager, sessions, bob, session.id)
    with pytest.raises(errors.InvalidRequest, match="device"):
        submit(manager, sessions, alice, session.id, device="mps")
    assert [s.id for s in sessions.list(alice.project_id)] == [session.id]
    assert sessions.list(bob.project_id) == []


def test_jobs_list_by_session_and_creation_time(
    manager: JobManager, sessions: SessionManager, alice: Member, clock: Clock
) -> None:
    early = submit(manager, sessions, alice)
    clock.advance(60)
    middle = clock()
    session = sessions.create(alice.project_id, alice.user_id, "statevector")
    inside = submit(manager, sessions, alice, session.id)
    page, _ = manager.list(alice.project_id, session_id=session.id)
    assert [j.id for j in page] == [inside]
    page, _ = manager.list(alice.project_id, created_after=middle)
    assert [j.id for j in page] == [inside]
    page, _ = manager.list(alice.project_id, created_before=middle)
    assert [j.id for j in page] == [early]


def test_a_user_and_a_project_may_have_only_so_many_sessions_open(
    db: Database, manager: JobManager, clock: Clock, alice: Member
) -> None:
    capped = SessionManager(
        db,
        manager,
        max_ttl_s=MAX_TTL_S,
        idle_ttl_s=IDLE_TTL_S,
        max_open_per_project=3,
        max_open_per_user=2,
        clock=clock,
    )
    first = capped.create(alice.project_id, alice.user_id, "statevector")
    capped.create(alice.project_id, alice.user_id, "statevector", SessionMode.BATCH)
    with pytest.raises(errors.SessionLimit) as caught:
        capped.create(alice.project_id, alice.user_id, "statevector")
    assert caught.value.detail == {"limit": 2, "open": 2, "per": "user"}
    colleague = _member(db, "carol", "physics")
    capped.create(colleague.project_id, colleague.user_id, "statevector")
    with pytest.raises(errors.SessionLimit) as caught:
        capped.create(colleague.project_id, colleague.user_id, "statevector")
    assert caught.value.detail["per"] == "project"
    # Another project is not affected; closing or expiry frees a place.
    other = _member(db, "dave", "chemistry")
    capped.create(other.project_id, other.user_id, "statevector")
    capped.close(alice.project_id, first.id)
    capped.create(alice.project_id, alice.user_id, "statevector")
    clock.advance(IDLE_TTL_S + 1)
    capped.create(alice.project_id, alice.user_id, "statevector")

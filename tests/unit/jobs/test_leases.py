"""Leases: claiming queued jobs, the fenced answers of attempts, and recovering lost ones."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from qiskit import qasm3
from qiskit.quantum_info import Operator

from qharbor import errors
from qharbor.devices import catalogue
from qharbor.engines.memory import Workload
from qharbor.jobs import leases, policy
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.parsed import ParsedProgram
from qharbor.jobs.result import ExperimentResult
from qharbor.store import Database
from qharbor.store.tables import jobs
from tests.programs import BELL_QASM3 as BELL
from tests.programs import ghz
from tests.results import a_result
from tests.unit.jobs.test_manager import (
    DEVICES,
    LEASE_S,
    OWNER,
    Clock,
    Member,
    _member,
    claim,
    result_rows,
    row,
    submit,
)

# --- claiming -------------------------------------------------------------------------


def test_claim_takes_the_oldest_jobs_first(manager: JobManager, alice: Member, bob: Member) -> None:
    ids = []
    for who in (alice, bob, alice, bob):
        ids.append(submit(manager, who).id)
    claims = claim(manager, slots=3, statevector=8)
    assert [c.job_id for c in claims] == ids[:3]


def test_claim_never_exceeds_device_concurrency(manager: JobManager, alice: Member) -> None:
    ids = [submit(manager, alice).id for _ in range(5)]
    assert [c.job_id for c in claim(manager, slots=8, statevector=2)] == ids[:2]
    assert claim(manager, slots=8, statevector=2) == []
    assert claim(manager, slots=8, owner="another-scheduler", statevector=2) == []


def test_claim_takes_no_more_than_the_free_slots(manager: JobManager, alice: Member) -> None:
    ids = [submit(manager, alice).id for _ in range(3)]
    assert [c.job_id for c in claim(manager, slots=1)] == ids[:1]
    assert claim(manager, slots=0) == []


def test_claim_frees_a_place_when_a_job_finishes(manager: JobManager, alice: Member) -> None:
    ids = [submit(manager, alice).id for _ in range(3)]
    first, _second = claim(manager, statevector=2)
    assert manager.complete(first.job_id, first.attempt, a_result(first.job_id))
    assert [c.job_id for c in claim(manager, statevector=2)] == [ids[2]]


def need(width: int) -> int:
    """The memory a one-program job of ``width`` qubits needs on the statevector device."""
    return catalogue.memory_need(DEVICES.get("statevector"), [Workload(width)])


def test_claim_hands_over_the_memory_need_estimated_at_submission(
    manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice, source=ghz(18))
    [claimed] = claim(manager, memory_free=need(18))
    assert claimed.job_id == job.id
    # Qulacs may run it: its state and sampling buffer, 24 bytes per amplitude.
    assert claimed.memory_bytes == need(18) >= 24 * 2**18


def test_claim_leaves_a_job_queued_until_its_memory_fits(
    manager: JobManager, alice: Member, db: Database
) -> None:
    first, second = (submit(manager, alice, source=ghz(18)).id for _ in range(2))
    one = need(18)
    # Room for one and a half: the second waits, queued and unclaimed.
    assert [c.job_id for c in claim(manager, memory_free=one + one // 2)] == [first]
    assert row(db, second).status == "QUEUED"
    assert row(db, second).attempt == 0
    # What the running first job leaves is not enough either.
    assert claim(manager, memory_free=one // 2) == []
    assert [c.job_id for c in claim(manager, memory_free=one)] == [second]


def test_claim_keeps_a_large_jobs_turn_against_smaller_jobs_behind_it(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    large = submit(manager, alice, source=ghz(20)).id
    small = [submit(manager, bob, source=ghz(3)).id for _ in range(3)]
    # The small jobs would fit, but each would delay the large one further.
    assert claim(manager, memory_free=need(20) - 1) == []
    # Once it fits, the large job goes first; the small ones take what is left.
    got = claim(manager, memory_free=need(20) + 2 * need(3))
    assert [c.job_id for c in got] == [large, *small[:2]]


def test_a_job_that_could_never_fit_is_claimed_to_be_failed_and_holds_no_one_back(
    manager: JobManager, alice: Member
) -> None:
    # Queued when the host had more memory than it has now.
    huge = submit(manager, alice, source=ghz(20)).id
    small = submit(manager, alice, source=ghz(3)).id
    got = claim(manager, memory_free=need(3), memory_capacity=need(20) - 1)
    assert [c.job_id for c in got] == [huge, small]


def test_claim_without_a_memory_figure_ignores_memory(manager: JobManager, alice: Member) -> None:
    ids = [submit(manager, alice, source=ghz(20)).id for _ in range(2)]
    assert [c.job_id for c in claim(manager)] == ids


def test_claim_applies_concurrency_per_device(manager: JobManager, alice: Member) -> None:
    sv = [submit(manager, alice, "statevector").id for _ in range(3)]
    mps = [submit(manager, alice, "mps").id for _ in range(3)]
    claims = claim(manager, slots=8, statevector=1, mps=2)
    assert [c.job_id for c in claims] == [sv[0], mps[0], mps[1]]


def test_claim_ignores_devices_it_was_not_given(manager: JobManager, alice: Member) -> None:
    submit(manager, alice, "mps")
    assert claim(manager, statevector=2) == []
    assert manager.claim(OWNER, LEASE_S, 4, {}) == []


class Reversed:
    """A queue policy that serves the youngest project first and never ``skip``."""

    def __init__(self, skip: str) -> None:
        self.skip = skip
        self.seen: list[policy.Waiting] = []

    def turns(self, waiting: Sequence[policy.Waiting]) -> list[policy.Turn]:
        self.seen = list(waiting)
        return [
            policy.Turn(w.project_id, sessions_only=False)
            for w in sorted(waiting, key=lambda w: -w.oldest)
            if w.project_id != self.skip
        ]


def test_claim_serves_projects_in_the_order_its_policy_gives(
    db: Database, manager: JobManager, alice: Member, bob: Member
) -> None:
    carol = _member(db, "carol", "biology")
    first = [submit(manager, alice).id for _ in range(2)]
    second = [submit(manager, bob).id for _ in range(2)]
    submit(manager, carol)
    order = Reversed(skip=carol.project_id)
    claims = manager.claim(OWNER, LEASE_S, 8, {"statevector": 8}, order)
    assert [c.job_id for c in claims] == second + first
    assert {w.project_id for w in order.seen} == {
        alice.project_id,
        bob.project_id,
        carol.project_id,
    }


def test_claim_fills_free_slots_on_an_idle_device_behind_a_long_queue(
    manager: JobManager, alice: Member
) -> None:
    # A device with a long queue and one free place must not hide another
    # device's job from a claim that has slots to spare.
    for _ in range(20):
        submit(manager, alice, "statevector")
    waiting = submit(manager, alice, "mps")
    claims = claim(manager, slots=4, statevector=1, mps=1)
    assert waiting.id in [c.job_id for c in claims]
    assert len(claims) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_schedulers_claiming_at_once_never_exceed_device_concurrency(
    db: Database, database_url: str, alice: Member
) -> None:
    # Scheduler A is paused inside its claim, holding row locks on the oldest
    # candidates, while scheduler B (another centre process) claims.
    setup = JobManager(db)
    for _ in range(20):
        submit(setup, alice)
    other_db = Database(database_url)
    first, second = JobManager(db), JobManager(other_db)
    paused, resume = threading.Event(), threading.Event()

    def pause_after_candidates(_conn, _cursor, statement: str, *_args) -> None:
        if "ORDER BY jobs.priority DESC, jobs.seq" in statement and not paused.is_set():
            paused.set()
            resume.wait(10)

    sa.event.listen(db.engine, "after_cursor_execute", pause_after_candidates)
    claimed: dict[str, list] = {}
    a = threading.Thread(
        target=lambda: claimed.update(a=first.claim("a", LEASE_S, 4, {"statevector": 1}))
    )
    b = threading.Thread(
        target=lambda: claimed.update(b=second.claim("b", LEASE_S, 4, {"statevector": 1}))
    )
    a.start()
    try:
        assert paused.wait(10)
        b.start()
        b.join(2)  # a correct claim may make B wait for A; then A goes on below
    finally:
        resume.set()
        a.join(10)
        b.join(10)
        sa.event.remove(db.engine, "after_cursor_execute", pause_after_candidates)
        other_db.dispose()
    with db.read() as conn:
        running = conn.execute(
            sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == "RUNNING")
        ).scalar_one()
    assert len(claimed["a"]) + len(claimed["b"]) == running
    assert running == 1


def test_claim_hands_over_what_a_worker_needs(
    manager: JobManager, alice: Member, db: Database, clock: Clock
) -> None:
    job = submit(manager, alice, shots=77, seed=1234)
    clock.advance(3)
    [claimed] = claim(manager)
    assert (claimed.job_id, claimed.attempt, claimed.device) == (job.id, 1, "statevector")
    assert (claimed.shots, claimed.seed) == (77, 1234)
    [program] = [ParsedProgram.from_json(body) for body in claimed.programs]
    assert (program.source, program.format, program.name, program.bindings) == (
        BELL,
        "qasm3",
        None,
        (),
    )
    # The worker gets the circuit admission parsed, not text to parse again.
    assert Operator(program.circuit().remove_final_measurements(inplace=False)).equiv(
        Operator(qasm3.loads(BELL).remove_final_measurements(inplace=False))
    )
    stored = row(db, job.id)
    assert stored.status == "RUNNING"
    assert stored.lease_owner == OWNER
    assert stored.lease_expires_at == clock.now + dt.timedelta(seconds=LEASE_S)
    running = manager.get(alice.project_id, job.id)
    assert running.started_at == clock.now
    assert running.queue_position is None


def test_claim_announces_each_claimed_job(
    manager: JobManager, alice: Member, changes: list
) -> None:
    ids = [submit(manager, alice).id for _ in range(2)]
    changes.clear()
    claim(manager)
    assert changes == ids


def test_cancelled_job_is_never_claimed(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    manager.cancel(alice.project_id, job.id)
    assert claim(manager) == []


# --- completing --------------------------------------------------------------------------


def test_complete_stores_the_result_with_queue_timings(
    manager: JobManager, alice: Member, clock: Clock
) -> None:
    job = submit(manager, alice)
    clock.advance(5)
    [claimed] = claim(manager)
    clock.advance(2)
    row = ExperimentResult(0, None, None, {"00": 1}, 1, 7, 2, 2, 2, 0.25)
    data = a_result(claimed.job_id, run_s=0.5, experiments=(row,))
    assert manager.complete(claimed.job_id, claimed.attempt, data)
    done = manager.get(alice.project_id, job.id)
    assert done.status is JobStatus.DONE
    assert done.finished_at == clock.now
    stored = manager.result(alice.project_id, job.id)
    assert stored["experiments"] == [row.to_json()]
    assert stored["timings"] == {"compile_s": 0.0, "run_s": 0.5, "queued_s": 5.0, "total_s": 7.0}


def test_complete_with_a_stale_attempt_writes_nothing(
    manager: JobManager, alice: Member, db: Database
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    assert not manager.complete(job.id, claimed.attempt + 1, a_result(job.id))
    assert not manager.complete(job.id, claimed.attempt - 1, a_result(job.id))
    assert result_rows(db, job.id) == []
    assert manager.get(alice.project_id, job.id).status is JobStatus.RUNNING


def test_complete_of_a_queued_job_writes_nothing(
    manager: JobManager, alice: Member, db: Database
) -> None:
    job = submit(manager, alice)
    assert not manager.complete(job.id, 0, a_result(job.id))
    assert result_rows(db, job.id) == []


def test_second_complete_of_the_same_attempt_is_refused(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    assert manager.complete(job.id, claimed.attempt, a_result(job.id, run_s=1.0))
    assert not manager.complete(job.id, claimed.attempt, a_result(job.id, run_s=2.0))
    assert manager.result(alice.project_id, job.id)["timings"]["run_s"] == 1.0


def test_requeue_then_reclaim_increments_the_attempt(
    manager: JobManager, alice: Member, db: Database
) -> None:
    job = submit(manager, alice)
    [first] = claim(manager)
    assert manager.requeue(job.id, first.attempt)
    requeued = manager.get(alice.project_id, job.id)
    assert requeued.status is JobStatus.QUEUED
    assert row(db, job.id).lease_owner is None
    [second] = claim(manager)
    assert (first.attempt, second.attempt) == (1, 2)


def test_only_the_newest_attempt_can_complete(
    manager: JobManager, alice: Member, db: Database
) -> None:
    job = submit(manager, alice)
    [first] = claim(manager)
    manager.requeue(job.id, first.attempt)
    [second] = claim(manager)
    assert not manager.complete(job.id, first.attempt, a_result(job.id, attempt=first.attempt))
    assert not manager.finish_without_result(
        job.id, first.attempt, JobStatus.FAILED, "ENGINE_ERROR", "late failure"
    )
    assert not manager.requeue(job.id, first.attempt)
    assert manager.complete(job.id, second.attempt, a_result(job.id, attempt=second.attempt))
    [stored] = result_rows(db, job.id)
    assert stored.attempt == second.attempt
    assert manager.result(alice.project_id, job.id)["metadata"]["attempt"] == second.attempt


def test_requeued_job_keeps_its_place_by_age(manager: JobManager, alice: Member) -> None:
    older = submit(manager, alice)
    [claimed] = claim(manager, slots=1)
    newer = submit(manager, alice)
    manager.requeue(older.id, claimed.attempt)
    assert manager.get(alice.project_id, older.id).queue_position == 0
    assert manager.get(alice.project_id, newer.id).queue_position == 1
    assert [c.job_id for c in claim(manager, slots=1)] == [older.id]


def test_failure_is_recorded_with_its_code(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    assert manager.finish_without_result(
        job.id, claimed.attempt, JobStatus.FAILED, "PROGRAM_SYNTAX", "line 1"
    )
    failed = manager.get(alice.project_id, job.id)
    assert failed.status is JobStatus.FAILED
    assert (failed.error_code, failed.error_message) == ("PROGRAM_SYNTAX", "line 1")


# --- leases and recovery ---------------------------------------------------------------


def test_recover_requeues_jobs_whose_lease_expired(
    manager: JobManager, alice: Member, clock: Clock
) -> None:
    job = submit(manager, alice)
    claim(manager)
    clock.advance(LEASE_S + 1)
    assert manager.recover(max_attempts=3) == 1
    assert manager.get(alice.project_id, job.id).status is JobStatus.QUEUED
    [again] = claim(manager)
    assert again.attempt == 2


def test_recover_leaves_live_leases_alone(manager: JobManager, alice: Member, clock: Clock) -> None:
    job = submit(manager, alice)
    claim(manager)
    clock.advance(LEASE_S - 1)
    assert manager.recover(max_attempts=3) == 0
    assert manager.get(alice.project_id, job.id).status is JobStatus.RUNNING


def test_heartbeat_extends_this_owners_leases(
    manager: JobManager, alice: Member, clock: Clock
) -> None:
    mine = submit(manager, alice)
    theirs = submit(manager, alice)
    claim(manager, slots=1)
    claim(manager, slots=1, owner="scheduler-b")
    clock.advance(LEASE_S - 5)
    manager.heartbeat(OWNER, LEASE_S)
    clock.advance(10)
    assert manager.recover(max_attempts=3) == 1
    assert manager.get(alice.project_id, mine.id).status is JobStatus.RUNNING
    assert manager.get(alice.project_id, theirs.id).status is JobStatus.QUEUED


def test_recover_fails_a_job_with_worker_lost_after_max_attempts(
    manager: JobManager, alice: Member, clock: Clock
) -> None:
    job = submit(manager, alice)
    for attempt in (1, 2):
        [claimed] = claim(manager)
        assert claimed.attempt == attempt
        clock.advance(LEASE_S + 1)
        manager.recover(max_attempts=2)
    lost = manager.get(alice.project_id, job.id)
    assert lost.status is JobStatus.FAILED
    assert lost.error_code == "WORKER_LOST"
    assert lost.attempt == 2
    with pytest.raises(errors.JobFailed):
        manager.result(alice.project_id, job.id)


def test_recover_ends_an_expired_job_whose_cancel_was_requested(
    manager: JobManager, alice: Member, clock: Clock
) -> None:
    job = submit(manager, alice)
    claim(manager)
    manager.cancel(alice.project_id, job.id)
    clock.advance(LEASE_S + 1)
    manager.recover(max_attempts=3)
    assert manager.get(alice.project_id, job.id).status is JobStatus.CANCELLED


def test_recover_all_but_owner_takes_over_other_owners_jobs(
    manager: JobManager, alice: Member
) -> None:
    mine = submit(manager, alice)
    theirs = submit(manager, alice)
    claim(manager, slots=1, owner="me")
    claim(manager, slots=1, owner="previous-centre")
    assert manager.recover(max_attempts=3, all_but_owner="me") == 1
    assert manager.get(alice.project_id, mine.id).status is JobStatus.RUNNING
    assert manager.get(alice.project_id, theirs.id).status is JobStatus.QUEUED


def test_a_lease_names_the_centre_process_that_holds_it(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    owner = leases.centre_owner()
    claim(manager, owner=owner)
    stored = row(manager.db, job.id).lease_owner
    assert stored == owner
    assert leases.owner_process(stored) == (socket.gethostname()[:32], os.getpid())
    # A centre started again in the same process is a new owner all the same.
    assert leases.centre_owner() != owner
    assert leases.owner_process("0123abcd") is None


def test_a_dead_centres_claims_go_to_the_survivor_and_its_late_answer_is_fenced(
    manager: JobManager, alice: Member, clock: Clock
) -> None:
    dead, survivor = leases.centre_owner(), leases.centre_owner()
    job = submit(manager, alice)
    [lost] = claim(manager, owner=dead)
    clock.advance(LEASE_S - 1)
    manager.heartbeat(survivor, LEASE_S)  # the survivor lives on; the dead one is silent
    assert manager.recover(max_attempts=3) == 0
    clock.advance(2)
    assert manager.recover(max_attempts=3) == 1
    [taken] = claim(manager, owner=survivor)
    assert (taken.job_id, taken.attempt) == (job.id, 2)
    assert row(manager.db, job.id).lease_owner == survivor
    # The dead centre's work, if any of it still answers, stores nothing.
    assert not manager.complete(lost.job_id, lost.attempt, a_result(job.id))
    assert not manager.record_progress(lost.job_id, lost.attempt, 1, 1)
    assert manager.complete(taken.job_id, taken.attempt, a_result(job.id))
    assert [r.attempt for r in result_rows(manager.db, job.id)] == [2]

"""The job manager: every state change of a job, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.devices import catalogue, default_catalogue
from qharbor.engines.memory import Workload
from qharbor.jobs.job import Job, JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.queries import encode_cursor
from qharbor.jobs.request import JobRequest, ProgramSpec, prepare
from qharbor.security.identity import Identity
from qharbor.store import Database
from qharbor.store.tables import jobs, results
from tests.programs import BELL_QASM3 as BELL
from tests.programs import ghz

DEVICES = default_catalogue()
OWNER = "scheduler-a"
LEASE_S = 30.0


class Clock:
    """A UTC clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Member:
    user_id: str
    project_id: str


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[str]:
    return []


@pytest.fixture
def manager(db: Database, clock: Clock, changes: list[str]) -> JobManager:
    return JobManager(db, on_change=changes.append, clock=clock)


def _member(db: Database, name: str, project: str) -> Member:
    identity = Identity(db)
    user_id, token = identity.create_user(name, project)
    return Member(user_id, identity.authenticate(token).project_id)


@pytest.fixture
def alice(db: Database) -> Member:
    return _member(db, "alice", "physics")


@pytest.fixture
def bob(db: Database) -> Member:
    return _member(db, "bob", "chemistry")


def request(
    device: str = "statevector",
    *,
    source: str = BELL,
    shots: int = 100,
    seed: int | None = 5,
    tags: tuple[str, ...] = (),
    key: str | None = None,
) -> JobRequest:
    return JobRequest(
        device=device,
        programs=(ProgramSpec(source),),
        shots=shots,
        seed=seed,
        tags=tags,
        idempotency_key=key,
    )


def submit(manager: JobManager, who: Member, device: str = "statevector", **kwargs) -> Job:
    job, replayed = create(manager, who, request(device, **kwargs))
    assert not replayed
    return job


def create(manager: JobManager, who: Member, job_request: JobRequest) -> tuple[Job, bool]:
    prepared = prepare(
        job_request,
        DEVICES.get(job_request.device),
        max_program_bytes=100_000,
        max_experiments=100,
    )
    return manager.create(who.project_id, who.user_id, prepared)


def row(db: Database, job_id: str):
    with db.read() as conn:
        return conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()


def result_rows(db: Database, job_id: str) -> list:
    with db.read() as conn:
        return conn.execute(sa.select(results).where(results.c.job_id == job_id)).all()


def claim(
    manager: JobManager,
    slots: int = 8,
    owner: str = OWNER,
    memory_free: int | None = None,
    memory_capacity: int | None = None,
    **concurrency: int,
):
    limits = {name.replace("_", "-"): n for name, n in concurrency.items()} or {"statevector": 8}
    return manager.claim(
        owner,
        LEASE_S,
        slots,
        limits,
        memory_free=memory_free,
        memory_capacity=memory_capacity,
    )


# --- create and read ------------------------------------------------------------


def test_create_stores_a_queued_job(manager: JobManager, alice: Member, clock: Clock) -> None:
    job, replayed = create(manager, alice, request(shots=123, seed=9, tags=("a", "b")))
    assert not replayed
    assert job.status is JobStatus.QUEUED
    assert (job.device, job.shots, job.seed, job.tags) == ("statevector", 123, 9, ("a", "b"))
    assert (job.num_programs, job.num_experiments, job.attempt) == (1, 1, 0)
    assert job.project == "physics"
    assert job.project_id == alice.project_id
    assert job.user_id == alice.user_id
    assert job.created_at == clock.now
    assert job.started_at is None and job.finished_at is None
    assert job.error_code is None and not job.cancel_requested
    assert manager.get(alice.project_id, job.id) == job


def test_create_announces_the_change(manager: JobManager, alice: Member, changes: list) -> None:
    job = submit(manager, alice)
    assert changes == [job.id]


def test_get_of_an_unknown_job_is_job_not_found(manager: JobManager, alice: Member) -> None:
    with pytest.raises(errors.JobNotFound) as caught:
        manager.get(alice.project_id, "0" * 32)
    assert caught.value.code == "JOB_NOT_FOUND"


def test_another_projects_job_is_job_not_found(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    job = submit(manager, alice)
    with pytest.raises(errors.JobNotFound):
        manager.get(bob.project_id, job.id)
    with pytest.raises(errors.JobNotFound):
        manager.cancel(bob.project_id, job.id)
    with pytest.raises(errors.JobNotFound):
        manager.result(bob.project_id, job.id)
    assert manager.get(alice.project_id, job.id).status is JobStatus.QUEUED


# --- idempotency ------------------------------------------------------------------


def test_idempotent_replay_returns_the_same_job(manager: JobManager, alice: Member) -> None:
    first, replayed_first = create(manager, alice, request(key="k1", seed=None))
    again, replayed_again = create(manager, alice, request(key="k1", seed=None))
    assert (replayed_first, replayed_again) == (False, True)
    assert again.id == first.id
    assert again.seed == first.seed
    assert len(manager.list(alice.project_id)[0]) == 1


def test_same_key_with_a_different_body_is_an_idempotency_conflict(
    manager: JobManager, alice: Member
) -> None:
    first, _ = create(manager, alice, request(key="k1", shots=100))
    with pytest.raises(errors.IdempotencyConflict) as caught:
        create(manager, alice, request(key="k1", shots=200))
    assert caught.value.code == "IDEMPOTENCY_CONFLICT"
    assert caught.value.detail["job_id"] == first.id
    assert len(manager.list(alice.project_id)[0]) == 1


def test_idempotency_keys_belong_to_one_project(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    mine, _ = create(manager, alice, request(key="shared"))
    theirs, replayed = create(manager, bob, request(key="shared"))
    assert not replayed
    assert theirs.id != mine.id


def test_jobs_without_a_key_are_never_replays(manager: JobManager, alice: Member) -> None:
    first = submit(manager, alice)
    second = submit(manager, alice)
    assert first.id != second.id


def test_key_taken_by_a_concurrent_request_is_answered_as_a_replay(
    manager: JobManager, alice: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other request inserts between this one's lookup and its insert.
    first, _ = create(manager, alice, request(key="race"))
    real_by_key = manager._by_key
    lookups: list[str] = []

    def late_lookup(project_id: str, key: str):
        lookups.append(key)
        return None if len(lookups) == 1 else real_by_key(project_id, key)

    monkeypatch.setattr(manager, "_by_key", late_lookup)
    again, replayed = create(manager, alice, request(key="race"))
    assert replayed
    assert again.id == first.id
    with pytest.raises(errors.IdempotencyConflict):
        lookups.clear()
        create(manager, alice, request(key="race", shots=7))


# --- listing ------------------------------------------------------------------------


def test_list_shows_the_projects_jobs_newest_first(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    ids = [submit(manager, alice).id for _ in range(3)]
    submit(manager, bob)
    page, cursor = manager.list(alice.project_id)
    assert [j.id for j in page] == ids[::-1]
    assert cursor is None


def test_list_filters_by_status(manager: JobManager, alice: Member) -> None:
    queued = submit(manager, alice)
    cancelled = submit(manager, alice)
    manager.cancel(alice.project_id, cancelled.id)
    assert [j.id for j in manager.list(alice.project_id, status=JobStatus.QUEUED)[0]] == [queued.id]
    assert [j.id for j in manager.list(alice.project_id, status=JobStatus.CANCELLED)[0]] == [
        cancelled.id
    ]
    assert manager.list(alice.project_id, status=JobStatus.DONE)[0] == []


def test_list_filters_by_device(manager: JobManager, alice: Member) -> None:
    on_mps = submit(manager, alice, "mps")
    submit(manager, alice, "statevector")
    assert [j.id for j in manager.list(alice.project_id, device="mps")[0]] == [on_mps.id]


def test_list_filters_by_tag(manager: JobManager, alice: Member) -> None:
    tagged = submit(manager, alice, tags=("sweep", "night", "sweep"))
    submit(manager, alice, tags=("night",))
    submit(manager, alice)
    assert [j.id for j in manager.list(alice.project_id, tag="sweep")[0]] == [tagged.id]
    assert len(manager.list(alice.project_id, tag="night")[0]) == 2
    assert manager.list(alice.project_id, tag="absent")[0] == []


def test_list_combines_filters(manager: JobManager, alice: Member) -> None:
    wanted = submit(manager, alice, "mps", tags=("x",))
    submit(manager, alice, "statevector", tags=("x",))
    submit(manager, alice, "mps")
    page, _ = manager.list(alice.project_id, device="mps", tag="x", status=JobStatus.QUEUED)
    assert [j.id for j in page] == [wanted.id]


def test_cursor_pages_have_no_duplicates_and_no_gaps(manager: JobManager, alice: Member) -> None:
    ids = [submit(manager, alice).id for _ in range(7)]
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page, cursor = manager.list(alice.project_id, limit=3, cursor=cursor)
        seen.extend(j.id for j in page)
        sizes.append(len(page))
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert seen == ids[::-1]


def test_exactly_full_last_page_has_no_next_cursor(manager: JobManager, alice: Member) -> None:
    for _ in range(4):
        submit(manager, alice)
    first, cursor = manager.list(alice.project_id, limit=2)
    second, cursor = manager.list(alice.project_id, limit=2, cursor=cursor)
    assert len(first) == len(second) == 2
    assert cursor is None


def test_jobs_created_while_paging_do_not_shift_the_pages(
    manager: JobManager, alice: Member
) -> None:
    old = [submit(manager, alice).id for _ in range(4)]
    first, cursor = manager.list(alice.project_id, limit=2)
    submit(manager, alice)
    second, cursor = manager.list(alice.project_id, limit=2, cursor=cursor)
    assert [j.id for j in first + second] == old[::-1]
    assert cursor is None


def test_pagination_respects_filters(manager: JobManager, alice: Member) -> None:
    tagged = []
    for index in range(5):
        tagged.append(submit(manager, alice, tags=("t",)).id)
        if index % 2:
            submit(manager, alice)
    page, cursor = manager.list(alice.project_id, tag="t", limit=3)
    rest, end = manager.list(alice.project_id, tag="t", limit=3, cursor=cursor)
    assert [j.id for j in page + rest] == tagged[::-1]
    assert end is None


@pytest.mark.parametrize(
    "cursor",
    ["", "not a cursor!", "czEyYWI", encode_cursor(5).replace("c", "x", 1), "%%%"],
)
def test_bad_cursor_is_an_invalid_request(manager: JobManager, alice: Member, cursor: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        manager.list(alice.project_id, cursor=cursor)
    assert caught.value.code == "INVALID_REQUEST"
    assert caught.value.detail == {"field": "cursor"}


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
    assert manager.complete(first.job_id, first.attempt, {"experiments": []})
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
    assert claimed.programs == [{"source": BELL, "format": "qasm3", "name": None, "bindings": []}]
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
    data = {"experiments": [{"counts": {"00": 1}}], "timings": {"run_s": 0.5}}
    assert manager.complete(claimed.job_id, claimed.attempt, data)
    done = manager.get(alice.project_id, job.id)
    assert done.status is JobStatus.DONE
    assert done.finished_at == clock.now
    stored = manager.result(alice.project_id, job.id)
    assert stored["experiments"] == data["experiments"]
    assert stored["timings"] == {"run_s": 0.5, "queued_s": 5.0, "total_s": 7.0}


def test_complete_with_a_stale_attempt_writes_nothing(
    manager: JobManager, alice: Member, db: Database
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    assert not manager.complete(job.id, claimed.attempt + 1, {"experiments": []})
    assert not manager.complete(job.id, claimed.attempt - 1, {"experiments": []})
    assert result_rows(db, job.id) == []
    assert manager.get(alice.project_id, job.id).status is JobStatus.RUNNING


def test_complete_of_a_queued_job_writes_nothing(
    manager: JobManager, alice: Member, db: Database
) -> None:
    job = submit(manager, alice)
    assert not manager.complete(job.id, 0, {"experiments": []})
    assert result_rows(db, job.id) == []


def test_second_complete_of_the_same_attempt_is_refused(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    assert manager.complete(job.id, claimed.attempt, {"experiments": [1]})
    assert not manager.complete(job.id, claimed.attempt, {"experiments": [2]})
    assert manager.result(alice.project_id, job.id)["experiments"] == [1]


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
    assert not manager.complete(job.id, first.attempt, {"from": "old"})
    assert not manager.finish_without_result(
        job.id, first.attempt, JobStatus.FAILED, "ENGINE_ERROR", "late failure"
    )
    assert not manager.requeue(job.id, first.attempt)
    assert manager.complete(job.id, second.attempt, {"from": "new"})
    [stored] = result_rows(db, job.id)
    assert stored.attempt == second.attempt
    assert manager.result(alice.project_id, job.id)["from"] == "new"


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


# --- cancelling --------------------------------------------------------------------------


def test_cancel_of_a_queued_job_cancels_it_at_once(
    manager: JobManager, alice: Member, clock: Clock, changes: list
) -> None:
    job = submit(manager, alice)
    changes.clear()
    cancelled = manager.cancel(alice.project_id, job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at == clock.now
    assert changes == [job.id]


def test_cancel_of_a_running_job_asks_for_it_to_stop(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    other = submit(manager, alice)
    claim(manager)
    assert manager.cancel_requests([job.id, other.id]) == set()
    running = manager.cancel(alice.project_id, job.id)
    assert running.status is JobStatus.RUNNING
    assert running.cancel_requested
    assert manager.cancel_requests([job.id, other.id]) == {job.id}
    assert manager.cancel_requests([]) == set()


def test_requested_cancel_ends_the_running_attempt_as_cancelled(
    manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    manager.cancel(alice.project_id, job.id)
    assert manager.finish_without_result(job.id, claimed.attempt, JobStatus.CANCELLED, None, None)
    assert manager.get(alice.project_id, job.id).status is JobStatus.CANCELLED


@pytest.mark.parametrize("final", [JobStatus.DONE, JobStatus.FAILED])
def test_cancel_of_a_finished_job_is_already_final(
    manager: JobManager, alice: Member, final: JobStatus
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    if final is JobStatus.DONE:
        manager.complete(job.id, claimed.attempt, {"experiments": []})
    else:
        manager.finish_without_result(job.id, claimed.attempt, final, "ENGINE_ERROR", "boom")
    with pytest.raises(errors.JobAlreadyFinal) as caught:
        manager.cancel(alice.project_id, job.id)
    assert caught.value.code == "JOB_ALREADY_FINAL"
    assert caught.value.detail["status"] == str(final)
    assert manager.get(alice.project_id, job.id).status is final


def test_cancel_of_a_cancelled_job_changes_nothing(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    first = manager.cancel(alice.project_id, job.id)
    again = manager.cancel(alice.project_id, job.id)
    assert again == first


# --- results ---------------------------------------------------------------------------


def test_result_of_a_failed_job_is_job_failed_with_its_error(
    manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    manager.finish_without_result(job.id, claimed.attempt, JobStatus.FAILED, "ENGINE_ERROR", "x")
    with pytest.raises(errors.JobFailed) as caught:
        manager.result(alice.project_id, job.id)
    assert caught.value.detail["job_error"] == {"code": "ENGINE_ERROR", "message": "x"}


def test_result_of_a_cancelled_job_is_job_cancelled(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    manager.cancel(alice.project_id, job.id)
    with pytest.raises(errors.JobCancelled):
        manager.result(alice.project_id, job.id)


@pytest.mark.parametrize("running", [False, True], ids=["queued", "running"])
def test_result_of_an_unfinished_job_is_job_not_finished(
    manager: JobManager, alice: Member, running: bool
) -> None:
    job = submit(manager, alice)
    if running:
        claim(manager)
    with pytest.raises(errors.JobNotFinished) as caught:
        manager.result(alice.project_id, job.id)
    assert caught.value.detail["status"] == ("RUNNING" if running else "QUEUED")


# --- queue position and lengths ------------------------------------------------------------


def test_queue_position_counts_older_queued_jobs_on_the_same_device(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    first = submit(manager, alice)
    second = submit(manager, bob)
    on_mps = submit(manager, alice, "mps")
    third = submit(manager, alice)
    assert [manager.get(alice.project_id, j.id).queue_position for j in (first, third)] == [0, 2]
    assert manager.get(bob.project_id, second.id).queue_position == 1
    assert manager.get(alice.project_id, on_mps.id).queue_position == 0
    claim(manager, slots=1)
    assert manager.get(alice.project_id, third.id).queue_position == 1
    manager.cancel(bob.project_id, second.id)
    assert manager.get(alice.project_id, third.id).queue_position == 0


def test_queue_lengths_count_queued_and_running_per_device(
    manager: JobManager, alice: Member
) -> None:
    for _ in range(3):
        submit(manager, alice)
    submit(manager, alice, "mps")
    done = submit(manager, alice, "stabilizer")
    claim(manager, slots=1)
    [claimed] = claim(manager, stabilizer=1)
    manager.complete(done.id, claimed.attempt, {})
    assert manager.queue_lengths() == {
        "statevector": {"queued": 2, "running": 1},
        "mps": {"queued": 1, "running": 0},
    }

"""The local process pool: tasks run in worker processes that can be ended."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.executors.base import Outcome, OutcomeKind
from qharbor.executors.local import LocalExecutor
from qharbor.executors.ray_chunks import MIN_CHUNK_RUNS
from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Result
from tests.programs import BELL_QASM3 as BELL
from tests.programs import stored

SIZE = 2
DEADLINE_S = 60.0  # generous: only a broken pool ever waits this long
#: The pool's memory, in bytes: room for one task of NEED, not two.
CAPACITY = 1000
NEED = 600

STATEVECTOR = default_catalogue().get("statevector")

# Never ends: the qubit is reset before every measurement, so c stays false.
FOREVER = """OPENQASM 3.0;
include "stdgates.inc";
qubit q;
bit c;
c = measure q;
while (c == false) { reset q; c = measure q; }
"""


def make_task(job_id: str, source: str | dict, attempt: int = 1, memory_bytes: int = 0) -> Claim:
    """A claim of one program: text is admitted first, a dict is taken as the row holds it."""
    return Claim(
        job_id=job_id,
        attempt=attempt,
        device=STATEVECTOR.name,
        target=STATEVECTOR,
        shots=100,
        seed=1,
        programs=[stored(source) if isinstance(source, str) else source],
        memory_bytes=memory_bytes,
    )


def poll_until(executor: LocalExecutor, done: Callable[[list[Outcome]], bool]) -> list[Outcome]:
    """Poll, gathering outcomes, until ``done`` holds for them."""
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + DEADLINE_S
    while not done(outcomes):
        if time.monotonic() > deadline:
            raise AssertionError(f"the pool did not get there; outcomes so far: {outcomes}")
        outcomes.extend(executor.poll(0.2))
    return outcomes


def outcomes_of(executor: LocalExecutor, *job_ids: str) -> dict[str, Outcome]:
    """The outcome of each job, by id, polling until all have arrived."""
    outcomes = poll_until(executor, lambda got: set(job_ids) <= {o.job_id for o in got})
    by_job = {o.job_id: o for o in outcomes}
    assert len(outcomes) == len(by_job) == len(job_ids), outcomes
    return by_job


def outcome_of(executor: LocalExecutor, job_id: str) -> Outcome:
    return outcomes_of(executor, job_id)[job_id]


def wait_all_ready(executor: LocalExecutor, size: int = SIZE) -> None:
    poll_until(executor, lambda _got: executor.free_slots() == size)


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalExecutor]:
    executor = LocalExecutor(SIZE, memory_bytes=CAPACITY)
    try:
        yield executor
    finally:
        executor.close()


@pytest.fixture
def executor(pool: LocalExecutor) -> Iterator[LocalExecutor]:
    """The shared pool, idle and with every worker ready before and after the test."""
    wait_all_ready(pool)
    assert pool.running() == {}
    assert pool.free_memory() == CAPACITY
    yield pool
    for job_id in list(pool.running()):
        pool.cancel(job_id)
    wait_all_ready(pool)


def test_a_task_runs_and_returns_done(executor: LocalExecutor) -> None:
    executor.submit(make_task("bell", BELL, attempt=3))
    outcome = outcome_of(executor, "bell")
    assert outcome.kind is OutcomeKind.DONE
    assert outcome.attempt == 3
    assert outcome.result is not None
    assert isinstance(outcome.result, Result)
    assert outcome.result.job_id == "bell"
    assert set(outcome.result.experiments[0].counts) <= {"00", "11"}


def test_a_tiny_claim_run_in_process_ends_as_a_workers_would(executor: LocalExecutor) -> None:
    executor.submit(make_task("worker", BELL))
    by_worker = outcome_of(executor, "worker")
    inline = LocalExecutor(1, inline_max_s=1e-3)
    try:
        assert inline.inline.wait_loaded(60)
        inline.submit(make_task("worker", BELL))
        assert inline.running() == {}
        by_centre = inline.poll(0)
    finally:
        inline.close()
    assert [o.kind for o in by_centre] == [OutcomeKind.DONE]
    assert isinstance(by_worker.result, Result) and isinstance(by_centre[0].result, Result)
    # The same value, counts included (same engine, same seed), but for the times measured.
    worker, centre = by_worker.result.to_json(), by_centre[0].result.to_json()
    for data in (worker, centre):
        data.pop("timings")
        data["metadata"].pop("selection_s")
        for experiment in data["experiments"]:
            experiment.pop("run_s")
    assert centre == worker


def test_a_program_error_returns_failed_with_its_code(executor: LocalExecutor) -> None:
    damaged = {**stored(BELL), "circuit_gates": "bm90IHFweQ=="}
    executor.submit(make_task("bad", damaged))
    outcome = outcome_of(executor, "bad")
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.code == errors.ExecutionError.code
    assert outcome.message is not None and "cannot be read" in outcome.message
    assert outcome.result is None


def test_running_lists_each_task_in_progress_with_its_attempt(executor: LocalExecutor) -> None:
    executor.submit(make_task("long", FOREVER, attempt=4))
    assert executor.running() == {"long": 4}
    assert executor.free_slots() == SIZE - 1


def test_submit_without_a_free_worker_is_refused(executor: LocalExecutor) -> None:
    for index in range(SIZE):
        executor.submit(make_task(f"long-{index}", FOREVER))
    assert executor.free_slots() == 0
    with pytest.raises(RuntimeError, match="no free worker"):
        executor.submit(make_task("one-too-many", BELL))


def test_cancel_of_a_long_running_task_returns_cancelled(executor: LocalExecutor) -> None:
    executor.submit(make_task("long", FOREVER, attempt=2))
    [slot] = [s for s in executor._slots if s.claim is not None]
    outcome = executor.cancel("long")
    assert outcome is not None
    assert (outcome.kind, outcome.job_id, outcome.attempt) == (OutcomeKind.CANCELLED, "long", 2)
    assert slot.process.poll() is not None  # the worker is gone, not just told
    assert executor.running() == {}


def test_replacement_worker_runs_a_new_task_after_a_cancel(executor: LocalExecutor) -> None:
    executor.submit(make_task("long", FOREVER))
    executor.cancel("long")
    wait_all_ready(executor)
    executor.submit(make_task("after", BELL))
    executor.submit(make_task("after-2", BELL))
    outcomes = outcomes_of(executor, "after", "after-2")
    assert [o.kind for o in outcomes.values()] == [OutcomeKind.DONE, OutcomeKind.DONE]


def batch_task(job_id: str, programs: list[dict]) -> Claim:
    return Claim(
        job_id=job_id,
        attempt=1,
        device=STATEVECTOR.name,
        target=STATEVECTOR,
        shots=100,
        seed=7,
        programs=programs,
    )


def random_programs(count: int) -> list[dict]:
    """``count`` different 3-qubit OpenQASM 2 programs as a job row holds them."""
    rng = random.Random(3)
    programs = []
    for _ in range(count):
        gates = [
            f"u3({rng.uniform(0, 3):.4f},{rng.uniform(0, 3):.4f},0.1) q[{q}];" for q in (0, 1, 2)
        ]
        programs.append(
            stored(
                'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
                + "\n".join(gates)
                + "\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n"
            )
        )
    return programs


def test_a_batch_split_over_idle_workers_gives_the_result_of_one_worker(
    executor: LocalExecutor,
) -> None:
    programs = random_programs(2 * MIN_CHUNK_RUNS + 5)
    executor.submit(batch_task("whole", programs))
    whole = outcome_of(executor, "whole").result
    executor.submit(batch_task("split", programs), slots=SIZE)
    assert executor.free_slots() == 0  # every chunk has its worker
    outcome = outcome_of(executor, "split")
    assert outcome.kind is OutcomeKind.DONE
    split = outcome.result
    assert isinstance(whole, Result) and isinstance(split, Result)
    assert split.job_id == "split"
    assert split.metadata.extra["chunks"] == SIZE
    assert [e.to_json() | {"run_s": 0} for e in split.experiments] == [
        e.to_json() | {"run_s": 0} for e in whole.experiments
    ]


def test_cancel_of_a_split_job_ends_all_its_workers_with_one_outcome(
    executor: LocalExecutor,
) -> None:
    executor.submit(batch_task("long", [stored(FOREVER)] * (2 * MIN_CHUNK_RUNS)), slots=SIZE)
    processes = [s.process for s in executor._slots if s.claim is not None]
    assert len(processes) == SIZE
    outcome = executor.cancel("long")
    assert outcome is not None and outcome.kind is OutcomeKind.CANCELLED
    assert all(p.poll() is not None for p in processes)
    assert executor.running() == {}
    assert executor.poll(0.1) == []


def test_a_lost_chunk_worker_loses_the_split_job_once_and_ends_the_others(
    executor: LocalExecutor,
) -> None:
    executor.submit(batch_task("doomed", [stored(FOREVER)] * (2 * MIN_CHUNK_RUNS)), slots=SIZE)
    first, second = [s for s in executor._slots if s.claim is not None]
    os.kill(first.process.pid, signal.SIGKILL)
    outcome = outcome_of(executor, "doomed")
    assert (outcome.kind, outcome.job_id) == (OutcomeKind.LOST, "doomed")
    assert second.process.wait(timeout=DEADLINE_S) is not None
    assert executor.running() == {}


def test_a_failing_chunk_fails_the_split_job_once_and_frees_its_workers(
    executor: LocalExecutor,
) -> None:
    damaged = {**stored(BELL), "circuit_gates": "bm90IHFweQ=="}
    programs = [stored(FOREVER)] * MIN_CHUNK_RUNS + [damaged] * MIN_CHUNK_RUNS
    executor.submit(batch_task("bad", programs), slots=SIZE)
    outcome = outcome_of(executor, "bad")
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.code == errors.ExecutionError.code
    assert executor.running() == {}


def test_memory_is_held_while_a_task_runs_and_returned_when_it_is_done(
    executor: LocalExecutor,
) -> None:
    executor.submit(make_task("bell", BELL, memory_bytes=NEED))
    assert executor.free_memory() == CAPACITY - NEED
    assert outcome_of(executor, "bell").kind is OutcomeKind.DONE
    assert executor.free_memory() == CAPACITY


def test_memory_is_returned_when_a_task_fails(executor: LocalExecutor) -> None:
    damaged = {**stored(BELL), "circuit_gates": "bm90IHFweQ=="}
    executor.submit(make_task("bad", damaged, memory_bytes=NEED))
    assert outcome_of(executor, "bad").kind is OutcomeKind.FAILED
    assert executor.free_memory() == CAPACITY


def test_memory_is_returned_when_a_task_is_cancelled(executor: LocalExecutor) -> None:
    executor.submit(make_task("long", FOREVER, memory_bytes=NEED))
    assert executor.free_memory() == CAPACITY - NEED
    outcome = executor.cancel("long")
    assert outcome is not None and outcome.kind is OutcomeKind.CANCELLED
    assert executor.free_memory() == CAPACITY


def test_memory_is_returned_when_a_worker_dies(executor: LocalExecutor) -> None:
    executor.submit(make_task("doomed", FOREVER, memory_bytes=NEED))
    [slot] = [s for s in executor._slots if s.claim is not None]
    os.kill(slot.process.pid, signal.SIGKILL)
    assert outcome_of(executor, "doomed").kind is OutcomeKind.LOST
    assert executor.free_memory() == CAPACITY


def test_a_task_whose_memory_is_not_free_is_refused_and_no_worker_taken(
    executor: LocalExecutor,
) -> None:
    executor.submit(make_task("long", FOREVER, memory_bytes=NEED))
    with pytest.raises(RuntimeError, match="free_memory"):
        executor.submit(make_task("second", BELL, memory_bytes=NEED))
    assert executor.running() == {"long": 1}
    assert executor.free_slots() == SIZE - 1


def test_cancel_of_a_job_not_running_returns_none(executor: LocalExecutor) -> None:
    assert executor.cancel("never-submitted") is None


def test_killed_worker_yields_lost_for_its_job_and_attempt(executor: LocalExecutor) -> None:
    executor.submit(make_task("doomed", FOREVER, attempt=5))
    [slot] = [s for s in executor._slots if s.claim is not None]
    os.kill(slot.process.pid, signal.SIGKILL)
    outcome = outcome_of(executor, "doomed")
    assert (outcome.kind, outcome.job_id, outcome.attempt) == (OutcomeKind.LOST, "doomed", 5)
    assert executor.running() == {}
    wait_all_ready(executor)
    assert slot not in executor._slots


def test_killed_idle_worker_is_replaced_without_an_outcome(executor: LocalExecutor) -> None:
    victim = executor._slots[0]
    os.kill(victim.process.pid, signal.SIGKILL)
    outcomes = poll_until(executor, lambda _got: victim not in executor._slots)
    assert outcomes == []
    wait_all_ready(executor)


@pytest.mark.timeout(30)
def test_wake_makes_a_waiting_poll_return(executor: LocalExecutor) -> None:
    executor.wake()
    assert executor.poll(600) == []


def test_close_leaves_no_worker_process_alive() -> None:
    executor = LocalExecutor(2)
    wait_all_ready(executor, 2)
    executor.submit(make_task("long", FOREVER))
    processes = [slot.process for slot in executor._slots]
    executor.close()
    assert all(p.poll() is not None for p in processes)
    children = {c.pid for c in psutil.Process().children(recursive=True)}
    assert children.isdisjoint(p.pid for p in processes)
    assert executor.poll(0) == []


def test_close_while_workers_start_leaves_none_alive() -> None:
    executor = LocalExecutor(2)
    processes = [slot.process for slot in executor._slots]
    executor.close()
    assert all(p.poll() is not None for p in processes)

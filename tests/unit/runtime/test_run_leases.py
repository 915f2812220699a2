"""Program runs are leased like jobs: one attempt at a time holds a run, what an
attempt that lost it writes is refused, and a dead holder's run is taken over."""

from __future__ import annotations

import pytest

from qharbor.runtime.runs import RunLost, RunStatus, RunStore
from qharbor.store import Database
from tests.unit.jobs.test_manager import Clock, Member, _member

LEASE_S = 10.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db: Database, clock: Clock) -> RunStore:
    return RunStore(db, clock=clock)


@pytest.fixture
def alice(db: Database) -> Member:
    return _member(db, "alice", "physics")


def _run_id(store: RunStore, member: Member) -> str:
    run = store.create(member.project_id, member.user_id, "vqe", "1.0", "statevector", {})
    return run.id


def test_a_held_run_is_not_claimed_again_until_its_lease_expires(
    store: RunStore, alice: Member, clock: Clock
) -> None:
    run_id = _run_id(store, alice)
    assert [r.id for r in store.claimable()] == [run_id]
    assert store.claim(run_id, "a", LEASE_S) == (1, None)
    assert store.claim(run_id, "b", LEASE_S) is None
    assert store.claimable() == []
    clock.advance(LEASE_S / 2)
    assert store.renew("a", [run_id], LEASE_S) == set()
    clock.advance(LEASE_S * 0.9)  # past the first lease, within the renewed one
    assert store.claim(run_id, "b", LEASE_S) is None
    clock.advance(LEASE_S)  # "a" died: nothing renewed it
    assert [r.id for r in store.claimable()] == [run_id]
    assert store.claim(run_id, "b", LEASE_S) == (2, None)
    assert store.get(None, run_id).attempt == 2


def test_an_attempt_that_lost_its_run_writes_nothing(
    store: RunStore, alice: Member, clock: Clock
) -> None:
    run_id = _run_id(store, alice)
    store.claim(run_id, "a", LEASE_S)
    store.save(run_id, 1, {"iteration": 3}, {"iteration": 3, "value": 0.0, "best": 0.0})
    clock.advance(LEASE_S * 2)
    attempt, restored = store.claim(run_id, "b", LEASE_S) or (0, None)
    assert (attempt, restored) == (2, {"iteration": 3})
    with pytest.raises(RunLost):
        store.save(run_id, 1, {"iteration": 9}, None)
    assert store.finish(run_id, 1, RunStatus.DONE) is False
    assert store.get(None, run_id).status is RunStatus.RUNNING
    assert store.finish(run_id, 2, RunStatus.DONE) is True
    assert store.get(None, run_id).status is RunStatus.DONE
    assert store.claim(run_id, "c", LEASE_S) is None  # final


def test_a_released_run_is_claimed_at_once_and_renewing_reports_cancellation(
    store: RunStore, alice: Member
) -> None:
    run_id = _run_id(store, alice)
    store.claim(run_id, "a", LEASE_S)
    store.release(run_id, 1)
    assert store.claim(run_id, "b", LEASE_S) == (2, None)
    store.request_cancel(alice.project_id, run_id)
    assert store.renew("b", [run_id], LEASE_S) == {run_id}
    assert store.renew("a", [run_id], LEASE_S) == set()  # not the holder

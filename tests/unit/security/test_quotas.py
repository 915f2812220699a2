"""Quotas: the cost model, and admission in the job's own write transaction."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.jobs import backlog
from qharbor.jobs.manager import JobManager
from qharbor.jobs.preparation import prepare
from qharbor.security import quotas
from qharbor.security.quotas import DeviceClass, Period, Quotas
from qharbor.store import Database
from qharbor.store.tables import jobs
from tests.results import a_result
from tests.unit.jobs.test_manager import Clock, Member, _member, request

DEVICES = default_catalogue()
STATEVECTOR = DEVICES.get("statevector")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def manager(db: Database, clock: Clock) -> JobManager:
    return JobManager(db, clock=clock)


@pytest.fixture
def limits(db: Database, clock: Clock) -> Quotas:
    return Quotas(db, DEVICES, backlog, clock=clock)


@pytest.fixture
def alice(db: Database) -> Member:
    return _member(db, "alice", "physics")


def submit(manager: JobManager, limits: Quotas, who: Member, shots: int = 1000) -> str:
    """Submit as the API does: estimate, then admit inside the insert's transaction."""
    job_request = request(shots=shots, seed=1)
    prepared = prepare(job_request, STATEVECTOR, max_program_bytes=100_000, max_experiments=10)
    cost = quotas.estimate_s(STATEVECTOR, job_request.shots, prepared.num_experiments)
    job, _ = manager.create(
        who.project_id,
        who.user_id,
        prepared,
        estimated_s=cost,
        admit=lambda conn: limits.admit(conn, who.project_id, STATEVECTOR, cost),
    )
    return job.id


def test_the_estimate_is_overhead_plus_shots_per_experiment_with_a_floor() -> None:
    model = quotas.COST_MODELS[DeviceClass.SIMULATOR]
    assert quotas.estimate_s(STATEVECTOR, 1000, 3) == pytest.approx(
        3 * (model.per_experiment_s + 1000 * model.per_shot_s)
    )
    assert quotas.estimate_s(STATEVECTOR, 1, 0) == quotas.MIN_ESTIMATE_S


def test_periods_start_at_the_day_the_monday_and_the_first() -> None:
    wednesday = dt.datetime(2025, 3, 12, 15, 0, tzinfo=dt.UTC)
    assert quotas.period_start(Period.DAY, wednesday) == dt.date(2025, 3, 12)
    assert quotas.period_start(Period.WEEK, wednesday) == dt.date(2025, 3, 10)
    assert quotas.period_start(Period.MONTH, wednesday) == dt.date(2025, 3, 1)


def test_twins_and_qpus_are_one_class_and_simulators_another() -> None:
    classes = {d.name: quotas.device_class(d) for d in DEVICES}
    assert classes["statevector"] is DeviceClass.SIMULATOR
    assert all(
        (d.kind == "simulator") == (classes[d.name] is DeviceClass.SIMULATOR) for d in DEVICES
    )


def test_without_a_quota_every_job_is_admitted(
    manager: JobManager, limits: Quotas, alice: Member
) -> None:
    for _ in range(3):
        submit(manager, limits, alice)


def test_a_job_over_the_remaining_budget_is_refused_with_the_figures(
    manager: JobManager, limits: Quotas, alice: Member
) -> None:
    cost = quotas.estimate_s(STATEVECTOR, 1000, 1)
    limits.set_budget(alice.project_id, DeviceClass.SIMULATOR, 2.5 * cost, Period.MONTH)
    submit(manager, limits, alice)
    submit(manager, limits, alice)
    with pytest.raises(errors.QuotaExceeded) as caught:
        submit(manager, limits, alice)
    detail = caught.value.detail
    assert detail["estimate_s"] == pytest.approx(cost)
    assert detail["reserved_s"] == pytest.approx(2 * cost)
    assert detail["remaining_s"] == pytest.approx(0.5 * cost)
    assert f"{cost:.3f}" in caught.value.message and "budget" in caught.value.message


def test_a_refused_job_is_not_stored(
    db: Database, manager: JobManager, limits: Quotas, alice: Member
) -> None:
    limits.set_budget(alice.project_id, DeviceClass.SIMULATOR, 0.0, Period.DAY)
    with pytest.raises(errors.QuotaExceeded):
        submit(manager, limits, alice)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one() == 0


def test_a_budget_for_qpus_does_not_limit_simulators(
    manager: JobManager, limits: Quotas, alice: Member
) -> None:
    limits.set_budget(alice.project_id, DeviceClass.QPU, 0.0, Period.DAY)
    submit(manager, limits, alice)


def test_the_concurrent_job_limit_counts_queued_and_running_jobs(
    manager: JobManager, limits: Quotas, alice: Member
) -> None:
    limits.set_max_concurrent_jobs(alice.project_id, 2)
    first = submit(manager, limits, alice)
    submit(manager, limits, alice)
    with pytest.raises(errors.QuotaExceeded) as caught:
        submit(manager, limits, alice)
    assert caught.value.detail == {"max_concurrent_jobs": 2, "active_jobs": 2}
    manager.cancel(alice.project_id, first)
    submit(manager, limits, alice)


def test_measured_usage_replaces_the_reservation_when_a_job_ends(
    manager: JobManager, limits: Quotas, alice: Member
) -> None:
    cost = quotas.estimate_s(STATEVECTOR, 1000, 1)
    limits.set_budget(alice.project_id, DeviceClass.SIMULATOR, 100.0, Period.MONTH)
    submit(manager, limits, alice)
    [claim] = manager.claim("owner", 30.0, 1, {"statevector": 1})
    before = limits.standing(alice.project_id)["budgets"][0]
    assert before["reserved_s"] == pytest.approx(cost) and before["used_s"] == 0
    manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=7.25))
    after = limits.standing(alice.project_id)["budgets"][0]
    assert after["reserved_s"] == 0
    assert after["used_s"] == pytest.approx(7.25)
    assert after["remaining_s"] == pytest.approx(100.0 - 7.25)


def test_usage_of_an_earlier_period_does_not_count(
    manager: JobManager, limits: Quotas, alice: Member, clock: Clock
) -> None:
    limits.set_budget(alice.project_id, DeviceClass.SIMULATOR, 10.0, Period.DAY)
    submit(manager, limits, alice)
    [claim] = manager.claim("owner", 30.0, 1, {"statevector": 1})
    manager.complete(claim.job_id, claim.attempt, a_result(claim.job_id, run_s=9.999))
    with pytest.raises(errors.QuotaExceeded):
        submit(manager, limits, alice)
    clock.advance(24 * 3600)
    submit(manager, limits, alice)


def test_a_hundred_concurrent_submits_never_overshoot_the_budget(
    db: Database, manager: JobManager, limits: Quotas, alice: Member
) -> None:
    """100 submissions at once against a budget for 10.5 jobs: exactly 10 get in."""
    cost = quotas.estimate_s(STATEVECTOR, 1000, 1)
    budget = 10.5 * cost
    limits.set_budget(alice.project_id, DeviceClass.SIMULATOR, budget, Period.MONTH)

    def attempt(_: int) -> str:
        try:
            submit(manager, limits, alice)
        except errors.QuotaExceeded:
            return "refused"
        return "admitted"

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = list(pool.map(attempt, range(100)))
    with db.read() as conn:
        reserved = conn.execute(sa.select(sa.func.sum(jobs.c.estimated_s))).scalar_one()
    assert outcomes.count("admitted") + outcomes.count("refused") == 100
    assert reserved <= budget + cost  # the promise: at most one job's estimate over
    assert reserved <= budget  # and in fact never over: admission is serialised
    assert outcomes.count("admitted") == 10

"""Reservations on a settable clock: booking, decisions, charging and the scheduler's rule.

Every test runs on SQLite and on PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.accounting import reservations
from qharbor.accounting.reservation import Limits, ReservationStatus
from qharbor.accounting.reservations import Reservations
from qharbor.jobs.manager import JobManager
from qharbor.jobs.policy import FairShare, Reserved
from qharbor.security.usage import UsageLedger
from qharbor.store import Database
from qharbor.store.tables import usage
from tests.results import a_result
from tests.unit.jobs.test_manager import DEVICES, Clock, Member, _member, submit

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(db: Database, clock: Clock) -> Reservations:
    return Reservations(db, DEVICES, Limits(min_s=60, max_s=86_400, max_ahead_s=30 * 86_400), clock)


@pytest.fixture
def alice(db: Database) -> Member:
    return _member(db, "alice", "physics")


@pytest.fixture
def bob(db: Database) -> Member:
    return _member(db, "bob", "chemistry")


def approved(book: Reservations, who: Member, start: dt.datetime, end: dt.datetime, device="sc25"):
    booked = book.book(who.project_id, who.user_id, device, start, end)
    assert booked.status is ReservationStatus.REQUESTED
    return book.approve(booked.id, "admin-user", "ok")


def window_rows(db: Database) -> list:
    with db.read() as conn:
        return conn.execute(sa.select(usage).where(usage.c.job_id.is_(None))).all()


# --- booking --------------------------------------------------------------------------


def test_an_overlapping_booking_on_the_same_device_is_refused_naming_the_window(
    book: Reservations, alice: Member, bob: Member, clock: Clock
) -> None:
    start = clock.now + HOUR
    first = book.book(alice.project_id, alice.user_id, "sc25", start, start + HOUR)
    with pytest.raises(errors.ReservationConflict) as refused:
        book.book(bob.project_id, bob.user_id, "sc25", start + 30 * MINUTE, start + 2 * HOUR)
    assert refused.value.detail["conflict_start"] == "2025-03-01T13:00:00.000000Z"
    assert refused.value.detail["conflict_end"] == "2025-03-01T14:00:00.000000Z"
    assert "2025-03-01T13:00:00" in refused.value.message
    # Back to back, and the same window on another device, are free.
    book.book(bob.project_id, bob.user_id, "sc25", start + HOUR, start + 2 * HOUR)
    book.book(bob.project_id, bob.user_id, "sc72", start, start + HOUR)
    # A cancelled window frees its slot.
    book.cancel(first.id, alice.user_id, "plans changed", alice.project_id)
    again = book.book(bob.project_id, bob.user_id, "sc25", start, start + HOUR)
    assert again.project == "chemistry"


#: (minutes from now to the start, minutes long, what the refusal says)
REFUSED = [
    (-10, 60, "starts in the past"),
    (10, 0, "must end after it starts"),
    (10, -5, "must end after it starts"),
    (10, 0.5, "shorter than the 60 s"),
    (10, 25 * 60, "longer than the 86400 s"),
    (31 * 24 * 60, 60, "starts more than"),
]


def test_a_window_that_cannot_be_booked_says_what_to_fix(
    book: Reservations, alice: Member, clock: Clock
) -> None:
    for start_min, length_min, says in REFUSED:
        start = clock.now + dt.timedelta(minutes=start_min)
        end = start + dt.timedelta(minutes=length_min)
        with pytest.raises(errors.ReservationInvalid, match=says):
            book.book(alice.project_id, alice.user_id, "sc25", start, end)
    with pytest.raises(errors.DeviceNotFound):
        book.book(alice.project_id, alice.user_id, "no-such-device", clock.now, clock.now + HOUR)
    assert book.list(None) == []


def test_another_projects_reservation_is_not_found(
    book: Reservations, alice: Member, bob: Member, clock: Clock
) -> None:
    mine = book.book(
        alice.project_id, alice.user_id, "sc25", clock.now + HOUR, clock.now + 2 * HOUR
    )
    with pytest.raises(errors.ReservationNotFound):
        book.get(mine.id, bob.project_id)
    with pytest.raises(errors.ReservationNotFound):
        book.cancel(mine.id, bob.user_id, "not mine", bob.project_id)
    assert [r.id for r in book.list(alice.project_id)] == [mine.id]
    assert book.list(bob.project_id) == []
    assert [r.id for r in book.list(None)] == [mine.id]


# --- holding the device ---------------------------------------------------------------


def test_only_an_approved_window_in_force_holds_its_device(
    book: Reservations, alice: Member, clock: Clock
) -> None:
    requested = book.book(alice.project_id, alice.user_id, "sc25", clock.now, clock.now + HOUR)
    assert book.holds() == {}
    book.approve(requested.id, "admin-user")
    assert book.holds() == {"sc25": alice.project_id}
    clock.advance(HOUR.total_seconds())
    assert book.holds() == {}


def test_a_job_of_another_project_waits_until_the_windows_back_to_back_end(
    book: Reservations, alice: Member, bob: Member, clock: Clock
) -> None:
    approved(book, alice, clock.now, clock.now + HOUR)
    approved(book, alice, clock.now + HOUR, clock.now + 2 * HOUR)
    approved(book, bob, clock.now + 3 * HOUR, clock.now + 4 * HOUR)
    reason, start = book.waiting("sc25", bob.project_id)
    assert "reserved for another project until 2025-03-01T13:00:00" in reason
    assert start == clock.now + 2 * HOUR
    assert book.waiting("sc25", alice.project_id) is None
    assert book.waiting("sc72", bob.project_id) is None


def test_during_a_window_only_its_projects_jobs_are_claimed_on_the_device(
    db: Database, book: Reservations, alice: Member, bob: Member, clock: Clock
) -> None:
    manager = JobManager(db, clock=clock)
    bobs = submit(manager, bob, "sc25")
    bobs_elsewhere = submit(manager, bob, "statevector")
    clock.advance(1)
    alices = submit(manager, alice, "sc25")
    window = approved(book, alice, clock.now, clock.now + HOUR)
    order = Reserved(book.holds(), FairShare({}))
    claimed = manager.claim("s", 30.0, 8, {"sc25": 1, "statevector": 2}, order)
    assert {c.job_id for c in claimed} == {alices.id, bobs_elsewhere.id}
    for c in claimed:
        manager.complete(c.job_id, c.attempt, a_result(c.job_id, run_s=1.0))
    # The device is free but still reserved: Bob's job waits.
    assert manager.claim("s", 30.0, 8, {"sc25": 1}, Reserved(book.holds(), FairShare({}))) == []
    book.preempt(window.id, "admin-user", "maintenance")
    [claim] = manager.claim("s", 30.0, 8, {"sc25": 1}, Reserved(book.holds(), FairShare({})))
    assert claim.job_id == bobs.id


# --- charging -------------------------------------------------------------------------


def test_a_window_that_runs_to_its_end_is_charged_in_full_once(
    db: Database, book: Reservations, alice: Member, clock: Clock
) -> None:
    window = approved(book, alice, clock.now + MINUTE, clock.now + MINUTE + HOUR)
    assert book.settle() == 0
    clock.advance((MINUTE + HOUR).total_seconds())
    assert book.settle() == 1
    assert book.settle() == 0
    done = book.get(window.id)
    assert done.status is ReservationStatus.COMPLETED
    assert done.charged_s == 3600.0
    [row] = window_rows(db)
    assert (row.reservation_id, row.device_s, row.project_id) == (
        window.id,
        3600.0,
        alice.project_id,
    )
    [report] = UsageLedger(db).report([alice.project_id])
    assert (report["device_s"], report["jobs"], report["reservations"]) == (3600.0, 0, 1)


def test_preemption_charges_only_the_time_before_it(
    db: Database, book: Reservations, alice: Member, clock: Clock
) -> None:
    window = approved(book, alice, clock.now, clock.now + HOUR)
    clock.advance(600)
    taken = book.preempt(window.id, "admin-user", "urgent calibration")
    assert (taken.status, taken.reason, taken.charged_s) == (
        ReservationStatus.PREEMPTED,
        "urgent calibration",
        600.0,
    )
    assert book.holds() == {}
    assert [r.device_s for r in window_rows(db)] == [600.0]
    with pytest.raises(errors.ReservationState, match="PREEMPTED"):
        book.preempt(window.id, "admin-user", "again")
    with pytest.raises(errors.ReservationState):
        book.preempt(
            book.book(alice.project_id, None, "sc72", clock.now, clock.now + HOUR).id, "a", "r"
        )


def test_cancelling_is_free_before_the_window_and_charged_in_full_after_it_began(
    db: Database, book: Reservations, alice: Member, clock: Clock
) -> None:
    early = approved(book, alice, clock.now + HOUR, clock.now + 2 * HOUR)
    assert book.cancel(early.id, alice.user_id, None, alice.project_id).charged_s == 0.0
    begun = approved(book, alice, clock.now, clock.now + HOUR)
    clock.advance(60)
    assert book.cancel(begun.id, alice.user_id, "done early", alice.project_id).charged_s == 3600.0
    assert [r.device_s for r in window_rows(db)] == [3600.0]


def test_a_window_never_approved_lapses_free(
    db: Database, book: Reservations, alice: Member, clock: Clock
) -> None:
    requested = book.book(alice.project_id, alice.user_id, "sc25", clock.now, clock.now + HOUR)
    clock.advance(HOUR.total_seconds())
    lapsed = book.get(requested.id)
    assert (lapsed.status, lapsed.charged_s) == (ReservationStatus.CANCELLED, 0.0)
    assert "not approved" in (lapsed.reason or "")
    assert window_rows(db) == []
    with pytest.raises(errors.ReservationState):
        book.approve(requested.id, "admin-user")


def test_jobs_inside_their_projects_window_are_charged_only_past_its_end(
    db: Database, book: Reservations, alice: Member, bob: Member, clock: Clock
) -> None:
    manager = JobManager(db, clock=clock)
    window = approved(book, alice, clock.now, clock.now + HOUR, device="statevector")
    inside = submit(manager, alice, "statevector")
    overrun = submit(manager, alice, "statevector")
    outside = submit(manager, bob, "statevector")
    claims = {c.job_id: c for c in manager.claim("s", 30.0, 8, {"statevector": 8})}
    manager.complete(inside.id, 1, a_result(inside.id, run_s=5.0))
    manager.complete(outside.id, 1, a_result(outside.id, run_s=5.0))
    clock.advance(HOUR.total_seconds() + 2)  # it ends 2 s after the window
    manager.complete(overrun.id, claims[overrun.id].attempt, a_result(overrun.id, run_s=10.0))
    with db.read() as conn:
        rows = {r.job_id: r for r in conn.execute(sa.select(usage)).all()}
    assert (rows[inside.id].device_s, rows[inside.id].reservation_id) == (0.0, window.id)
    assert (rows[overrun.id].device_s, rows[overrun.id].reservation_id) == (2.0, window.id)
    assert (rows[outside.id].device_s, rows[outside.id].reservation_id) == (5.0, None)
    book.settle()
    report = {r["project"]: r for r in UsageLedger(db).report(None)}
    assert report["physics"]["device_s"] == pytest.approx(3602.0)
    assert (report["physics"]["jobs"], report["physics"]["reservations"]) == (2, 1)


def test_a_group_of_jobs_is_charged_as_each_would_be_alone(
    db: Database, book: Reservations, alice: Member, bob: Member, clock: Clock
) -> None:
    start = clock.now + HOUR
    window = approved(book, alice, start, start + HOUR, device="statevector")
    approved(book, bob, start + 2 * HOUR, start + 3 * HOUR, device="statevector")
    started = [
        (start - MINUTE, 5.0),  # before the window
        (start, 7.0),  # as it opens
        (start + 30 * MINUTE, 9.0),  # inside it
        (start + HOUR, 4.0),  # as it closes
        (start + 2 * HOUR + MINUTE, 6.0),  # inside another project's window
    ]
    at = start + HOUR + 2 * dt.timedelta(seconds=1)
    with db.read() as conn:
        together = reservations.job_charges(
            conn, project_id=alice.project_id, device="statevector", started=started, at=at
        )
        alone = [
            reservations.job_charge(
                conn,
                project_id=alice.project_id,
                device="statevector",
                started_at=when,
                device_s=device_s,
                at=at,
            )
            for when, device_s in started
        ]
    assert together == alone
    assert [w for _, w in together] == [None, window.id, window.id, None, None]

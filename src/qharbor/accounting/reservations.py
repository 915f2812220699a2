"""Reservations: a project books a device for a window of time, and pays for the window.

The rules, in one place:

- **Booking.** A window on one device, at least ``min_s`` and at most ``max_s`` long,
  starting no earlier than a minute ago and no later than ``max_ahead_s`` from now.
  Windows that are REQUESTED or APPROVED hold their slot: a booking that overlaps one
  on the same device is refused (``RESERVATION_CONFLICT``). Bookings are serialised
  per device (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so two
  overlapping requests cannot both succeed.
- **Approval.** When the centre requires it (the default), a booking is REQUESTED
  until an admin approves it; a window still unapproved when it ends lapses
  (CANCELLED, free). Otherwise bookings are APPROVED at once.
- **Scheduling.** While an APPROVED window is in force, only its project's jobs start
  on the device (:class:`qharbor.jobs.policy.Reserved`); jobs that were already running
  when it began finish. Other projects' jobs wait, with a ``waiting_reason`` and an
  ``estimated_start`` (:meth:`Reservations.waiting`).
- **Charging**, as Braket Direct charges for reservations rather than per task: a window
  that runs to its end is charged in full (end - start) to the usage ledger when it is
  settled (COMPLETED). A window the project cancels after it began is charged in full
  too; one cancelled before it begins costs nothing. An admin's pre-emption charges
  only the time before it. A job that started inside its project's approved window is
  not charged again: it is recorded with the window's id and charged only for the time
  it ran past the window's end (:func:`job_charge`). Windows count against the project's
  quota like any other usage.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.accounting import reservation
from qharbor.accounting.reservation import LIVE, Limits, Reservation, ReservationStatus
from qharbor.devices import Catalogue
from qharbor.security import usage
from qharbor.store import Database
from qharbor.store.tables import projects, reservations

#: Seconds the windows in force are cached between reads of the table.
REFRESH_S = 1.0

_SELECT = sa.select(reservations, projects.c.name.label("project_name")).join(
    projects, projects.c.id == reservations.c.project_id
)


#: The approved window a job that started at ``started`` ran inside, if any.
_WINDOW_OF_JOB = (
    sa.select(reservations.c.id, reservations.c.end_at, reservations.c.ended_at)
    .where(
        reservations.c.project_id == sa.bindparam("project_id"),
        reservations.c.device == sa.bindparam("device"),
        reservations.c.approved_at.is_not(None),
        reservations.c.start_at <= sa.bindparam("started", type_=reservations.c.start_at.type),
        sa.func.coalesce(reservations.c.ended_at, reservations.c.end_at)
        > sa.bindparam("started", type_=reservations.c.start_at.type),
    )
    .limit(1)
)


def _device_lock(device: str) -> int:
    """A signed 64-bit advisory lock key for bookings on ``device``."""
    digest = hashlib.sha256(b"qharbor-reservation:" + device.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def job_charge(
    conn: sa.Connection,
    *,
    project_id: str,
    device: str,
    started_at: dt.datetime | None,
    device_s: float,
    at: dt.datetime,
) -> tuple[float, str | None]:
    """What a job that ends at ``at`` is charged, and the window it ran inside, if any.

    A job that started inside its project's approved window on its device is paid
    for by the window: it is charged only for the time it ran past the window's end.

    Args:
        device_s: the job's measured device time, in seconds.

    Returns:
        The seconds to charge, and the window's id (None when it ran outside any).
    """
    if started_at is None:
        return device_s, None
    window = conn.execute(
        _WINDOW_OF_JOB, {"project_id": project_id, "device": device, "started": started_at}
    ).first()
    if window is None:
        return device_s, None
    until = window.ended_at or window.end_at
    past = max(0.0, (at - until).total_seconds())
    return min(max(0.0, device_s), past), window.id


def job_charges(
    conn: sa.Connection,
    *,
    project_id: str,
    device: str,
    started: Sequence[tuple[dt.datetime, float]],
    at: dt.datetime,
) -> list[tuple[float, str | None]]:
    """:func:`job_charge` for many jobs of one project on one device, ending at ``at``.

    The windows the jobs may have started in are read once (a centre program
    stores its jobs in groups, and one read per job cost more than its run).

    Args:
        started: per job, when it started and its measured device time (seconds).

    Returns:
        Per job, in order, the seconds to charge and the window's id (or None).
    """
    if not started:
        return []
    first = min(when for when, _ in started)
    last = max(when for when, _ in started)
    windows = conn.execute(
        sa.select(
            reservations.c.id,
            reservations.c.start_at,
            reservations.c.end_at,
            reservations.c.ended_at,
        ).where(
            reservations.c.project_id == project_id,
            reservations.c.device == device,
            reservations.c.approved_at.is_not(None),
            reservations.c.start_at <= last,
            sa.func.coalesce(reservations.c.ended_at, reservations.c.end_at) > first,
        )
    ).all()
    bounds = [(w.id, w.start_at, w.ended_at or w.end_at) for w in windows]
    charges: list[tuple[float, str | None]] = []
    for when, device_s in started:
        window = next((b for b in bounds if b[1] <= when < b[2]), None)
        if window is None:
            charges.append((device_s, None))
        else:
            past = max(0.0, (at - window[2]).total_seconds())
            charges.append((min(max(0.0, device_s), past), window[0]))
    return charges


class Reservations:
    """Books, reads, decides and settles reservations.

    Args:
        db: the database.
        catalogue: the devices a window may be booked on.
        limits: what a booking may ask for.
        clock: the time source (UTC).
        on_change: called after every change that may free or take a device (e.g. to
            wake the scheduler).
    """

    def __init__(
        self,
        db: Database,
        catalogue: Catalogue,
        limits: Limits | None = None,
        clock: wire.Clock = wire.utcnow,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.catalogue = catalogue
        self.limits = limits or Limits()
        self._clock = clock
        self._on_change = on_change or (lambda: None)
        self._lock = threading.Lock()
        self._live: builtins.list[Reservation] = []
        self._live_at = float("-inf")

    # --- booking and reading -----------------------------------------------------------

    def book(
        self,
        project_id: str,
        user_id: str | None,
        device: str,
        start: dt.datetime,
        end: dt.datetime,
        note: str | None = None,
    ) -> Reservation:
        """Book ``device`` for the project from ``start`` to ``end`` (UTC).

        Raises:
            errors.DeviceNotFound: no such device.
            errors.ReservationInvalid: the window is in the past, empty, too short, too
                long or too far ahead.
            errors.ReservationConflict: another booking holds part of the window.
        """
        name = self.catalogue.get(device).name
        self.settle()
        now = self._clock()
        reservation.check_window(self.limits, start, end, now)
        reservation_id = uuid.uuid4().hex
        approved = not self.limits.need_approval
        with self.db.write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_device_lock(name))))
            clash = conn.execute(
                sa.select(reservations.c.start_at, reservations.c.end_at, reservations.c.status)
                .where(
                    reservations.c.device == name,
                    reservations.c.status.in_(LIVE),
                    reservations.c.start_at < end,
                    reservations.c.end_at > start,
                )
                .order_by(reservations.c.start_at)
                .limit(1)
            ).first()
            if clash is not None:
                raise errors.ReservationConflict(
                    f"device {name!r} is already booked from {wire.iso(clash.start_at)} to "
                    f"{wire.iso(clash.end_at)} ({clash.status.lower()}); pick a window that "
                    "ends before it starts or starts after it ends",
                    device=name,
                    conflict_start=wire.iso(clash.start_at),
                    conflict_end=wire.iso(clash.end_at),
                )
            conn.execute(
                reservations.insert().values(
                    id=reservation_id,
                    project_id=project_id,
                    device=name,
                    start_at=start,
                    end_at=end,
                    status=(
                        ReservationStatus.APPROVED if approved else ReservationStatus.REQUESTED
                    ).value,
                    note=note,
                    reason="approved on booking" if approved else None,
                    created_by=user_id,
                    created_at=now,
                    approved_at=now if approved else None,
                )
            )
            booked = self._load(conn, reservation_id)
        self._changed()
        return booked

    def get(self, reservation_id: str, project_id: str | None = None) -> Reservation:
        """A reservation of the project (any project's with ``project_id=None``).

        Raises:
            errors.ReservationNotFound: none with that id there.
        """
        self.settle()
        with self.db.read() as conn:
            return self._load(conn, reservation_id, project_id)

    def list(
        self,
        project_id: str | None = None,
        *,
        device: str | None = None,
        status: ReservationStatus | None = None,
        limit: int = 100,
    ) -> builtins.list[Reservation]:
        """Reservations by start, latest first: the project's, or with None every project's."""
        self.settle()
        query = _SELECT.order_by(reservations.c.start_at.desc(), reservations.c.id).limit(limit)
        if project_id is not None:
            query = query.where(reservations.c.project_id == project_id)
        if device is not None:
            query = query.where(reservations.c.device == device)
        if status is not None:
            query = query.where(reservations.c.status == status.value)
        with self.db.read() as conn:
            return [Reservation.from_row(row) for row in conn.execute(query).all()]

    def _load(
        self, conn: sa.Connection, reservation_id: str, project_id: str | None = None
    ) -> Reservation:
        query = _SELECT.where(reservations.c.id == reservation_id)
        if project_id is not None:
            query = query.where(reservations.c.project_id == project_id)
        row = conn.execute(query).first()
        if row is None:
            raise errors.ReservationNotFound(
                f"no reservation {reservation_id!r} in your project; list yours with "
                "GET /v1/reservations",
                reservation_id=reservation_id,
            )
        return Reservation.from_row(row)

    # --- decisions -----------------------------------------------------------------------

    def approve(self, reservation_id: str, user_id: str, reason: str | None = None) -> Reservation:
        """Approve a REQUESTED window (an admin's decision).

        Raises:
            errors.ReservationState: it is not REQUESTED (any more).
        """
        self.settle()
        now = self._clock()
        return self._decide(
            reservation_id,
            None,
            (ReservationStatus.REQUESTED,),
            "approved",
            lambda _r: {
                "status": ReservationStatus.APPROVED.value,
                "approved_at": now,
                "reason": reason or "approved",
                "changed_by": user_id,
            },
        )

    def cancel(
        self,
        reservation_id: str,
        user_id: str,
        reason: str | None = None,
        project_id: str | None = None,
    ) -> Reservation:
        """Cancel a window: free before it begins, charged in full once it has begun.

        Args:
            project_id: the caller's project; None for an admin, who may cancel any.

        Raises:
            errors.ReservationState: it has already ended or been cancelled.
        """
        self.settle()
        now = self._clock()

        def change(r: Reservation) -> dict[str, Any]:
            begun = r.status is ReservationStatus.APPROVED and r.start <= now
            return {
                "status": ReservationStatus.CANCELLED.value,
                "ended_at": now,
                "reason": reason or "cancelled",
                "changed_by": user_id,
                "charged_s": r.duration_s if begun else 0.0,
            }

        return self._decide(
            reservation_id, project_id, (ReservationStatus(s) for s in LIVE), "cancelled", change
        )

    def preempt(self, reservation_id: str, user_id: str, reason: str) -> Reservation:
        """Take an APPROVED window back (an admin's decision); charged only up to now.

        Raises:
            errors.ReservationState: it is not APPROVED, or has already ended.
        """
        self.settle()
        now = self._clock()
        return self._decide(
            reservation_id,
            None,
            (ReservationStatus.APPROVED,),
            "pre-empted",
            lambda r: {
                "status": ReservationStatus.PREEMPTED.value,
                "ended_at": now,
                "reason": reason,
                "changed_by": user_id,
                "charged_s": max(0.0, (now - r.start).total_seconds()),
            },
        )

    def _decide(
        self,
        reservation_id: str,
        project_id: str | None,
        allowed: Iterable[ReservationStatus],
        verb: str,
        change: Callable[[Reservation], dict[str, Any]],
    ) -> Reservation:
        allowed = tuple(allowed)
        now = self._clock()
        with self.db.write() as conn:
            current = self._load(conn, reservation_id, project_id)
            if current.status not in allowed:
                raise errors.ReservationState(
                    f"reservation {reservation_id} is {current.status}; only "
                    f"{' or '.join(str(s) for s in allowed)} reservations can be {verb}",
                    reservation_id=reservation_id,
                    status=str(current.status),
                )
            values = change(current)
            updated = conn.execute(
                reservations.update()
                .where(
                    reservations.c.id == reservation_id,
                    reservations.c.status == current.status.value,
                )
                .values(**values)
            ).rowcount
            if not updated:  # another process decided first
                raise errors.ReservationState(
                    f"reservation {reservation_id} changed meanwhile; read it again",
                    reservation_id=reservation_id,
                )
            if values.get("charged_s"):
                usage.charge_window(
                    conn,
                    reservation_id=reservation_id,
                    project_id=current.project_id,
                    device=current.device,
                    device_s=values["charged_s"],
                    at=now,
                )
            decided = self._load(conn, reservation_id)
        self._changed()
        return decided

    # --- time passing ----------------------------------------------------------------

    def settle(self) -> int:
        """Close the windows that have ended: APPROVED ones are COMPLETED and charged in
        full, REQUESTED ones lapse (CANCELLED, free).

        Cheap when nothing is due: it looks at the cached live windows first.

        Returns:
            How many windows were closed.
        """
        now = self._clock()
        if not any(r.end <= now for r in self._cached()):
            return 0
        closed = 0
        with self.db.write() as conn:
            due = conn.execute(
                _SELECT.where(reservations.c.status.in_(LIVE), reservations.c.end_at <= now)
            ).all()
            for row in due:
                r = Reservation.from_row(row)
                approved = r.status is ReservationStatus.APPROVED
                values: dict[str, Any] = {
                    "status": (
                        ReservationStatus.COMPLETED if approved else ReservationStatus.CANCELLED
                    ).value,
                    "charged_s": r.duration_s if approved else 0.0,
                }
                if not approved:
                    values["reason"] = "not approved before the window ended"
                updated = conn.execute(
                    reservations.update()
                    .where(reservations.c.id == r.id, reservations.c.status == r.status.value)
                    .values(**values)
                ).rowcount
                if updated and approved:
                    usage.charge_window(
                        conn,
                        reservation_id=r.id,
                        project_id=r.project_id,
                        device=r.device,
                        device_s=r.duration_s,
                        at=r.end,
                    )
                closed += updated
        self._changed()
        return closed

    def holds(self) -> dict[str, str]:
        """The devices under an approved window now, each with the project it belongs to."""
        now = self._clock()
        return {r.device: r.project_id for r in self._cached() if r.in_force(now)}

    def waiting(self, device: str, project_id: str) -> tuple[str, dt.datetime] | None:
        """Why a queued job of ``project_id`` on ``device`` waits for a reservation, and
        when it may start: the end of the other projects' windows in force back to back.

        Returns:
            None when no other project's window holds the device now.
        """
        now = self._clock()
        others = sorted(
            (
                r
                for r in self._cached()
                if r.device == device
                and r.project_id != project_id
                and r.status is ReservationStatus.APPROVED
            ),
            key=lambda r: r.start,
        )
        current = next((r for r in others if r.in_force(now)), None)
        if current is None:
            return None
        until = current.end
        for r in others:
            if r.start <= until < r.end:
                until = r.end
        reason = (
            f"device {device!r} is reserved for another project until {wire.iso(current.end)}; "
            "the job starts when the reservation ends"
        )
        return reason, until

    def _cached(self) -> builtins.list[Reservation]:
        """The REQUESTED and APPROVED windows not yet settled, read at most every REFRESH_S."""
        with self._lock:
            if time.monotonic() - self._live_at >= REFRESH_S:
                with self.db.read() as conn:
                    rows = conn.execute(_SELECT.where(reservations.c.status.in_(LIVE))).all()
                self._live = [Reservation.from_row(row) for row in rows]
                self._live_at = time.monotonic()
            return self._live

    def _changed(self) -> None:
        with self._lock:
            self._live_at = float("-inf")
        self._on_change()

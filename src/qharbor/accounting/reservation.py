"""A reservation: one project's window on one device, and what a booking may ask for.

The rules that use them are in :mod:`qharbor.accounting.reservations`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from qharbor import errors, wire

#: How far in the past a window may start (seconds): a booking for "now" takes a moment.
START_GRACE_S = 60.0


class ReservationStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"  # booked, waiting for an admin's approval; holds the slot
    APPROVED = "APPROVED"  # the device is the project's during the window
    CANCELLED = "CANCELLED"  # cancelled by its project or an admin, or lapsed unapproved
    PREEMPTED = "PREEMPTED"  # taken back by an admin; charged up to then
    COMPLETED = "COMPLETED"  # ran to its end; charged in full


#: Statuses that hold a slot on the device.
LIVE = (ReservationStatus.REQUESTED.value, ReservationStatus.APPROVED.value)


@dataclass(frozen=True)
class Limits:
    """What a booking may ask for.

    Attributes:
        min_s: the shortest window, in seconds.
        max_s: the longest window, in seconds.
        max_ahead_s: how far ahead a window may start, in seconds.
        need_approval: bookings wait for an admin's approval.
    """

    min_s: float = 60.0
    max_s: float = 7 * 86_400.0
    max_ahead_s: float = 365 * 86_400.0
    need_approval: bool = True


@dataclass(frozen=True)
class Reservation:
    """A booked window, as stored."""

    id: str
    project_id: str
    project: str
    device: str
    start: dt.datetime
    end: dt.datetime
    status: ReservationStatus
    note: str | None
    reason: str | None
    created_by: str | None
    created_at: dt.datetime
    approved_at: dt.datetime | None
    ended_at: dt.datetime | None
    charged_s: float | None

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    def in_force(self, now: dt.datetime) -> bool:
        """Approved, and ``now`` lies inside the window."""
        return self.status is ReservationStatus.APPROVED and self.start <= now < self.end

    @classmethod
    def from_row(cls, row: Any) -> Reservation:
        m = row._mapping
        return cls(
            id=m["id"],
            project_id=m["project_id"],
            project=m["project_name"],
            device=m["device"],
            start=m["start_at"],
            end=m["end_at"],
            status=ReservationStatus(m["status"]),
            note=m["note"],
            reason=m["reason"],
            created_by=m["created_by"],
            created_at=m["created_at"],
            approved_at=m["approved_at"],
            ended_at=m["ended_at"],
            charged_s=m["charged_s"],
        )

    def to_json(self) -> dict[str, Any]:
        """The reservation as the API shows it."""
        return {
            "id": self.id,
            "project": self.project,
            "device": self.device,
            "start": wire.iso(self.start),
            "end": wire.iso(self.end),
            "duration_s": self.duration_s,
            "status": str(self.status),
            "note": self.note,
            "reason": self.reason,
            "created_by": self.created_by,
            "created_at": wire.iso(self.created_at),
            "approved_at": wire.iso(self.approved_at),
            "ended_at": wire.iso(self.ended_at),
            "charged_s": self.charged_s,
        }


def check_window(limits: Limits, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    """Refuse a window that cannot be booked now.

    Raises:
        errors.ReservationInvalid: saying what is wrong with it and what to do.
    """
    length = (end - start).total_seconds()
    problem = None
    if end <= start:
        problem = "the window must end after it starts; send an end later than the start"
    elif start < now - dt.timedelta(seconds=START_GRACE_S):
        problem = (
            f"the window starts in the past ({wire.iso(start)}; it is now {wire.iso(now)}); "
            "book a window that starts now or later"
        )
    elif length < limits.min_s:
        problem = (
            f"the window is {length:g} s long, shorter than the {limits.min_s:g} s this "
            "centre books; book a longer window"
        )
    elif length > limits.max_s:
        problem = (
            f"the window is {length:g} s long, longer than the {limits.max_s:g} s this "
            "centre books at once; book several shorter windows"
        )
    elif (start - now).total_seconds() > limits.max_ahead_s:
        problem = f"the window starts more than {limits.max_ahead_s:g} s from now; book it later"
    if problem is not None:
        raise errors.ReservationInvalid(
            problem,
            start=wire.iso(start),
            end=wire.iso(end),
            min_s=limits.min_s,
            max_s=limits.max_s,
            max_ahead_s=limits.max_ahead_s,
        )

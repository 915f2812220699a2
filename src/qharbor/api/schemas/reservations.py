"""Reservations: a project's window on a device."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from qharbor.api import bounds
from qharbor.api.schemas.common import RequestBody

Status = Literal["REQUESTED", "APPROVED", "CANCELLED", "PREEMPTED", "COMPLETED"]


class ReservationCreate(RequestBody):
    """Book a device for a window of time (UTC)."""

    device: str = Field(min_length=1, max_length=128)
    start: bounds.Time = Field(description="When the window begins (ISO 8601; no zone = UTC).")
    end: bounds.Time = Field(description="When it ends (ISO 8601; no zone = UTC).")
    note: str | None = Field(default=None, max_length=256, description="What it is for.")
    project: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Admins: book for another project (id or name).",
    )


class ReservationDecision(RequestBody):
    """Why a reservation is approved, cancelled or pre-empted."""

    reason: str | None = Field(default=None, min_length=1, max_length=256)


class ReservationPreemption(RequestBody):
    """Why an admin takes a reservation back; the project sees it."""

    reason: str = Field(min_length=1, max_length=256)


class ReservationPublic(BaseModel):
    id: str
    project: str
    device: str
    start: str
    end: str
    duration_s: float
    status: Status
    note: str | None
    reason: str | None = Field(description="Why it was last approved, cancelled or pre-empted.")
    created_by: str | None
    created_at: str
    approved_at: str | None
    ended_at: str | None = Field(description="When it was cancelled or pre-empted, if it was.")
    charged_s: float | None = Field(
        description="Device-seconds charged for the window, once it is settled."
    )


class ReservationList(BaseModel):
    reservations: list[ReservationPublic]

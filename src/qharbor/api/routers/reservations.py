"""Reservations: book a device for a window, read, cancel; admins approve and pre-empt."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from qharbor import errors
from qharbor.accounting.reservation import ReservationStatus
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreAdmin, CentreDep, Reader, Submitter
from qharbor.api.schemas.reservations import (
    ReservationCreate,
    ReservationDecision,
    ReservationList,
    ReservationPreemption,
    ReservationPublic,
)
from qharbor.security.identity import Principal

router = APIRouter(
    prefix="/v1/reservations",
    tags=["reservations"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 409),
)


def _is_admin(principal: Principal) -> bool:
    return principal.is_admin and "admin" in principal.scopes


def _scope(principal: Principal) -> str | None:
    """The project whose reservations the caller may see and cancel; None: every one."""
    return None if _is_admin(principal) else principal.project_id


@router.post("", status_code=201, response_model=ReservationPublic)
def book_reservation(body: ReservationCreate, centre: CentreDep, principal: Submitter) -> Any:
    """Book a device for your project from ``start`` to ``end``.

    Overlapping a window already booked on the device is refused (RESERVATION_CONFLICT).
    Unless the centre approves bookings at once, the reservation is REQUESTED until an
    admin approves it.
    """
    project_id = principal.project_id
    if body.project is not None:
        if not _is_admin(principal):
            raise errors.Forbidden("only the centre's admins can book for another project")
        project_id = centre.identity.project(body.project)["id"]
    reservation = centre.reservations.book(
        project_id, principal.user_id, body.device, body.start, body.end, body.note
    )
    return reservation.to_json()


@router.get("", response_model=ReservationList)
def list_reservations(
    centre: CentreDep,
    principal: Reader,
    device: str | None = None,
    status: ReservationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Your project's reservations (an admin's token: every project's), latest start first."""
    found = centre.reservations.list(_scope(principal), device=device, status=status, limit=limit)
    return {"reservations": [r.to_json() for r in found]}


@router.get("/{reservation_id}", response_model=ReservationPublic)
def get_reservation(reservation_id: str, centre: CentreDep, principal: Reader) -> Any:
    """One reservation."""
    return centre.reservations.get(reservation_id, _scope(principal)).to_json()


@router.post("/{reservation_id}/cancel", response_model=ReservationPublic)
def cancel_reservation(
    reservation_id: str,
    centre: CentreDep,
    principal: Submitter,
    body: ReservationDecision | None = None,
) -> Any:
    """Cancel it: free before the window begins, charged in full once it has begun."""
    reason = body.reason if body is not None else None
    return centre.reservations.cancel(
        reservation_id, principal.user_id, reason, _scope(principal)
    ).to_json()


@router.post("/{reservation_id}/approve", response_model=ReservationPublic)
def approve_reservation(
    reservation_id: str,
    centre: CentreDep,
    principal: CentreAdmin,
    body: ReservationDecision | None = None,
) -> Any:
    """Admins: approve a REQUESTED reservation; during its window only its project runs."""
    reason = body.reason if body is not None else None
    return centre.reservations.approve(reservation_id, principal.user_id, reason).to_json()


@router.post("/{reservation_id}/preempt", response_model=ReservationPublic)
def preempt_reservation(
    reservation_id: str, body: ReservationPreemption, centre: CentreDep, principal: CentreAdmin
) -> Any:
    """Admins: take an APPROVED reservation back now; charged only for the time it ran."""
    return centre.reservations.preempt(reservation_id, principal.user_id, body.reason).to_json()

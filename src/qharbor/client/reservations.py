"""Reservations (``/v1/reservations``): book a device for a window of time.

Example:
    >>> import datetime as dt
    >>> start = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
    >>> window = service.reservations.create("sc25", start, dt.timedelta(hours=2))
    >>> window["status"]                     # until an admin approves it
    'REQUESTED'
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any
from urllib.parse import quote

from qharbor import wire
from qharbor.client.rest import RestSession

#: A time as a datetime (one without a zone is taken to be UTC) or an ISO 8601 string.
When = dt.datetime | str


def _segment(value: str) -> str:
    """``value`` quoted as one URL path segment, so ids cannot change the route."""
    return quote(str(value), safe="")


def _iso(value: When) -> str:
    return value if isinstance(value, str) else wire.iso(value)


class ReservationsClient:
    """Book, list and cancel your project's reservations; admins approve and pre-empt.

    Args:
        session: The HTTP session of a token with the ``read`` scope (and ``submit`` to
            book or cancel, ``admin`` to approve or pre-empt).
    """

    def __init__(self, session: RestSession) -> None:
        self.session = session

    def create(
        self,
        device: str,
        start: When,
        end: When | dt.timedelta,
        *,
        note: str | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/reservations``: book ``device`` from ``start`` to ``end`` (UTC).

        Args:
            device: The device to reserve.
            start: When the window begins.
            end: When it ends, or its length as a ``timedelta``.
            note: What the window is for.
            project: Admins: book for another project (id or name).

        Raises:
            errors.ReservationConflict: Part of the window is booked already; the
                detail names that window.
            errors.ReservationInvalid: The window is in the past, empty, too short or too long.
        """
        if isinstance(end, dt.timedelta):
            begins = wire.parse_iso(start) if isinstance(start, str) else start
            end = begins + end
        body: dict[str, Any] = {"device": device, "start": _iso(start), "end": _iso(end)}
        if note is not None:
            body["note"] = note
        if project is not None:
            body["project"] = project
        return dict(self.session.post("/v1/reservations", json=body))

    def list(
        self, device: str | None = None, status: str | None = None, limit: int | None = None
    ) -> builtins.list[dict[str, Any]]:
        """``GET /v1/reservations``: your project's (an admin's: all), latest start first."""
        params = {"device": device, "status": status, "limit": limit}
        return builtins.list(self.session.get("/v1/reservations", params=params)["reservations"])

    def get(self, reservation_id: str) -> dict[str, Any]:
        """``GET /v1/reservations/{id}``."""
        return dict(self.session.get(f"/v1/reservations/{_segment(reservation_id)}"))

    def cancel(self, reservation_id: str, reason: str | None = None) -> dict[str, Any]:
        """``POST /v1/reservations/{id}/cancel``: free before the window begins, charged
        in full once it has begun."""
        return self._decide(reservation_id, "cancel", reason)

    def approve(self, reservation_id: str, reason: str | None = None) -> dict[str, Any]:
        """``POST /v1/reservations/{id}/approve`` (admins)."""
        return self._decide(reservation_id, "approve", reason)

    def preempt(self, reservation_id: str, reason: str) -> dict[str, Any]:
        """``POST /v1/reservations/{id}/preempt`` (admins): charged only up to now."""
        return self._decide(reservation_id, "preempt", reason)

    def _decide(self, reservation_id: str, verb: str, reason: str | None) -> dict[str, Any]:
        body = {"reason": reason} if reason is not None else {}
        return dict(
            self.session.post(f"/v1/reservations/{_segment(reservation_id)}/{verb}", json=body)
        )

"""Devices: what the centre offers, with status, queue, calibration, telemetry and twin."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from qharbor import errors
from qharbor.api import bounds
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreAdmin, CentreDep, Reader
from qharbor.api.schemas.devices import (
    CalibrationScaleIn,
    DeviceList,
    DevicePublic,
    MaintenanceIn,
    WarmupIn,
)
from qharbor.centre import Centre
from qharbor.devices import Device
from qharbor.devices.twins.spec import Window
from qharbor.security.identity import Principal

router = APIRouter(
    prefix="/v1/devices",
    tags=["devices"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 413),
)

#: The most points one telemetry query returns.
MAX_POINTS = 2000


def _public(centre: Centre, device: Device, lengths: dict[str, dict[str, int]]) -> dict[str, Any]:
    data = device.to_json()
    data.pop("options", None)
    state = centre.fleet.state(device.name)
    data.update(state.to_json())
    data["status_reason"] = data.pop("reason")
    data["status_until"] = data.pop("until")
    counts = lengths.get(device.name, {})
    data["queue_length"] = counts.get("queued", 0)
    data["running"] = counts.get("running", 0)
    data["twin"] = device.twin.to_json() if device.twin is not None else None
    data["maintenance"] = [w.to_json() for w in centre.fleet.windows(device.name)]
    return data


def parse_time(value: str, field: str) -> dt.datetime:
    """An RFC 3339 time with a zone, in UTC, within the accepted range.

    Raises:
        errors.InvalidRequest: naming the field (and the range, when outside it).
    """
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.InvalidRequest(
            f"{field}={value!r} is not an RFC 3339 time; e.g. 2027-01-05T06:00:00Z", field=field
        ) from None
    if parsed.tzinfo is None:
        raise errors.InvalidRequest(f"{field} needs a time zone, e.g. a trailing Z", field=field)
    try:
        return bounds.utc_in_range(parsed)
    except ValueError as exc:
        raise errors.InvalidRequest(f"{field}={value!r}: {exc}", field=field) from None


def require_admin(principal: Principal) -> None:
    """Refuse callers that do not operate the centre.

    Raises:
        errors.Forbidden: the caller is not an admin with the admin scope.
    """
    if not principal.is_admin or "admin" not in principal.scopes:
        raise errors.Forbidden(
            "only the centre's operators (admin users with an 'admin' token) may do this",
            scope="admin",
        )


@router.get("", response_model=DeviceList)
def list_devices(centre: CentreDep, _principal: Reader) -> dict[str, Any]:
    """Every device, with its limits, status and queue length."""
    lengths = centre.jobs.queue_lengths()
    return {"devices": [_public(centre, d, lengths) for d in centre.catalogue]}


@router.get("/{name}", response_model=DevicePublic)
def get_device(name: str, centre: CentreDep, _principal: Reader) -> dict[str, Any]:
    """One device: limits, status (with reason and expected return), maintenance windows."""
    device = centre.catalogue.get(name)
    return _public(centre, device, centre.jobs.queue_lengths())


@router.get("/{name}/calibration")
def get_calibration(
    name: str,
    centre: CentreDep,
    _principal: Reader,
    at: Annotated[
        str | None, Query(description="RFC 3339 time: the snapshot in force then.")
    ] = None,
    snapshot: Annotated[str | None, Query(description="A snapshot id from a result.")] = None,
) -> dict[str, Any]:
    """The calibration snapshot in force now, at a past time, or by id."""
    if snapshot is not None:
        return centre.fleet.snapshot(snapshot).to_json()
    when = parse_time(at, "at") if at is not None else None
    return centre.fleet.calibration(name, when).to_json()


@router.get("/{name}/calibrations")
def list_calibrations(
    name: str,
    centre: CentreDep,
    _principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The device's recalibrations, newest first (the history)."""
    return {"calibrations": [c.to_json() for c in centre.fleet.history(name, limit)]}


@router.get("/{name}/twin")
def get_twin(
    name: str,
    centre: CentreDep,
    _principal: Reader,
    snapshot: Annotated[
        str | None, Query(description="A snapshot id; the one in force now when omitted.")
    ] = None,
) -> dict[str, Any]:
    """Everything needed to emulate the device locally: target, noise, calibration."""
    calibration = centre.fleet.snapshot(snapshot) if snapshot is not None else None
    if calibration is not None and calibration.device != name:
        raise errors.InvalidRequest(
            f"snapshot {snapshot!r} belongs to {calibration.device!r}, not {name!r}",
            field="snapshot",
        )
    return centre.fleet.twin_document(name, calibration).to_json()


@router.get("/{name}/telemetry")
def get_telemetry(
    name: str,
    centre: CentreDep,
    _principal: Reader,
    start: Annotated[str | None, Query(description="RFC 3339; default 10 minutes ago.")] = None,
    end: Annotated[str | None, Query(description="RFC 3339; default now.")] = None,
    step_s: Annotated[
        float,
        Query(
            gt=0, le=bounds.MAX_STEP_S, allow_inf_nan=False, description="Seconds between points."
        ),
    ] = 10.0,
) -> dict[str, Any]:
    """Cryostat stage temperatures as time series."""
    now = dt.datetime.now(dt.UTC)
    until = parse_time(end, "end") if end is not None else now
    since = parse_time(start, "start") if start is not None else until - dt.timedelta(minutes=10)
    if since > until:
        raise errors.InvalidRequest("start is after end", field="start")
    points = (until - since).total_seconds() / step_s + 1
    if points > MAX_POINTS:
        raise errors.InvalidRequest(
            # A tiny step_s makes ``points`` infinite, which int() cannot take.
            f"the query asks for {points:.0f} points; at most {MAX_POINTS}: raise step_s or "
            "narrow the range",
            field="step_s",
        )
    return centre.fleet.telemetry(name, since, until, step_s)


# --- operators ----------------------------------------------------------------------------


@router.post("/{name}/maintenance", status_code=201, response_model=DevicePublic)
def add_maintenance(
    name: str, body: MaintenanceIn, centre: CentreDep, principal: CentreAdmin
) -> dict[str, Any]:
    """Admin: plan a maintenance window; jobs wait while it lasts."""
    require_admin(principal)
    start, end = parse_time(body.start, "start"), parse_time(body.end, "end")
    if end <= start:
        raise errors.InvalidRequest("end must be after start", field="end")
    centre.fleet.add_window(name, Window(start, end, body.reason))
    return _public(centre, centre.catalogue.get(name), centre.jobs.queue_lengths())


@router.post("/{name}/faults", status_code=201)
def inject_fault(
    name: str, body: WarmupIn, centre: CentreDep, principal: CentreAdmin
) -> dict[str, Any]:
    """Admin: inject a cryostat warm-up; the device goes OFFLINE when it is too warm."""
    require_admin(principal)
    shape = {k: v for k, v in body.model_dump().items() if v is not None}
    return centre.fleet.inject_warmup(name, shape).to_json()


@router.post("/{name}/calibration:scale")
def scale_calibration(
    name: str, body: CalibrationScaleIn, centre: CentreDep, principal: CentreAdmin
) -> dict[str, Any]:
    """Admin: store a calibration with errors times ``factor`` (T1, T2 divided by it)."""
    require_admin(principal)
    return centre.fleet.scale(name, body.factor).to_json()


@router.post("/{name}/calibration:run", status_code=202)
def run_calibration(name: str, centre: CentreDep, principal: CentreAdmin) -> dict[str, Any]:
    """Admin: recalibrate now; the device is CALIBRATING meanwhile."""
    require_admin(principal)
    return centre.fleet.recalibrate(name).to_json()

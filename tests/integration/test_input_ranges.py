"""Numbers and times out of range are refused with 422 naming the field and its range,
and nothing is changed by a refused request."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import RunningCentre
from tests.programs import BELL

RY = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] a;
qubit[2] q;
ry(a) q[0];
cx q[0], q[1];
"""


def invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    """The one error shape, a 422 INVALID_REQUEST, naming ``field``."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == "INVALID_REQUEST", error
    assert field in error["message"], error
    return error


def raw_post(client: httpx.Client, path: str, raw: str) -> httpx.Response:
    """POST a body as written: Python's json and many clients send NaN and Infinity."""
    return client.post(path, content=raw.encode(), headers={"Content-Type": "application/json"})


# --- device faults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        {"rise_s": 1e14},
        {"hold_s": 1e300},
        {"recover_s": 1e12},
        {"peak": 0},
        {"peak": 1.5},
    ],
)
def test_an_absurd_fault_is_refused_and_leaves_no_fault_behind(
    running: RunningCentre, shape: dict[str, float]
) -> None:
    [(field, _)] = shape.items()
    error = invalid(running.http.post("/v1/devices/sc25/faults", json=shape), field)
    assert error["detail"]["errors"][0]["field"] == field
    telemetry = running.http.get("/v1/devices/sc25/telemetry")
    assert telemetry.status_code == 200, telemetry.text
    assert telemetry.json()["faults"] == []
    devices = running.http.get("/v1/devices")
    assert devices.status_code == 200, devices.text
    sc25 = next(d for d in devices.json()["devices"] if d["name"] == "sc25")
    assert sc25["status"] != "OFFLINE"


def test_an_infinite_fault_duration_is_refused(running: RunningCentre) -> None:
    response = raw_post(running.http, "/v1/devices/sc25/faults", '{"rise_s": Infinity}')
    invalid(response, "rise_s")
    assert running.http.get("/v1/devices/sc25/telemetry").json()["faults"] == []


def test_a_fault_the_fleet_cannot_time_is_refused_before_it_is_kept(
    running: RunningCentre,
) -> None:
    from qharbor import errors

    fleet = running.centre.fleet
    with pytest.raises(errors.InvalidRequest, match="rise_s"):
        fleet.inject_warmup("sc25", {"rise_s": 1e14})
    assert fleet.telemetry("sc25", *_last_minute(), 10.0)["faults"] == []


def _last_minute() -> tuple[Any, Any]:
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(minutes=1), now


def test_devices_are_listed_while_one_is_offline(running: RunningCentre) -> None:
    # Recovery takes longer than this module's other tests: sc25 serves none of them.
    fault = running.http.post(
        "/v1/devices/sc25/faults",
        json={"peak": 1.0, "rise_s": 0.01, "hold_s": 3600, "recover_s": 1.0},
    )
    assert fault.status_code == 201, fault.text
    deadline = time.monotonic() + 30
    while True:
        devices = running.http.get("/v1/devices")
        assert devices.status_code == 200, devices.text
        sc25 = next(d for d in devices.json()["devices"] if d["name"] == "sc25")
        if sc25["status"] == "OFFLINE":
            break
        assert time.monotonic() < deadline, sc25
        time.sleep(0.1)
    assert sc25["status_until"] is not None
    assert running.http.get("/v1/devices/sc25").status_code == 200


# --- times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"start": "0001-01-01T00:00:00Z"},
        {"end": "0001-01-01T00:10:00Z"},
        {"end": "9999-12-31T23:59:59Z"},
        {"end": "9999-12-31T23:59:59-23:59"},
        {"step_s": "1e300"},
        {"step_s": "inf"},
        {"step_s": "nan"},
        {"step_s": "5e-324"},
    ],
)
def test_telemetry_bounds_out_of_range_are_refused(
    running: RunningCentre, params: dict[str, str]
) -> None:
    [field] = params
    invalid(running.http.get("/v1/devices/sc25/telemetry", params=params), field)


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:01"]
)
def test_calibration_at_a_time_out_of_range_is_refused(running: RunningCentre, at: str) -> None:
    invalid(running.http.get("/v1/devices/sc25/calibration", params={"at": at}), "at")


def test_a_maintenance_window_out_of_range_is_refused(running: RunningCentre) -> None:
    body = {"start": "9999-12-31T00:00:00Z", "end": "9999-12-31T23:59:59-23:59"}
    invalid(running.http.post("/v1/devices/sc25/maintenance", json=body), "start")


@pytest.mark.parametrize(
    "params",
    [
        {"created_before": "9999-12-31T23:59:59-23:59"},
        {"created_after": "0001-01-01T00:00:00+00:01"},
        {"created_after": "9999-12-31T23:59:59"},
    ],
)
def test_job_listing_times_out_of_range_are_refused(
    running: RunningCentre, params: dict[str, str]
) -> None:
    [field] = params
    invalid(running.http.get("/v1/jobs", params=params), field)


@pytest.mark.parametrize("params", [{"since": "9999-12-31"}, {"until": "0001-01-01"}])
def test_usage_days_out_of_range_are_refused(
    running: RunningCentre, params: dict[str, str]
) -> None:
    [field] = params
    invalid(running.http.get("/v1/usage", params=params), field)


@pytest.mark.parametrize("wait", ["nan", "inf", "1e300"])
def test_a_wait_that_is_not_a_sane_number_of_seconds_is_refused(
    running: RunningCentre, wait: str
) -> None:
    invalid(running.http.get("/v1/jobs/00000000", params={"wait": wait}), "wait")


# --- durations and integers ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/me/tokens", "/v1/admin/tokens"])
def test_a_token_lifetime_beyond_the_limit_is_refused(running: RunningCentre, path: str) -> None:
    body: dict[str, Any] = {"expires_in_s": 1e300}
    if path == "/v1/admin/tokens":
        me = running.http.get("/v1/me").json()
        body |= {"user": me["user"], "project": me["project"]}
    before = len(running.http.get("/v1/me/tokens").json()["tokens"])
    error = invalid(running.http.post(path, json=body), "expires_in_s")
    assert "315360000" in error["message"]
    assert len(running.http.get("/v1/me/tokens").json()["tokens"]) == before


@pytest.mark.parametrize("before", [2**31, 10**30])
def test_an_audit_cursor_beyond_a_database_integer_is_refused(
    running: RunningCentre, before: int
) -> None:
    invalid(running.http.get("/v1/admin/audit", params={"before": before}), "before")


@pytest.mark.parametrize(
    "body",
    [
        {"max_concurrent_jobs": 10**30},
        {"max_concurrent_jobs": 2**31},
        {"simulator": {"budget_s": 1e300}},
        {"qpu": {"budget_s": 10**400}},
    ],
)
def test_huge_quotas_are_refused(running: RunningCentre, body: dict[str, Any]) -> None:
    project = running.http.get("/v1/me").json()["project"]
    before = running.http.get(f"/v1/admin/projects/{project}/quota").json()
    [field] = body
    invalid(running.http.put(f"/v1/admin/projects/{project}/quota", json=body), field)
    assert running.http.get(f"/v1/admin/projects/{project}/quota").json() == before


def test_a_project_with_a_huge_job_limit_is_refused(running: RunningCentre) -> None:
    body = {"name": "huge-limit", "max_concurrent_jobs": 10**20}
    invalid(running.http.post("/v1/admin/projects", json=body), "max_concurrent_jobs")
    assert running.http.get("/v1/admin/projects/huge-limit").status_code == 404


def test_shots_beyond_a_database_integer_are_refused(running: RunningCentre) -> None:
    body = {"device": "statevector", "programs": [BELL], "shots": 2**63}
    invalid(running.http.post("/v1/jobs", json=body), "shots")


# --- estimator precision --------------------------------------------------------------------


@pytest.mark.parametrize("precision", ["1e-200", "1e-7", "-0.1", "2", "Infinity", "NaN"])
@pytest.mark.parametrize("where", ["job", "pub"])
def test_an_estimator_precision_out_of_range_is_refused(
    running: RunningCentre, precision: str, where: str
) -> None:
    pub: dict[str, Any] = {"circuit": RY, "parameter_values": [0.5], "observables": ["ZZ"]}
    body: dict[str, Any] = {"device": "statevector", "kind": "estimator", "pubs": [pub]}
    raw = json.dumps(body)
    marker = '"observables": ["ZZ"]'
    if where == "job":
        raw = raw[:-1] + f', "precision": {precision}}}'
    else:
        raw = raw.replace(marker, f'{marker}, "precision": {precision}')
    error = invalid(raw_post(running.http, "/v1/jobs", raw), "precision")
    if precision not in ("Infinity", "NaN"):  # else pydantic says it must be finite
        assert any(
            bound in error["message"]
            for bound in ("0.000001", "less than or equal to 1", "greater than or equal to 0")
        ), error


def test_an_estimator_precision_of_zero_asks_for_exact_values(running: RunningCentre) -> None:
    """As with Qiskit's reference estimator; a device that samples refuses it instead."""
    pub = {"circuit": RY, "parameter_values": [0.5], "observables": ["ZZ"]}
    job = running.submit(kind="estimator", pubs=[pub], precision=0, seed=3)
    assert running.wait(job["id"])["status"] == "DONE"


def test_an_estimator_precision_in_range_runs(running: RunningCentre) -> None:
    pub = {"circuit": RY, "parameter_values": [0.5], "observables": ["ZZ"]}
    job = running.submit(kind="estimator", pubs=[pub], precision=1e-6, seed=3)
    assert running.wait(job["id"])["status"] == "DONE"


@pytest.mark.parametrize("route", ["calibration", "twin"])
@pytest.mark.parametrize(
    "snapshot", ["sc25-v999999999999999999999-s1", "sc25-v1-s99999999999999999999", "sc25-v0-s1"]
)
def test_a_snapshot_id_out_of_range_is_refused(
    running: RunningCentre, route: str, snapshot: str
) -> None:
    response = running.http.get(f"/v1/devices/sc25/{route}", params={"snapshot": snapshot})
    invalid(response, "snapshot")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (
            "/v1/jobs",
            {"created_after": "1970-01-01T00:00:00Z", "created_before": "2999-12-31T23:59:59Z"},
        ),
        ("/v1/jobs", {"created_before": "2999-12-30T23:59:59-23:59"}),
        ("/v1/usage", {"since": "1970-01-01", "until": "2999-12-31"}),
        (
            "/v1/devices/sc25/telemetry",
            {"start": "2999-12-31T23:50:00Z", "end": "2999-12-31T23:59:59.999999Z"},
        ),
        (
            "/v1/devices/sc25/telemetry",
            {"start": "1970-01-01T00:00:00Z", "end": "1970-01-01T00:01:00Z"},
        ),
        ("/v1/devices/sc25/calibration", {"at": "2999-12-31T23:59:59Z"}),
        ("/v1/admin/audit", {"before": 2**31 - 1}),
    ],
)
def test_the_edges_of_each_range_are_answered(
    running: RunningCentre, path: str, params: dict[str, Any]
) -> None:
    response = running.http.get(path, params=params)
    assert response.status_code == 200, response.text

"""Every bad request gets a 4xx with a stable code, and nothing else is harmed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.conftest import RunningCentre
from tests.programs import BELL, ghz


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def post(running: RunningCentre, **body: Any) -> httpx.Response:
    body.setdefault("device", "statevector")
    return running.http.post("/v1/jobs", json=body)


def test_syntax_error_names_program_line_and_column(running: RunningCentre) -> None:
    broken = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0],q[1];\n'
    error = error_of(post(running, programs=[BELL, broken]), 400, "PROGRAM_SYNTAX")
    assert error["detail"] == {"program": 1, "line": 5, "column": 0}
    assert "program 1" in error["message"] and "line 5" in error["message"]


def test_openqasm3_syntax_error_has_line_and_column(running: RunningCentre) -> None:
    broken = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nc = measure q\n;;x q[0];\n"
    error = error_of(post(running, programs=[broken]), 400, "PROGRAM_SYNTAX")
    assert error["detail"]["line"] >= 4
    assert "column" in error["detail"]


def test_unsupported_construct_is_named_with_its_line(running: RunningCentre) -> None:
    source = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nextern f(int) -> int;\nh q;\n'
    error = error_of(post(running, programs=[source]), 400, "PROGRAM_UNSUPPORTED")
    assert error["detail"]["line"] == 4
    assert "Extern" in error["message"]


def test_unknown_device_is_a_404_listing_the_devices(running: RunningCentre) -> None:
    error = error_of(post(running, device="warp-drive", programs=[BELL]), 404, "DEVICE_NOT_FOUND")
    assert "statevector" in error["detail"]["available"]


def test_too_many_qubits_is_refused_with_the_limit(running: RunningCentre) -> None:
    limit = running.http.get("/v1/devices/density-matrix").json()["max_qubits"]
    error = error_of(
        post(running, device="density-matrix", programs=[ghz(limit + 1)]), 400, "DEVICE_LIMIT"
    )
    assert error["detail"]["max_qubits"] == limit
    assert error["detail"]["qubits"] == limit + 1
    assert str(limit) in error["message"]


def test_non_clifford_gate_on_the_stabilizer_device_is_refused(running: RunningCentre) -> None:
    source = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nt q[0];\nmeasure q -> c;\n'
    )
    error = error_of(
        post(running, device="stabilizer", programs=[source]), 400, "DEVICE_UNSUPPORTED_OPERATION"
    )
    assert error["detail"]["operation"] == "t"


@pytest.mark.parametrize("shots", [0, -5])
def test_shots_below_one_are_invalid(running: RunningCentre, shots: int) -> None:
    error = error_of(post(running, programs=[BELL], shots=shots), 422, "INVALID_REQUEST")
    assert error["detail"]["errors"][0]["field"] == "shots"


def test_shots_over_the_device_maximum_are_invalid(running: RunningCentre) -> None:
    maximum = running.http.get("/v1/devices/statevector").json()["max_shots"]
    error = error_of(post(running, programs=[BELL], shots=maximum + 1), 422, "INVALID_REQUEST")
    assert error["detail"]["max_shots"] == maximum


@pytest.mark.parametrize(
    "body",
    [
        {"device": "statevector"},
        {"device": "statevector", "programs": []},
        {"device": "statevector", "programs": [BELL], "shots": "many"},
        {"device": "statevector", "programs": [BELL], "status": "DONE"},
        {"device": "statevector", "programs": [{"source": BELL, "format": "quil"}]},
        {"device": "statevector", "programs": [BELL], "tags": ["x" * 65]},
    ],
)
def test_malformed_bodies_are_invalid_requests(
    running: RunningCentre, body: dict[str, Any]
) -> None:
    error_of(running.http.post("/v1/jobs", json=body), 422, "INVALID_REQUEST")


def test_a_body_that_is_not_json_is_an_invalid_request(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/jobs", content=b"\xff\xfe not json", headers={"Content-Type": "application/json"}
    )
    error_of(response, 422, "INVALID_REQUEST")


def test_a_body_over_the_size_limit_is_a_413(running: RunningCentre) -> None:
    limit = running.centre.settings.max_body_bytes
    big = {"device": "statevector", "programs": ["//" + "x" * limit]}
    error = error_of(running.http.post("/v1/jobs", json=big), 413, "PAYLOAD_TOO_LARGE")
    assert error["detail"]["limit_bytes"] == limit


def test_a_chunked_body_over_the_size_limit_is_a_413(running: RunningCentre) -> None:
    limit = running.centre.settings.max_body_bytes

    def chunks() -> Any:
        yield b'{"device": "statevector", "programs": ["'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"]}'

    response = running.http.post(
        "/v1/jobs", content=chunks(), headers={"Content-Type": "application/json"}
    )
    error_of(response, 413, "PAYLOAD_TOO_LARGE")


def test_nan_and_infinite_parameters_are_refused(running: RunningCentre) -> None:
    from tests.programs import ROTATION

    for value in ("NaN", "Infinity"):
        # Python's json writes NaN and Infinity, as many clients do; strict JSON has neither.
        program = json.dumps(ROTATION)
        raw = f'{{"device": "statevector", "programs": [{{"source": {program}, "parameters": [[{value}]]}}]}}'  # noqa: E501
        response = running.http.post(
            "/v1/jobs", content=raw.encode(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), response.text
        assert response.json()["error"]["code"] in ("PROGRAM_PARAMETERS", "INVALID_REQUEST")


def test_missing_and_bad_tokens_are_401(running: RunningCentre) -> None:
    anonymous = httpx.post(
        f"{running.url}/v1/jobs", json={"device": "statevector", "programs": [BELL]}
    )
    error_of(anonymous, 401, "UNAUTHENTICATED")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    wrong = httpx.get(f"{running.url}/v1/jobs", headers={"Authorization": "Bearer qh_wrong"})
    error_of(wrong, 401, "UNAUTHENTICATED")
    basic = httpx.get(f"{running.url}/v1/jobs", headers={"Authorization": "Basic YTpi"})
    error_of(basic, 401, "UNAUTHENTICATED")


def test_unknown_job_and_unknown_route_are_404(running: RunningCentre) -> None:
    error_of(running.http.get("/v1/jobs/does-not-exist"), 404, "JOB_NOT_FOUND")
    error_of(running.http.get("/v1/nothing-here"), 404, "NOT_FOUND")
    error_of(running.http.delete("/v1/jobs"), 405, "METHOD_NOT_ALLOWED")


def test_bad_input_leaves_the_centre_up_and_other_jobs_untouched(running: RunningCentre) -> None:
    good = running.submit(programs=[ghz(16)], shots=200, seed=4)
    for body in (
        {"programs": ["OPENQASM 2.0; qreg q[1]; nonsense q[0];"]},
        {"device": "nope", "programs": [BELL]},
        {"programs": [BELL], "shots": 0},
        {"programs": [ghz(40)]},
    ):
        body.setdefault("device", "statevector")
        assert 400 <= running.http.post("/v1/jobs", json=body).status_code < 500
    assert running.http.get("/v1/health").status_code == 200
    result = running.result(good["id"])
    assert set(result["experiments"][0]["counts"]) <= {"0" * 16, "1" * 16}
    listed = running.http.get("/v1/jobs", params={"limit": 500}).json()["jobs"]
    assert all(j["status"] != "FAILED" or j["error"]["code"] for j in listed)

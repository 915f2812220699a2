"""Error answers from the centre become the same error classes the server raised."""

from __future__ import annotations

import httpx
import pytest

from qharbor import errors
from tests.unit.client.scripted import ScriptedCentre, error


@pytest.mark.parametrize(
    ("status", "klass"),
    [
        (422, errors.InvalidRequest),
        (401, errors.Unauthenticated),
        (403, errors.Forbidden),
        (400, errors.ProgramSyntax),
        (400, errors.ProgramLimit),
        (404, errors.DeviceNotFound),
        (404, errors.JobNotFound),
        (409, errors.IdempotencyConflict),
        (409, errors.JobNotFinished),
        (409, errors.JobCancelled),
        (409, errors.JobAlreadyFinal),
    ],
)
def test_error_body_is_raised_as_the_class_named_by_its_code(
    status: int, klass: type[errors.QHarborError]
) -> None:
    centre = ScriptedCentre(error(status, klass.code, "what went wrong", line=4))

    with pytest.raises(klass) as caught:
        centre.session().get("/v1/anything")

    assert type(caught.value) is klass
    assert caught.value.message == "what went wrong"
    assert caught.value.detail == {"line": 4}


def test_program_errors_can_be_caught_as_their_family() -> None:
    centre = ScriptedCentre(error(400, "PROGRAM_SYNTAX", "line 1, column 2: bad"))

    with pytest.raises(errors.ProgramError):
        centre.session().post("/v1/jobs", json={})


def test_job_failed_carries_the_jobs_own_error_in_detail() -> None:
    centre = ScriptedCentre(
        error(
            409,
            "JOB_FAILED",
            "job j1 failed: ENGINE_ERROR: out of memory",
            job_error={"code": "ENGINE_ERROR", "message": "out of memory"},
        )
    )

    with pytest.raises(errors.JobFailed) as caught:
        centre.client().job_result("j1")

    assert caught.value.detail["job_error"]["code"] == "ENGINE_ERROR"


def test_unknown_code_keeps_its_code_on_the_base_class() -> None:
    centre = ScriptedCentre(error(400, "SHINY_NEW_CODE", "from a newer centre"))

    with pytest.raises(errors.QHarborError) as caught:
        centre.session().get("/v1/anything")

    assert type(caught.value) is errors.QHarborError
    assert caught.value.code == "SHINY_NEW_CODE"


@pytest.mark.parametrize(
    ("status", "klass"),
    [
        (401, errors.Unauthenticated),
        (404, errors.NotFound),
        (413, errors.PayloadTooLarge),
        (500, errors.QHarborError),
    ],
)
def test_answer_without_error_body_is_mapped_from_its_http_status(
    status: int, klass: type[errors.QHarborError]
) -> None:
    centre = ScriptedCentre(httpx.Response(status, text="<html>proxy says no</html>"))

    with pytest.raises(klass) as caught:
        centre.session().get("/v1/devices")

    assert type(caught.value) is klass
    assert f"HTTP {status}" in caught.value.message
    assert "proxy says no" in caught.value.message


def test_gateway_errors_without_error_body_become_connection_failed_after_retries() -> None:
    centre = ScriptedCentre(*[httpx.Response(502, text="Bad Gateway") for _ in range(2)])

    with pytest.raises(errors.ConnectionFailed, match="HTTP 502"):
        centre.session(retries=1).get("/v1/devices")


def test_success_that_is_not_json_is_reported_not_crashed_on() -> None:
    centre = ScriptedCentre(httpx.Response(200, text="<html>captive portal</html>"))

    with pytest.raises(errors.QHarborError, match="not JSON"):
        centre.session().get("/v1/devices")

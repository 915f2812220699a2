"""Job: waiting by long poll, timeouts, failures, and riding out a lost connection."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qharbor import errors
from qharbor.client import Job
from tests.unit.client.scripted import ScriptedCentre, error, job_json, result_json


def not_finished(status: str = "RUNNING") -> httpx.Response:
    return error(409, "JOB_NOT_FINISHED", "job j1 is running", job_id="j1", status=status)


def test_result_waits_by_long_poll_in_chunks_of_at_most_30_seconds() -> None:
    centre = ScriptedCentre(
        not_finished("QUEUED"), not_finished(), httpx.Response(200, json=result_json())
    )
    job = Job(centre.client(), "j1")

    result = job.result()

    assert result.get_counts() == {"00": 60, "11": 40}
    assert [centre.query(i)["wait"] for i in range(3)] == ["30", "30", "30"]
    assert all(r.url.path == "/v1/jobs/j1/result" for r in centre.requests)
    assert centre.sleeps == []  # the centre holds each request; the client never sleeps


def test_result_is_fetched_once_and_then_remembered() -> None:
    centre = ScriptedCentre(httpx.Response(200, json=result_json()))
    job = Job(centre.client(), "j1")

    assert job.result() is job.result()
    assert len(centre.requests) == 1


def test_result_with_zero_timeout_asks_once_then_raises_job_timeout() -> None:
    centre = ScriptedCentre(not_finished("QUEUED"))
    job = Job(centre.client(), "j1")

    with pytest.raises(errors.JobTimeout, match="it is QUEUED"):
        job.result(timeout=0)

    assert centre.query(0)["wait"] == "0"


def test_result_wait_never_asks_past_the_callers_timeout() -> None:
    clock = iter([100.0, 100.0, 110.0, 110.0, 112.0])
    centre = ScriptedCentre(not_finished(), not_finished())
    job = Job(centre.client(), "j1", clock=lambda: next(clock))

    with pytest.raises(errors.JobTimeout):
        job.result(timeout=12)

    assert [float(centre.query(i)["wait"]) for i in range(2)] == [12.0, 2.0]


def test_result_of_a_failed_job_raises_job_failed_with_its_error() -> None:
    centre = ScriptedCentre(
        error(
            409,
            "JOB_FAILED",
            "job j1 failed: COMPILE_ERROR: no route",
            job_error={"code": "COMPILE_ERROR", "message": "no route"},
        )
    )
    job = Job(centre.client(), "j1")

    with pytest.raises(errors.JobFailed, match="COMPILE_ERROR"):
        job.result()

    assert job.error == {"code": "COMPILE_ERROR", "message": "no route"}


def test_result_of_a_cancelled_job_raises_job_cancelled() -> None:
    centre = ScriptedCentre(error(409, "JOB_CANCELLED", "job j1 was cancelled"))

    with pytest.raises(errors.JobCancelled):
        Job(centre.client(), "j1").result()


def test_result_rides_out_a_centre_that_is_briefly_unreachable() -> None:
    refused = httpx.ConnectError("refused")
    centre = ScriptedCentre(
        not_finished(), refused, refused, refused, httpx.Response(200, json=result_json())
    )
    # One retry per request in the session, so the job's own wait loop must take over.
    job = Job(centre.client(retries=1), "j1")

    assert job.result().job_id == "j1"
    assert len(centre.requests) == 5


def test_wait_returns_the_final_status() -> None:
    centre = ScriptedCentre(
        httpx.Response(200, json=job_json(status="RUNNING")),
        httpx.Response(200, json=job_json(status="CANCELLED")),
    )
    job = Job(centre.client(), "j1")

    assert job.wait() == "CANCELLED"
    assert centre.query(1)["wait"] == "30"


def test_status_is_read_fresh_from_the_centre_every_time() -> None:
    centre = ScriptedCentre(
        httpx.Response(200, json=job_json(status="QUEUED")),
        httpx.Response(200, json=job_json(status="DONE")),
    )
    job = Job(centre.client(), "j1")

    assert job.status() == "QUEUED"
    assert job.done() is True


def test_cancel_returns_the_new_status_and_is_safe_to_retry() -> None:
    centre = ScriptedCentre(
        httpx.Response(503), httpx.Response(200, json=job_json(status="CANCELLED"))
    )
    job = Job(centre.client(), "j1")

    assert job.cancel() == "CANCELLED"
    assert [r.url.path for r in centre.requests] == ["/v1/jobs/j1/cancel"] * 2


def test_events_yield_each_status_until_the_final_one() -> None:
    stream = (
        ": hello\n\n"
        'event: status\ndata: {"id": "j1", "status": "QUEUED"}\n\n'
        'event: status\ndata: {"id": "j1", "status": "RUNNING"}\n\n'
        'event: status\ndata: {"id": "j1", "status": "DONE"}\n\n'
    )
    centre = ScriptedCentre(
        httpx.Response(200, text=stream, headers={"Content-Type": "text/event-stream"})
    )
    job = Job(centre.client(), "j1")

    assert [e["status"] for e in job.events()] == ["QUEUED", "RUNNING", "DONE"]
    assert centre.requests[0].url.path == "/v1/jobs/j1/events"


def test_events_reconnect_when_the_stream_drops_before_the_final_state() -> None:
    first = 'event: status\ndata: {"id": "j1", "status": "RUNNING"}\n\n'
    second = 'event: status\ndata: {"id": "j1", "status": "DONE"}\n\n'

    def dropped(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            yield first.encode()
            raise httpx.ReadError("connection reset")

        return httpx.Response(200, content=body())

    centre = ScriptedCentre(dropped, httpx.Response(200, text=second))
    job = Job(centre.client(), "j1")

    assert [e["status"] for e in job.events()] == ["RUNNING", "DONE"]
    assert len(centre.requests) == 2


def test_run_with_wait_asks_the_centre_to_hold_the_submission() -> None:
    done = job_json(status="DONE", result=result_json())
    centre = ScriptedCentre(httpx.Response(201, json=done))

    job = centre.service().run("OPENQASM 2.0;", wait=30)

    assert centre.requests[0].url.path == "/v1/jobs"
    assert centre.query(0) == {"wait": "30"}
    assert job.result().get_counts() == {"00": 60, "11": 40}
    assert len(centre.requests) == 1  # the result came with the submission


def test_submit_without_wait_sends_no_wait() -> None:
    centre = ScriptedCentre(httpx.Response(201, json=job_json()))

    centre.service().run("OPENQASM 2.0;")

    assert centre.query(0) == {}

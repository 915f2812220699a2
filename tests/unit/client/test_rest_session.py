"""The retry policy: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from qharbor import errors
from qharbor.client import HarborClient, RestSession, RetryPolicy
from qharbor.client.rest import parse_retry_after
from tests.unit.client.scripted import ScriptedCentre, error, job_json


@pytest.fixture
def closed_port() -> int:
    """A localhost port that nothing listens on, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_refused_connection_is_retried_then_raises_connection_failed_naming_the_url(
    closed_port: int,
) -> None:
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{closed_port}"
    session = RestSession(url, "qh_t", retry=RetryPolicy(retries=2), sleep=sleeps.append)
    with session, pytest.raises(errors.ConnectionFailed) as caught:
        session.get("/v1/devices")

    assert url in caught.value.message
    assert "after 3 tries" in caught.value.message
    assert caught.value.detail["url"] == url
    assert len(sleeps) == 2


def test_refused_connection_is_retried_even_for_a_post_without_idempotency_key(
    closed_port: int,
) -> None:
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{closed_port}"
    session = RestSession(url, "qh_t", retry=RetryPolicy(retries=2), sleep=sleeps.append)
    with session, pytest.raises(errors.ConnectionFailed):
        session.post("/v1/things", json={})

    # Refused means nothing reached the centre, so sending again cannot do anything twice.
    assert len(sleeps) == 2


def test_get_is_retried_on_503_until_it_succeeds() -> None:
    centre = ScriptedCentre(
        httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"ok": True})
    )

    assert centre.session().get("/v1/health") == {"ok": True}
    assert len(centre.requests) == 3
    assert len(centre.sleeps) == 2


def test_job_submission_is_retried_on_503_with_the_same_idempotency_key() -> None:
    centre = ScriptedCentre(
        httpx.Response(503), httpx.Response(504), httpx.Response(201, json=job_json())
    )

    job = centre.client().job_submit({"device": "statevector", "programs": ["x"]})

    assert job["id"] == "j1"
    keys = {r.headers["Idempotency-Key"] for r in centre.requests}
    assert len(centre.requests) == 3
    assert len(keys) == 1


def test_job_submission_always_sends_a_fresh_idempotency_key() -> None:
    centre = ScriptedCentre(
        httpx.Response(201, json=job_json("a")), httpx.Response(201, json=job_json("b"))
    )
    client = centre.client()

    client.job_submit({"device": "statevector", "programs": ["x"]})
    client.job_submit({"device": "statevector", "programs": ["x"]})

    first, second = (r.headers.get("Idempotency-Key") for r in centre.requests)
    assert first and second and first != second


def test_job_submission_sends_the_callers_idempotency_key() -> None:
    centre = ScriptedCentre(httpx.Response(201, json=job_json()))

    centre.client().job_submit({"programs": ["x"]}, idempotency_key="bell-1")

    assert centre.requests[0].headers["Idempotency-Key"] == "bell-1"


def test_post_without_idempotency_key_is_not_retried_on_503() -> None:
    centre = ScriptedCentre(error(503, "UNAVAILABLE", "busy"), httpx.Response(200, json={}))

    with pytest.raises(errors.QHarborError) as caught:
        centre.session().post("/v1/things", json={})

    assert caught.value.code == "UNAVAILABLE"
    assert len(centre.requests) == 1
    assert centre.sleeps == []


def test_post_with_a_read_timeout_is_not_retried_without_idempotency_key() -> None:
    centre = ScriptedCentre(httpx.ReadTimeout("slow"), httpx.Response(200, json={}))

    with pytest.raises(errors.ConnectionFailed):
        centre.session().post("/v1/things", json={})

    assert len(centre.requests) == 1


def test_get_is_retried_after_a_dropped_connection() -> None:
    centre = ScriptedCentre(httpx.ReadError("reset"), httpx.Response(200, json={"ok": 1}))

    assert centre.session().get("/v1/me") == {"ok": 1}
    assert len(centre.sleeps) == 1


def test_429_waits_as_long_as_retry_after_says() -> None:
    centre = ScriptedCentre(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={})
    )

    centre.session().get("/v1/jobs")

    assert centre.sleeps == [7.0]


def test_429_waits_the_exact_seconds_its_body_names_over_the_rounded_header() -> None:
    centre = ScriptedCentre(
        _rate_limited(retry_after_s=0.05, header="1"), httpx.Response(200, json={})
    )

    centre.session().get("/v1/jobs")

    assert centre.sleeps == [0.05]


def test_429_without_an_exact_figure_waits_for_the_header() -> None:
    centre = ScriptedCentre(
        _rate_limited(retry_after_s="soon", header="2"), httpx.Response(200, json={})
    )

    centre.session().get("/v1/jobs")

    assert centre.sleeps == [2.0]


def _rate_limited(retry_after_s: object, header: str) -> httpx.Response:
    response = error(429, "RATE_LIMITED", retry_after_s=retry_after_s)
    response.headers["Retry-After"] = header
    return response


def test_retry_after_is_capped_by_the_policy() -> None:
    policy = RetryPolicy(max_retry_after_s=10.0)

    assert policy.delay(0, retry_after=3600) == 10.0


def test_retry_after_as_an_http_date_gives_the_seconds_until_then() -> None:
    now = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=12), usegmt=True)

    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(12.0)
    assert parse_retry_after("soon") is None


def test_server_errors_are_not_retried_forever_and_the_last_error_is_raised() -> None:
    centre = ScriptedCentre(*[error(503, "UNAVAILABLE", "draining") for _ in range(3)])

    with pytest.raises(errors.QHarborError, match="draining"):
        centre.session(retries=2).get("/v1/devices")

    assert len(centre.requests) == 3


def test_500_is_not_retried() -> None:
    centre = ScriptedCentre(error(500, "INTERNAL", "boom"), httpx.Response(200, json={}))

    with pytest.raises(errors.QHarborError, match="boom"):
        centre.session().get("/v1/devices")

    assert len(centre.requests) == 1


def test_backoff_doubles_each_retry_within_its_jitter_band() -> None:
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=100.0)
    rng = random.Random(1)

    for retry in range(5):
        ceiling = 0.5 * 2**retry
        delays = [policy.delay(retry, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered, so clients do not retry in lockstep


def test_backoff_never_exceeds_its_cap() -> None:
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=4.0)

    assert max(policy.delay(20) for _ in range(50)) <= 4.0


def test_requests_carry_the_bearer_token_and_ask_for_json() -> None:
    centre = ScriptedCentre(httpx.Response(200, json={}))

    centre.session(token="qh_secret").get("/v1/me")

    assert centre.requests[0].headers["Authorization"] == "Bearer qh_secret"
    assert centre.requests[0].headers["Accept"] == "application/json"


def test_long_poll_reads_wait_longer_than_the_servers_wait() -> None:
    seen: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json=job_json(status="DONE"))

    centre = ScriptedCentre(answer)
    HarborClient(centre.session()).job_get("j1", wait=30)

    assert centre.query(0) == {"wait": "30"}
    assert seen[0] > 30

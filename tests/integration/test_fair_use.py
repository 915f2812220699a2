"""Quotas, usage and rate limits through the HTTP API."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from qharbor import errors
from qharbor.client import HarborService
from qharbor.client.rest import RestSession, RetryPolicy
from tests.integration.conftest import RunningCentre, start_centre
from tests.integration.test_tenancy import admin_post, new_member, unique
from tests.programs import BELL


def member_of_new_project(running: RunningCentre) -> tuple[dict, httpx.Client]:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"])
    return project, running.client_for(issued["token"])


def test_a_job_over_the_budget_is_refused_with_the_figures(running: RunningCentre) -> None:
    project, client = member_of_new_project(running)
    quota = running.http.put(
        f"/v1/admin/projects/{project['id']}/quota",
        json={"simulator": {"budget_s": 0.05, "period": "day"}},
    )
    assert quota.status_code == 200, quota.text
    assert quota.json()["budgets"][0]["remaining_s"] == pytest.approx(0.05)
    # 1 experiment of 10,000 shots: 0.01 s + 10,000 x 10 us = 0.11 s, over the budget.
    response = client.post(
        "/v1/jobs", json={"device": "statevector", "programs": [BELL], "shots": 10_000}
    )
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED"
    assert error["detail"]["estimate_s"] == pytest.approx(0.11)
    assert error["detail"]["budget_s"] == pytest.approx(0.05)
    assert "0.110" in error["message"] and "0.050" in error["message"]
    # A small job fits.
    running.submit(client, programs=[BELL], shots=100)


def test_a_project_never_has_more_unfinished_jobs_than_its_limit(running: RunningCentre) -> None:
    """With a limit of one, a submission is admitted only once the earlier job has ended.

    (Whether a given submission meets a running job depends on timing; the exact
    refusal is tested on the job manager with a stopped clock.)
    """
    project, client = member_of_new_project(running)
    running.http.put(f"/v1/admin/projects/{project['id']}/quota", json={"max_concurrent_jobs": 1})
    accepted: list[str] = []
    refused = 0
    for _ in range(6):
        response = client.post(
            "/v1/jobs", json={"device": "statevector", "programs": [BELL], "shots": 20_000}
        )
        if response.status_code == 201:
            for earlier in accepted:
                assert client.get(f"/v1/jobs/{earlier}").json()["status"] == "DONE"
            accepted.append(response.json()["id"])
        else:
            assert response.status_code == 403, response.text
            assert response.json()["error"]["detail"] == {
                "max_concurrent_jobs": 1,
                "active_jobs": 1,
            }
            refused += 1
    assert accepted and refused + len(accepted) == 6
    running.wait(accepted[-1], client)


def test_usage_reports_measured_device_time_per_project_device_and_day(
    running: RunningCentre,
) -> None:
    project, client = member_of_new_project(running)
    for _ in range(2):
        job = running.submit(client, programs=[BELL], shots=100)
        assert running.wait(job["id"], client)["status"] == "DONE"
    report = client.get("/v1/usage").json()
    [row] = report["usage"]
    assert row["project"] == project["name"]
    assert row["device"] == "statevector"
    assert row["day"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert row["jobs"] == 2
    assert row["device_s"] > 0
    assert report["quota"]["active_jobs"] == 0
    # Another project's usage is not shown to this member, but is to an admin.
    assert client.get("/v1/usage", params={"all_projects": "true"}).status_code == 403
    everything = running.http.get("/v1/usage", params={"all_projects": "true"}).json()
    assert row in everything["usage"]


# --- rate limits ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited() -> Iterator[RunningCentre]:
    """A centre with tight limits: 2 requests per second and 4 at once per user, 4 per
    second and 8 at once per project.

    The limiter lives in the centre's process, not the database, so SQLite suffices.
    """
    with tempfile.TemporaryDirectory() as tmp:
        server, _ = start_centre(
            "sqlite",
            Path(tmp),
            rate_limit_per_second=2.0,
            rate_limit_burst=4,
            project_rate_limit_per_second=4.0,
            project_rate_limit_burst=8,
        )
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()


def test_an_excess_request_gets_429_with_retry_after_and_never_a_5xx(
    limited: RunningCentre,
) -> None:
    _user, token = limited.centre.identity.create_user(unique("burst"), unique("lab"))
    client = limited.client_for(token)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: client.get("/v1/me"), range(30)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}
    assert 4 <= statuses.count(200) < 30
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "RATE_LIMITED"


def test_limits_are_per_user(limited: RunningCentre) -> None:
    _user, first = limited.centre.identity.create_user(unique("one"), unique("lab"))
    _user, second = limited.centre.identity.create_user(unique("two"), unique("lab"))
    busy = limited.client_for(first)
    while busy.get("/v1/me").status_code != 429:
        pass
    assert limited.client_for(second).get("/v1/me").status_code == 200


def test_minting_more_tokens_gains_no_requests(limited: RunningCentre) -> None:
    """40 requests spread over 8 tokens of one user meet the user's limit."""
    user_id, token = limited.centre.identity.create_user(unique("mint"), unique("lab"))
    project_id = limited.centre.identity.authenticate(token).project_id
    tokens = [token] + [
        limited.centre.identity.issue_token(user_id, project_id, name=f"t{n}", scopes={"read"})[1]
        for n in range(7)
    ]
    clients = [limited.client_for(t) for t in tokens]
    started = time.monotonic()
    statuses = [clients[n % 8].get("/v1/me").status_code for n in range(40)]
    elapsed = time.monotonic() - started
    assert set(statuses) == {200, 429}
    # The burst of 4, and 2 per second after it (one more for a refill at the edge).
    assert statuses.count(200) <= 4 + 2 * elapsed + 1, (statuses, elapsed)


def test_a_project_shares_one_limit_among_its_members(limited: RunningCentre) -> None:
    lab = unique("lab")
    members = [limited.new_user(unique("member"), lab) for _ in range(4)]
    started = time.monotonic()
    responses = [member.get("/v1/me") for member in members for _ in range(4)]
    elapsed = time.monotonic() - started
    statuses = [r.status_code for r in responses]
    # Each member stays within their own burst of 4; the project's burst is 8.
    assert statuses.count(200) <= 8 + 4 * elapsed + 1, (statuses, elapsed)
    refused = [r.json()["error"] for r in responses if r.status_code == 429]
    assert refused and {e["detail"]["per"] for e in refused} == {"project"}
    assert "project" in refused[0]["message"]


def test_the_sdk_waits_for_retry_after_and_succeeds(limited: RunningCentre) -> None:
    _user, token = limited.centre.identity.create_user(unique("sdk"), unique("lab"))
    with HarborService(limited.url, token, retry=RetryPolicy(retries=10)) as service:
        names = {service.me()["user"] for _ in range(8)}  # 4 at once, then 2 per second
        # A POST that is not idempotent is retried too: a 429 means nothing was done.
        made = service.client.my_token_create({"name": "again", "scopes": ["read"]})
        job = service.run(BELL, shots=10)
    assert len(names) == 1
    assert made["token"].startswith("qh_")
    assert job.job_id


def test_without_retries_the_sdk_raises_rate_limited(limited: RunningCentre) -> None:
    _user, token = limited.centre.identity.create_user(unique("noretry"), unique("lab"))
    service = HarborService(limited.url, token, retry=RetryPolicy(retries=0))
    with service, pytest.raises(errors.RateLimited) as caught:
        for _ in range(20):
            service.me()
    assert caught.value.detail["retry_after_s"] > 0


def test_a_throttled_client_waits_as_long_as_the_limit_says(limited: RunningCentre) -> None:
    """At 2 requests a second a request is allowed again within half a second; the
    SDK waits what the error's ``retry_after_s`` says, not the whole second that
    ``Retry-After`` rounds it up to."""
    _user, token = limited.centre.identity.create_user(unique("exact"), unique("lab"))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    with RestSession(limited.url, token, retry=RetryPolicy(retries=20), sleep=sleep) as session:
        for _ in range(6):  # a burst of 4, then 2 per second
            session.get("/v1/me")
    assert sleeps, "the limit was never reached"
    assert all(0 < seconds <= 0.5 for seconds in sleeps), sleeps
    refused = limited.client_for(token)
    while (response := refused.get("/v1/me")).status_code != 429:
        pass
    assert response.headers["Retry-After"] == "1"  # whole seconds, for other clients
    assert 0 < response.json()["error"]["detail"]["retry_after_s"] <= 0.5

"""Every /v1 route but health needs a token; another project's objects do not exist."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.integration.conftest import RunningCentre
from tests.programs import BELL

PUBLIC = {"/v1/health", "/v1/health/live", "/v1/health/ready", "/v1/keys"}


def operations(running: RunningCentre) -> list[tuple[str, str]]:
    spec: dict[str, Any] = httpx.get(f"{running.url}/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if path.startswith("/v1/")
    ]


def test_the_spec_lists_the_core_routes(running: RunningCentre) -> None:
    found = set(operations(running))
    assert {
        ("POST", "/v1/jobs"),
        ("GET", "/v1/jobs"),
        ("GET", "/v1/jobs/{job_id}"),
        ("GET", "/v1/jobs/{job_id}/result"),
        ("POST", "/v1/jobs/{job_id}/cancel"),
        ("GET", "/v1/jobs/{job_id}/events"),
        ("GET", "/v1/devices"),
        ("GET", "/v1/devices/{name}"),
        ("GET", "/v1/health"),
    } <= found


def test_every_route_except_health_refuses_a_request_without_a_token(
    running: RunningCentre,
) -> None:
    checked = 0
    for method, path in operations(running):
        concrete = re.sub(r"\{[^}]+\}", "some-id", path)
        response = httpx.request(method, f"{running.url}{concrete}", json={})
        if path in PUBLIC:
            assert response.status_code == 200, (method, path)
            continue
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"
        checked += 1
    assert checked >= 7


def test_docs_and_openapi_are_served_without_a_token(running: RunningCentre) -> None:
    assert httpx.get(f"{running.url}/docs").status_code == 200
    assert httpx.get(f"{running.url}/openapi.json").status_code == 200


def test_every_route_with_a_job_id_hides_another_projects_job(running: RunningCentre) -> None:
    job = running.submit(programs=[BELL], shots=10)
    running.wait(job["id"])
    stranger = running.new_user("stranger-access", "elsewhere-access")
    checked = 0
    for method, path in operations(running):
        if "{job_id}" not in path:
            continue
        response = stranger.request(method, path.replace("{job_id}", job["id"]))
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "JOB_NOT_FOUND"
        checked += 1
    assert checked >= 4
    # The owner still sees it, unchanged.
    assert running.http.get(f"/v1/jobs/{job['id']}").json()["status"] == "DONE"


def test_me_names_the_user_and_project_of_the_token(running: RunningCentre) -> None:
    me = running.http.get("/v1/me").json()
    assert me["user"] == "admin"
    assert me["project"] == "default"
    assert me["is_admin"] is True

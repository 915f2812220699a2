"""The audit log: what it records, who may read it, and that it cannot be changed."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.conftest import RunningCentre
from tests.integration.test_tenancy import admin_post, new_member, unique
from tests.programs import BELL


def entries(running: RunningCentre, **filters: Any) -> list[dict[str, Any]]:
    response = running.http.get("/v1/admin/audit", params={"limit": 1000, **filters})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["entries"]
    return found


def test_every_write_is_recorded_with_who_what_and_the_outcome(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user, issued = new_member(running, project["name"])
    client = running.client_for(issued["token"])
    job = running.submit(client, programs=[BELL], shots=10)
    refused = client.post("/v1/jobs", json={"device": "statevector", "programs": []})
    assert refused.status_code == 422
    writes = entries(running, actor=user["id"], action="http.write")
    assert [(e["target"], e["status"]) for e in writes] == [("/v1/jobs", 422), ("/v1/jobs", 201)]
    assert writes[1]["token_id"] == issued["id"]
    assert writes[1]["project_id"] == project["id"]
    assert writes[1]["detail"] == {"method": "POST", "route": "/v1/jobs"}
    client.post(f"/v1/jobs/{job['id']}/cancel")
    latest = entries(running, actor=user["id"], action="http.write")[0]
    assert latest["detail"]["route"] == "/v1/jobs/{job_id}/cancel"
    assert latest["target"] == f"/v1/jobs/{job['id']}/cancel"


def test_admin_actions_are_recorded_with_what_changed(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    running.http.put(
        f"/v1/admin/projects/{project['id']}/quota",
        json={"simulator": {"budget_s": 60, "period": "week"}},
    )
    [created] = entries(running, action="admin.project.create", target=f"project:{project['id']}")
    assert created["actor_id"] is not None
    [quota] = entries(running, action="admin.quota.set", target=f"project:{project['id']}")
    assert quota["detail"] == {"simulator": {"budget_s": 60.0, "period": "week"}}


def test_the_use_of_an_admin_scope_token_is_recorded(running: RunningCentre) -> None:
    operator = admin_post(
        running,
        "/v1/admin/users",
        {"name": unique("operator"), "is_admin": True, "project": "default"},
    )
    issued = admin_post(
        running,
        "/v1/admin/tokens",
        {"user": operator["id"], "project": "default", "scopes": ["read", "admin"]},
    )
    assert running.client_for(issued["token"]).get("/v1/devices").status_code == 200
    used = entries(running, action="token.admin_use", actor=operator["id"])
    assert [(e["token_id"], e["target"]) for e in used] == [(issued["id"], "/v1/devices")]


def test_reading_someone_elses_result_is_recorded_and_ones_own_is_not(
    running: RunningCentre,
) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    author, author_token = new_member(running, project["name"])
    reader, reader_token = new_member(running, project["name"], role="viewer")
    author_client = running.client_for(author_token["token"])
    job = running.submit(author_client, programs=[BELL], shots=10)
    running.result(job["id"], author_client)
    assert entries(running, action="result.read", actor=author["id"]) == []
    running.result(job["id"], running.client_for(reader_token["token"]))
    [read] = entries(running, action="result.read", actor=reader["id"])
    assert read["target"] == f"/v1/jobs/{job['id']}/result"
    assert read["detail"] == {"submitter": author["id"]}


def test_the_audit_log_cannot_be_changed_through_the_api(running: RunningCentre) -> None:
    spec: dict[str, Any] = httpx.get(f"{running.url}/openapi.json").json()
    audit_paths = {path: item for path, item in spec["paths"].items() if "audit" in path}
    assert audit_paths
    assert all(set(item) == {"get"} for item in audit_paths.values())
    before = entries(running)
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        response = running.http.request(method, "/v1/admin/audit", json={})
        assert response.status_code == 405, (method, response.text)
    after = entries(running)
    assert after[-len(before) :] == before  # older entries unchanged, newer ones appended


def test_audit_pages_go_back_in_time(running: RunningCentre) -> None:
    first = running.http.get("/v1/admin/audit", params={"limit": 2}).json()
    assert len(first["entries"]) == 2 and first["next_before"] is not None
    second = running.http.get(
        "/v1/admin/audit", params={"limit": 2, "before": first["next_before"]}
    ).json()
    assert second["entries"][0]["seq"] < first["entries"][-1]["seq"]

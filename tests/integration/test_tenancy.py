"""Users, projects, roles and tokens through the admin API; object-level authorization."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.conftest import RunningCentre
from tests.programs import BELL


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def admin_post(running: RunningCentre, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = running.http.post(path, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def new_member(
    running: RunningCentre,
    project: str,
    role: str = "member",
    scopes: list[str] | None = None,
    **token: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new user in a project (made through the admin API) and a token for them."""
    user = admin_post(
        running, "/v1/admin/users", {"name": unique("user"), "project": project, "role": role}
    )
    issued = admin_post(
        running,
        "/v1/admin/tokens",
        {"user": user["name"], "project": project, "scopes": scopes or ["read", "submit"], **token},
    )
    return user, issued


def test_an_admin_makes_a_project_a_user_and_a_token_that_works(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user, issued = new_member(running, project["name"])
    assert issued["token"].startswith("qh_")
    assert "token" not in running.http.get("/v1/admin/tokens").json()["tokens"][0]
    client = running.client_for(issued["token"])
    me = client.get("/v1/me").json()
    assert (me["user"], me["project"], me["role"]) == (user["name"], project["name"], "member")
    running.submit(client, programs=[BELL], shots=10)
    shown = running.http.get(f"/v1/admin/projects/{project['id']}").json()
    assert [m["name"] for m in shown["members"]] == [user["name"]]
    listed = {u["name"] for u in running.http.get("/v1/admin/users").json()["users"]}
    assert user["name"] in listed


def test_tokens_have_at_least_128_random_bits_and_only_a_hash_is_stored(
    running: RunningCentre,
) -> None:
    import sqlalchemy as sa

    from qharbor.store.tables import tokens

    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"])
    secret = issued["token"].removeprefix("qh_")
    assert len(secret) * 6 >= 128  # URL-safe base64: six bits per character
    with running.centre.db.read() as conn:
        stored = conn.execute(sa.select(tokens).where(tokens.c.id == issued["id"])).one()
    assert issued["token"] not in [str(v) for v in stored]
    assert len(stored.token_hash) == 64


def test_a_revoked_token_is_refused_at_once(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"])
    client = running.client_for(issued["token"])
    assert client.get("/v1/me").status_code == 200
    revoked = running.http.post(f"/v1/admin/tokens/{issued['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_an_expired_token_is_refused(running: RunningCentre) -> None:
    import datetime as dt

    from qharbor.store.tables import tokens

    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"], expires_in_s=3600)
    client = running.client_for(issued["token"])
    assert issued["expires_at"] is not None
    assert client.get("/v1/me").status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with running.centre.db.write() as conn:
        conn.execute(tokens.update().where(tokens.c.id == issued["id"]).values(expires_at=past))
    # Written behind the centre's back, as another process would: the centre's cache of
    # who the token stands for is let go of now rather than within its lifetime.
    running.centre.identity.principals.forget()
    response = client.get("/v1/me")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_read_only_token_reads_but_cannot_submit(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"], scopes=["read"])
    client = running.client_for(issued["token"])
    assert client.get("/v1/jobs").status_code == 200
    response = client.post("/v1/jobs", json={"device": "statevector", "programs": [BELL]})
    assert response.status_code == 403
    assert response.json()["error"]["detail"]["scope"] == "submit"


def test_a_submit_only_token_cannot_read(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"], scopes=["submit"])
    client = running.client_for(issued["token"])
    response = client.post("/v1/jobs", json={"device": "statevector", "programs": [BELL]})
    assert response.status_code == 201
    assert client.get(f"/v1/jobs/{response.json()['id']}").status_code == 403
    assert client.get("/v1/me").json()["scopes"] == ["submit"]


def test_a_viewer_reads_the_projects_jobs_but_cannot_submit(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _member, member_token = new_member(running, project["name"])
    _viewer, viewer_token = new_member(running, project["name"], role="viewer")
    member = running.client_for(member_token["token"])
    viewer = running.client_for(viewer_token["token"])
    job = running.submit(member, programs=[BELL], shots=10)
    assert viewer.get(f"/v1/jobs/{job['id']}").status_code == 200
    refused = viewer.post("/v1/jobs", json={"device": "statevector", "programs": [BELL]})
    assert refused.status_code == 403
    assert refused.json()["error"]["detail"]["role"] == "viewer"
    assert viewer.post(f"/v1/jobs/{job['id']}/cancel").status_code == 403


def test_only_admins_reach_the_admin_routes(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"], role="project-admin")
    client = running.client_for(issued["token"])
    for path in ("/v1/admin/users", "/v1/admin/projects", "/v1/admin/tokens", "/v1/admin/audit"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "FORBIDDEN"


def test_a_non_admin_cannot_get_an_admin_scoped_token(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user = admin_post(
        running, "/v1/admin/users", {"name": unique("user"), "project": project["name"]}
    )
    response = running.http.post(
        "/v1/admin/tokens",
        json={"user": user["id"], "project": project["id"], "scopes": ["read", "admin"]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["detail"]["field"] == "scopes"


def test_removing_a_member_revokes_their_tokens_for_the_project(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user, issued = new_member(running, project["name"])
    client = running.client_for(issued["token"])
    assert client.get("/v1/me").status_code == 200
    removed = running.http.delete(f"/v1/admin/projects/{project['id']}/members/{user['id']}")
    assert removed.status_code == 200 and removed.json()["members"] == []
    assert client.get("/v1/me").status_code == 401


def test_duplicate_names_and_unknown_ids_have_their_own_codes(running: RunningCentre) -> None:
    name = unique("lab")
    admin_post(running, "/v1/admin/projects", {"name": name})
    again = running.http.post("/v1/admin/projects", json={"name": name})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "NAME_TAKEN")
    missing = running.http.get("/v1/admin/users/nobody-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "USER_NOT_FOUND")
    name = unique("user")
    missing = running.http.post("/v1/admin/users", json={"name": name, "project": "nothing-here"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "PROJECT_NOT_FOUND")
    assert running.http.get(f"/v1/admin/users/{name}").status_code == 404  # nothing was made
    missing = running.http.get("/v1/admin/projects/nothing-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "PROJECT_NOT_FOUND")


def test_users_make_and_revoke_their_own_tokens_within_their_scopes(
    running: RunningCentre,
) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"])
    client = running.client_for(issued["token"])
    made = client.post("/v1/me/tokens", json={"name": "laptop", "scopes": ["read"]})
    assert made.status_code == 201, made.text
    wider = client.post("/v1/me/tokens", json={"scopes": ["read", "admin"]})
    assert wider.status_code == 403
    read_only = running.client_for(made.json()["token"])
    assert read_only.get("/v1/me").json()["scopes"] == ["read"]
    ids = {t["id"] for t in client.get("/v1/me/tokens").json()["tokens"]}
    assert {issued["id"], made.json()["id"]} <= ids
    assert client.post(f"/v1/me/tokens/{made.json()['id']}/revoke").status_code == 200
    assert read_only.get("/v1/me").status_code == 401


# --- object-level authorization, generated from the OpenAPI spec ---------------------------


def operations_with_ids(running: RunningCentre) -> list[tuple[str, str, list[str]]]:
    spec: dict[str, Any] = httpx.get(f"{running.url}/openapi.json").json()
    found = []
    for path, item in spec["paths"].items():
        params = re.findall(r"\{([^}]+)\}", path)
        if params:
            found.extend((method.upper(), path, params) for method in item)
    return found


#: Objects everyone may see: a device is not a project's.
SHARED = {"name"}


#: Routes outside /v1/admin/ that only a centre admin may call, whatever the id.
ADMIN_DECISIONS = ("/approve", "/preempt")


def test_every_route_with_an_id_hides_another_projects_objects(running: RunningCentre) -> None:
    """A user of another project gets 404 for every object of this project, on every route.

    The routes come from the OpenAPI spec, so a new route is covered when it is added;
    an id kind the map below does not know is tried with the victim's job id.
    """
    victim_project = admin_post(running, "/v1/admin/projects", {"name": unique("victim")})
    victim, victim_token = new_member(running, victim_project["name"], role="project-admin")
    owner = running.client_for(victim_token["token"])
    job = running.submit(owner, programs=[BELL], shots=10)
    running.wait(job["id"], owner)
    # Far ahead, so no other test's window on the device overlaps it.
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=300 + uuid.uuid4().int % 30)
    booked = owner.post(
        "/v1/reservations",
        json={
            "device": "statevector",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=1)).isoformat(),
        },
    )
    assert booked.status_code == 201, booked.text
    stranger_project = admin_post(running, "/v1/admin/projects", {"name": unique("stranger")})
    _stranger, stranger_token = new_member(running, stranger_project["name"], role="project-admin")
    stranger = running.client_for(stranger_token["token"])
    ids = {
        "job_id": job["id"],
        "token_id": victim_token["id"],
        "user_id": victim["id"],
        "project_id": victim_project["id"],
        "reservation_id": booked.json()["id"],
    }
    checked = 0
    for method, path, params in operations_with_ids(running):
        if set(params) & SHARED:
            continue
        concrete = path
        for param in params:
            concrete = concrete.replace(f"{{{param}}}", ids.get(param, job["id"]))
        body = {"role": "member"} if method == "PUT" else None
        response = stranger.request(method, concrete, json=body)
        if path.startswith("/v1/admin/") or path.endswith(ADMIN_DECISIONS):
            # The whole route is closed to non-admins, whatever the id.
            assert response.status_code == 403, (method, path, response.text)
        else:
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"].endswith("NOT_FOUND")
        checked += 1
    assert checked >= 10
    # Nothing changed for the owner.
    assert owner.get(f"/v1/jobs/{job['id']}").json()["status"] == "DONE"
    assert owner.get("/v1/me").status_code == 200


# --- no mass assignment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["project_id", "status", "owner", "is_admin", "quota", "user_id", "estimated_s"]
)
def test_extra_fields_in_a_submission_are_refused(running: RunningCentre, field: str) -> None:
    body = {"device": "statevector", "programs": [BELL], field: "x"}
    response = running.http.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert field in response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/me/tokens", {"name": "t", "project_id": "other"}),
        ("/v1/me/tokens", {"name": "t", "user_id": "other"}),
        ("/v1/me/tokens", {"name": "t", "is_admin": True}),
        ("/v1/admin/projects", {"name": "p-extra", "quota": 10}),
        ("/v1/admin/users", {"name": "u-extra", "owner": "x"}),
        ("/v1/admin/tokens", {"user": "admin", "project": "default", "status": "active"}),
    ],
)
def test_extra_fields_in_other_bodies_are_refused(
    running: RunningCentre, path: str, body: dict[str, Any]
) -> None:
    response = running.http.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


def test_extra_fields_in_a_quota_or_membership_are_refused(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    quota = running.http.put(
        f"/v1/admin/projects/{project['id']}/quota", json={"simulator": {"budget_s": 1, "x": 1}}
    )
    assert quota.status_code == 422
    member = running.http.put(
        f"/v1/admin/projects/{project['id']}/members/admin",
        json={"role": "member", "is_admin": True},
    )
    assert member.status_code == 422


def test_a_project_admin_changes_roles_and_removes_members_of_their_project(
    running: RunningCentre,
) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _lead, lead_token = new_member(running, project["name"], role="project-admin")
    member, member_token = new_member(running, project["name"])
    lead = running.client_for(lead_token["token"])
    worker = running.client_for(member_token["token"])
    changed = lead.put(f"/v1/project/members/{member['name']}", json={"role": "viewer"})
    assert changed.status_code == 200, changed.text
    roles = {m["name"]: m["role"] for m in changed.json()["members"]}
    assert roles[member["name"]] == "viewer"
    refused = worker.post("/v1/jobs", json={"device": "statevector", "programs": [BELL]})
    assert refused.status_code == 403
    removed = lead.delete(f"/v1/project/members/{member['id']}")
    assert removed.status_code == 200
    assert worker.get("/v1/me").status_code == 401


def test_only_project_admins_manage_members_and_never_make_admins(
    running: RunningCentre,
) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _lead, lead_token = new_member(running, project["name"], role="project-admin")
    member, member_token = new_member(running, project["name"])
    lead = running.client_for(lead_token["token"])
    worker = running.client_for(member_token["token"])
    assert worker.get("/v1/project").json()["name"] == project["name"]
    as_member = worker.put(f"/v1/project/members/{member['id']}", json={"role": "project-admin"})
    assert as_member.status_code == 403
    to_admin = lead.put(f"/v1/project/members/{member['id']}", json={"role": "admin"})
    assert to_admin.status_code == 403
    stranger = admin_post(running, "/v1/admin/users", {"name": unique("outsider")})
    outside = lead.put(f"/v1/project/members/{stranger['id']}", json={"role": "member"})
    assert (outside.status_code, outside.json()["error"]["code"]) == (404, "USER_NOT_FOUND")

"""Scopes over HTTP: a token never outgrows its grant, and the last admin stays.

Each test would have passed an attacker before: a read-only token took over the
account's sealing key and tokens, a short-lived token minted a permanent one, and
the only admin removed itself and locked the centre out.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import mlkem

from tests.integration.conftest import RunningCentre
from tests.integration.test_tenancy import admin_post, new_member, unique


def public_key() -> str:
    raw = mlkem.MLKEM768PrivateKey.generate().public_key().public_bytes_raw()
    return base64.b64encode(raw).decode("ascii")


def member_with_read_only_token(
    running: RunningCentre, role: str = "member"
) -> tuple[dict[str, Any], httpx.Client, httpx.Client, dict[str, Any]]:
    """A member's full token client, a read-only token's client, and the full token."""
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user, issued = new_member(running, project["name"], role=role)
    full = running.client_for(issued["token"])
    made = full.post("/v1/me/tokens", json={"name": "dashboard", "scopes": ["read"]})
    assert made.status_code == 201, made.text
    return user, full, running.client_for(made.json()["token"]), issued


def assert_forbidden(response: httpx.Response, scope: str = "submit") -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "FORBIDDEN"
    assert error["detail"]["scope"] == scope


def test_a_read_only_token_cannot_register_or_retire_the_sealing_key(
    running: RunningCentre,
) -> None:
    _user, full, read_only, _issued = member_with_read_only_token(running)
    assert_forbidden(read_only.post("/v1/me/keys", json={"public_key": public_key()}))
    assert full.get("/v1/me/keys").status_code == 404  # nothing was registered
    registered = full.post("/v1/me/keys", json={"public_key": public_key()})
    assert registered.status_code == 201, registered.text
    assert_forbidden(read_only.delete("/v1/me/keys"))
    assert full.get("/v1/me/keys").json()["id"] == registered.json()["id"]  # still sealing


def test_a_read_only_token_cannot_mint_or_revoke_tokens(running: RunningCentre) -> None:
    _user, full, read_only, issued = member_with_read_only_token(running)
    assert_forbidden(read_only.post("/v1/me/tokens", json={"name": "x", "scopes": ["read"]}))
    assert_forbidden(read_only.post(f"/v1/me/tokens/{issued['id']}/revoke"))
    assert full.get("/v1/me").status_code == 200  # the submit token still works
    listed = read_only.get("/v1/me/tokens")  # reading the list is what read is for
    assert listed.status_code == 200
    assert len(listed.json()["tokens"]) == 2


def test_a_read_only_token_of_a_project_admin_cannot_change_membership(
    running: RunningCentre,
) -> None:
    user, _full, read_only, _issued = member_with_read_only_token(running, "project-admin")
    project = read_only.get("/v1/project").json()
    other = admin_post(
        running,
        "/v1/admin/users",
        {"name": unique("peer"), "project": project["name"], "role": "member"},
    )
    assert_forbidden(read_only.put(f"/v1/project/members/{other['id']}", json={"role": "viewer"}))
    assert_forbidden(read_only.delete(f"/v1/project/members/{other['id']}"))
    roles = {m["name"]: m["role"] for m in read_only.get("/v1/project").json()["members"]}
    assert roles == {user["name"]: "project-admin", other["name"]: "member"}


def test_key_changes_are_audited_and_shown_to_the_user(running: RunningCentre) -> None:
    user, full, read_only, issued = member_with_read_only_token(running)
    assert read_only.get("/v1/me").json()["key_changes"] == []
    key = full.post("/v1/me/keys", json={"public_key": public_key()}).json()
    me = read_only.get("/v1/me").json()
    assert me["sealing_key_id"] == key["id"]
    [change] = me["key_changes"]
    assert (change["action"], change["key_id"], change["token_id"]) == (
        "user.key.register",
        key["id"],
        issued["id"],
    )
    assert full.delete("/v1/me/keys").status_code == 204
    me = read_only.get("/v1/me").json()
    assert me["sealing_key_id"] is None
    assert [c["action"] for c in me["key_changes"]] == ["user.key.retire", "user.key.register"]
    entries = running.http.get(
        "/v1/admin/audit", params={"actor": user["id"], "action": "user.key.retire"}
    ).json()["entries"]
    assert [e["detail"]["key_id"] for e in entries] == [key["id"]]
    export = full.get("/v1/me/export").json()
    assert {"user.key.register", "user.key.retire"} <= {e["action"] for e in export["audit"]}


def test_a_child_token_expires_no_later_than_its_parent(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"], expires_in_s=3)
    parent = running.client_for(issued["token"])
    assert parent.get("/v1/me").json()["expires_at"] == issued["expires_at"]
    later = parent.post("/v1/me/tokens", json={"name": "later", "expires_in_s": 3600})
    assert later.status_code == 403, later.text
    assert later.json()["error"]["detail"]["expires_at"] == issued["expires_at"]
    child = parent.post("/v1/me/tokens", json={"name": "child", "scopes": ["read"]})
    assert child.status_code == 201, child.text
    assert child.json()["expires_at"] == issued["expires_at"]
    child_client = running.client_for(child.json()["token"])
    assert child_client.get("/v1/me").status_code == 200
    time.sleep(3.2)
    assert parent.get("/v1/me").status_code == 401
    assert child_client.get("/v1/me").status_code == 401


def test_an_admin_token_makes_no_admin_token_that_outlives_it(running: RunningCentre) -> None:
    short = admin_post(
        running,
        "/v1/admin/tokens",
        {"user": "admin", "project": "default", "scopes": ["admin"], "expires_in_s": 600},
    )
    admin = running.client_for(short["token"])
    forever = admin.post(
        "/v1/admin/tokens", json={"user": "admin", "project": "default", "scopes": ["admin"]}
    )
    assert forever.status_code == 201, forever.text
    assert forever.json()["expires_at"] == short["expires_at"]
    # Tokens for members are the admin's to give, without that bound.
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user = admin_post(
        running, "/v1/admin/users", {"name": unique("user"), "project": project["name"]}
    )
    member = admin.post(
        "/v1/admin/tokens",
        json={"user": user["name"], "project": project["name"], "scopes": ["read"]},
    )
    assert member.status_code == 201, member.text
    assert member.json()["expires_at"] is None
    for made in (forever.json(), short):  # this module's other tests need the only admin
        assert running.http.post(f"/v1/admin/tokens/{made['id']}/revoke").status_code == 200


# --- the last admin -----------------------------------------------------------------------


def assert_last_admin(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "LAST_ADMIN"


def working_admin_tokens(running: RunningCentre) -> list[dict[str, Any]]:
    """The admin tokens that still work, other than short-lived ones tests made."""
    tokens = running.http.get("/v1/admin/tokens", params={"user": "admin"}).json()["tokens"]
    return [
        t
        for t in tokens
        if "admin" in t["scopes"] and t["revoked_at"] is None and t["expires_at"] is None
    ]


def test_the_only_admin_cannot_remove_itself_or_revoke_its_last_token(
    running: RunningCentre,
) -> None:
    [bootstrap] = working_admin_tokens(running)
    assert_last_admin(running.http.delete("/v1/project/members/admin"))
    assert_last_admin(running.http.delete("/v1/admin/projects/default/members/admin"))
    assert_last_admin(running.http.post(f"/v1/me/tokens/{bootstrap['id']}/revoke"))
    assert_last_admin(running.http.post(f"/v1/admin/tokens/{bootstrap['id']}/revoke"))
    # Nothing changed: the admin still runs the centre.
    assert running.http.get("/v1/admin/users").status_code == 200
    me = running.http.get("/v1/me").json()
    assert (me["user"], me["project"], me["role"]) == ("admin", "default", "admin")


def test_an_admin_token_can_go_once_another_works(running: RunningCentre) -> None:
    spare = admin_post(
        running,
        "/v1/admin/tokens",
        {"user": "admin", "project": "default", "scopes": ["submit", "admin"], "name": "spare"},
    )
    revoked = running.client_for(spare["token"]).post(f"/v1/me/tokens/{spare['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert running.client_for(spare["token"]).get("/v1/me").status_code == 401
    assert running.http.get("/v1/admin/users").status_code == 200

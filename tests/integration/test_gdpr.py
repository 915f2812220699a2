"""A user's data: one JSON export, and erasure that leaves nothing of their work behind."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from qharbor.store.tables import metadata
from tests.integration.conftest import RunningCentre
from tests.integration.test_tenancy import admin_post, new_member, unique


def marked_program(marker: str) -> dict[str, Any]:
    """A Bell program whose text and label carry a marker found nowhere else."""
    source = (
        f'OPENQASM 2.0; include "qelib1.inc"; // {marker}\n'
        f"qreg {marker}[2]; creg c[2]; h {marker}[0]; cx {marker}[0],{marker}[1]; "
        f"measure {marker} -> c;"
    )
    return {"source": source, "name": f"label-{marker}"}


def database_text(running: RunningCentre) -> str:
    """Every row of every table, as text."""
    chunks = []
    with running.centre.db.read() as conn:
        for table in metadata.sorted_tables:
            chunks.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    return "\n".join(chunks)


def test_export_holds_the_users_jobs_results_tokens_and_audit_entries(
    running: RunningCentre,
) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user, issued = new_member(running, project["name"])
    client = running.client_for(issued["token"])
    marker = "m" + uuid.uuid4().hex[:10]
    job = running.submit(client, programs=[marked_program(marker)], shots=50, seed=3)
    result = running.result(job["id"], client)
    response = client.get("/v1/me/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    archive = response.json()
    assert archive["format"] == "qharbor-export/1"
    assert archive["user"]["name"] == user["name"]
    assert archive["user"]["projects"] == [
        {"id": project["id"], "name": project["name"], "role": "member"}
    ]
    assert [t["id"] for t in archive["user"]["tokens"]] == [issued["id"]]
    assert issued["token"] not in response.text
    [exported] = archive["jobs"]
    assert exported["id"] == job["id"]
    assert marker in exported["programs"][0]["source"]
    assert exported["result"]["experiments"][0]["counts"] == result["experiments"][0]["counts"]
    actions = {e["action"] for e in archive["audit"]}
    assert "http.write" in actions  # the submission
    assert "admin.member.set" in actions  # an entry about them, made by an admin


def test_erasure_leaves_none_of_the_users_programs_or_results(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user, issued = new_member(running, project["name"])
    client = running.client_for(issued["token"])
    marker = "m" + uuid.uuid4().hex[:10]
    done = running.submit(client, programs=[marked_program(marker)], shots=50)
    running.result(done["id"], client)
    queued = running.submit(client, programs=[marked_program(marker)], shots=50)
    # Another member's job in the same project stays.
    _other, other_token = new_member(running, project["name"])
    other = running.client_for(other_token["token"])
    kept = running.submit(other, programs=[marked_program("k" + marker)], shots=50)
    assert marker in database_text(running)

    response = client.delete("/v1/me")
    assert response.status_code == 200, response.text
    erased = response.json()
    assert erased["erased"] is True and erased["jobs"] == 2

    text = database_text(running)
    assert f"// {marker}\n" not in text and f"qreg {marker}[" not in text
    assert f"label-{marker}" not in text
    assert user["name"] not in text
    with running.centre.db.read() as conn:
        from qharbor.store.tables import jobs, results, tokens, users

        ids = [done["id"], queued["id"]]
        assert conn.execute(sa.select(jobs).where(jobs.c.id.in_(ids))).all() == []
        assert conn.execute(sa.select(results).where(results.c.job_id.in_(ids))).all() == []
        assert conn.execute(sa.select(tokens).where(tokens.c.user_id == user["id"])).all() == []
        assert conn.execute(sa.select(users).where(users.c.id == user["id"])).all() == []
    assert client.get("/v1/me").status_code == 401
    # The other member's work is untouched, and the erasure is on record, pseudonymised.
    assert other.get(f"/v1/jobs/{kept['id']}").status_code == 200
    [record] = running.http.get(
        "/v1/admin/audit", params={"action": "user.erase", "actor": erased["record"]}
    ).json()["entries"]
    assert record["detail"] == {"jobs": 2}
    assert user["id"] not in erased["record"]


def test_an_admin_cannot_erase_their_own_account(running: RunningCentre) -> None:
    response = running.http.delete("/v1/me")
    assert response.status_code == 403
    assert running.http.get("/v1/me").status_code == 200


def test_a_read_only_token_cannot_erase_its_user(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    _user, issued = new_member(running, project["name"], scopes=["read"])
    client = running.client_for(issued["token"])
    assert client.delete("/v1/me").status_code == 403
    assert client.get("/v1/me").status_code == 200

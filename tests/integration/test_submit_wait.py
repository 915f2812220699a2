"""Submitting with ``?wait=``: one request that answers with the finished job and its result."""

from __future__ import annotations

from pathlib import Path

from qharbor.client.service import HarborService
from qharbor.jobs.manager import JobManager
from tests.integration.conftest import RunningCentre
from tests.integration.test_audit import entries
from tests.integration.test_tenancy import admin_post, new_member, unique
from tests.programs import BELL, slow


def test_a_small_job_comes_back_done_with_its_signed_result(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/jobs",
        json={"device": "statevector", "programs": [BELL], "shots": 200, "seed": 4},
        params={"wait": 30},
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "DONE"
    result = job["result"]
    assert set(result["experiments"][0]["counts"]) <= {"00", "11"}
    assert result["signature"]["algorithm"] == "ML-DSA-65"


def test_the_answer_matches_what_later_reads_return(running: RunningCentre) -> None:
    job = running.http.post(
        "/v1/jobs",
        json={"device": "statevector", "programs": [BELL], "shots": 50},
        params={"wait": 30},
    ).json()
    project_id = running.centre.identity.authenticate(running.token).project_id
    fresh = JobManager(running.centre.db)  # reads the database, never this centre's memory
    assert job["result"] == fresh.result(project_id, job["id"])
    read_back = running.http.get(f"/v1/jobs/{job['id']}").json()
    assert {k: v for k, v in job.items() if k != "result"} == read_back


def test_a_job_that_outlasts_the_wait_comes_back_unfinished(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/jobs",
        json={"device": "statevector", "programs": [slow()], "shots": 10},
        params={"wait": 0.2},
    )
    assert response.status_code == 201
    job = response.json()
    assert job["status"] in ("QUEUED", "RUNNING")
    assert job.get("result") is None
    running.http.post(f"/v1/jobs/{job['id']}/cancel")


def test_a_refused_submission_is_still_refused_with_a_wait(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/jobs",
        json={"device": "statevector", "programs": ["OPENQASM 2.0; qreg q[1]; nope q[0];"]},
        params={"wait": 5},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"].startswith("PROGRAM_")


def test_a_submission_leaves_exactly_one_audit_entry(running: RunningCentre) -> None:
    project = admin_post(running, "/v1/admin/projects", {"name": unique("lab")})
    user, issued = new_member(running, project["name"])
    client = running.client_for(issued["token"])
    for wait in (None, 30):
        params = {"wait": wait} if wait else None
        response = client.post(
            "/v1/jobs", json={"device": "statevector", "programs": [BELL]}, params=params
        )
        assert response.status_code == 201
    writes = entries(running, actor=user["id"], action="http.write")
    assert [(e["target"], e["status"]) for e in writes] == [("/v1/jobs", 201)] * 2


def test_the_sdk_gets_the_result_with_the_submission(
    running: RunningCentre, tmp_path: Path
) -> None:
    service = HarborService(running.url, running.token, account_file=tmp_path / "accounts")
    job = service.run(BELL, shots=100, seed=9, wait=30)
    assert job.data["status"] == "DONE"  # the centre held the submission until the end
    service.verify(job.result())  # the signature holds for what came with the submission
    service.close()
    # The result came with the submission: reading it needs no further request,
    # so it is there after the connection is closed.
    assert set(job.result().get_counts()) <= {"00", "11"}
    assert job.data["status"] == "DONE"

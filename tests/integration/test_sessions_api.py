"""Sessions and batches over HTTP, and through ``qharbor.qiskit``, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit

from qharbor import errors
from qharbor.api.server import CentreServer
from qharbor.qiskit import Batch, QHarborProvider, SamplerV2, Session
from qharbor.security.usage import charge
from tests.integration.conftest import RunningCentre, start_centre
from tests.programs import BELL, slow

FINAL = ("DONE", "FAILED", "CANCELLED")
#: Keeps the only worker busy (about a second) while the test queues jobs behind it.
BLOCKER = slow(n=20, layers=10)


def bell_body(**extra: Any) -> dict[str, Any]:
    return {"device": "statevector", "programs": [BELL], "shots": 20, **extra}


def test_sessions_open_read_list_and_close(running: RunningCentre) -> None:
    http = running.http
    opened = http.post("/v1/sessions", json={"device": "statevector", "idle_ttl_s": 120})
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert (session["mode"], session["status"], session["idle_ttl_s"]) == ("session", "OPEN", 120)
    job = running.submit(**bell_body(session_id=session["id"]))
    assert job["session_id"] == session["id"]
    running.wait(job["id"])
    read = http.get(f"/v1/sessions/{session['id']}").json()
    assert read["jobs"]["DONE"] == 1
    listed = http.get("/v1/sessions", params={"mode": "session", "status": "OPEN"}).json()
    assert session["id"] in [s["id"] for s in listed["sessions"]]
    jobs = http.get("/v1/jobs", params={"session_id": session["id"]}).json()["jobs"]
    assert [j["id"] for j in jobs] == [job["id"]]
    closed = http.delete(f"/v1/sessions/{session['id']}")
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("CLOSED", "closed")
    refused = http.post("/v1/jobs", json=bell_body(session_id=session["id"]))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "SESSION_CLOSED"


def test_batches_group_jobs_and_report_them(running: RunningCentre) -> None:
    batch = running.http.post("/v1/sessions", json={"device": "statevector", "mode": "batch"})
    batch_id = batch.json()["id"]
    ids = [running.submit(**bell_body(session_id=batch_id, seed=n))["id"] for n in range(3)]
    running.http.delete(f"/v1/sessions/{batch_id}")  # closing a batch lets its jobs run
    assert {running.wait(i)["status"] for i in ids} == {"DONE"}
    summary = running.http.get(f"/v1/sessions/{batch_id}").json()
    assert summary["mode"] == "batch" and summary["jobs"]["DONE"] == 3


def test_bad_session_requests_are_refused_with_stable_codes(running: RunningCentre) -> None:
    http = running.http
    assert http.post("/v1/sessions", json={"device": "nope"}).json()["error"]["code"] == (
        "DEVICE_NOT_FOUND"
    )
    too_long = http.post("/v1/sessions", json={"device": "statevector", "max_ttl_s": 1e9})
    assert too_long.status_code == 422 and "max_ttl_s" in too_long.json()["error"]["message"]
    missing = http.get("/v1/sessions/0123456789abcdef")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "SESSION_NOT_FOUND"
    unknown = http.post("/v1/jobs", json=bell_body(session_id="0123456789abcdef"))
    assert unknown.status_code == 404
    session = http.post("/v1/sessions", json={"device": "mps"}).json()
    wrong = http.post("/v1/jobs", json=bell_body(session_id=session["id"]))
    assert wrong.status_code == 422 and "mps" in wrong.json()["error"]["message"]
    other = running.new_user("eve-sessions", "elsewhere")
    assert other.get(f"/v1/sessions/{session['id']}").status_code == 404


def test_jobs_are_listed_by_creation_time(running: RunningCentre) -> None:
    first = running.submit(**bell_body(tags=["by-time"]))
    created = dt.datetime.fromisoformat(first["created_at"].replace("Z", "+00:00"))
    later = running.submit(**bell_body(tags=["by-time"]))
    after = created + dt.timedelta(microseconds=1)
    listed = running.http.get(
        "/v1/jobs", params={"tag": "by-time", "created_after": after.isoformat()}
    ).json()["jobs"]
    assert [j["id"] for j in listed] == [later["id"]]
    with QHarborProvider(running.url, running.token) as provider:
        service_jobs = provider.jobs(tag="by-time", created_before=after)
    assert [j.job_id() for j in service_jobs] == [first["id"]]


# --- a centre with one worker, so jobs queue ----------------------------------------------


@pytest.fixture
def one_worker(database_kind: str) -> Iterator[CentreServer]:
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre(
            database_kind,
            Path(tmp),
            workers=1,
            session_check_seconds=0.2,
            fair_share_refresh_seconds=0.2,
        )
        try:
            yield server
        finally:
            server.stop()
            if schema is not None:
                schema.drop()


def client(server: CentreServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.bootstrap_token}"},
        timeout=120,
    )


def wait_final(http: httpx.Client, job_id: str) -> dict[str, Any]:
    for _ in range(20):
        job: dict[str, Any] = http.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
        if job["status"] in FINAL:
            return job
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_session_jobs_overtake_a_queue_of_ordinary_jobs(one_worker: CentreServer) -> None:
    with client(one_worker) as http:
        blocker = http.post("/v1/jobs", json={**bell_body(), "programs": [BLOCKER]})
        ordinary = [http.post("/v1/jobs", json=bell_body(seed=n)).json()["id"] for n in range(5)]
        session = http.post("/v1/sessions", json={"device": "statevector"}).json()
        urgent = http.post("/v1/jobs", json=bell_body(session_id=session["id"])).json()
        assert urgent["queue_position"] == 0
        waiting = [j for j in ordinary if http.get(f"/v1/jobs/{j}").json()["status"] == "QUEUED"]
        assert waiting, "the ordinary jobs should still be queued behind the blocker"
        urgent_done = wait_final(http, urgent["id"])
        others = [wait_final(http, j) for j in waiting]
        wait_final(http, blocker.json()["id"])
    assert urgent_done["status"] == "DONE"
    for job in others:
        assert job["status"] == "DONE"
        assert job["started_at"] > urgent_done["started_at"], "an ordinary job went first"


def test_a_heavy_projects_session_does_not_overtake_a_light_project(
    one_worker: CentreServer,
) -> None:
    """Session priority stays within fair share: the project that used far more device
    time puts its jobs in a session, and the light project's jobs still go first."""
    centre = one_worker.app.state.centre
    _heavy_user, heavy_token = centre.identity.create_user("heavy", "big-lab")
    _light_user, light_token = centre.identity.create_user("light", "small-lab")
    heavy_project = centre.identity.project("big-lab")["id"]
    with centre.db.write() as conn:  # an hour of device time, ten minutes ago
        charge(
            conn,
            job_id="earlier-work",
            project_id=heavy_project,
            device="statevector",
            device_s=3600.0,
            at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10),
        )
    with (
        client(one_worker) as admin,
        as_user(one_worker, heavy_token) as heavy,
        as_user(one_worker, light_token) as light,
    ):
        blocker = admin.post("/v1/jobs", json={**bell_body(), "programs": [BLOCKER]}).json()
        session = heavy.post("/v1/sessions", json={"device": "statevector"}).json()
        heavy_jobs = [
            heavy.post("/v1/jobs", json=bell_body(session_id=session["id"], seed=n)).json()["id"]
            for n in range(3)
        ]
        light_jobs = [light.post("/v1/jobs", json=bell_body(seed=n)).json()["id"] for n in range(3)]
        waiting = [heavy.get(f"/v1/jobs/{j}").json()["status"] for j in heavy_jobs]
        assert waiting == ["QUEUED"] * 3, "the session's jobs should wait behind the blocker"
        heavy_done = [wait_final(heavy, j) for j in heavy_jobs]
        light_done = [wait_final(light, j) for j in light_jobs]
        wait_final(admin, blocker["id"])
    assert {j["status"] for j in heavy_done + light_done} == {"DONE"}
    last_light = max(j["started_at"] for j in light_done)
    assert all(j["started_at"] > last_light for j in heavy_done), "a session job went first"


def as_user(server: CentreServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def test_open_sessions_are_capped_per_user_and_per_project(running: RunningCentre) -> None:
    sessions = running.centre.sessions
    caps = sessions.max_open_per_user, sessions.max_open_per_project
    sessions.max_open_per_user, sessions.max_open_per_project = 2, 3
    try:
        lab = f"capped-{uuid.uuid4().hex[:8]}"
        first, second = running.new_user(f"a-{lab}", lab), running.new_user(f"b-{lab}", lab)
        opened = [first.post("/v1/sessions", json={"device": "statevector"}) for _ in range(2)]
        assert [r.status_code for r in opened] == [201, 201]
        refused = first.post("/v1/sessions", json={"device": "statevector", "mode": "batch"})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["detail"]) == (
            "SESSION_LIMIT",
            {"limit": 2, "open": 2, "per": "user"},
        )
        assert "close one" in error["message"]
        assert second.post("/v1/sessions", json={"device": "statevector"}).status_code == 201
        refused = second.post("/v1/sessions", json={"device": "statevector"})
        assert refused.json()["error"]["detail"] == {"limit": 3, "open": 3, "per": "project"}
        # Closing one makes room again.
        first.delete(f"/v1/sessions/{opened[0].json()['id']}")
        assert second.post("/v1/sessions", json={"device": "statevector"}).status_code == 201
    finally:
        sessions.max_open_per_user, sessions.max_open_per_project = caps


@pytest.fixture
def provider(one_worker: CentreServer) -> Iterator[QHarborProvider]:
    with QHarborProvider(one_worker.url, one_worker.bootstrap_token) as provider:
        yield provider


def test_closing_a_qiskit_session_fails_its_queued_jobs(
    one_worker: CentreServer, provider: QHarborProvider
) -> None:
    backend = provider.backend("statevector")
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    with client(one_worker) as http:
        blocker = http.post("/v1/jobs", json={**bell_body(), "programs": [BLOCKER]})
        with Session(backend=backend) as session:
            jobs = [SamplerV2(mode=session).run([bell]) for _ in range(2)]
            queued = [j for j in jobs if j.harbor_job.status() == "QUEUED"]
            assert queued, "the session's jobs should wait behind the blocker"
        for job in queued:
            with pytest.raises(errors.JobFailed) as failed:
                job.result(timeout=60)
            assert failed.value.detail["job_error"]["code"] == "SESSION_CLOSED"
            assert "closed" in failed.value.detail["job_error"]["message"]
        assert session.status() == "CLOSED"
        assert session.details()["jobs"]["FAILED"] == len(queued)
        wait_final(http, blocker.json()["id"])


def test_an_idle_session_expires_and_then_refuses_jobs(provider: QHarborProvider) -> None:
    session = Session(provider.backend("statevector"), idle_time=0.5)
    deadline = time.monotonic() + 60
    while session.status() == "OPEN" and time.monotonic() < deadline:
        time.sleep(0.1)
    details = session.details()
    assert (details["status"], details["close_reason"]) == ("EXPIRED", "idle")
    with pytest.raises(errors.SessionClosed) as refused:
        provider.service.run(BELL, session=session.session_id)
    assert refused.value.detail["reason"] == "idle"


def test_a_batch_keeps_its_jobs_in_their_place(
    one_worker: CentreServer, provider: QHarborProvider
) -> None:
    backend = provider.backend("statevector")
    with client(one_worker) as http:
        blocker = http.post("/v1/jobs", json={**bell_body(), "programs": [BLOCKER]})
        ordinary = http.post("/v1/jobs", json=bell_body()).json()
        with Batch(backend=backend) as batch:
            job = backend.run(QuantumCircuit.from_qasm_str(BELL), shots=50, session=batch)
        assert sum(job.result(timeout=120).get_counts().values()) == 50
        first = wait_final(http, ordinary["id"])
        assert first["started_at"] < http.get(f"/v1/jobs/{job.job_id()}").json()["started_at"]
        wait_final(http, blocker.json()["id"])


def test_a_session_can_be_reattached_by_id(running: RunningCentre) -> None:
    with QHarborProvider(running.url, running.token) as provider:
        backend = provider.backend("statevector")
        opened = Session(backend=backend)
        again = Session.from_id(opened.session_id, backend)
        bell = QuantumCircuit.from_qasm_str(BELL)
        job = SamplerV2(mode=again).run([bell], shots=10)
        assert job.result()[0].data.c.num_shots == 10
        assert opened.details()["jobs"]["DONE"] == 1
        with pytest.raises(ValueError, match=r"not a batch; use Session\.from_id"):
            Batch.from_id(opened.session_id, backend)
        again.close()
        assert opened.status() == "CLOSED"

"""What a centre's operators watch: /metrics, health probes, JSON logs, accounting.

The metrics are scraped after a known mix of jobs (done, cancelled in the queue,
failed when their session closed, still queued in a maintenance window) and
checked against the jobs the API lists.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from qharbor.api.logs import JsonFormatter, RequestIdFilter
from qharbor.centre import Centre
from qharbor.settings import Settings
from tests.integration.conftest import RunningCentre
from tests.programs import BELL

ROOT = Path(__file__).resolve().parents[2]
TWIN = "sc25"  # held in maintenance through this module, so its jobs stay queued


def scrape(running: RunningCentre) -> dict[str, list[Any]]:
    response = running.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.text):
        families[family.name] = family.samples
    return families


def value(samples: list[Any], name: str | None, **labels: str) -> float:
    """The sum of the samples with this name (any when None) and at least these labels."""
    found = [
        s.value for s in samples if name in (None, s.name) and labels.items() <= s.labels.items()
    ]
    assert found, f"no {name} sample with {labels}"
    return float(sum(found))


@pytest.fixture(scope="module")
def mix(running: RunningCentre) -> dict[str, Any]:
    """One project's jobs: 3 done, 1 cancelled queued, 1 failed by its session, 1 queued."""
    user = running.new_user("metrics-user", "metrics-project")
    now = dt.datetime.now(dt.UTC)
    window = {
        "start": (now - dt.timedelta(minutes=1)).isoformat(),
        "end": (now + dt.timedelta(hours=2)).isoformat(),
    }
    assert running.http.post(f"/v1/devices/{TWIN}/maintenance", json=window).status_code == 201
    done = [running.submit(user, programs=[BELL], shots=20) for _ in range(3)]
    cancelled = running.submit(user, device=TWIN, programs=[BELL], shots=20)
    assert user.post(f"/v1/jobs/{cancelled['id']}/cancel").status_code == 200
    session = user.post("/v1/sessions", json={"device": TWIN}).json()
    failed = running.submit(user, device=TWIN, programs=[BELL], shots=20, session_id=session["id"])
    assert user.delete(f"/v1/sessions/{session['id']}").status_code == 200
    queued = running.submit(user, device=TWIN, programs=[BELL], shots=20)
    for job in [*done, cancelled, failed]:
        running.wait(job["id"], user)
    budget = {"simulator": {"budget_s": 5000.0, "period": "month"}}
    project = running.http.put("/v1/admin/projects/metrics-project/quota", json=budget)
    assert project.status_code == 200, project.text
    return {"user": user, "queued": queued, "failed": failed}


def test_metrics_count_the_jobs_by_final_status_and_error_code(
    running: RunningCentre, mix: dict[str, Any]
) -> None:
    families = scrape(running)

    listed = mix["user"].get("/v1/jobs", params={"limit": 100}).json()["jobs"]
    expected = Counter(
        (j["device"], j["status"], (j["error"] or {}).get("code", ""))
        for j in listed
        if j["status"] in ("DONE", "FAILED", "CANCELLED")
    )
    finished = families["qharbor_jobs_finished"]
    counted = Counter(
        {
            (s.labels["device"], s.labels["status"], s.labels["error_code"]): int(s.value)
            for s in finished
            if s.name == "qharbor_jobs_finished_total" and s.labels["project"] == "metrics-project"
        }
    )
    assert counted == expected
    assert expected == {
        ("statevector", "DONE", ""): 3,
        (TWIN, "CANCELLED", ""): 1,
        (TWIN, "FAILED", "SESSION_CLOSED"): 1,
    }


def test_stage_histograms_cover_every_ended_job_and_only_started_ones_ran(
    running: RunningCentre, mix: dict[str, Any]
) -> None:
    families = scrape(running)
    stages = families["qharbor_job_stage_seconds"]
    finished = families["qharbor_jobs_finished"]

    for device in ("statevector", TWIN):
        ended = value(finished, "qharbor_jobs_finished_total", device=device)
        total = value(stages, "qharbor_job_stage_seconds_count", device=device, stage="total")
        assert total == ended
    # The twin's jobs never started: no queued or running time, no compile or run.
    assert not [
        s for s in stages if s.labels.get("device") == TWIN and s.labels.get("stage") != "total"
    ]
    done = value(finished, "qharbor_jobs_finished_total", device="statevector", status="DONE")
    for stage in ("queued", "running", "compile", "run"):
        count = value(stages, "qharbor_job_stage_seconds_count", device="statevector", stage=stage)
        assert count == done
    assert value(stages, "qharbor_job_stage_seconds_sum", device="statevector", stage="run") > 0


def test_gauges_show_queues_devices_workers_and_quota(
    running: RunningCentre, mix: dict[str, Any]
) -> None:
    families = scrape(running)

    queued = families["qharbor_queue_depth"]
    assert value(queued, "qharbor_queue_depth", device=TWIN, project="metrics-project") == 1
    status = families["qharbor_device_status"]
    assert value(status, "qharbor_device_status", device=TWIN, status="MAINTENANCE") == 1
    assert value(status, "qharbor_device_status", device=TWIN, status="ONLINE") == 0
    assert value(status, "qharbor_device_status", device="statevector", status="ONLINE") == 1
    age = value(families["qharbor_device_calibration_age_seconds"], None, device=TWIN)
    assert 0 <= age < 24 * 3600
    # The twin file: the mixing chamber at 10 mK, within its 2 % noise.
    cold = value(
        families["qharbor_cryostat_temperature_kelvin"], None, device=TWIN, stage="mixing_chamber"
    )
    assert cold == pytest.approx(0.010, rel=0.03)
    workers = families["qharbor_workers"]
    assert sum(s.value for s in workers) == running.centre.settings.workers
    standing = mix["user"].get("/v1/usage").json()["quota"]["budgets"][0]
    quota = {"project": "metrics-project", "device_class": "simulator"}
    assert value(families["qharbor_quota_budget_seconds"], None, **quota) == 5000.0
    used = value(families["qharbor_quota_used_seconds"], None, **quota)
    assert used == pytest.approx(standing["used_s"], abs=1e-5)
    assert used > 0


def test_metrics_need_a_centre_admins_token(running: RunningCentre, mix: dict[str, Any]) -> None:
    assert httpx.get(f"{running.url}/metrics").status_code == 401
    refused = mix["user"].get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"


def test_liveness_and_readiness_probes(running: RunningCentre) -> None:
    live = httpx.get(f"{running.url}/v1/health/live")
    ready = httpx.get(f"{running.url}/v1/health/ready")

    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "database": "ok",
        "executor": "ok",
        "keys": "ok",
        "sandbox": "ok",
    }
    # The earlier probe answers as it did.
    assert httpx.get(f"{running.url}/v1/health").json().keys() == {"status", "version"}


def test_a_centre_that_has_not_started_is_not_ready(tmp_path: Path) -> None:
    centre = Centre(Settings(data_dir=tmp_path, workers=1))
    try:
        checks = centre.readiness()
    finally:
        centre.stop()

    assert checks["database"] is None
    assert checks["executor"] == "the scheduler is not running"
    assert checks["keys"] == "the centre's keys are not loaded"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("qharbor")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def test_json_logs_carry_the_request_id_and_the_job_id(
    running: RunningCentre, json_log: io.StringIO
) -> None:
    response = running.http.post(
        "/v1/jobs",
        json={"device": "statevector", "programs": [BELL], "shots": 10},
        headers={"X-Request-ID": "trace-7f3a"},
    )
    assert response.headers["x-request-id"] == "trace-7f3a"
    job_id = response.json()["id"]
    running.wait(job_id)

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    access = [r for r in lines if r["logger"] == "qharbor.access" and r["path"] == "/v1/jobs"]
    assert access[0]["request_id"] == "trace-7f3a"
    assert access[0]["status_code"] == 201
    about_job = [r for r in lines if r.get("job_id") == job_id]
    assert {r["message"].split()[-1] for r in about_job} >= {"statevector", "DONE"}
    queued = next(r for r in about_job if "queued" in r["message"])
    assert queued["request_id"] == "trace-7f3a"
    assert queued["project"] == "default"
    assert next(r for r in about_job if "ended" in r["message"])["status"] == "DONE"


def test_a_request_without_a_usable_id_gets_a_new_one(running: RunningCentre) -> None:
    given = running.http.get("/v1/me", headers={"X-Request-ID": "no spaces allowed"})
    fresh = running.http.get("/v1/me")

    assert given.headers["x-request-id"] != "no spaces allowed"
    assert len(fresh.headers["x-request-id"]) == 32
    assert given.headers["x-request-id"] != fresh.headers["x-request-id"]


def test_accounting_reports_usage_per_slurm_job_in_json_and_csv(running: RunningCentre) -> None:
    user = running.new_user("accounting-user", "accounting-project")
    session = user.post("/v1/sessions", json={"device": "statevector", "slurm_job_id": "4242"})
    assert session.status_code == 201, session.text
    assert session.json()["slurm_job_id"] == "4242"
    jobs = [
        running.submit(user, programs=[BELL], shots=10, session_id=session.json()["id"]),
        running.submit(user, programs=[BELL], shots=10, session_id=session.json()["id"]),
        running.submit(user, programs=[BELL], shots=10),
    ]
    for job in jobs:
        running.wait(job["id"], user)

    rows = user.get("/v1/usage/accounting").json()["rows"]
    by_slurm = {r["slurm_job_id"]: r for r in rows}
    assert {k: r["jobs"] for k, r in by_slurm.items()} == {"4242": 2, None: 1}
    assert all(r["user"] == "accounting-user" for r in rows)
    assert all(r["device_s"] > 0 for r in rows)
    csv_text = user.get("/v1/usage/accounting", params={"format": "csv"}).text
    assert csv_text.splitlines()[0].startswith("project,user,slurm_cluster,slurm_job_id,device")
    assert ",4242,statevector,2," in csv_text
    # A period before the jobs holds nothing; a reversed one is refused.
    before = {"to": "2020-01-01T00:00:00Z"}
    assert user.get("/v1/usage/accounting", params=before).json()["rows"] == []
    reversed_period = {"from": "2021-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}
    refused = user.get("/v1/usage/accounting", params=reversed_period)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "INVALID_REQUEST"
    # Another project's accounting is the admins'.
    assert user.get("/v1/usage/accounting", params={"all_projects": True}).status_code == 403
    everyone = running.http.get("/v1/usage/accounting", params={"all_projects": True}).json()
    assert "accounting-project" in {r["project"] for r in everyone["rows"]}


def test_closing_a_slurm_job_closes_only_its_sessions(running: RunningCentre) -> None:
    user = running.new_user("slurm-closer", "slurm-close-project")
    mine = user.post("/v1/sessions", json={"device": "statevector", "slurm_job_id": "77"}).json()
    other = user.post("/v1/sessions", json={"device": "statevector", "slurm_job_id": "78"}).json()

    closed = user.post("/v1/sessions:close-slurm-job", json={"slurm_job_id": "77"})

    assert closed.status_code == 200, closed.text
    assert [s["id"] for s in closed.json()["sessions"]] == [mine["id"]]
    assert user.get(f"/v1/sessions/{mine['id']}").json()["close_reason"] == "slurm_job_ended"
    assert user.get(f"/v1/sessions/{other['id']}").json()["status"] == "OPEN"
    again = user.post("/v1/sessions:close-slurm-job", json={"slurm_job_id": "77"})
    assert again.json()["sessions"] == []
    everyone = {"slurm_job_id": "78", "all_projects": True}
    assert user.post("/v1/sessions:close-slurm-job", json=everyone).status_code == 403
    bad = user.post("/v1/sessions", json={"device": "statevector", "slurm_job_id": "7; rm"})
    assert bad.status_code == 422


def test_the_grafana_dashboard_uses_only_metrics_the_centre_serves(
    running: RunningCentre, mix: dict[str, Any]
) -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "qharbor.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    served = {s.name for samples in scrape(running).values() for s in samples}

    used = {name for e in expressions for name in re.findall(r"qharbor_[a-z_]+", e)}

    assert len(expressions) >= 15
    assert used - served == set()

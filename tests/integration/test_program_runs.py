"""Centre programs through real HTTP: inputs checked by schema, progress events, cancel,
signed results listing every job, and a run resumed after the centre restarts."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qharbor import errors
from qharbor.api.server import CentreServer
from qharbor.client.service import HarborService
from qharbor.runtime.registry import Registry
from qharbor.settings import Settings
from tests.conftest import DATABASES, PostgresSchema, need_postgres
from tests.integration.conftest import RunningCentre
from tests.loop_programs import WhereProgram

#: The exact ground energy of the shipped H2 Hamiltonian, in hartree (dense diagonalisation).
H2_EXACT_HA = -1.1373060148


@pytest.fixture(scope="module")
def service(running: RunningCentre) -> Iterator[HarborService]:
    with HarborService(running.url, running.token) as service:
        yield service


def wait_for(condition: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_centre_lists_its_programs_with_their_input_schemas(service: HarborService) -> None:
    programs = {p["name"]: p for p in service.programs.list()}
    assert "vqe" in programs
    schema = programs["vqe"]["inputs_schema"]
    assert schema["properties"]["iterations"]["minimum"] == 1
    assert schema["additionalProperties"] is False


def test_a_vqe_run_reaches_the_exact_energy_and_signs_a_result_naming_every_job(
    running: RunningCentre, service: HarborService
) -> None:
    run = service.programs.run("vqe", "statevector", {"iterations": 12})
    result = run.result(timeout=120)
    output = result["output"]
    assert output["reference_ha"] == pytest.approx(H2_EXACT_HA, abs=1e-8)
    assert output["gap_ha"] < 1.6e-3 and output["chemically_accurate"]
    assert len(output["history"]) == 12
    # One estimator job per iteration, each in the run's session and tagged with it.
    assert len(result["jobs"]) == 12
    job = running.http.get(f"/v1/jobs/{result['jobs'][0]}").json()
    assert job["session_id"] is not None and f"program-run:{run.id}" in job["tags"]
    verified = service.verify(result)
    assert verified.job_id == run.id and verified.device == "statevector"
    # An altered answer no longer verifies.
    forged = {**result, "output": {**output, "energy_ha": -2.0}}
    with pytest.raises(errors.SignatureInvalid):
        service.verify(forged)


def test_progress_streams_as_events_until_the_run_ends(service: HarborService) -> None:
    run = service.programs.run("vqe", "statevector", {"iterations": 6})
    seen = [event for event in run.events()]
    iterations = [e["progress"]["iteration"] for e in seen if e["progress"]]
    assert iterations == sorted(iterations) and iterations[-1] == 6
    assert seen[-1]["status"] == "DONE"
    assert seen[-1]["progress"]["best"] <= seen[-1]["progress"]["value"] + 1e-12


@pytest.mark.parametrize(
    ("inputs", "field"),
    [({"iterations": 0}, "iterations"), ({"molecule": "H2", "color": "red"}, "color")],
)
def test_inputs_that_break_the_schema_are_refused_before_anything_runs(
    running: RunningCentre, inputs: dict[str, Any], field: str
) -> None:
    before = len(running.http.get("/v1/programs/vqe/runs", params={"limit": 500}).json()["runs"])
    response = running.http.post(
        "/v1/programs/vqe/runs", json={"device": "statevector", "inputs": inputs}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "PROGRAM_INPUTS_INVALID"
    assert [e["field"] for e in error["detail"]["errors"]] == [field]
    after = len(running.http.get("/v1/programs/vqe/runs", params={"limit": 500}).json()["runs"])
    assert after == before


def test_an_unknown_program_or_device_is_refused(running: RunningCentre) -> None:
    response = running.http.post("/v1/programs/mine/runs", json={"device": "statevector"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "CENTRE_PROGRAM_NOT_FOUND"
    assert "vqe" in response.json()["error"]["detail"]["available"]
    response = running.http.post("/v1/programs/vqe/runs", json={"device": "nowhere"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DEVICE_NOT_FOUND"


def test_a_cancelled_run_stops_and_has_no_result(
    running: RunningCentre, service: HarborService
) -> None:
    run = service.programs.run("vqe", "statevector", {"iterations": 10_000})
    wait_for(lambda: (run.refresh().progress or {}).get("iteration", 0) >= 2)
    run.cancel()
    assert run.data["cancel_requested"] is True
    wait_for(lambda: run.refresh().status == "CANCELLED")
    stopped_at = run.progress["iteration"]
    assert stopped_at < 10_000
    time.sleep(0.3)
    assert run.refresh().progress["iteration"] == stopped_at
    with pytest.raises(errors.ProgramRunNotDone):
        service.programs.run_of("vqe", run.id).result(timeout=5)
    with pytest.raises(errors.ProgramRunFinal):
        run.cancel()
    # Its session is closed, so nothing of it waits in the queue.
    session = running.http.get(f"/v1/sessions/{run.data['session_id']}").json()
    assert session["status"] != "OPEN"


# --- restart ---------------------------------------------------------------------------


def _server(data: Path, url: str | None) -> CentreServer:
    server = CentreServer(
        Settings(
            host="127.0.0.1",
            port=0,
            data_dir=data,
            database_url=url,
            workers=1,
            rate_limit_per_second=0,
            log_level="warning",
            engine_benchmark="off",
            program_checkpoint_seconds=0,
            warm_engines=False,
        )
    )
    server.start()
    return server


@pytest.mark.parametrize("kind", DATABASES)
def test_a_run_resumes_from_its_checkpoint_after_the_centre_restarts(kind: str) -> None:
    schema = None
    if kind == "postgresql":
        need_postgres()
        schema = PostgresSchema()
    iterations = 300
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        first = _server(data, schema.url if schema else None)
        token = first.bootstrap_token
        assert token is not None
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with HarborService(first.url, token) as service:
                run = service.programs.run("vqe", "statevector", {"iterations": iterations})
                wait_for(lambda: (run.refresh().progress or {}).get("iteration", 0) >= 5)
                first_session = run.data["session_id"]
        finally:
            first.stop()
        second = _server(data, schema.url if schema else None)
        try:
            with httpx.Client(base_url=second.url, headers=headers, timeout=60) as http:
                with HarborService(second.url, token) as service:
                    resumed = service.programs.run_of("vqe", run.id)
                    result = resumed.result(timeout=120)
                assert resumed.data["attempt"] == 2
                tagged = http.get(
                    "/v1/jobs", params={"tag": f"program-run:{run.id}", "limit": 500}
                ).json()["jobs"]
                # The first attempt saved its state after each iteration's job; the
                # second ran only the iterations after that checkpoint.
                first_attempt = [j for j in tagged if j["session_id"] == first_session]
                second_attempt = [
                    j for j in tagged if j["session_id"] == resumed.data["session_id"]
                ]
                saved_at = len(first_attempt)
                assert 5 <= saved_at < iterations
                assert len(second_attempt) == iterations - saved_at
                assert len(result["output"]["history"]) == iterations
                assert result["attempts"] == 2
                assert sorted(result["jobs"]) == sorted(j["id"] for j in tagged)
                assert result["output"]["gap_ha"] < 1.6e-3
        finally:
            second.stop()
            if schema is not None:
                schema.drop()


# --- the fast lane ---------------------------------------------------------------------


def test_each_job_of_a_run_is_stored_done_with_a_signed_result_and_charged(
    running: RunningCentre, service: HarborService
) -> None:
    charged_before = _jobs_charged(running, "statevector")
    run = service.programs.run("vqe", "statevector", {"iterations": 3})
    result = run.result(timeout=120)
    assert result["timing"]["calls"] == 3
    for job_id in result["jobs"]:
        job = running.http.get(f"/v1/jobs/{job_id}").json()
        assert job["status"] == "DONE" and job["kind"] == "estimator"
        verified = service.verify(job_id)
        assert verified.job_id == job_id and verified.device == "statevector"
    assert _jobs_charged(running, "statevector") == charged_before + 3


def _jobs_charged(running: RunningCentre, device: str) -> int:
    usage = running.http.get("/v1/usage", params={"device": device}).json()["usage"]
    return sum(row["jobs"] for row in usage)


def test_a_run_whose_project_cannot_pay_fails_with_the_quota_error(
    running: RunningCentre, service: HarborService
) -> None:
    project = running.http.get("/v1/me").json()["project"]
    path = f"/v1/admin/projects/{project}/quota"
    before = running.http.get(path).json()
    response = running.http.put(path, json={"simulator": {"budget_s": 1e-9}})
    assert response.status_code == 200, response.text
    try:
        run = service.programs.run("vqe", "statevector", {"iterations": 3})
        wait_for(lambda: run.refresh().status in ("DONE", "FAILED", "CANCELLED"))
        assert run.status == "FAILED"
        assert run.data["error"]["code"] == "QUOTA_EXCEEDED"
        assert "budget" in run.data["error"]["message"]
    finally:
        # The simulator budget as it was (none: null removes the limit), for later tests.
        kept = [b for b in before["budgets"] if b["device_class"] == "simulator"]
        restore = {"budget_s": kept[0]["budget_s"], "period": kept[0]["period"]} if kept else None
        assert running.http.put(path, json={"simulator": restore}).status_code == 200


# --- the loop's process ----------------------------------------------------------------


@pytest.fixture
def where(running: RunningCentre) -> Iterator[None]:
    """The centre runs the test program ``where`` (tests/loop_programs.py) too."""
    runtime = running.centre.programs
    shipped = runtime.registry
    runtime.registry = Registry({**{p.name: p for p in shipped.all()}, "where": WhereProgram()})
    yield
    runtime.registry = shipped


def _ended(service: HarborService, inputs: dict[str, Any]) -> Any:
    run = service.programs.run("where", "statevector", inputs)
    wait_for(lambda: run.refresh().status in ("DONE", "FAILED", "CANCELLED"))
    return run


def _jobs_of(running: RunningCentre, run_id: str) -> list[dict[str, Any]]:
    tagged = running.http.get("/v1/jobs", params={"tag": f"program-run:{run_id}", "limit": 500})
    jobs: list[dict[str, Any]] = tagged.json()["jobs"]
    return jobs


def test_the_loop_runs_in_a_process_of_its_own_kept_for_the_next_run(
    running: RunningCentre, service: HarborService, where: None
) -> None:
    first = service.programs.run("where", "statevector", {"calls": 2}).result(timeout=120)
    second = service.programs.run("where", "statevector", {"calls": 1}).result(timeout=120)
    assert first["output"]["pid"] != os.getpid()  # the centre runs in this process
    assert first["output"]["ray_task"] is None
    assert second["output"]["pid"] == first["output"]["pid"]  # warm, kept between runs
    assert len(first["jobs"]) == 2 and service.verify(first).job_id == first["run_id"]


def test_a_failed_fast_lane_call_is_stored_as_a_failed_job_of_the_run(
    running: RunningCentre, service: HarborService, where: None
) -> None:
    run = _ended(service, {"calls": 1, "end": "engine_fails"})
    assert run.status == "FAILED"
    assert run.data["error"]["code"] == "JOB_FAILED"
    assert "ENGINE_ERROR" in run.data["error"]["message"]
    jobs = _jobs_of(running, run.id)
    assert sorted(j["status"] for j in jobs) == ["DONE", "FAILED"]
    failed = next(j for j in jobs if j["status"] == "FAILED")
    assert failed["session_id"] == run.data["session_id"]
    assert failed["error"]["code"] == "ENGINE_ERROR"
    assert "out of luck" in failed["error"]["message"]


@pytest.mark.parametrize(("end", "how"), [("exit", "exit code 3"), ("segfault", "SIGSEGV")])
def test_a_crashed_loop_process_fails_its_run_saying_how_it_ended(
    running: RunningCentre, service: HarborService, where: None, end: str, how: str
) -> None:
    run = _ended(service, {"calls": 1, "end": end})
    assert run.status == "FAILED"
    assert run.data["error"]["code"] == "PROGRAM_LOOP_LOST"
    assert how in run.data["error"]["message"]
    # The job it ran before it crashed is stored, and the next run gets a new process.
    assert [j["status"] for j in _jobs_of(running, run.id)] == ["DONE"]
    after = service.programs.run("where", "statevector", {"calls": 0}).result(timeout=120)
    assert after["output"]["pid"] != os.getpid()

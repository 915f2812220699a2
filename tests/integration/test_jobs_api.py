"""Submitting, following, reading, listing and cancelling jobs over real HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from qiskit import QuantumCircuit, qasm2
from qiskit_aer import AerSimulator

from tests.integration.conftest import RunningCentre
from tests.programs import BELL, MID_CIRCUIT, ROTATION, ghz, slow

FINAL = {"DONE", "FAILED", "CANCELLED"}


def wait_for_status(running: RunningCentre, job_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = running.http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == status:
            return job
        assert job["status"] not in FINAL, job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never became {status}")


def test_submit_answers_201_with_a_queued_job_and_its_location(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/jobs", json={"device": "statevector", "programs": [BELL], "tags": ["t1"]}
    )
    assert response.status_code == 201
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] in ("QUEUED", "RUNNING", "DONE")
    assert job["shots"] == 1024
    assert job["tags"] == ["t1"]
    assert job["project"] == "default"
    assert running.wait(job["id"])["status"] == "DONE"


def test_bell_pair_gives_only_correlated_outcomes(running: RunningCentre) -> None:
    job = running.submit(programs=[BELL], shots=2000, seed=11)
    result = running.result(job["id"])
    counts = result["experiments"][0]["counts"]
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 2000
    assert 800 < counts.get("00", 0) < 1200


def test_counts_use_qiskits_bit_order_and_register_grouping(running: RunningCentre) -> None:
    source = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg a[2];
creg b[1];
x q[0];
x q[2];
measure q[0] -> a[0];
measure q[1] -> a[1];
measure q[2] -> b[0];
"""
    job = running.submit(programs=[source], shots=50, seed=3)
    ours = running.result(job["id"])["experiments"][0]["counts"]
    theirs = AerSimulator().run(qasm2.loads(source), shots=50, seed_simulator=3).result()
    assert ours == theirs.get_counts()
    assert ours == {"1 01": 50}


def test_several_programs_in_both_openqasm_versions_run_in_one_job(
    running: RunningCentre,
) -> None:
    job = running.submit(
        programs=[BELL, {"source": MID_CIRCUIT, "format": "qasm3", "name": "feed-forward"}],
        shots=300,
    )
    result = running.result(job["id"])
    first, second = result["experiments"]
    assert set(first["counts"]) <= {"00", "11"}
    # X on q0, measured 1, so the conditioned X flips q1: always "11".
    assert second["counts"] == {"11": 300}
    assert second["name"] == "feed-forward"
    assert second["program"] == 1


def test_result_carries_engine_seed_sizes_timings_and_versions(running: RunningCentre) -> None:
    job = running.submit(programs=[ghz(5)], shots=100, seed=99)
    result = running.result(job["id"])
    experiment = result["experiments"][0]
    assert experiment["num_qubits"] == 5
    assert experiment["depth"] >= 5
    assert experiment["seed"] == 99
    meta = result["metadata"]
    assert (meta["method"], meta["seed"]) == ("statevector", 99)
    assert meta["engine"] in ("aer", "qulacs", "qsim", "stim")  # the fastest predicted
    assert meta["engine_reason"].startswith(f"{meta['engine']}: ")
    assert {"qharbor", "qiskit", "python"} <= set(meta["versions"])
    assert {"queued_s", "compile_s", "run_s", "total_s"} <= set(result["timings"])
    assert all(v >= 0 for v in result["timings"].values())


def test_same_seed_reproduces_the_same_counts(running: RunningCentre) -> None:
    a = running.submit(programs=[ghz(4)], shots=500, seed=5)
    b = running.submit(programs=[ghz(4)], shots=500, seed=5)
    assert (
        running.result(a["id"])["experiments"][0]["counts"]
        == running.result(b["id"])["experiments"][0]["counts"]
    )


def test_seedless_job_records_the_seed_it_used(running: RunningCentre) -> None:
    job = running.submit(programs=[BELL], shots=100)
    assert isinstance(job["seed"], int)
    first = running.result(job["id"])["experiments"][0]
    again = running.submit(programs=[BELL], shots=100, seed=job["seed"])
    assert running.result(again["id"])["experiments"][0]["counts"] == first["counts"]


def test_parameter_sweep_runs_once_per_binding_in_order(running: RunningCentre) -> None:
    thetas = [0.0, 3.141592653589793, 1.5707963267948966]
    job = running.submit(
        programs=[{"source": ROTATION, "parameters": [[t] for t in thetas]}], shots=400, seed=1
    )
    assert job["num_experiments"] == 3
    experiments = running.result(job["id"])["experiments"]
    assert [e["parameters"] for e in experiments] == [{"theta": t} for t in thetas]
    assert experiments[0]["counts"] == {"0": 400}
    assert experiments[1]["counts"] == {"1": 400}
    assert 120 < experiments[2]["counts"].get("1", 0) < 280


def test_parameters_may_be_given_by_name(running: RunningCentre) -> None:
    job = running.submit(programs=[{"source": ROTATION, "parameters": [{"theta": 3.14159265}]}])
    assert running.result(job["id"])["experiments"][0]["counts"] == {"1": 1024}


def test_same_idempotency_key_and_body_returns_the_same_job(running: RunningCentre) -> None:
    body = {"device": "statevector", "programs": [BELL], "idempotency_key": "same-key-1"}
    first = running.http.post("/v1/jobs", json=body)
    again = running.http.post("/v1/jobs", json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"


def test_idempotency_key_in_the_header_works_like_the_field(running: RunningCentre) -> None:
    body = {"device": "statevector", "programs": [BELL]}
    headers = {"Idempotency-Key": "header-key-1"}
    first = running.http.post("/v1/jobs", json=body, headers=headers)
    again = running.http.post("/v1/jobs", json=body, headers=headers)
    assert first.json()["id"] == again.json()["id"]


def test_same_idempotency_key_with_another_body_is_a_409(running: RunningCentre) -> None:
    running.submit(programs=[BELL], idempotency_key="conflict-key")
    response = running.http.post(
        "/v1/jobs",
        json={
            "device": "statevector",
            "programs": [BELL],
            "shots": 7,
            "idempotency_key": "conflict-key",
        },
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"


def test_long_poll_returns_the_final_job(running: RunningCentre) -> None:
    job = running.submit(programs=[ghz(12)], shots=100)
    final = running.http.get(f"/v1/jobs/{job['id']}", params={"wait": 30}).json()
    assert final["status"] == "DONE"
    assert final["finished_at"] is not None


def test_events_stream_ends_with_the_final_status(running: RunningCentre) -> None:
    job = running.submit(programs=[ghz(10)], shots=100)
    statuses = []
    with running.http.stream("GET", f"/v1/jobs/{job['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                statuses.append(json.loads(line[6:])["status"])
    assert statuses[-1] == "DONE"
    assert statuses == sorted(statuses, key=["QUEUED", "RUNNING", "DONE"].index)


def test_list_filters_by_status_device_and_tag_and_pages_with_cursors(
    running: RunningCentre,
) -> None:
    ids = {running.submit(programs=[BELL], shots=10, tags=["paging"])["id"] for _ in range(7)}
    other = running.submit(device="mps", programs=[BELL], shots=10, tags=["paging-mps"])
    for job_id in [*ids, other["id"]]:
        running.wait(job_id)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": "paging", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = running.http.get("/v1/jobs", params=params).json()
        seen += [j["id"] for j in page["jobs"]]
        assert len(page["jobs"]) <= 3
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == ids
    by_device = running.http.get("/v1/jobs", params={"device": "mps", "tag": "paging-mps"}).json()
    assert [j["id"] for j in by_device["jobs"]] == [other["id"]]
    done = running.http.get("/v1/jobs", params={"status": "DONE", "tag": "paging"}).json()
    assert {j["id"] for j in done["jobs"]} == ids
    assert (
        running.http.get("/v1/jobs", params={"status": "FAILED", "tag": "paging"}).json()["jobs"]
        == []
    )


def test_list_refuses_a_bad_cursor_and_status(running: RunningCentre) -> None:
    bad_cursor = running.http.get("/v1/jobs", params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["code"] == "INVALID_REQUEST"
    bad_status = running.http.get("/v1/jobs", params={"status": "SLEEPING"})
    assert bad_status.status_code == 422


def test_cancel_stops_running_jobs_fast_and_cancels_queued_ones_at_once(
    running: RunningCentre,
) -> None:
    busy = [running.submit(programs=[slow()], shots=10) for _ in range(2)]
    for job in busy:
        wait_for_status(running, job["id"], "RUNNING")
    queued = running.submit(programs=[BELL], shots=10)
    assert running.http.get(f"/v1/jobs/{queued['id']}").json()["status"] == "QUEUED"

    cancelled = running.http.post(f"/v1/jobs/{queued['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    result = running.http.get(f"/v1/jobs/{queued['id']}/result")
    assert result.status_code == 409
    assert result.json()["error"]["code"] == "JOB_CANCELLED"

    for job in busy:
        response = running.http.post(f"/v1/jobs/{job['id']}/cancel")
        assert response.status_code == 202
        assert response.json()["cancel_requested"] is True
    for job in busy:
        # The bound: a running job is stopped within 2 s.
        after = running.http.get(f"/v1/jobs/{job['id']}", params={"wait": 2}).json()
        assert after["status"] == "CANCELLED"

    # The workers were replaced: new work still runs.
    follow_up = running.submit(programs=[BELL], shots=10)
    assert running.wait(follow_up["id"])["status"] == "DONE"


def test_cancelling_a_finished_job_is_a_409_and_cancel_is_idempotent(
    running: RunningCentre,
) -> None:
    job = running.submit(programs=[BELL], shots=10)
    running.wait(job["id"])
    response = running.http.post(f"/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "JOB_ALREADY_FINAL"


def test_result_of_an_unfinished_job_is_a_409_that_says_to_wait(running: RunningCentre) -> None:
    job = running.submit(programs=[slow(layers=30)], shots=10)
    response = running.http.get(f"/v1/jobs/{job['id']}/result")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "JOB_NOT_FINISHED"
    running.http.post(f"/v1/jobs/{job['id']}/cancel")
    assert running.wait(job["id"])["status"] == "CANCELLED"


def test_queue_position_counts_the_jobs_ahead(running: RunningCentre) -> None:
    busy = [running.submit(programs=[slow()], shots=10) for _ in range(2)]
    for job in busy:
        wait_for_status(running, job["id"], "RUNNING")
    first = running.submit(programs=[BELL], shots=10)
    second = running.submit(programs=[BELL], shots=10)
    assert running.http.get(f"/v1/jobs/{first['id']}").json()["queue_position"] == 0
    assert running.http.get(f"/v1/jobs/{second['id']}").json()["queue_position"] == 1
    for job in busy:
        running.http.post(f"/v1/jobs/{job['id']}/cancel")
    assert running.wait(second["id"])["status"] == "DONE"


@pytest.mark.parametrize("device", ["statevector", "density-matrix", "mps"])
def test_every_general_simulator_runs_the_bell_pair(running: RunningCentre, device: str) -> None:
    job = running.submit(device=device, programs=[BELL], shots=500)
    result = running.result(job["id"])
    assert set(result["experiments"][0]["counts"]) <= {"00", "11"}
    assert (
        result["metadata"]["method"]
        == {
            "statevector": "statevector",
            "density-matrix": "density_matrix",
            "mps": "matrix_product_state",
        }[device]
    )


def test_stabilizer_runs_a_thousand_qubit_clifford_circuit(running: RunningCentre) -> None:
    job = running.submit(device="stabilizer", programs=[ghz(1000)], shots=20)
    counts = running.result(job["id"])["experiments"][0]["counts"]
    assert set(counts) <= {"0" * 1000, "1" * 1000}
    assert sum(counts.values()) == 20


def test_mps_runs_a_wide_low_entanglement_circuit(running: RunningCentre) -> None:
    job = running.submit(device="mps", programs=[ghz(100)], shots=20)
    counts = running.result(job["id"])["experiments"][0]["counts"]
    assert set(counts) <= {"0" * 100, "1" * 100}


def test_custom_gate_definitions_are_compiled_for_the_device(running: RunningCentre) -> None:
    source = """OPENQASM 2.0;
include "qelib1.inc";
gate bellpair a, b { h a; cx a, b; }
qreg q[2];
creg c[2];
bellpair q[0], q[1];
measure q -> c;
"""
    job = running.submit(programs=[source], shots=200)
    assert set(running.result(job["id"])["experiments"][0]["counts"]) <= {"00", "11"}


def test_a_qiskit_circuit_exported_to_openqasm_runs(running: RunningCentre) -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure(range(3), range(3))
    job = running.submit(programs=[qasm2.dumps(circuit)], shots=100)
    assert set(running.result(job["id"])["experiments"][0]["counts"]) <= {"000", "111"}


def test_another_projects_job_is_not_found(running: RunningCentre) -> None:
    job = running.submit(programs=[BELL], shots=10)
    stranger: httpx.Client = running.new_user("stranger-jobs", "elsewhere-jobs")
    for method, path in [
        ("GET", f"/v1/jobs/{job['id']}"),
        ("GET", f"/v1/jobs/{job['id']}/result"),
        ("POST", f"/v1/jobs/{job['id']}/cancel"),
        ("GET", f"/v1/jobs/{job['id']}/events"),
    ]:
        response = stranger.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "JOB_NOT_FOUND"
    listed = stranger.get("/v1/jobs").json()["jobs"]
    assert job["id"] not in {j["id"] for j in listed}


# --- wake-ups: no answer waits for the database recheck timer --------------------------------

#: A recheck no test may wait for: a missed wake-up waits this long, past the
#: client's timeout, so it fails the test instead of costing a second.
NEVER_S = 600.0
CLIENT_TIMEOUT_S = 20.0


def test_a_job_that_ends_before_its_submitter_watches_is_answered_at_once(
    running: RunningCentre, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, made certain: the job is cancelled (an ending no result memory
    holds) after it is stored and before the waiting submission watches it."""
    centre = running.centre
    monkeypatch.setattr(centre.events, "recheck_s", NEVER_S)
    store = centre.submission.submit

    def submit_then_end(*args: Any, **kwargs: Any) -> Any:
        job, replayed = store(*args, **kwargs)
        centre.jobs.cancel(job.project_id, job.id)
        return job, replayed

    monkeypatch.setattr(centre.submission, "wake", lambda: None)  # the scheduler keeps off it
    monkeypatch.setattr(centre.submission, "submit", submit_then_end)
    response = running.http.post(
        "/v1/jobs",
        params={"wait": 300},
        json={"device": "statevector", "programs": [BELL], "shots": 10},
        timeout=CLIENT_TIMEOUT_S,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "CANCELLED"


def test_the_event_stream_sees_a_change_made_before_it_subscribed(
    running: RunningCentre, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream reads the job again once it has subscribed, so a job cancelled
    between the stream's first read and its subscription ends the stream at once."""
    centre = running.centre
    monkeypatch.setattr(centre.events, "recheck_s", NEVER_S)
    monkeypatch.setattr(centre.submission, "wake", lambda: None)
    job = running.submit(programs=[BELL], shots=10)
    read = centre.jobs.get
    reads = 0

    def read_then_end(project_id: str, job_id: str) -> Any:
        nonlocal reads
        reads += 1
        found = read(project_id, job_id)
        if reads == 1:  # the stream's first read, before it subscribes
            centre.jobs.cancel(project_id, job_id)
        return found

    monkeypatch.setattr(centre.jobs, "get", read_then_end)
    with running.http.stream(
        "GET", f"/v1/jobs/{job['id']}/events", timeout=CLIENT_TIMEOUT_S
    ) as stream:
        text = "".join(stream.iter_text())
    assert '"status": "QUEUED"' in text
    assert '"status": "CANCELLED"' in text

"""Device twins over real HTTP: noise from calibration, compilation, status, faults."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qiskit import qasm3

from qharbor import HarborService
from qharbor.devices.twins import mitigation, timing
from tests.integration.conftest import RunningCentre, start_centre
from tests.programs import ghz, slow

TWINS_DIR = Path(__file__).parent / "twins"
FINAL = {"DONE", "FAILED", "CANCELLED"}


@pytest.fixture(scope="module")
def running(module_database_kind: str) -> Iterator[RunningCentre]:
    """A centre with the shipped twins plus the operator's ``lab14``, fast fleet clock."""
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre(
            module_database_kind,
            Path(tmp),
            devices_dir=TWINS_DIR,
            fleet_tick_seconds=0.1,
            calibration_interval_seconds=3600,
            calibration_duration_seconds=1.0,
            drift_step_seconds=5.0,
        )
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()
            if schema is not None:
                schema.drop()


def wait_until(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def ghz_success(counts: dict[str, float], n: int) -> float:
    return mitigation.success_probability(counts, ["0" * n, "1" * n])


def predicted_band(twin: dict[str, Any], compiled: Any, shots: int) -> tuple[float, float]:
    """The GHZ success probability the calibration predicts, as (low, high).

    High: perfect gates, only readout errors (GHZ reads all-0 or all-1 with equal
    weight). Low: every gate error counted as a failure, and amplitude damping
    over the whole circuit on every qubit. Both widened by four standard errors.
    """
    snapshot = twin["calibration"]
    errors_by_site = {(g["gate"], tuple(g["qubits"])): g["error"] for g in snapshot["gates"]}
    qubits = snapshot["qubits"]
    gates_ok = 1.0
    measured = []
    for instruction in compiled.data:
        name = instruction.operation.name
        where = tuple(compiled.find_bit(q).index for q in instruction.qubits)
        if name == "measure":
            measured.append(where[0])
        elif (name, where) in errors_by_site:
            gates_ok *= 1 - errors_by_site[(name, where)]
    read_zeros = math.prod(1 - qubits[q]["readout_p01"] for q in measured)
    read_ones = math.prod(1 - qubits[q]["readout_p10"] for q in measured)
    readout_ok = (read_zeros + read_ones) / 2
    # Damping over the gates only: the readout term above accounts for measurement.
    document = {**twin, "measure_duration_ns": 0}
    duration_us = timing.circuit_duration_s(document, compiled) * 1e6
    damping = math.prod(math.exp(-duration_us / qubits[q]["t1_us"]) for q in measured)
    low, high = gates_ok * readout_ok * damping, readout_ok
    sigma = math.sqrt(0.25 / shots)
    return low - 4 * sigma, high + 4 * sigma


def run_job(running: RunningCentre, **body: Any) -> dict[str, Any]:
    job = running.submit(**body)
    done = running.wait(job["id"])
    assert done["status"] == "DONE", done
    return running.result(job["id"])


def test_ghz5_on_sc25_lands_in_the_band_its_calibration_predicts(running: RunningCentre) -> None:
    shots = 2000
    result = run_job(running, device="sc25", programs=[ghz(5)], shots=shots, seed=5)
    experiment = result["experiments"][0]
    snapshot_id = result["metadata"]["calibration"]["snapshot"]
    twin = running.http.get("/v1/devices/sc25/twin", params={"snapshot": snapshot_id}).json()
    assert twin["calibration"]["id"] == snapshot_id
    compiled = qasm3.loads(experiment["compiled_qasm3"])
    low, high = predicted_band(twin, compiled, shots)
    success = ghz_success(experiment["counts"], 5)
    assert low <= success <= high, (low, success, high)

    noiseless = run_job(running, device="statevector", programs=[ghz(5)], shots=shots, seed=5)
    assert success < ghz_success(noiseless["experiments"][0]["counts"], 5) == 1.0
    # What the result records about the compilation.
    assert experiment["two_qubit_gates"] >= 4
    assert experiment["depth"] == compiled.depth()
    assert len(experiment["physical_qubits"]) == 5
    assert set(compiled.count_ops()) <= {"rz", "sx", "x", "cz", "measure", "barrier"}
    assert result["metadata"]["optimization_level"] == 1


def test_a_worse_calibration_lowers_the_fidelity(running: RunningCentre) -> None:
    body = {"device": "ion11", "programs": [ghz(5)], "shots": 2000, "seed": 9}
    before = ghz_success(run_job(running, **body)["experiments"][0]["counts"], 5)
    scaled = running.http.post("/v1/devices/ion11/calibration:scale", json={"factor": 8})
    assert scaled.status_code == 200, scaled.text
    result = run_job(running, **body)
    assert result["metadata"]["calibration"]["version"] == scaled.json()["version"]
    after = ghz_success(result["experiments"][0]["counts"], 5)
    # Eight times the errors: at least ten points of fidelity lost, far beyond shot noise.
    assert after < before - 0.10, (before, after)


def test_scaling_a_calibration_is_for_admins_only(running: RunningCentre) -> None:
    member = running.new_user("twin-member", "default")
    response = member.post("/v1/devices/ion11/calibration:scale", json={"factor": 2})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_a_ten_qubit_circuit_runs_on_sc72(running: RunningCentre) -> None:
    result = run_job(running, device="sc72", programs=[ghz(10)], shots=200, seed=3)
    experiment = result["experiments"][0]
    assert len(experiment["physical_qubits"]) == 10
    assert sum(experiment["counts"].values()) == 200
    assert ghz_success(experiment["counts"], 10) > 0.3


def test_ghz20_on_sc25_runs_and_records_the_method_and_why(running: RunningCentre) -> None:
    result = run_job(running, device="sc25", programs=[ghz(20)], shots=1000, seed=3)
    experiment = result["experiments"][0]
    assert experiment["method"] == "stabilizer"
    assert "Pauli-twirled" in experiment["method_reason"]
    assert result["metadata"]["twin_methods"][0]["method"] == "stabilizer"
    assert ghz_success(experiment["counts"], 20) > 0.2


def test_a_circuit_too_slow_to_simulate_is_refused_before_queueing(
    running: RunningCentre,
) -> None:
    before = running.http.get("/v1/jobs", params={"device": "sc72"}).json()
    response = running.http.post(
        "/v1/jobs", json={"device": "sc72", "programs": [slow(20, 10)], "shots": 100000}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "DEVICE_LIMIT"
    assert "acts on 20 qubits" in error["message"]
    assert "shots" in error["message"]  # what would make it fit
    detail = error["detail"]
    assert detail["predicted_s"] > detail["max_run_s"]
    assert 1 <= detail["shots_that_fit"] < 100000
    # The hint holds: with the shots it names, the same circuit is admitted.
    dry = running.http.post(
        "/v1/jobs:dry-run",
        json={"device": "sc72", "programs": [slow(20, 10)], "shots": detail["shots_that_fit"]},
    )
    assert dry.status_code == 200, dry.text
    after = running.http.get("/v1/jobs", params={"device": "sc72"}).json()
    assert after == before  # nothing was queued


def test_local_twin_gives_the_servers_counts_for_the_same_seed(running: RunningCentre) -> None:
    result = run_job(running, device="sc25", programs=[ghz(4)], shots=500, seed=21)
    experiment = result["experiments"][0]
    with HarborService(running.url, running.token) as service:
        local = service.local_twin("sc25", snapshot=result["metadata"]["calibration"]["snapshot"])
    circuit = qasm3.loads(experiment["compiled_qasm3"])
    assert local.run(circuit, shots=500, seed=21) == experiment["counts"]
    # A different seed is a different sample: the comparison can fail.
    assert local.run(circuit, shots=500, seed=22) != experiment["counts"]


def test_a_maintenance_window_delays_a_job_which_then_completes(running: RunningCentre) -> None:
    now = dt.datetime.now(dt.UTC)
    end = now + dt.timedelta(seconds=3)
    window = {"start": now.isoformat(), "end": end.isoformat(), "reason": "coil swap"}
    response = running.http.post("/v1/devices/nmr3/maintenance", json=window)
    assert response.status_code == 201, response.text
    device = response.json()
    assert device["status"] == "MAINTENANCE"
    assert device["maintenance"][0]["reason"] == "coil swap"
    job = running.submit(device="nmr3", programs=[ghz(3)], shots=100, seed=1)
    seen = running.http.get(f"/v1/jobs/{job['id']}").json()
    assert seen["status"] == "QUEUED"
    assert "MAINTENANCE" in seen["waiting_reason"] and "coil swap" in seen["waiting_reason"]
    assert seen["estimated_start"].startswith(end.strftime("%Y-%m-%dT%H:%M:%S"))
    done = running.wait(job["id"])
    assert done["status"] == "DONE"
    assert dt.datetime.fromisoformat(done["started_at"].replace("Z", "+00:00")) >= end
    assert done["waiting_reason"] is None


def test_a_warm_up_takes_the_device_offline_and_back_without_losing_jobs(
    running: RunningCentre,
) -> None:
    slow = _deep_circuit(10, 6)
    jobs = [running.submit(device="lab14", programs=[slow], shots=400, seed=i) for i in range(2)]
    first = jobs[0]["id"]
    wait_until(
        lambda: running.http.get(f"/v1/jobs/{first}").json()["status"] == "RUNNING",
        "the first job to run",
    )
    fault = running.http.post(
        "/v1/devices/lab14/faults",
        json={"peak": 0.001, "rise_s": 0.3, "hold_s": 1.0, "recover_s": 0.3},
    )
    assert fault.status_code == 201, fault.text
    offline = wait_until(
        lambda: (d := running.http.get("/v1/devices/lab14").json())["status"] == "OFFLINE" and d,
        "the device to go offline",
        timeout=10,
    )
    assert "mixing_chamber" in offline["status_reason"]
    requeued = wait_until(
        lambda: (j := running.http.get(f"/v1/jobs/{first}").json())["status"] != "RUNNING" and j,
        "the running job to be stopped",
        timeout=10,
    )
    assert requeued["status"] == "QUEUED", requeued
    assert "OFFLINE" in requeued["waiting_reason"]
    wait_until(
        lambda: running.http.get("/v1/devices/lab14").json()["status"] == "CALIBRATING",
        "the recovery recalibration",
    )
    telemetry = running.http.get(
        "/v1/devices/lab14/telemetry",
        params={"step_s": 0.1, "start": fault.json()["start"], "end": fault.json()["end"]},
    ).json()
    mixing = next(c for c in telemetry["channels"] if c["name"] == "mixing_chamber")
    assert mixing["values"][0] < telemetry["offline_threshold"] < max(mixing["values"])
    assert telemetry["faults"][0]["kind"] == "warmup"
    for job in jobs:
        done = running.wait(job["id"])
        assert done["status"] == "DONE", done
    assert running.http.get(f"/v1/jobs/{first}").json()["attempt"] == 2
    assert running.http.get("/v1/devices/lab14").json()["status"] == "ONLINE"
    history = running.http.get("/v1/devices/lab14/calibrations").json()["calibrations"]
    assert history[0]["reason"] == "recovery"


def _deep_circuit(n: int, layers: int) -> str:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for layer in range(layers):
        lines += [f"rx({0.3 + 0.01 * layer + 0.001 * i}) q[{i}];" for i in range(n)]
        lines += [f"cx q[{i}],q[{i + 1}];" for i in range(layer % 2, n - 1, 2)]
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def test_a_non_isa_circuit_is_refused_naming_instruction_and_qubits(
    running: RunningCentre,
) -> None:
    body = {
        "device": "sc25",
        "programs": [ghz(3)],
        "shots": 10,
        "options": {"skip_compilation": True},
    }
    response = running.http.post("/v1/jobs", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "PROGRAM_NOT_ISA"
    assert error["message"].startswith("program 0, instruction 0: h on qubits [0] ")
    assert error["detail"]["instruction"] == "h" and error["detail"]["qubits"] == [0]

    uncoupled = (
        'OPENQASM 2.0; include "qelib1.inc"; qreg q[3]; creg c[3]; '
        "sx q[0]; cz q[0],q[2]; measure q -> c;"
    )
    response = running.http.post("/v1/jobs", json={**body, "programs": [uncoupled]})
    error = response.json()["error"]
    assert error["code"] == "PROGRAM_NOT_ISA"
    assert "cz on qubits [0, 2]" in error["message"] and "not coupled" in error["message"]
    assert error["detail"]["coupled_to"] == [1, 5]


def test_an_isa_circuit_runs_as_sent(running: RunningCentre) -> None:
    native = (
        'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; '
        "x q[0]; cz q[0],q[1]; measure q -> c;"
    )
    result = run_job(
        running,
        device="sc25",
        programs=[native],
        shots=200,
        seed=4,
        options={"skip_compilation": True},
    )
    assert result["metadata"]["optimization_level"] is None
    assert result["experiments"][0]["physical_qubits"] == [0, 1]


def test_dry_run_estimates_are_within_20_percent_of_the_timing_model(
    running: RunningCentre,
) -> None:
    for device, program, shots in (("sc25", ghz(5), 1000), ("nmr3", ghz(3), 20)):
        body = {"device": device, "programs": [program], "shots": shots, "seed": 2}
        before = running.http.get("/v1/jobs", params={"device": device}).json()["jobs"]
        dry = running.http.post("/v1/jobs:dry-run", json=body)
        assert dry.status_code == 200, dry.text
        estimate = dry.json()
        after = running.http.get("/v1/jobs", params={"device": device}).json()["jobs"]
        assert len(after) == len(before)  # nothing was queued
        assert estimate["device_status"] in {"ONLINE", "CALIBRATING", "MAINTENANCE"}
        assert estimate["queue_position"] >= 0
        recorded = run_job(running, **body)["timings"]["qpu_s"]
        assert abs(estimate["estimated_qpu_s"] - recorded) <= 0.2 * recorded, (device, estimate)


def test_dry_run_refuses_what_submit_refuses(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/jobs:dry-run",
        json={"device": "sc72", "programs": [slow(20, 10)], "shots": 100000},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "DEVICE_LIMIT"


def test_readout_mitigation_returns_raw_counts_and_quasi_probabilities(
    running: RunningCentre,
) -> None:
    result = run_job(
        running,
        device="sc25",
        programs=[ghz(3)],
        shots=2000,
        seed=8,
        options={"mitigate_readout": True},
    )
    experiment = result["experiments"][0]
    assert sum(experiment["counts"].values()) == 2000
    quasi = experiment["quasi_probabilities"]
    assert math.isclose(sum(quasi.values()), 1.0, abs_tol=1e-9)
    assert ghz_success(quasi, 3) > ghz_success(experiment["counts"], 3)


def test_mitigation_on_a_plain_simulator_is_refused(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/jobs",
        json={"device": "statevector", "programs": [ghz(2)], "options": {"mitigate_readout": 1}},
    )
    assert response.status_code == 422
    assert "mitigate_readout" in response.json()["error"]["message"]


def test_calibration_now_and_at_a_past_time(running: RunningCentre) -> None:
    now = running.http.get("/v1/devices/sc25/calibration").json()
    assert now["device"] == "sc25" and len(now["qubits"]) == 25
    assert {g["gate"] for g in now["gates"]} == {"rz", "sx", "x", "cz"}
    taken = dt.datetime.fromisoformat(now["taken_at"].replace("Z", "+00:00"))
    at = (taken + dt.timedelta(seconds=12)).isoformat()
    past = running.http.get("/v1/devices/sc25/calibration", params={"at": at}).json()
    assert past["version"] == now["version"]
    assert past["step"] == 2  # 12 s at one drift step per 5 s
    assert (
        past["qubits"]
        != running.http.get("/v1/devices/sc25/calibration", params={"at": now["taken_at"]}).json()[
            "qubits"
        ]
    )
    again = running.http.get("/v1/devices/sc25/calibration", params={"at": at}).json()
    assert again == past  # drift is reproducible
    early = running.http.get("/v1/devices/sc25/calibration", params={"at": "2001-01-01T00:00:00Z"})
    assert early.status_code == 422


def test_the_twin_document_and_device_view(running: RunningCentre) -> None:
    device = running.http.get("/v1/devices/sc25").json()
    assert device["kind"] == "twin" and device["status"] == "ONLINE"
    assert device["twin"]["num_qubits"] == 25 and len(device["twin"]["edges"]) == 40
    assert device["maintenance"][0]["reason"] == "dilution refrigerator service"
    document = running.http.get("/v1/devices/sc25/twin").json()
    assert document["native_gates"] == ["rz", "sx", "x", "cz"]
    assert document["calibration"]["id"].startswith("sc25-v")
    assert running.http.get("/v1/devices/statevector/twin").status_code == 404
    assert "lab14" in {d["name"] for d in running.http.get("/v1/devices").json()["devices"]}


def test_the_sdk_example_of_the_device_docs_runs(running: RunningCentre) -> None:
    source = (Path(__file__).parents[2] / "docs" / "devices.md").read_text()
    example = source.split("```python\n", 1)[1].split("```", 1)[0]
    example = example.replace("service = HarborService()", "service = HarborService(URL, TOKEN)")
    namespace: dict[str, Any] = {"URL": running.url, "TOKEN": running.token}
    try:
        exec(compile(example, "docs/devices.md", "exec"), namespace)
    finally:
        if "service" in namespace:
            namespace["service"].close()
    assert namespace["experiment"].counts

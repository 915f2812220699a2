"""QHarborDevice against Braket's LocalSimulator: the same circuits, results alike.

Every case runs on ``braket.devices.LocalSimulator`` and on a real centre over
HTTP. Results must have the same fields of the same types; exact result types
(shots=0) must agree to 1e-9, and sampled values within five standard errors of
the exact values for the shots taken.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import difflib
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from braket.circuits import Circuit, FreeParameter, Observable, ResultType
from braket.circuits.serialization import IRType
from braket.device_schema import DeviceActionType
from braket.device_schema.simulators import GateModelSimulatorDeviceCapabilities
from braket.devices import Device, LocalSimulator
from braket.ir.openqasm import Program as OpenQASMProgram
from braket.tasks import GateModelQuantumTaskResult, QuantumTask, QuantumTaskBatch

from qharbor import errors
from qharbor.braket import QHarborDevice, TwinDeviceCapabilities
from qharbor.client import HarborService
from tests.integration.conftest import RunningCentre
from tests.programs import slow

SHOTS = 2000
THETA = FreeParameter("theta")
#: Fields Braket fills with per-run identity (ids, times), compared by type only.
_IDENTITY = ("id", "createdAt", "endedAt", "deviceId")


def exact_cases() -> dict[str, tuple[Circuit, dict[str, float]]]:
    return {
        "every_result_type": (
            Circuit()
            .h(0)
            .cnot(0, 1)
            .ry(2, 0.8)
            .expectation(Observable.Z() @ Observable.Z(), target=[0, 1])
            .expectation(Observable.X(), target=[2])
            .variance(Observable.Y(), target=[2])
            .probability(target=[2, 0])
            .probability()
            .state_vector()
            .amplitude(["000", "110", "011"])
            .density_matrix(target=[2, 1])
            .expectation(Observable.H(), target=[2]),
            {},
        ),
        "inputs": (
            Circuit()
            .rx(0, THETA)
            .cnot(0, 1)
            .rz(1, 2 * THETA)
            .h(1)
            .expectation(Observable.Z(), target=[1])
            .expectation(Observable.Y())
            .state_vector(),
            {"theta": 0.37},
        ),
        "verbatim": (
            Circuit()
            .add_verbatim_box(Circuit().h(0).cnot(0, 1).rx(1, 0.3))
            .t(2)
            .probability()
            .density_matrix(),
            {},
        ),
    }


def sampled_cases() -> dict[str, tuple[Circuit, dict[str, float]]]:
    return {
        "counts_only": (Circuit().h(0).cnot(0, 1).ry(2, 1.1).x(3), {}),
        "result_types": (
            Circuit()
            .h(0)
            .cnot(0, 1)
            .ry(2, 0.9)
            .expectation(Observable.X(), target=[0])
            .variance(Observable.Y(), target=[1])
            .sample(Observable.Z(), target=[2])
            .probability(target=[2]),
            {},
        ),
        "inputs": (
            Circuit()
            .rx(0, THETA)
            .cnot(0, 1)
            .expectation(Observable.Z() @ Observable.Z(), target=[0, 1])
            .expectation(Observable.Z(), target=[1]),
            {"theta": 1.2},
        ),
        "verbatim": (
            Circuit()
            .add_verbatim_box(Circuit().h(0).cnot(0, 1))
            .rx(1, THETA)
            .expectation(Observable.H(), target=[1]),
            {"theta": 0.4},
        ),
    }


@pytest.fixture(scope="module")
def service(running: RunningCentre) -> Iterator[HarborService]:
    service = HarborService(running.url, running.token)
    yield service
    service.close()


@pytest.fixture(scope="module")
def device(service: HarborService) -> QHarborDevice:
    return QHarborDevice("statevector", service)


# --- comparing results ----------------------------------------------------------------


def assert_same_shape(ours: GateModelQuantumTaskResult, theirs: GateModelQuantumTaskResult) -> None:
    """The same fields, of the same types, as LocalSimulator's result."""
    assert type(ours) is type(theirs)
    for name, reference in vars(theirs).items():
        mine = getattr(ours, name)
        assert type(mine) is type(reference), (name, type(mine), type(reference))
    assert set(vars(ours)) == set(vars(theirs))
    meta, ref_meta = ours.task_metadata.dict(), theirs.task_metadata.dict()
    assert set(meta) == set(ref_meta)
    for key, value in ref_meta.items():
        if key in _IDENTITY:
            assert type(meta[key]) is type(value), key
        else:
            assert meta[key] == value, key
    assert ours.additional_metadata.action == theirs.additional_metadata.action
    assert [rt.type for rt in ours.result_types] == [rt.type for rt in theirs.result_types]
    for mine, reference in zip(ours.values, theirs.values, strict=True):
        assert type(mine) is type(reference)
        if isinstance(reference, np.ndarray):
            assert mine.shape == reference.shape and mine.dtype == reference.dtype
        if isinstance(reference, list):
            assert len(mine) == len(reference)


def assert_exact_values(
    ours: GateModelQuantumTaskResult, theirs: GateModelQuantumTaskResult
) -> None:
    for mine, reference in zip(ours.values, theirs.values, strict=True):
        if isinstance(reference, dict):
            assert set(mine) == set(reference)
            for key, value in reference.items():
                assert abs(mine[key] - value) < 1e-9
        else:
            assert np.allclose(mine, reference, atol=1e-9), (mine, reference)


def exact_twin(circuit: Circuit) -> Circuit:
    """The circuit with every result type computable exactly (a sample becomes its mean)."""
    twin = Circuit(circuit.instructions)
    for result_type in circuit.result_types:
        if isinstance(result_type, ResultType.Sample):
            twin.expectation(result_type.observable, target=result_type.target)
        else:
            twin.add_result_type(result_type)
    return twin


def measured_distribution(circuit: Circuit, inputs: dict[str, float]) -> Any:
    """Exact probabilities of the measured bits: in each result type's basis, as Braket measures."""
    rotated = Circuit(circuit.instructions).add(circuit.basis_rotation_instructions)
    return LocalSimulator().run(rotated.probability(), shots=0, inputs=inputs).result().values[0]


def assert_within_shot_noise(
    ours: GateModelQuantumTaskResult, circuit: Circuit, inputs: dict[str, float]
) -> None:
    """Counts and sampled values within five standard errors of the exact ones."""
    shots = len(ours.measurements)
    width = len(ours.measured_qubits)
    joint = measured_distribution(circuit, inputs)
    assert len(joint) == 2**width
    for index, p in enumerate(joint):
        bits = format(index, f"0{width}b")
        frequency = ours.measurement_counts.get(bits, 0) / shots
        assert abs(frequency - p) <= 5 * math.sqrt(p * (1 - p) / shots) + 1e-12, (bits, p)
    if not circuit.result_types:
        return
    exact_values = LocalSimulator().run(exact_twin(circuit), shots=0, inputs=inputs).result().values
    for result_type, mine, reference in zip(
        circuit.result_types, ours.values, exact_values, strict=True
    ):
        if isinstance(result_type, ResultType.Sample):
            assert len(mine) == shots and set(np.unique(mine)) <= {-1, 1}
            mine = float(np.mean(mine))
        # Every observable here has eigenvalues +-1, so one shot's spread is at most 1.
        spread = 5 / math.sqrt(shots)
        if isinstance(result_type, ResultType.Variance):
            spread *= 2
        assert np.all(np.abs(np.asarray(mine) - np.asarray(reference)) <= spread), (
            result_type,
            mine,
            reference,
        )


# --- run ----------------------------------------------------------------------------------


def test_device_is_a_braket_device_and_its_tasks_are_braket_tasks(
    device: QHarborDevice, running: RunningCentre
) -> None:
    assert isinstance(device, Device)
    assert device.name == "statevector" and device.status == "ONLINE"
    device.refresh_metadata()
    assert device.status == "ONLINE" and device.properties.paradigm.qubitCount > 20
    task = device.run(Circuit().h(0), shots=10)
    assert isinstance(task, QuantumTask)
    # The task's id is the centre's job id.
    job = running.http.get(f"/v1/jobs/{task.id}").json()
    assert job["device"] == "statevector" and job["shots"] == 10
    task.result()
    assert task.state() == "COMPLETED"
    meta = task.metadata()
    assert meta["quantumTaskArn"] == task.id and meta["status"] == "COMPLETED"
    assert meta["job"]["id"] == task.id


@pytest.mark.parametrize("name", list(exact_cases()))
def test_exact_results_equal_the_local_simulator_s(device: QHarborDevice, name: str) -> None:
    circuit, inputs = exact_cases()[name]
    theirs = LocalSimulator().run(circuit, shots=0, inputs=inputs).result()
    ours = device.run(circuit, shots=0, inputs=inputs).result()
    assert_same_shape(ours, theirs)
    assert_exact_values(ours, theirs)
    for result_type in circuit.result_types:
        mine = ours.get_value_by_result_type(result_type)
        reference = theirs.get_value_by_result_type(result_type)
        if isinstance(reference, dict):
            assert mine.keys() == reference.keys()
        else:
            assert np.allclose(mine, reference, atol=1e-9)


def test_openqasm_programs_with_inputs_equal_the_local_simulator_s(device: QHarborDevice) -> None:
    circuit, _ = exact_cases()["inputs"]
    program = OpenQASMProgram(source=circuit.to_ir(IRType.OPENQASM).source, inputs={"theta": 0.2})
    theirs = LocalSimulator().run(program, shots=0).result()
    # LocalSimulator takes Program objects only; the device also takes the text.
    for spec, inputs in ((program, None), (program.source, {"theta": 0.2})):
        ours = device.run(spec, shots=0, inputs=inputs).result()
        assert_same_shape(ours, theirs)
        assert_exact_values(ours, theirs)


def test_shots_default_to_exact_on_a_simulator_as_braket_s_do(device: QHarborDevice) -> None:
    circuit = Circuit().h(0).expectation(Observable.X(), target=[0])
    theirs = LocalSimulator().run(circuit).result()
    ours = device.run(circuit).result()
    assert ours.task_metadata.shots == theirs.task_metadata.shots == 0
    assert ours.values == pytest.approx(theirs.values, abs=1e-12)


@pytest.mark.parametrize("name", list(sampled_cases()))
def test_sampled_results_match_the_local_simulator_s_within_shot_noise(
    device: QHarborDevice, name: str
) -> None:
    circuit, inputs = sampled_cases()[name]
    theirs = LocalSimulator().run(circuit, shots=SHOTS, inputs=inputs).result()
    ours = device.run(circuit, shots=SHOTS, inputs=inputs, seed=5).result()
    assert_same_shape(ours, theirs)
    assert ours.measured_qubits == theirs.measured_qubits
    assert ours.measurements.shape == theirs.measurements.shape
    assert sum(ours.measurement_counts.values()) == SHOTS
    assert_within_shot_noise(ours, circuit, inputs)
    assert_within_shot_noise(theirs, circuit, inputs)  # the bounds hold for Braket too


def test_braket_s_own_checks_refuse_what_local_simulator_refuses(device: QHarborDevice) -> None:
    no_result_types = Circuit().h(0)
    sample_exactly = Circuit().h(0).sample(Observable.Z(), target=[0])
    state_with_shots = Circuit().h(0).state_vector()
    for circuit, shots in ((no_result_types, 0), (sample_exactly, 0), (state_with_shots, 10)):
        with pytest.raises(ValueError) as theirs:
            LocalSimulator().run(circuit, shots=shots)
        with pytest.raises(ValueError) as ours:
            device.run(circuit, shots=shots)
        assert str(ours.value) == str(theirs.value)


def test_inputs_missing_or_extra_are_treated_as_braket_treats_them(device: QHarborDevice) -> None:
    circuit = Circuit().rx(0, THETA).probability()
    with pytest.raises(NameError) as theirs:
        LocalSimulator().run(circuit, shots=0).result()
    with pytest.raises(NameError) as ours:
        device.run(circuit, shots=0)
    assert str(ours.value) == str(theirs.value)
    extra = {"theta": 0.5, "unused": 2.0}
    reference = LocalSimulator().run(circuit, shots=0, inputs=extra).result()
    result = device.run(circuit, shots=0, inputs=extra).result()
    assert np.allclose(result.values[0], reference.values[0], atol=1e-9)


def test_async_result_waits_in_a_running_loop(device: QHarborDevice) -> None:
    task = device.run(Circuit().x(0), shots=5)

    async def wait() -> GateModelQuantumTaskResult | None:
        return await task.async_result()

    result = asyncio.run(wait())
    assert result is not None and result.measurement_counts == {"1": 5}


# --- run_batch ------------------------------------------------------------------------


def test_run_batch_with_inputs_matches_the_local_simulator_task_by_task(
    device: QHarborDevice, running: RunningCentre
) -> None:
    circuit = (
        Circuit()
        .ry(0, THETA)
        .cnot(0, 1)
        .expectation(Observable.Z() @ Observable.X(), target=[0, 1])
        .probability(target=[0])
    )
    inputs = [{"theta": t} for t in (0.0, 0.5, 1.0, 2.0)]
    theirs = LocalSimulator().run_batch(circuit, shots=0, inputs=inputs).results()
    batch = device.run_batch(circuit, shots=0, inputs=inputs, max_parallel=2)
    assert isinstance(batch, QuantumTaskBatch)
    assert batch.size == 4 and len({t.id for t in batch.tasks}) == 4
    ours = batch.results()
    assert batch.unfinished == set() and batch.unsuccessful == set()
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine is not None
        assert_same_shape(mine, reference)
        assert_exact_values(mine, reference)
    for task in batch.tasks:
        assert running.http.get(f"/v1/jobs/{task.id}").json()["status"] == "DONE"


def test_run_batch_of_circuits_with_shots_per_task(device: QHarborDevice) -> None:
    circuits = [Circuit().h(0).cnot(0, 1), Circuit().x(0).x(2), Circuit().ry(1, 0.7)]
    shots = [300, 200, 100]
    batch = device.run_batch(circuits, shots=shots, seed=3)
    # LocalSimulator's run_batch takes one shot count: its tasks are run one by one.
    theirs = [
        LocalSimulator().run(c, shots=n).result() for c, n in zip(circuits, shots, strict=True)
    ]
    ours = batch.results()
    assert [r.task_metadata.shots for r in ours] == shots
    for mine, reference, circuit in zip(ours, theirs, circuits, strict=True):
        assert_same_shape(mine, reference)
        assert mine.measured_qubits == reference.measured_qubits
        assert_within_shot_noise(mine, circuit, {})


def test_run_batch_refuses_lists_of_different_lengths_before_submitting(
    device: QHarborDevice, running: RunningCentre
) -> None:
    before = len(running.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"])
    with pytest.raises(ValueError, match="equal in number"):
        device.run_batch([Circuit().h(0)] * 3, shots=10, inputs=[{}, {}])
    after = len(running.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"])
    assert after == before


def test_run_batch_with_a_refused_program_leaves_no_half_batch(
    device: QHarborDevice, running: RunningCentre
) -> None:
    noisy = Circuit().h(0).bit_flip(0, 0.1).probability()
    with busy_workers(running) as busy:
        before = {
            j["id"] for j in running.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
        }
        with pytest.raises(errors.ProgramUnsupported, match="noise"):
            device.run_batch([Circuit().h(0).probability()] * 3 + [noisy], shots=0)
        jobs = running.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
        taken = [j for j in jobs if j["id"] not in before | set(busy)]
    # The three the centre took waited behind the busy workers, and were cancelled.
    assert len(taken) == 3
    for job in taken:
        assert running.http.get(f"/v1/jobs/{job['id']}").json()["status"] == "CANCELLED"


# A program the centre admits but cannot finish: result types need the state
# without mid-circuit measurements, so the job fails while running.
FAILING = (
    "OPENQASM 3.0;\nqubit[1] q;\nbit[1] b;\nh q[0];\nb[0] = measure q[0];\nh q[0];\n"
    "#pragma braket result expectation z(q[0])\n"
)


def test_a_failed_task_has_no_result_and_the_batch_retries_it(device: QHarborDevice) -> None:
    batch = device.run_batch([Circuit().h(0).probability(), FAILING], shots=0)
    failed = batch.tasks[1]
    results = batch.results(max_retries=1)
    assert results[0] is not None and results[1] is None
    assert failed.state() == "FAILED"
    assert failed.metadata()["failureReason"].startswith("ENGINE_ERROR")
    # The retry was a new job, which failed again.
    assert batch.tasks[1].id != failed.id
    assert batch.unsuccessful == {batch.tasks[1].id}
    with pytest.raises(RuntimeError, match="1 quantum tasks failed"):
        batch.results(fail_unsuccessful=True, max_retries=0)


@contextlib.contextmanager
def busy_workers(running: RunningCentre) -> Iterator[list[str]]:
    """Both of the centre's workers running slow jobs, cancelled on the way out."""
    busy = [running.submit(programs=[slow()], shots=10)["id"] for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while any(running.http.get(f"/v1/jobs/{b}").json()["status"] == "QUEUED" for b in busy):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield busy
    finally:
        for job_id in busy:
            running.http.post(f"/v1/jobs/{job_id}/cancel")


def test_cancelled_task_reports_braket_states_and_no_result(
    device: QHarborDevice, running: RunningCentre
) -> None:
    with busy_workers(running):
        task = device.run(Circuit().h(0), shots=10)
        assert task.state() == "QUEUED"
        task.cancel()
        assert task.state() == "CANCELLED"
        assert task.result() is None
        assert task.metadata()["status"] == "CANCELLED"
        task.cancel()  # cancelling a final task is not an error, as in Braket


# --- properties -----------------------------------------------------------------------


def test_simulator_properties_are_braket_s_simulator_capabilities(
    device: QHarborDevice, running: RunningCentre
) -> None:
    properties = device.properties
    reference = LocalSimulator().properties
    assert type(properties) is type(reference) is GateModelSimulatorDeviceCapabilities
    GateModelSimulatorDeviceCapabilities.parse_raw(properties.json())  # valid in Braket's schema
    info = running.http.get("/v1/devices/statevector").json()
    assert properties.paradigm.qubitCount == info["max_qubits"]
    assert properties.service.shotsRange == (0, info["max_shots"])
    ours = properties.action[DeviceActionType.OPENQASM]
    theirs = reference.action[DeviceActionType.OPENQASM]
    assert {t.name for t in ours.supportedResultTypes} == {
        t.name for t in theirs.supportedResultTypes
    }
    # Braket's own simulator knows every operation listed (the same names).
    assert set(ours.supportedOperations) <= set(theirs.supportedOperations)


def test_twin_properties_carry_the_coupling_map_and_native_gates(
    service: HarborService, running: RunningCentre
) -> None:
    twin = QHarborDevice("sc25", service)
    properties = twin.properties
    assert isinstance(properties, TwinDeviceCapabilities)
    TwinDeviceCapabilities.parse_raw(properties.json())
    info = running.http.get("/v1/devices/sc25").json()["twin"]
    paradigm = properties.paradigm
    assert paradigm.qubitCount == info["num_qubits"] == 25
    assert paradigm.nativeGateSet == ["rz", "v", "x", "cz"]  # sx is Braket's v
    edges = {
        (int(a), int(b))
        for a, nbrs in paradigm.connectivity.connectivityGraph.items()
        for b in nbrs
    }
    assert edges == {(a, b) for a, b in info["edges"]} | {(b, a) for a, b in info["edges"]}
    # The calibration in force, in Braket's standardized form (seconds, fidelities).
    calibration = running.http.get("/v1/devices/sc25/calibration").json()
    standardized = properties.standardized
    assert standardized is not None and len(standardized.oneQubitProperties) == 25
    for index, qubit in enumerate(calibration["qubits"]):
        mine = standardized.oneQubitProperties[str(index)]
        assert mine.T1.value == pytest.approx(qubit["t1_us"] * 1e-6) and mine.T1.unit == "S"
        assert mine.T2.value == pytest.approx(qubit["t2_us"] * 1e-6)
        readout = [f for f in mine.oneQubitFidelity if f.fidelityType.name == "READOUT"]
        assert readout[0].fidelity == pytest.approx(
            1 - (qubit["readout_p01"] + qubit["readout_p10"]) / 2
        )
    pairs = [g for g in calibration["gates"] if len(g["qubits"]) == 2]
    assert pairs
    for gate in pairs:
        key = "-".join(map(str, gate["qubits"]))
        fidelities = standardized.twoQubitProperties[key].twoQubitGateFidelity
        assert any(
            f.gateName == "cz" and f.fidelity == pytest.approx(1 - gate["error"])
            for f in fidelities
        )
    action = properties.action[DeviceActionType.OPENQASM]
    kinds = {t.name: t.minShots for t in action.supportedResultTypes}
    assert "StateVector" not in kinds and kinds["Expectation"] == 1
    # A twin samples: exact results are refused before anything is sent.
    with pytest.raises(ValueError, match="shots of 1 or more"):
        twin.run(Circuit().h(0).expectation(Observable.Z(), target=[0]), shots=0)
    bell = Circuit().h(0).cnot(0, 1).expectation(Observable.X() @ Observable.X(), target=[0, 1])
    result = twin.run(bell, seed=2).result()
    assert result.task_metadata.shots == 1000  # a QPU's default, as AwsDevice's
    # Measured in the X basis, from noisy shots: near +1, never exactly.
    assert set(result.measurement_counts) <= {"00", "01", "10", "11"}
    assert 0.8 < result.values[0] < 1.0


# --- a Braket script, unchanged but for its device lines -------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_SWEEP = re.compile(r"theta=(\S+) <ZZ>=(\S+) <Y0>=(\S+)")


def run_script(path: Path, running: RunningCentre, tmp_path: Path) -> str:
    env = {**os.environ, "QHARBOR_URL": running.url, "QHARBOR_TOKEN": running.token}
    env["QHARBOR_ACCOUNT_FILE"] = str(tmp_path / "none.json")
    done = subprocess.run(
        [sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_braket_script_differs_from_its_original_only_in_the_device_lines() -> None:
    original = (EXAMPLES / "braket_sweep_local.py").read_text().splitlines()
    changed = (EXAMPLES / "braket_sweep_qharbor.py").read_text().splitlines()
    diff = [line for line in difflib.ndiff(original, changed) if line[:2] in ("- ", "+ ")]
    assert diff == [
        "- from braket.devices import LocalSimulator",
        "+ from qharbor.braket import QHarborDevice",
        "- device = LocalSimulator()",
        '+ device = QHarborDevice("statevector")',
    ]


def test_the_changed_braket_script_runs_on_the_centre_as_the_original_does_locally(
    running: RunningCentre, tmp_path: Path
) -> None:
    before = {
        job["id"] for job in running.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
    }
    theirs = run_script(EXAMPLES / "braket_sweep_local.py", running, tmp_path)
    ours = run_script(EXAMPLES / "braket_sweep_qharbor.py", running, tmp_path)
    # The same sweep, exact to the printed nine decimals (a zero may carry either sign).
    ours_sweep = [tuple(map(float, m)) for m in _SWEEP.findall(ours)]
    theirs_sweep = [tuple(map(float, m)) for m in _SWEEP.findall(theirs)]
    assert len(ours_sweep) == len(theirs_sweep) == 5
    assert np.allclose(ours_sweep, theirs_sweep, atol=1e-9)
    counts = [ast.literal_eval(m) for m in re.findall(r"counts: (\{.*\})", ours)]
    assert len(counts) == 2
    assert set(counts[0]) <= {"00", "11"} and set(counts[1]) <= {"01", "10"}
    assert all(sum(c.values()) == 1000 and min(c.values()) > 400 for c in counts)
    # It ran on the centre: five sweep tasks and two Bell tasks, seven jobs.
    after = {
        job["id"] for job in running.http.get("/v1/jobs", params={"limit": 100}).json()["jobs"]
    }
    assert len(after - before) == 7


def test_every_python_example_in_the_migration_doc_runs(
    running: RunningCentre, tmp_path: Path
) -> None:
    doc = EXAMPLES.parent / "docs" / "migrating-from-braket.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.DOTALL)
    assert len(blocks) == 3  # before, after, properties
    script = tmp_path / "examples.py"
    script.write_text("\n".join(blocks))
    out = run_script(script, running, tmp_path)
    # Before and after print the same sweep.
    assert out.count("[1.0, 0.0, -1.0]") == 2, out
    assert "COMPLETED" in out and "['rz', 'v', 'x', 'cz']" in out and "['1', '5']" in out

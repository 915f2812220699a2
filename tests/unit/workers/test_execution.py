"""Running one task in-process: the result document a worker sends back."""

from __future__ import annotations

import math
from importlib import metadata

import pytest

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import get_engine
from qharbor.jobs.claims import Claim
from qharbor.workers.execution import execute
from tests.programs import BELL, stored
from tests.programs import ROTATION as RX

DEVICES = default_catalogue()

ONE_QASM2 = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q -> c;\n'
)


def result_json(task: Claim) -> dict:
    """The task's result as the JSON the centre stores and serves."""
    return execute(task).to_json()


spec = stored


def task(*programs: dict, device: str = "statevector", shots: int = 100, seed: int = 7) -> Claim:
    return Claim(
        job_id="job-1",
        attempt=2,
        device=device,
        target=DEVICES.get(device),
        shots=shots,
        seed=seed,
        programs=list(programs),
    )


@pytest.fixture(scope="module")
def document() -> dict:
    return result_json(
        task(
            spec(RX, [{"theta": math.pi}, {"theta": 0.0}], name="rx"),
            spec(ONE_QASM2),
        )
    )


def test_result_names_the_job_device_and_shots(document: dict) -> None:
    assert document["job_id"] == "job-1"
    assert document["device"] == "statevector"
    assert document["shots"] == 100


def test_one_experiment_row_per_binding_then_per_program(document: dict) -> None:
    rows = document["experiments"]
    assert [(r["program"], r["name"], r["parameters"]) for r in rows] == [
        (0, "rx", {"theta": math.pi}),
        (0, "rx", {"theta": 0.0}),
        (1, None, None),
    ]
    assert [r["counts"] for r in rows] == [{"1": 100}, {"0": 100}, {"1": 100}]


def test_experiment_rows_describe_the_compiled_circuit(document: dict) -> None:
    row = document["experiments"][2]
    assert row["shots"] == 100
    assert (row["num_qubits"], row["num_clbits"], row["depth"]) == (1, 1, 2)
    assert isinstance(row["seed"], int)
    assert row["run_s"] >= 0


def test_timings_hold_compile_and_run_seconds(document: dict) -> None:
    timings = document["timings"]
    assert set(timings) == {"compile_s", "run_s"}
    assert all(isinstance(v, float) and v >= 0 for v in timings.values())


def test_metadata_records_engine_method_seed_attempt_and_versions(document: dict) -> None:
    meta = document["metadata"]
    # Automatic selection picks among the device's engines, and says which and why.
    assert meta["engine"] in DEVICES.get("statevector").candidate_engines
    assert meta["engine_reason"].startswith(f"{meta['engine']}: ")
    assert meta["precision"] == "double"
    assert meta["method"] == "statevector"
    assert meta["seed"] == 7
    assert meta["attempt"] == 2
    assert meta["versions"]["qharbor"] == metadata.version("qharbor")
    assert meta["versions"]["qiskit"] == metadata.version("qiskit")
    for library, version in get_engine(meta["engine"]).versions().items():
        assert meta["versions"][library] == version
    assert meta["versions"]["python"].count(".") == 2


def test_same_task_gives_the_same_counts() -> None:
    uniform = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nh q;\nc = measure q;\n'
    )
    first = result_json(task(spec(uniform), seed=99))
    again = result_json(task(spec(uniform), seed=99))
    assert first["experiments"][0]["counts"] == again["experiments"][0]["counts"]


def test_stabilizer_device_runs_clifford_gates_outside_its_basis() -> None:
    source = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
        "U(pi/2, 0, pi) q[0];\nrz(pi/2) q[0];\nrz(-pi/2) q[0];\ncx q[0], q[1];\nc = measure q;\n"
    )
    document = result_json(task(spec(source), device="stabilizer"))
    assert set(document["experiments"][0]["counts"]) == {"00", "11"}
    assert document["metadata"]["method"] == "stabilizer"


def test_a_program_stored_without_its_parsed_circuit_fails_the_attempt_clearly() -> None:
    # The worker never parses text: a row without the admitted circuit is refused.
    legacy = {"source": BELL, "format": "qasm2", "name": None, "bindings": []}
    with pytest.raises(errors.ExecutionError, match="without its parsed circuit"):
        result_json(task(legacy))


def test_a_damaged_stored_circuit_fails_the_attempt_clearly() -> None:
    damaged = {**spec(BELL), "circuit_gates": "bm90IHFweQ=="}
    with pytest.raises(errors.ExecutionError, match="stored circuit cannot be read"):
        result_json(task(damaged))


def test_non_clifford_program_on_the_stabilizer_device_is_a_compile_error() -> None:
    source = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nt q;\n'
    with pytest.raises(errors.CompileError):
        result_json(task(spec(source), device="stabilizer"))


BELL_WITH_AMPLITUDES = (
    "OPENQASM 3.0;\nqubit[2] q;\nbit[2] b;\nh q[0];\ncnot q[0], q[1];\n"
    '#pragma braket result amplitude "00", "11", "01"\n'
    "b[0] = measure q[0];\nb[1] = measure q[1];\n"
)


def test_result_types_and_counts_come_from_one_final_state() -> None:
    # The counts are sampled from the same state the amplitudes are read from:
    # a Bell pair gives only 00 and 11, each about half the shots.
    row = result_json(task(spec(BELL_WITH_AMPLITUDES, fmt="qasm3"), shots=2000, seed=5))[
        "experiments"
    ][0]
    counts = row["counts"]
    assert set(counts) == {"00", "11"}
    assert sum(counts.values()) == 2000
    assert abs(counts["00"] - 1000) < 5 * math.sqrt(2000 * 0.25)
    amplitudes = row["result_types"][0]["value"]
    assert amplitudes["00"] == pytest.approx([1 / math.sqrt(2), 0.0], abs=1e-6)
    assert amplitudes["11"] == pytest.approx([1 / math.sqrt(2), 0.0], abs=1e-6)
    assert amplitudes["01"] == pytest.approx([0.0, 0.0], abs=1e-6)
    again = result_json(task(spec(BELL_WITH_AMPLITUDES, fmt="qasm3"), shots=2000, seed=5))
    assert again["experiments"][0]["counts"] == counts  # the seed fixes the samples


def test_result_type_counts_follow_the_measured_clbits() -> None:
    # X on qubit 1 only, measured into clbit 0: every shot reads '01'.
    source = (
        "OPENQASM 3.0;\nqubit[2] q;\nbit[2] b;\nx q[1];\n"
        '#pragma braket result amplitude "01"\n'
        "b[0] = measure q[1];\n"
    )
    row = result_json(task(spec(source, fmt="qasm3"), shots=50))["experiments"][0]
    assert row["counts"] == {"01": 50}

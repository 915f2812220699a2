"""Preparing a submission: every program parsed and checked before anything is stored."""

from __future__ import annotations

import dataclasses

import pytest
from qiskit import QuantumCircuit

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.devices.catalogue import memory_need
from qharbor.engines.memory import Workload
from qharbor.jobs.options import JobOptions
from qharbor.jobs.parsed import ParsedProgram
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, ProgramSpec
from tests.programs import BELL, ghz
from tests.programs import ROTATION as RX

DEVICES = default_catalogue(max_shots=10_000)


def run_prepare(request: JobRequest, device: str = "statevector", **limits: int):
    return prepare(
        request,
        DEVICES.get(device),
        max_program_bytes=limits.get("max_program_bytes", 100_000),
        max_experiments=limits.get("max_experiments", 100),
    )


def test_prepared_programs_record_format_name_and_bindings() -> None:
    prepared = run_prepare(
        JobRequest(
            "statevector",
            (
                ProgramSpec(BELL, name="bell"),
                ProgramSpec(RX, "qasm3", parameters=([0.5], {"theta": 1.5})),
            ),
            seed=77,
        )
    )
    stored = [
        {k: v for k, v in program.to_json().items() if k not in ("circuit_qpy", "circuit_gates")}
        for program in prepared.programs
    ]
    # The plain OpenQASM 2 program is kept as a gate list, the parametric one as QPY.
    kept = [
        program.to_json().keys() & {"circuit_qpy", "circuit_gates"} for program in prepared.programs
    ]
    assert kept == [{"circuit_gates"}, {"circuit_qpy"}]
    assert stored == [
        {"source": BELL, "format": "qasm2", "name": "bell", "bindings": []},
        {
            "source": RX,
            "format": "qasm3",
            "name": None,
            "bindings": [{"theta": 0.5}, {"theta": 1.5}],
        },
    ]
    # Each keeps the circuit it parsed to, so that no worker parses the text again.
    bell, rx = (program.circuit() for program in prepared.programs)
    assert bell == QuantumCircuit.from_qasm_str(BELL)
    assert [p.name for p in rx.parameters] == ["theta"]
    assert ParsedProgram.from_json(prepared.programs[1].to_json()) == prepared.programs[1]
    assert prepared.num_experiments == 3
    assert prepared.seed == 77


def test_missing_seed_is_drawn_at_random_within_31_bits() -> None:
    seeds = {run_prepare(JobRequest("statevector", (ProgramSpec(BELL),))).seed for _ in range(8)}
    assert len(seeds) > 1
    assert all(0 <= s < 2**31 for s in seeds)


def test_program_error_names_the_program_by_index() -> None:
    bad = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\n  foo q;\n'
    with pytest.raises(errors.ProgramSyntax) as caught:
        run_prepare(JobRequest("statevector", (ProgramSpec(BELL), ProgramSpec(bad))))
    assert caught.value.message.startswith("program 1: line 4, column 2:")
    assert caught.value.detail == {"program": 1, "line": 4, "column": 2}


def test_program_over_the_byte_limit_is_refused() -> None:
    with pytest.raises(errors.ProgramLimit) as caught:
        run_prepare(JobRequest("statevector", (ProgramSpec(BELL),)), max_program_bytes=10)
    assert caught.value.detail["program"] == 0


def test_program_too_wide_for_the_device_names_the_program() -> None:
    wide = "OPENQASM 3.0;\nqubit[15] q;\n"
    with pytest.raises(errors.DeviceLimit) as caught:
        run_prepare(
            JobRequest("density-matrix", (ProgramSpec(BELL), ProgramSpec(wide))), "density-matrix"
        )
    assert caught.value.detail["program"] == 1


def test_non_clifford_program_is_refused_for_the_stabilizer_device() -> None:
    t_gate = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nt q;\n'
    with pytest.raises(errors.DeviceUnsupportedOperation):
        run_prepare(JobRequest("stabilizer", (ProgramSpec(t_gate),)), "stabilizer")


def test_more_shots_than_the_device_allows_is_an_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        run_prepare(JobRequest("statevector", (ProgramSpec(BELL),), shots=10_001))
    assert caught.value.detail == {"field": "shots", "max_shots": 10_000}


def test_too_many_experiments_is_a_program_limit() -> None:
    bindings = tuple([float(i)] for i in range(4))
    request = JobRequest("statevector", (ProgramSpec(BELL), ProgramSpec(RX, parameters=bindings)))
    assert run_prepare(request, max_experiments=5).num_experiments == 5
    with pytest.raises(errors.ProgramLimit) as caught:
        run_prepare(request, max_experiments=4)
    assert caught.value.detail == {"max_experiments": 4}


def test_fingerprint_ignores_the_idempotency_key() -> None:
    request = JobRequest("statevector", (ProgramSpec(BELL),), idempotency_key="a")
    assert request.fingerprint() == dataclasses.replace(request, idempotency_key="b").fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        {"device": "mps"},
        {"shots": 2048},
        {"seed": 1},
        {"tags": ("x",)},
        {"programs": (ProgramSpec(BELL, name="other"),)},
        {"programs": (ProgramSpec(RX, parameters=([0.1],)),)},
    ],
)
def test_fingerprint_changes_with_the_body(change: dict) -> None:
    request = JobRequest("statevector", (ProgramSpec(BELL),))
    assert dataclasses.replace(request, **change).fingerprint() != request.fingerprint()


# --- memory ---------------------------------------------------------------------------

GiB = 2**30
#: A 16-qubit program with a result type, one parameter, measured.
RESULT_TYPE_SWEEP = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\nqubit[16] q;\nbit[16] b;\n'
    "rx(theta) q[0];\n#pragma braket result expectation z(q[0])\nb = measure q;\n"
)


def sweep(bindings: tuple) -> ProgramSpec:
    return ProgramSpec(RESULT_TYPE_SWEEP, "qasm3", parameters=bindings)


def small_centre(capacity: int) -> dict:
    return {d.name: d for d in default_catalogue(memory_bytes=capacity)}


def test_prepared_job_carries_the_memory_need_of_its_widest_program() -> None:
    prepared = run_prepare(JobRequest("statevector", (ProgramSpec(BELL), ProgramSpec(ghz(12)))))
    device = DEVICES.get("statevector")
    assert prepared.memory_bytes == memory_need(device, [Workload(12)])
    assert prepared.memory_bytes > memory_need(device, [Workload(2)])


def test_pinning_a_single_precision_engine_lowers_the_need() -> None:
    auto = run_prepare(JobRequest("statevector", (ProgramSpec(ghz(16)),)))
    single = run_prepare(
        JobRequest(
            "statevector",
            (ProgramSpec(ghz(16)),),
            options=JobOptions(engine="aer", precision="single"),
        )
    )
    assert single.memory_bytes < auto.memory_bytes


def test_result_types_keep_one_final_state_per_binding() -> None:
    bindings = tuple([0.1 * i] for i in range(40))
    prepared = run_prepare(
        JobRequest("statevector", (ProgramSpec(RESULT_TYPE_SWEEP, "qasm3", parameters=bindings),)),
        max_experiments=100,
    )
    one = run_prepare(
        JobRequest("statevector", (ProgramSpec(RESULT_TYPE_SWEEP, "qasm3", parameters=([0.1],)),))
    )
    assert prepared.memory_bytes - one.memory_bytes == 39 * 16 * 2**16


def test_a_job_that_could_never_fit_in_memory_is_a_device_limit() -> None:
    device = small_centre(100 * 2**20)["statevector"]
    assert device.max_qubits > 16  # each state fits; a hundred of them do not
    bindings = tuple([0.1 * i] for i in range(100))
    request = JobRequest("statevector", (sweep(bindings),))
    with pytest.raises(errors.DeviceLimit) as caught:
        prepare(request, device, max_program_bytes=100_000, max_experiments=1000)
    detail = caught.value.detail
    assert detail["capacity_bytes"] == 100 * 2**20
    assert detail["memory_bytes"] > 100 * 16 * 2**16
    assert "memory" in caught.value.message


def test_a_program_too_wide_for_memory_names_its_need_and_the_capacity() -> None:
    device = small_centre(1 * GiB)["statevector"]
    request = JobRequest(
        "statevector", (ProgramSpec(BELL), ProgramSpec(ghz(device.max_qubits + 1)))
    )
    with pytest.raises(errors.DeviceLimit) as caught:
        prepare(request, device, max_program_bytes=100_000, max_experiments=10)
    assert caught.value.detail["program"] == 1
    assert caught.value.detail["max_qubits"] == device.max_qubits
    assert caught.value.detail["qubits"] == device.max_qubits + 1
    assert caught.value.message.startswith(f"program 1 ({device.max_qubits + 1} qubits) needs")


def test_an_estimator_job_carries_the_need_of_its_state() -> None:
    pub = {"circuit": ghz(14).replace("measure q -> c;\n", ""), "observables": [{"Z" * 14: 1.0}]}
    prepared = run_prepare(JobRequest("statevector", (), kind="estimator", pubs=(pub,)))
    device = DEVICES.get("statevector")
    assert prepared.memory_bytes == memory_need(device, [Workload(14, states=2)])


def _estimator(values: list[float], **change: object) -> JobRequest:
    pub = {"circuit": RX, "parameter_values": values, "shape": [len(values)], **change}
    return JobRequest("statevector", (), kind="estimator", pubs=(pub,))


@pytest.mark.parametrize(
    ("values", "other"),
    [
        ([0.1, 0.2], [0.2, 0.1]),
        ([0.1, 0.2], [0.1]),
        ([0.1, 0.2], [0.1, 0.2, 0.0]),
        ([0.1, 0.0], [0.1, -0.0]),
        ([0.1, 0.0], [0.1, float("nan")]),
        ([1.0, 0.2], [1, 0.2]),
    ],
)
def test_fingerprint_tells_parameter_values_apart(values: list[float], other: list[float]) -> None:
    # The values are hashed as float64 bytes, which keep -0.0 and NaN apart from the
    # rest; a list that is not all floats is written out as before.
    assert _estimator(values).fingerprint() != _estimator(other).fingerprint()
    assert _estimator(list(values)).fingerprint() == _estimator(values).fingerprint()


def test_fingerprint_of_a_pub_covers_its_other_fields() -> None:
    plain = _estimator([0.1, 0.2])
    assert _estimator([0.1, 0.2], shape=[2, 1]).fingerprint() != plain.fingerprint()
    assert _estimator([0.1, 0.2], circuit=BELL).fingerprint() != plain.fingerprint()

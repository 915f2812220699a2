"""The Qiskit target built from a device's JSON."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit, transpile

from qharbor.client.qiskit.target import build_target

SIMULATOR = {"name": "statevector", "max_qubits": 30, "basis_gates": ["h", "cx", "rz", "mcx"]}

# A device twin as the centre shows it: a 4-qubit line.
TWIN = {
    "name": "line4",
    "max_qubits": 4,
    "basis_gates": ["rz", "sx", "x", "cz"],
    "twin": {
        "num_qubits": 4,
        "edges": [[0, 1], [1, 2], [2, 3]],
        "native_gates": ["rz", "sx", "x", "cz"],
        "gates": {
            "sx": {"error": {"mean": 0.001, "spread": 0.0}, "duration_ns": 35},
            "cz": {"error": {"mean": 0.01}, "duration_ns": 220},
        },
        "measure_duration_ns": 1200,
    },
}

CALIBRATION = {
    "qubits": [
        {
            "t1_us": 80.0,
            "t2_us": 60.0,
            "frequency_ghz": 5.1,
            "readout_p01": 0.02,
            "readout_p10": 0.04,
        }
    ]
    * 4,
    "gates": [{"gate": "cz", "qubits": [1, 2], "error": 0.05, "duration_ns": 300}],
}


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for i in range(n - 1):
        qc.cx(0, i + 1)
    qc.measure_all()
    return qc


def test_a_device_without_topology_is_fully_connected_and_keeps_circuit_width() -> None:
    target = build_target(SIMULATOR)
    assert target.num_qubits == 30
    assert target.build_coupling_map() is None
    assert {"h", "cx", "rz", "measure", "if_else"} <= set(target.operation_names)
    assert "mcx" not in target.operation_names  # not a standard gate the transpiler knows
    compiled = transpile(ghz(3), target=target, optimization_level=1)
    assert compiled.num_qubits == 3


def test_a_twin_gets_its_coupling_map_errors_and_durations() -> None:
    target = build_target(TWIN)
    assert sorted(target.build_coupling_map().get_edges()) == [
        (0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2),
    ]  # fmt: skip
    assert target["cz"][(0, 1)].error == pytest.approx(0.01)
    assert target["cz"][(0, 1)].duration == pytest.approx(220e-9)
    assert target["sx"][(3,)].error == pytest.approx(0.001)
    assert target["measure"][(2,)].duration == pytest.approx(1200e-9)
    assert (0, 2) not in target["cz"]


def test_transpiling_for_a_twin_uses_only_coupled_pairs_and_native_gates() -> None:
    target = build_target(TWIN)
    compiled = transpile(ghz(4), target=target, optimization_level=1, seed_transpiler=3)
    assert set(compiled.count_ops()) <= {"rz", "sx", "x", "cz", "measure", "barrier"}
    for instruction in compiled.data:
        if instruction.operation.name == "cz":
            a, b = (compiled.find_bit(q).index for q in instruction.qubits)
            assert abs(a - b) == 1


def test_a_calibration_snapshot_overrides_the_means() -> None:
    target = build_target(TWIN, CALIBRATION)
    assert target["cz"][(1, 2)].error == pytest.approx(0.05)
    assert target["cz"][(1, 2)].duration == pytest.approx(300e-9)
    assert target["cz"][(0, 1)].error == pytest.approx(0.01)
    assert target["measure"][(0,)].error == pytest.approx(0.03)
    assert target.qubit_properties[0].t1 == pytest.approx(80e-6)
    assert target.qubit_properties[0].frequency == pytest.approx(5.1e9)

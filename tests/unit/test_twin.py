"""The shared twin module: target, noise, timing and readout mitigation."""

from __future__ import annotations

import datetime as dt

import pytest
from qiskit import QuantumCircuit, transpile

from qharbor import twin
from qharbor.devices import calibration as calib
from qharbor.devices.catalogue import load_twins
from qharbor.devices.fleet import twin_document

SPECS = {s.name: s for s in load_twins()}
T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def document(name: str = "sc25", version: int = 1) -> dict:
    return twin_document(SPECS[name], calib.recalibrate(SPECS[name], version, T0))


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    circuit.measure(range(n), range(n))
    return circuit


def test_the_target_has_the_native_gates_on_the_coupling_map() -> None:
    target = twin.target(document())
    assert {"rz", "sx", "x", "cz", "measure"} <= set(target.operation_names)
    assert target.instruction_supported("cz", (0, 1))
    assert not target.instruction_supported("cz", (0, 2))
    assert target["cz"][(0, 1)].duration == pytest.approx(220e-9)


def test_compact_keeps_only_active_wires_and_names_their_physical_qubits() -> None:
    doc = document()
    compiled = transpile(ghz(3), target=twin.target(doc), seed_transpiler=1)
    narrow, qubits = twin.compact(compiled)
    assert compiled.num_qubits == 25
    assert narrow.num_qubits == len(qubits) == 3


@pytest.mark.parametrize("name", ["sc25", "ion11", "nmr3"])
def test_same_seed_same_counts_and_noise_is_visible(name: str) -> None:
    doc = document(name)
    compiled = transpile(ghz(3), target=twin.target(doc), seed_transpiler=1)
    local = twin.LocalTwin(doc)
    counts = local.run(compiled, shots=400, seed=3)
    assert counts == twin.LocalTwin(doc).run(compiled, shots=400, seed=3)
    assert set(counts) - {"000", "111"}  # noise puts some shots elsewhere


def test_gate_error_matches_the_calibrated_infidelity() -> None:
    from qiskit.quantum_info import average_gate_fidelity
    from qiskit_aer.noise import thermal_relaxation_error

    relaxation = thermal_relaxation_error(80e-6, 60e-6, 35e-9)
    channel = twin.gate_error(2e-3, relaxation, 1)
    assert 1 - average_gate_fidelity(channel.to_quantumchannel()) == pytest.approx(2e-3, rel=1e-3)


def test_estimate_counts_shots_circuit_duration_and_overheads() -> None:
    doc = document()
    circuit = QuantumCircuit(2, 2)
    circuit.sx(0)
    circuit.cz(0, 1)
    circuit.measure([0, 1], [0, 1])
    per_shot = (35 + 220 + 1200) * 1e-9 + 250e-6
    assert twin.estimate_qpu_s(doc, [circuit], 100) == pytest.approx(1.5 + 100 * per_shot)
    modelled = twin.modelled_qpu_s(doc, [circuit], 100, seed=4)
    assert modelled == twin.modelled_qpu_s(doc, [circuit], 100, seed=4)
    assert abs(modelled / twin.estimate_qpu_s(doc, [circuit], 100) - 1) <= 0.05


def test_tensored_mitigation_inverts_the_assignment_matrices() -> None:
    doc = document()
    q0 = doc["calibration"]["qubits"][0]
    p01, p10 = q0["readout_p01"], q0["readout_p10"]
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    # Prepared |1>: the device reads 0 with probability p10.
    counts = {"1": round(10000 * (1 - p10)), "0": round(10000 * p10)}
    quasi = twin.mitigate(doc, circuit, counts).quasi_probabilities
    assert quasi["1"] == pytest.approx(1.0, abs=1e-3)
    assert sum(quasi.values()) == pytest.approx(1.0)
    assert p01 > 0

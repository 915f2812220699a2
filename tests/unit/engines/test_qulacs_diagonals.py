"""What qulacs's translation saves on wide circuits: merged diagonal runs, a basis state
set by leading X gates, swaps relabelled when the state is only sampled."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import Operator, Statevector

from qharbor.engines import Experiment, qulacs_diagonals
from qharbor.engines.qulacs import QulacsEngine
from qharbor.engines.qulacs_circuits import FUSE_QUBITS, translate
from tests.unit.engines.conformance_circuits import phase_heavy

GATES = get_standard_gate_name_mapping()


@pytest.mark.parametrize("name", sorted(qulacs_diagonals._PHASES))
@pytest.mark.parametrize("angle", [0.37, -2.1])
def test_each_gate_s_phases_are_its_qiskit_matrix(name: str, angle: float) -> None:
    gate = GATES[name]
    if gate.params:
        gate = type(gate)(*([angle] * len(gate.params)))
    phases = qulacs_diagonals.phases(name, gate.params)
    assert phases is not None
    np.testing.assert_allclose(np.diag(np.exp(1j * phases)), Operator(gate).data, atol=1e-12)


def test_a_gate_with_a_free_parameter_or_off_the_diagonal_is_not_merged() -> None:
    from qiskit.circuit import Parameter

    assert qulacs_diagonals.phases("cp", [Parameter("t")]) is None
    assert qulacs_diagonals.phases("cx", []) is None


def test_a_qft_like_circuit_becomes_few_gates_of_bounded_width_and_the_same_state() -> None:
    circuit = phase_heavy(FUSE_QUBITS)
    assert qulacs_diagonals.phase_heavy(dict(circuit.count_ops()))
    translation = translate(circuit)
    qulacs_circuit = translation.circuit
    widths = [
        len(qulacs_circuit.get_gate(i).get_target_index_list())
        for i in range(qulacs_circuit.get_gate_count())
    ]
    assert max(widths) <= qulacs_diagonals.MERGE_QUBITS + qulacs_diagonals.PAD_QUBITS
    assert len(widths) < circuit.size() / 2
    state, phase = translation.state(None)
    vector = state.get_vector() * np.exp(1j * phase)
    np.testing.assert_allclose(vector, Statevector(circuit).data, atol=1e-10)


def test_circuits_of_few_phases_keep_the_light_optimiser() -> None:
    circuit = QuantumCircuit(FUSE_QUBITS)
    for q in range(FUSE_QUBITS):
        circuit.ry(0.1 * q, q)
        circuit.rz(0.2, q)
    for q in range(0, FUSE_QUBITS - 1, 2):
        circuit.cz(q, q + 1)
    assert not qulacs_diagonals.phase_heavy(dict(circuit.count_ops()))
    # The light optimiser merged each qubit's ry and rz (and some of the cz) into one gate.
    assert translate(circuit).circuit.get_gate_count() <= circuit.size() - FUSE_QUBITS


def test_x_gates_before_anything_else_on_their_qubit_set_the_initial_state() -> None:
    circuit = QuantumCircuit(FUSE_QUBITS)
    circuit.x([0, 3, 5])
    circuit.h(1)
    circuit.x(1)  # after an H: a gate
    circuit.cx(5, 2)
    circuit.x(5)  # after a CX on it: a gate
    circuit.x(7)
    circuit.x(7)  # twice: back to 0
    translation = translate(circuit)
    assert translation.initial == 0b101001
    state, phase = translation.state(None)
    np.testing.assert_allclose(state.get_vector() * np.exp(1j * phase), Statevector(circuit).data)


def test_a_sampled_wide_circuit_relabels_its_swaps_instead_of_running_them() -> None:
    circuit = QuantumCircuit(FUSE_QUBITS, 2)
    circuit.x(0)
    circuit.h(1)
    circuit.swap(0, 5)
    circuit.cx(5, 2)  # controlled by the qubit the swap moved |1> to
    circuit.swap(2, 3)
    circuit.measure([5, 3], [0, 1])
    sampled = translate(circuit, sampled=True)
    assert sampled.circuit.get_gate_count() == 2  # h and cx; the x set the initial state
    [[outcome]] = QulacsEngine().run([Experiment(circuit)], method="statevector", shots=100, seed=1)
    assert outcome.counts == {"11": 100}
    # A state keeps its swaps.
    state, phase = translate(circuit).state(None)
    body = circuit.remove_final_measurements(inplace=False)
    np.testing.assert_allclose(state.get_vector() * np.exp(1j * phase), Statevector(body).data)

"""Qubits no operation touches, dropped before an exact simulation.

A circuit transpiled for a wide device keeps every qubit of that device, most
of them idle: a 2-qubit circuit laid out on a 25-qubit device is 25 qubits wide,
and a state vector of 2^25 amplitudes costs seconds where 2^2 costs nothing.
An idle qubit stays in |0⟩ and is never measured, so dropping it changes no
outcome: the classical bits, and so the keys of counts and memory, stay exactly
as they were. Barriers and delays do not make a qubit active.

Only noise-free simulations may drop qubits (a noise model names physical
qubits), and only those that return no state (a state is of the full width).
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.circuit import Qubit
from qiskit.converters import circuit_to_dag, dag_to_circuit

#: Narrower circuits are simulated as they are: their whole state costs less
#: than looking for idle qubits (2^12 amplitudes are 64 KiB).
MIN_QUBITS = 12
#: Instructions that name qubits without acting on them.
_PASSIVE = frozenset({"barrier", "delay"})


def active_qubits(circuit: QuantumCircuit) -> list[int]:
    """The indices of the qubits some operation acts on, in order.

    A measured qubit is active; a qubit inside a control-flow block is active.
    """
    touched: set[Qubit] = set()
    for instruction in circuit.data:
        if instruction.operation.name not in _PASSIVE:
            touched.update(instruction.qubits)
    return [i for i, qubit in enumerate(circuit.qubits) if qubit in touched]


def drop_idle_qubits(circuit: QuantumCircuit) -> tuple[QuantumCircuit, int]:
    """``circuit`` without its idle qubits, and how many qubits it still has.

    The circuit is returned as it is when it is narrower than :data:`MIN_QUBITS`
    or has no idle qubit. Otherwise the active qubits keep their relative order,
    the classical bits and registers are unchanged, and so is the global phase;
    barriers and delays are dropped (they change no simulated outcome).
    """
    if circuit.num_qubits < MIN_QUBITS:
        return circuit, circuit.num_qubits
    active = active_qubits(circuit)
    if len(active) == circuit.num_qubits:
        return circuit, circuit.num_qubits
    dag = circuit_to_dag(circuit)
    for node in list(dag.op_nodes()):
        if node.op.name in _PASSIVE:
            dag.remove_op_node(node)
    keep = {circuit.qubits[i] for i in active}
    dag.remove_qubits(*(q for q in circuit.qubits if q not in keep))
    narrow = dag_to_circuit(dag)
    return narrow, narrow.num_qubits

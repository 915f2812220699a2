"""The operations an engine's translator is proven on, and decomposition of all others.

Each engine declares the operation names its translator takes (``operations``);
the differential conformance harness (``tests/unit/engines/test_differential.py``)
runs every declared name on every engine against ``qiskit.quantum_info``, so a
declared but wrongly translated operation fails CI. Before translation, an
engine passes its circuit through :func:`conform`: a circuit whose operations
are all declared goes through untouched; any other gate (a custom gate, a
controlled or powered gate outside Qiskit's standard set, a library block) is
first decomposed by Qiskit's transpiler into the declared operations.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Gate
from qiskit.circuit.library import get_standard_gate_name_mapping


def _standard_gates() -> frozenset[str]:
    return frozenset(
        name
        for name, gate in get_standard_gate_name_mapping().items()
        if isinstance(gate, Gate) and gate.num_qubits > 0
    )


class NeedsTranspile(Exception):
    """A gate (usually a parametric one) has no direct translation; transpile first.

    A translator raises it part way through; the engine then transpiles the
    circuit to the translator's basis and translates again.
    """


#: Every gate of Qiskit's standard gate mapping that acts on qubits (not ``global_phase``).
STANDARD_GATES = _standard_gates()
#: Instructions that only mark or wait: they change no state.
DIRECTIVES = frozenset({"barrier", "delay"})
#: Operations that are not gates; an engine refuses those it does not declare.
NOT_DECOMPOSED = frozenset(
    {"measure", "reset", "if_else", "while_loop", "for_loop", "switch_case", "box", "store"}
)


def conform(circuit: QuantumCircuit, operations: frozenset[str]) -> QuantumCircuit:
    """``circuit`` in ``operations`` only: itself if it already is, else decomposed.

    Non-gate operations (measurements, resets, control flow) are never decomposed;
    an engine that does not declare them refuses them in its translator. The
    transpiler's basis is the declared standard gates (it takes no other names),
    so a ``unitary`` in a circuit that needs decomposing is decomposed too.

    Args:
        circuit: the circuit an engine is about to translate.
        operations: the operation names the engine's translator is proven on.
    """
    names = circuit.count_ops()
    if all(name in operations or name in NOT_DECOMPOSED for name in names):
        return circuit
    basis = sorted(operations & STANDARD_GATES)
    return transpile(circuit, basis_gates=basis, optimization_level=0)


def controlled_block(matrix: np.ndarray, controls: int) -> np.ndarray:
    """The block of a controlled gate's matrix where its first ``controls`` qubits are 1.

    Qiskit's controlled gates take their controls first, as the least significant
    bits, so the block's rows and columns are the indices whose low bits are all 1.
    """
    ones = (1 << controls) - 1
    rows = [(j << controls) | ones for j in range(matrix.shape[0] >> controls)]
    return np.ascontiguousarray(matrix[np.ix_(rows, rows)])

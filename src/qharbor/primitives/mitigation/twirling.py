"""Pauli twirling of two-qubit gates and of measurements.

Gate twirling uses Qiskit's :func:`~qiskit.circuit.pauli_twirl_2q_gates`, with the
twin's target so the Paulis it adds are native gates merged into their
neighbours. It turns each gate's coherent error into Pauli noise, which
zero-noise extrapolation then scales predictably.

Measurement twirling flips a random subset of the measured qubits (an ``x``
just before their measurement) and flips the bits back in the counts; averaged
over instances, the readout error becomes a symmetric bit-flip channel, so each
Pauli term is only scaled by a factor TREX can learn and divide out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import pauli_twirl_2q_gates


def twirl_gates(
    circuit: QuantumCircuit, target: Any, seed: int, count: int
) -> list[QuantumCircuit]:
    """``count`` instances of the circuit with its two-qubit gates Pauli-twirled."""
    twirled = pauli_twirl_2q_gates(circuit, seed=seed, num_twirls=count, target=target)
    return list(twirled) if isinstance(twirled, list) else [twirled]


def twirl_measures(circuit: QuantumCircuit, rng: np.random.Generator) -> tuple[QuantumCircuit, int]:
    """The circuit with a random subset of its measured qubits flipped before their
    measurement, and the flipped classical bits as a mask (bit i is clbit i).

    Only final measurements are flipped; a flipped qubit's bit is flipped back
    by XOR-ing the counts' keys with the mask.
    """
    out = circuit.copy_empty_like()
    mask = 0
    for instruction in circuit.data:
        if instruction.operation.name == "measure" and rng.random() < 0.5:
            out.x(instruction.qubits[0])
            mask |= 1 << circuit.find_bit(instruction.clbits[0]).index
        out.append(instruction)
    return out, mask

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
    """The circuit with a random subset of its final measurements flipped, and the
    flipped classical bits as a mask (bit i is clbit i).

    A measurement is final when nothing later acts on its qubit or reads or
    writes its bit; flipping an earlier one would change what follows it. A
    flipped qubit's bit is flipped back by XOR-ing the counts' keys with the mask.
    """
    final = _final_measures(circuit)
    out = circuit.copy_empty_like()
    mask = 0
    for index, instruction in enumerate(circuit.data):
        if index in final and rng.random() < 0.5:
            out.x(instruction.qubits[0])
            mask |= 1 << circuit.find_bit(instruction.clbits[0]).index
        out.append(instruction)
    return out, mask


def _final_measures(circuit: QuantumCircuit) -> set[int]:
    """Indices of the measurements after which nothing touches their qubit or bit."""
    touched: set[Any] = set()
    final: set[int] = set()
    for index in range(len(circuit.data) - 1, -1, -1):
        instruction = circuit.data[index]
        if instruction.operation.name == "barrier":
            continue
        wires = {*instruction.qubits, *instruction.clbits}
        if instruction.operation.name == "measure" and not wires & touched:
            final.add(index)
        touched |= wires
    return final


def undo_flips(counts: dict[str, int], mask: int) -> dict[str, int]:
    """Counts with the bits a measurement twirl flipped (``mask``, bit i is clbit i)
    flipped back; keys keep their register spaces."""
    if not mask:
        return dict(counts)
    out: dict[str, int] = {}
    for key, count in counts.items():
        flat = key.replace(" ", "")
        bits = format(int(flat, 2) ^ mask, f"0{len(flat)}b") if flat else flat
        letters = iter(bits)
        restored = "".join(" " if c == " " else next(letters) for c in key)
        out[restored] = out.get(restored, 0) + count
    return out

"""Exact result types (expectation, variance, probability, amplitude) on a simulator.

They are computed from the final state of the circuit without its final
measurements, as Braket's simulators do when asked for result types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from qharbor import errors

#: Result types are computed from the state vector, so only up to this many qubits.
MAX_QUBITS = 24

_PAULI = {"x": "X", "y": "Y", "z": "Z", "i": "I"}


def evaluate(circuit: QuantumCircuit, requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each requested result type with its ``value``.

    Qubit indices and bit strings are in Braket's order: qubit 0 leftmost.

    Raises:
        errors.ExecutionError: the circuit cannot give a state vector here.
    """
    if circuit.num_qubits > MAX_QUBITS:
        raise errors.ExecutionError(
            f"result types are computed for at most {MAX_QUBITS} qubits; this program has "
            f"{circuit.num_qubits}"
        )
    try:
        state = Statevector(circuit.remove_final_measurements(inplace=False))
    except Exception as exc:
        raise errors.ExecutionError(
            "result types need a circuit without mid-circuit measurement, reset or "
            f"classical control ({type(exc).__name__})"
        ) from None
    n = circuit.num_qubits
    out = []
    for request in requests:
        value = _one(state, n, request)
        out.append({**request, "value": value})
    return out


def _one(state: Statevector, n: int, request: dict[str, Any]) -> Any:
    kind = request["type"]
    if kind in ("expectation", "variance"):
        names: list[str] = request["observable"]
        targets = request["targets"]
        if targets is None:  # one value per qubit
            return [_moment(state, n, names, [q], kind) for q in range(n)]
        return _moment(state, n, names, targets, kind)
    if kind == "probability":
        targets = request["targets"] if request["targets"] is not None else list(range(n))
        # Qiskit orders its marginal with the first listed qubit rightmost; Braket leftmost.
        probs = state.probabilities(list(reversed(targets)))
        return [float(p) for p in probs]
    if kind == "amplitude":
        data = state.data
        values = {}
        for bits in request["states"]:
            if len(bits) != n:
                raise errors.ExecutionError(f"amplitude {bits!r} needs {n} bits")
            amplitude = complex(data[int(bits[::-1], 2)])
            values[bits] = [amplitude.real, amplitude.imag]
        return values
    if kind == "state_vector":
        order = [int(format(i, f"0{n}b")[::-1], 2) for i in range(2**n)]
        return [[complex(state.data[j]).real, complex(state.data[j]).imag] for j in order]
    raise errors.ExecutionError(f"unknown result type {kind!r}")


def _moment(state: Statevector, n: int, names: list[str], targets: list[int], kind: str) -> float:
    if len(names) == 1 and len(targets) > 1:
        names = names * len(targets)
    operator = _operator(names, targets, n)
    mean = float(np.real(state.expectation_value(operator)))
    if kind == "expectation":
        return mean
    square = float(np.real(state.expectation_value(operator @ operator)))
    return square - mean * mean


def _operator(names: list[str], targets: list[int], n: int) -> Any:
    operator = SparsePauliOp("I" * n)
    for name, qubit in zip(names, targets, strict=True):
        if name == "h":
            factor = SparsePauliOp.from_sparse_list(
                [("X", [qubit], 1 / np.sqrt(2)), ("Z", [qubit], 1 / np.sqrt(2))], n
            )
        else:
            factor = SparsePauliOp.from_sparse_list([(_PAULI[name], [qubit], 1.0)], n)
        operator = operator.compose(factor)
    return operator.simplify()

"""Exact result types (expectation, variance, probability, amplitude, density matrix).

They are computed from the final state of the circuit without its final
measurements, as Braket's simulators do when asked for result types. The worker
may pass that state in, computed by the fastest engine with ``statevectors``;
otherwise it is computed here with ``qiskit.quantum_info.Statevector``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from qharbor import errors

_PAULI = {"x": "X", "y": "Y", "z": "Z", "i": "I"}


def evaluate(
    circuit: QuantumCircuit,
    requests: Sequence[dict[str, Any]],
    state: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Each requested result type with its ``value``.

    Qubit indices and bit strings are in Braket's order: qubit 0 leftmost.

    Args:
        circuit: the circuit (bound), final measurements allowed.
        requests: the result-type requests.
        state: the circuit's final state before its measurements, in Qiskit's
            amplitude order (qubit 0 least significant), if an engine computed it;
            single-precision states are widened to double.

    Raises:
        errors.ExecutionError: the circuit cannot give a state vector here, or
            ``state`` has the wrong length.
    """
    n = circuit.num_qubits
    if state is not None:
        if np.shape(state) != (2**n,):
            raise errors.ExecutionError(
                f"a state of shape {np.shape(state)} for a {n}-qubit circuit"
            )
        final = Statevector(np.asarray(state, dtype=complex))
    else:
        final = _state(circuit)
    out = []
    for request in requests:
        value = _one(final, n, request)
        out.append({**request, "value": value})
    return out


def _state(circuit: QuantumCircuit) -> Statevector:
    """The final state, if it fits in the memory a state-vector device may use."""
    from qharbor.devices.catalogue import memory_qubit_limit

    limit = memory_qubit_limit(1)
    if circuit.num_qubits > limit:
        raise errors.ExecutionError(
            f"result types need the state vector; this host holds at most {limit} qubits "
            f"and this program has {circuit.num_qubits}"
        )
    try:
        return Statevector(circuit.remove_final_measurements(inplace=False))
    except Exception as exc:
        raise errors.ExecutionError(
            "result types need a circuit without mid-circuit measurement, reset or "
            f"classical control ({type(exc).__name__})"
        ) from None


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
    if kind == "density_matrix":
        return _density_matrix(state, n, request["targets"])
    if kind == "state_vector":
        # Braket's order is Qiskit's with the bits of each index reversed:
        # reversing the axes of the (2,)*n tensor does that in one pass.
        data = np.asarray(state.data).reshape((2,) * n).transpose().reshape(-1)
        return np.stack([data.real, data.imag], axis=1).tolist()
    raise errors.ExecutionError(f"unknown result type {kind!r}")


def _density_matrix(state: Statevector, n: int, targets: list[int] | None) -> list[Any]:
    """The reduced density matrix of ``targets``, the first target most significant (Braket)."""
    kept = list(range(n)) if targets is None else list(targets)
    # Axis k of the transposed (2,)*n tensor is qubit k; the kept qubits go first, in order.
    tensor = np.asarray(state.data).reshape((2,) * n).transpose()
    rows = np.moveaxis(tensor, kept, list(range(len(kept)))).reshape(2 ** len(kept), -1)
    matrix = rows @ rows.conj().T
    return np.stack([matrix.real, matrix.imag], axis=-1).tolist()


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

"""qulacs as an engine: a fast double-precision state vector for small and batched circuits.

The translation and its conventions (rotation sign, qubit order, phases) live in
:mod:`qharbor.engines.qulacs_circuits`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import qulacs
import qulacs_core
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qharbor import errors
from qharbor.engines import qulacs_diagonals, threads
from qharbor.engines.base import Experiment, ExperimentOutcome, run_each
from qharbor.engines.features import CircuitFeatures
from qharbor.engines.gatelist import GateList
from qharbor.engines.qulacs_circuits import (
    FUSE_QUBITS,
    OPERATIONS,
    Translation,
    global_phase_factor,
    translate,
    translate_gates,
)

_SEED_MODULUS = 2**32
#: Up to this width, Z-only observables are evaluated from their diagonal (8 MiB).
_DIAGONAL_QUBITS = 20
#: qulacs's OpenMP runtime, to run narrow circuits on one thread.
_SET_THREADS = threads.openmp_setter(Path(qulacs_core.__file__).parent / "qulacs.libs")


def _use_threads(num_qubits: int) -> None:
    if _SET_THREADS is not None:
        _SET_THREADS(threads.threads_for(num_qubits))


class QulacsEngine:
    """Runs measurement-final circuits on qulacs, translating each circuit once."""

    name = "qulacs"
    precisions = frozenset({"double"})
    methods = frozenset({"statevector"})
    operations = OPERATIONS

    def unsupported(self, features: CircuitFeatures, method: str, precision: str) -> str | None:
        refusal = self._refusal(method, precision)
        if refusal:
            return refusal
        if features.dynamic:
            return (
                "qulacs samples final measurements only; this circuit measures mid-circuit, "
                "resets or branches"
            )
        return None

    def versions(self) -> dict[str, str]:
        return {"qiskit": metadata.version("qiskit"), "qulacs": metadata.version("qulacs")}

    def passes(self, features: CircuitFeatures) -> int:
        """Gates applied to a circuit with these features, as the cost model counts them.

        A wide phase-heavy circuit's runs of diagonal gates merge
        (:mod:`qharbor.engines.qulacs_diagonals`): each other gate ends at most
        one run, so it makes at most two passes per other gate, and one more.
        """
        if (
            features.num_qubits < FUSE_QUBITS
            or features.num_parameters
            or not qulacs_diagonals.phase_heavy(features.gates)
        ):
            return features.size
        return min(features.size, 2 * (features.size - features.diagonal) + 1)

    def run(
        self,
        experiments: Sequence[Experiment],
        *,
        method: str,
        shots: int,
        seed: int,
        precision: str = "double",
    ) -> list[list[ExperimentOutcome]]:
        """Run each experiment; the k-th run overall samples with seed ``seed + k``."""
        self._check(method, precision)
        width = -1

        def prepare(circuit: QuantumCircuit) -> Translation:
            nonlocal width
            if circuit.num_qubits != width:
                width = circuit.num_qubits
                _use_threads(width)
            return translate(circuit, sampled=True)

        def sample(program: Translation, binding: Any, run_seed: int) -> dict[str, int]:
            program.bind(binding)
            return _sample(program, shots, run_seed)

        return run_each(experiments, seed, prepare, sample)

    def run_gate_lists(
        self, gate_lists: Sequence[GateList], *, shots: int, seed: int
    ) -> list[list[ExperimentOutcome]]:
        """Run each gate list once, as :meth:`run` runs its circuit; the k-th with ``seed + k``."""
        outcomes = []
        width = -1
        for offset, gates in enumerate(gate_lists):
            started = time.perf_counter()
            if gates.num_qubits != width:
                width = gates.num_qubits
                _use_threads(width)
            counts = _sample(translate_gates(gates), shots, seed + offset)
            run_s = time.perf_counter() - started
            outcomes.append([ExperimentOutcome(counts=counts, seed=seed + offset, run_s=run_s)])
        return outcomes

    def statevectors(
        self,
        circuit: QuantumCircuit,
        bindings: Sequence[Mapping[str, float]],
        *,
        precision: str = "double",
    ) -> list[np.ndarray]:
        """Final states in Qiskit's amplitude order, Qiskit's global phase included."""
        self._check("statevector", precision)
        _use_threads(circuit.num_qubits)
        program = translate(circuit)  # final measurements are only recorded
        vectors = []
        for binding in bindings or (None,):
            state, phase = program.state(binding)
            vector = state.get_vector()
            if phase:
                vector *= global_phase_factor(phase)
            vectors.append(vector)
        return vectors

    def expectation_values(
        self,
        circuit: QuantumCircuit,
        bindings: Sequence[Mapping[str, float]],
        observables: Sequence[SparsePauliOp],
        *,
        precision: str = "double",
    ) -> np.ndarray:
        """Exact ⟨O⟩ per binding and observable.

        An observable of Z and I only (such as a sum of Z) is diagonal: its value
        is the probabilities times its diagonal, computed once, which is cheaper
        than qulacs evaluating each term over the state. Others go to qulacs.
        """
        self._check("statevector", precision)
        _use_threads(circuit.num_qubits)
        program = translate(circuit)  # final measurements are only recorded
        n = circuit.num_qubits
        operators = [_OPERATORS.get(o, n) for o in observables]
        diagonals = [_z_diagonal(o) if n <= _DIAGONAL_QUBITS else None for o in observables]
        hermitian = all(isinstance(op, qulacs.Observable) for op in operators)
        rows = []
        for binding in bindings or (None,):
            state, _phase = program.state(binding)
            probabilities = None
            row = []
            for operator, diagonal in zip(operators, diagonals, strict=True):
                if diagonal is None:
                    row.append(operator.get_expectation_value(state))
                    continue
                if probabilities is None:
                    vector = state.get_vector()
                    probabilities = vector.real**2 + vector.imag**2
                row.append(float(probabilities @ diagonal))
            rows.append(row)
        return np.array(rows, dtype=float if hermitian else complex)

    def _refusal(self, method: str, precision: str) -> str | None:
        if precision not in self.precisions:
            return f"qulacs computes in double precision only, not {precision}"
        if method not in self.methods:
            return f"qulacs implements the statevector method only, not {method}"
        return None

    def _check(self, method: str, precision: str) -> None:
        refusal = self._refusal(method, precision)
        if refusal:
            raise errors.ExecutionError(refusal)


def _sample(program: Translation, shots: int, seed: int) -> dict[str, int]:
    readout = program.readout
    if not readout.pairs:
        return {}
    state = program.evolve()
    return readout.counts_from_indices(state.sampling(shots, seed % _SEED_MODULUS))


def _z_diagonal(observable: SparsePauliOp) -> np.ndarray | None:
    """The diagonal of an observable of Z and I with real coefficients, else None."""
    if np.any(np.imag(observable.coeffs)) or np.any(observable.paulis.x):
        return None
    n = observable.num_qubits
    index = np.arange(2**n, dtype=np.int64)
    diagonal = np.zeros(2**n)
    for z, coefficient in zip(observable.paulis.z, observable.coeffs.real, strict=True):
        mask = int(np.dot(z.astype(np.int64), 1 << np.arange(n, dtype=np.int64)))
        parity = np.bitwise_count(index & mask) & 1
        diagonal += coefficient * (1 - 2 * parity.astype(float))
    return diagonal


class _Operators:
    """qulacs operators kept per ``SparsePauliOp`` object, the newest few.

    The estimator gives the same operator object for the same observable
    (:func:`qharbor.primitives.observables.to_sparse`), and a loop sends the same
    observables with every job: converting them again costs more than running a
    small circuit. Each entry keeps its ``SparsePauliOp`` alive, so an id names
    one object for as long as it is kept.
    """

    _KEPT = 64

    def __init__(self) -> None:
        self._kept: dict[tuple[int, int], tuple[SparsePauliOp, Any]] = {}
        self._lock = threading.Lock()

    def get(self, observable: SparsePauliOp, n: int) -> Any:
        key = (id(observable), n)
        with self._lock:
            found = self._kept.get(key)
        if found is not None and found[0] is observable:
            return found[1]
        operator = _operator(observable, n)
        with self._lock:
            self._kept[key] = (observable, operator)
            while len(self._kept) > self._KEPT:
                self._kept.pop(next(iter(self._kept)))
        return operator


def _operator(observable: SparsePauliOp, n: int) -> Any:
    """A qulacs operator for ``observable``.

    Qiskit's Pauli labels read right to left (the last letter is qubit 0); the
    sparse list names each qubit, and qulacs strings name them too ("X 0 Z 3").
    """
    if observable.num_qubits != n:
        raise errors.ExecutionError(
            f"an observable on {observable.num_qubits} qubits for a {n}-qubit circuit"
        )
    terms = observable.to_sparse_list()
    hermitian = all(abs(complex(c).imag) < 1e-12 for _, _, c in terms)
    operator = qulacs.Observable(n) if hermitian else qulacs.GeneralQuantumOperator(n)
    for paulis, qubits, coefficient in terms:
        text = " ".join(f"{p} {q}" for p, q in zip(paulis, qubits, strict=True) if p != "I")
        value = complex(coefficient)
        operator.add_operator(value.real if hermitian else value, text)
    return operator


_OPERATORS = _Operators()

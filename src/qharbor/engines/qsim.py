"""qsim (through qsimcirq) as an engine: a fused, multi-threaded single-precision state vector.

qsim on a CPU computes in float32, so it serves jobs that allow ``single``
precision. The translation and its conventions live in
:mod:`qharbor.engines.qsim_circuits`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

import cirq
import numpy as np
import qsimcirq
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qharbor import errors
from qharbor.engines import threads
from qharbor.engines.base import Experiment, ExperimentOutcome, run_each
from qharbor.engines.features import CircuitFeatures
from qharbor.engines.qsim_circuits import OPERATIONS, Translation, translate

#: Qubits of the largest gate block qsim fuses before applying it. Larger blocks
#: mean fewer passes over the state but more work per pass; 3 was the fastest of
#: 2 to 5 for random, QFT and GHZ circuits of 20 to 25 qubits on our (shared,
#: noisy) 2-core host.
FUSION_SIZE = 3
_SEED_MODULUS = 2**31 - 1


class QsimEngine:
    """Runs measurement-final circuits on qsim with every core and gate fusion."""

    name = "qsim"
    precisions = frozenset({"single"})
    methods = frozenset({"statevector"})
    operations = OPERATIONS

    def __init__(self, fusion: int = FUSION_SIZE) -> None:
        self._fusion = fusion
        self._simulators: dict[int, qsimcirq.QSimSimulator] = {}

    def _simulator(self, num_qubits: int) -> qsimcirq.QSimSimulator:
        """A simulator with every core for wide circuits, one thread for narrow ones.

        qsim's own default is one thread whatever the width.
        """
        count = threads.threads_for(num_qubits)
        if count not in self._simulators:
            options = qsimcirq.QSimOptions(cpu_threads=count, max_fused_gate_size=self._fusion)
            self._simulators[count] = qsimcirq.QSimSimulator(qsim_options=options)
        return self._simulators[count]

    def unsupported(self, features: CircuitFeatures, method: str, precision: str) -> str | None:
        refusal = self._refusal(method, precision)
        if refusal:
            return refusal
        if features.dynamic:
            return (
                "qsim here samples final measurements only; this circuit measures "
                "mid-circuit, resets or branches"
            )
        return None

    def versions(self) -> dict[str, str]:
        return {
            "qiskit": metadata.version("qiskit"),
            "qsimcirq": metadata.version("qsimcirq"),
            "cirq-core": metadata.version("cirq-core"),
        }

    def run(
        self,
        experiments: Sequence[Experiment],
        *,
        method: str,
        shots: int,
        seed: int,
        precision: str = "single",
    ) -> list[list[ExperimentOutcome]]:
        """Run each experiment; the k-th run overall samples with seed ``seed + k``."""
        self._check(method, precision)
        return run_each(
            experiments,
            seed,
            translate,
            lambda program, binding, run_seed: self._sample(program, binding, shots, run_seed),
        )

    def statevectors(
        self,
        circuit: QuantumCircuit,
        bindings: Sequence[Mapping[str, float]],
        *,
        precision: str = "single",
    ) -> list[np.ndarray]:
        """Final states (complex64) in Qiskit's amplitude order, Qiskit's global phase included."""
        self._check("statevector", precision)
        program = translate(circuit)  # final measurements are only recorded
        order = cirq.QubitOrder.explicit(program.qubits)
        simulator = self._simulator(circuit.num_qubits)
        vectors = []
        for binding in bindings or (None,):
            resolver = cirq.ParamResolver(dict(binding) if binding else {})
            _, vector, _ = simulator.simulate_into_1d_array(
                program.circuit, resolver, qubit_order=order
            )
            phase = program.global_phase(binding)
            vector = np.asarray(vector, dtype=np.complex64)
            if phase:
                vector *= np.complex64(np.exp(1j * phase))
            vectors.append(vector)
        return vectors

    def expectation_values(
        self,
        circuit: QuantumCircuit,
        bindings: Sequence[Mapping[str, float]],
        observables: Sequence[SparsePauliOp],
        *,
        precision: str = "single",
    ) -> np.ndarray:
        """Exact ⟨O⟩ per binding and observable, computed inside qsim."""
        self._check("statevector", precision)
        program = translate(circuit)  # final measurements are only recorded
        n = circuit.num_qubits
        sums: list[Any] = [_pauli_sum(o, program.qubits, n) for o in observables]
        resolvers = [cirq.ParamResolver(dict(b)) for b in bindings] or [cirq.ParamResolver({})]
        rows = self._simulator(n).simulate_expectation_values_sweep(
            _with_all_qubits(program), observables=sums, params=resolvers
        )
        values = np.array(rows, dtype=complex)
        if all(np.isrealobj(o.coeffs) or not np.any(np.imag(o.coeffs)) for o in observables):
            return values.real.astype(float)
        return values

    def _sample(
        self, program: Translation, binding: Mapping[str, float] | None, shots: int, seed: int
    ) -> dict[str, int]:
        readout = program.readout
        if not readout.pairs:
            return {}
        circuit = program.circuit
        if cirq.is_parameterized(circuit):
            if binding is None:
                raise errors.ExecutionError("the circuit has parameters but no values for them")
            circuit = cirq.resolve_parameters(circuit, cirq.ParamResolver(dict(binding)))
        indices = self._sample_final(circuit, program.qubits, shots, seed)
        return readout.counts_from_indices(indices)

    def _sample_final(
        self, circuit: cirq.Circuit, qubits: list[cirq.LineQubit], shots: int, seed: int
    ) -> list[int]:
        """Sampled basis indices of the final state, in Qiskit's order.

        qsim samples a measurement-free circuit's final state in one call. With
        qubits ordered ``LineQubit(0..n-1)``, bit i of each index is Qiskit qubit i.
        qsimcirq's public ``run`` does the same call but then unpacks every shot
        into Python lists, which costs more than the simulation of small circuits.
        """
        translated, _ = qsimcirq.QSimCircuit(circuit).translate_cirq_to_qsim(
            cirq.QubitOrder.explicit(qubits)
        )
        simulator = self._simulator(len(qubits))
        options: dict[str, Any] = {**simulator.qsim_options, "c": translated}
        options["s"] = seed % _SEED_MODULUS
        module: Any = simulator._sim_module
        return list(module.qsim_sample_final(options, shots))

    def _refusal(self, method: str, precision: str) -> str | None:
        if precision not in self.precisions:
            return f"qsim computes in single precision only; the job asks for {precision}"
        if method not in self.methods:
            return f"qsim implements the statevector method only, not {method}"
        return None

    def _check(self, method: str, precision: str) -> None:
        refusal = self._refusal(method, precision)
        if refusal:
            raise errors.ExecutionError(refusal)


def _with_all_qubits(program: Translation) -> cirq.Circuit:
    """The circuit with every qubit present, so qsim's register is the full width."""
    idle = set(program.qubits) - program.circuit.all_qubits()
    if not idle:
        return program.circuit
    return program.circuit + cirq.Circuit(cirq.I(q) for q in sorted(idle))


def _pauli_sum(observable: SparsePauliOp, qubits: list[cirq.LineQubit], n: int) -> cirq.PauliSum:
    """``observable`` on the Cirq qubits: Qiskit qubit i is ``qubits[n-1-i]``."""
    if observable.num_qubits != n:
        raise errors.ExecutionError(
            f"an observable on {observable.num_qubits} qubits for a {n}-qubit circuit"
        )
    paulis = {"X": cirq.X, "Y": cirq.Y, "Z": cirq.Z}
    total = cirq.PauliSum()
    for letters, indices, coefficient in observable.to_sparse_list():
        term: cirq.PauliString[Any] = cirq.PauliString(
            {
                qubits[n - 1 - i]: paulis[p]
                for p, i in zip(letters, indices, strict=True)
                if p != "I"
            },
            coefficient=complex(coefficient),
        )
        total += term
    return total

"""Qiskit Aer in-process, with its default settings (fusion included)."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import EstimatorV2

from benchmarks.circuits import Circuit, to_qiskit


def versions() -> dict[str, str]:
    return {"qiskit": metadata.version("qiskit"), "qiskit-aer": metadata.version("qiskit-aer")}


class Runner:
    """``AerSimulator()`` (automatic method: state vector here), double precision."""

    def __init__(self) -> None:
        self.simulator = AerSimulator()
        self.estimator = EstimatorV2()
        self.notes: list[str] = []

    def sample(self, circuit: Circuit, shots: int, seed: int) -> dict[int, int]:
        result = self.simulator.run(to_qiskit(circuit), shots=shots, seed_simulator=seed).result()
        return {int(k, 2): v for k, v in result.get_counts().items()}

    def state(self, circuit: Circuit, probes: Any) -> tuple[str, np.ndarray, bool]:
        qc = to_qiskit(circuit)
        qc.save_statevector()
        result = self.simulator.run(qc).result()
        return ("vector", np.asarray(result.get_statevector()), True)

    def batch(self, circuits: Any, shots: int, seed: int) -> list[dict[int, int]]:
        return [self.sample(c, shots, seed + i) for i, c in enumerate(circuits)]

    def estimate(self, circuit: Circuit, values: np.ndarray) -> np.ndarray:
        n = circuit.num_qubits
        qc = to_qiskit(circuit, list(ParameterVector("p", circuit.num_params)))
        observable = SparsePauliOp.from_sparse_list([("Z", [q], 1.0) for q in range(n)], n)
        result = self.estimator.run([(qc, observable, values)]).result()
        return np.asarray(result[0].data.evs)

"""pyqpanda3's ``CPUQVM`` in-process, double precision (``float64``, its default).

Its counts keys and state vectors put qubit 0 in the least significant place.
"""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

import numpy as np
from pyqpanda3 import core
from pyqpanda3.hamiltonian import PauliOperator

from benchmarks.circuits import Circuit, bind


def versions() -> dict[str, str]:
    return {"pyqpanda3": metadata.version("pyqpanda3")}


def build(circuit: Circuit) -> core.QProg:
    prog = core.QProg()
    for g in circuit.gates:
        q = g.qubits
        if g.name == "h":
            prog << core.H(q[0])
        elif g.name == "x":
            prog << core.X(q[0])
        elif g.name == "cx":
            prog << core.CNOT(q[0], q[1])
        elif g.name == "cz":
            prog << core.CZ(q[0], q[1])
        elif g.name == "swap":
            prog << core.SWAP(q[0], q[1])
        elif g.name == "rx":
            prog << core.RX(q[0], g.angle)
        elif g.name == "ry":
            prog << core.RY(q[0], g.angle)
        elif g.name == "rz":
            prog << core.RZ(q[0], g.angle)
        elif g.name == "cp":
            prog << core.CP(q[0], q[1], g.angle)
        else:
            raise ValueError(f"pyqpanda3 converter: unknown gate {g.name}")
    if circuit.measure:
        qubits = list(range(circuit.num_qubits))
        prog << core.measure(qubits, qubits)
    return prog


class Runner:
    def __init__(self) -> None:
        self.qvm = core.CPUQVM()
        self.threads = os.cpu_count() or 1
        self.notes: list[str] = []

    def sample(self, circuit: Circuit, shots: int, seed: int) -> dict[int, int]:
        self.qvm.run(build(circuit), shots)
        return {int(k, 2): v for k, v in self.qvm.result().get_counts().items()}

    def state(self, circuit: Circuit, probes: Any) -> tuple[str, np.ndarray, bool]:
        self.qvm.run(build(circuit), 1)
        return ("vector", np.asarray(self.qvm.result().get_state_vector()), True)

    def batch(self, circuits: Any, shots: int, seed: int) -> list[dict[int, int]]:
        return [self.sample(c, shots, seed + i) for i, c in enumerate(circuits)]

    def estimate(self, circuit: Circuit, values: np.ndarray) -> np.ndarray:
        operator = PauliOperator({f"Z{q}": 1.0 for q in range(circuit.num_qubits)})
        return np.asarray(
            [
                core.expval_pauli_operator(
                    build(bind(circuit, row)), operator, used_threads=self.threads
                )
                for row in values
            ]
        )

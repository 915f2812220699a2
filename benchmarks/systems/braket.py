"""Amazon Braket's ``LocalSimulator`` (``braket_sv``) in-process, double precision.

Braket orders bit strings and state vectors with qubit 0 first (most significant).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import numpy as np
from braket.circuits import Circuit as BraketCircuit
from braket.circuits import FreeParameter, Observable
from braket.devices import LocalSimulator

from benchmarks.circuits import Circuit


def versions() -> dict[str, str]:
    return {
        "amazon-braket-sdk": metadata.version("amazon-braket-sdk"),
        "amazon-braket-default-simulator": metadata.version("amazon-braket-default-simulator"),
    }


def build(circuit: Circuit, symbols: list[Any] | None = None) -> BraketCircuit:
    out = BraketCircuit()
    for g in circuit.gates:
        q = g.qubits
        angle = g.angle if g.param is None else symbols[g.param]  # type: ignore[index]
        if g.name == "h":
            out.h(q[0])
        elif g.name == "x":
            out.x(q[0])
        elif g.name == "cx":
            out.cnot(q[0], q[1])
        elif g.name == "cz":
            out.cz(q[0], q[1])
        elif g.name == "swap":
            out.swap(q[0], q[1])
        elif g.name == "rx":
            out.rx(q[0], angle)
        elif g.name == "ry":
            out.ry(q[0], angle)
        elif g.name == "rz":
            out.rz(q[0], angle)
        elif g.name == "cp":
            out.cphaseshift(q[0], q[1], angle)
        else:
            raise ValueError(f"braket converter: unknown gate {g.name}")
    return out


class Runner:
    def __init__(self) -> None:
        self.device = LocalSimulator()
        self.notes: list[str] = []

    def sample(self, circuit: Circuit, shots: int, seed: int) -> dict[int, int]:
        # Braket measures every qubit when the circuit has no result types.
        counts = self.device.run(build(circuit), shots=shots).result().measurement_counts
        return {int(bits[::-1], 2): v for bits, v in counts.items()}

    def state(self, circuit: Circuit, probes: Any) -> tuple[str, np.ndarray, bool]:
        program = build(circuit).state_vector()
        vector = self.device.run(program, shots=0).result().values[0]
        return ("vector", np.asarray(vector), False)

    def batch(self, circuits: Any, shots: int, seed: int) -> list[dict[int, int]]:
        return [self.sample(c, shots, seed + i) for i, c in enumerate(circuits)]

    def estimate(self, circuit: Circuit, values: np.ndarray) -> np.ndarray:
        symbols = [FreeParameter(f"p{i}") for i in range(circuit.num_params)]
        program = build(circuit, symbols)
        for q in range(circuit.num_qubits):
            program.expectation(Observable.Z(), target=[q])
        out = []
        for row in values:
            inputs = {f"p{i}": float(v) for i, v in enumerate(row)}
            result = self.device.run(program, shots=0, inputs=inputs).result()
            out.append(float(np.sum(result.values)))
        return np.asarray(out)

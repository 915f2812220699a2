"""Cirq's own simulator in-process, single precision (``complex64``, its default).

Cirq orders a state vector with the first qubit as the most significant bit.
"""

from __future__ import annotations

import math
from importlib import metadata
from typing import Any

import cirq
import numpy as np
import sympy

from benchmarks.circuits import Circuit
from benchmarks.systems import counts_from_rows


def versions() -> dict[str, str]:
    return {"cirq-core": metadata.version("cirq-core")}


def build(circuit: Circuit, symbols: list[Any] | None = None) -> cirq.Circuit:
    """The Cirq circuit on ``LineQubit(0..n-1)``, measured into key ``m`` if measured."""
    qubits = cirq.LineQubit.range(circuit.num_qubits)
    ops = []
    for g in circuit.gates:
        q = [qubits[i] for i in g.qubits]
        angle = g.angle if g.param is None else symbols[g.param]  # type: ignore[index]
        if g.name == "h":
            ops.append(cirq.H(*q))
        elif g.name == "x":
            ops.append(cirq.X(*q))
        elif g.name == "cx":
            ops.append(cirq.CNOT(*q))
        elif g.name == "cz":
            ops.append(cirq.CZ(*q))
        elif g.name == "swap":
            ops.append(cirq.SWAP(*q))
        elif g.name == "rx":
            ops.append(cirq.rx(angle).on(*q))
        elif g.name == "ry":
            ops.append(cirq.ry(angle).on(*q))
        elif g.name == "rz":
            ops.append(cirq.rz(angle).on(*q))
        elif g.name == "cp":  # diag(1, 1, 1, e^{iλ}) = CZ^(λ/π)
            ops.append(cirq.CZPowGate(exponent=angle / math.pi).on(*q))
        else:
            raise ValueError(f"cirq converter: unknown gate {g.name}")
    if circuit.measure:
        ops.append(cirq.measure(*qubits, key="m"))
    return cirq.Circuit(ops)


def z_sum(n: int) -> cirq.PauliSum:
    qubits = cirq.LineQubit.range(n)
    return cirq.PauliSum.from_pauli_strings([cirq.Z(q) for q in qubits])


class CirqLike:
    """The runner's methods for any simulator with Cirq's interfaces."""

    simulator: Any

    def sample(self, circuit: Circuit, shots: int, seed: int) -> dict[int, int]:
        result = self.simulator.run(build(circuit), repetitions=shots)
        return counts_from_rows(result.measurements["m"])

    def state(self, circuit: Circuit, probes: Any) -> tuple[str, np.ndarray, bool]:
        result = self.simulator.simulate(build(circuit))
        return ("vector", result.final_state_vector, False)

    def batch(self, circuits: Any, shots: int, seed: int) -> list[dict[int, int]]:
        return [self.sample(c, shots, seed + i) for i, c in enumerate(circuits)]

    def estimate(self, circuit: Circuit, values: np.ndarray) -> np.ndarray:
        symbols = [sympy.Symbol(f"p{i}") for i in range(circuit.num_params)]
        sweep = [
            cirq.ParamResolver({s.name: float(v) for s, v in zip(symbols, row, strict=True)})
            for row in values
        ]
        out = self.simulator.simulate_expectation_values_sweep(
            build(circuit, symbols), observables=[z_sum(circuit.num_qubits)], params=sweep
        )
        return np.asarray([row[0].real for row in out])


class Runner(CirqLike):
    def __init__(self) -> None:
        self.simulator = cirq.Simulator(dtype=np.complex64, seed=1234)
        self.notes: list[str] = []

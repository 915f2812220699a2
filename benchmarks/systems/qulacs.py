"""qulacs in-process, double precision.

qulacs's ``RX``/``RY``/``RZ`` rotate the other way from Qiskit's, so fixed angles
use ``RotX``/``RotY``/``RotZ`` (Qiskit's sign) and parametric ones get ``-θ``.
"""

from __future__ import annotations

import cmath
from importlib import metadata
from typing import Any

import numpy as np
import qulacs
from qulacs import gate as gates

from benchmarks.circuits import Circuit
from benchmarks.systems import counts_from_ints


def versions() -> dict[str, str]:
    return {"qulacs": metadata.version("qulacs")}


def _controlled_phase(control: int, target: int, angle: float) -> Any:
    phase = gates.DenseMatrix(target, [[1, 0], [0, cmath.exp(1j * angle)]])
    phase.add_control_qubit(control, 1)
    return phase


def build(circuit: Circuit) -> qulacs.QuantumCircuit:
    qc = qulacs.QuantumCircuit(circuit.num_qubits)
    for g in circuit.gates:
        q = g.qubits
        if g.name == "h":
            qc.add_H_gate(q[0])
        elif g.name == "x":
            qc.add_X_gate(q[0])
        elif g.name == "cx":
            qc.add_CNOT_gate(q[0], q[1])
        elif g.name == "cz":
            qc.add_CZ_gate(q[0], q[1])
        elif g.name == "swap":
            qc.add_SWAP_gate(q[0], q[1])
        elif g.name == "rx":
            qc.add_gate(gates.RotX(q[0], g.angle))
        elif g.name == "ry":
            qc.add_gate(gates.RotY(q[0], g.angle))
        elif g.name == "rz":
            qc.add_gate(gates.RotZ(q[0], g.angle))
        elif g.name == "cp":
            qc.add_gate(_controlled_phase(q[0], q[1], g.angle))
        else:
            raise ValueError(f"qulacs converter: unknown gate {g.name}")
    return qc


class Runner:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def _final_state(self, circuit: Circuit) -> qulacs.QuantumState:
        state = qulacs.QuantumState(circuit.num_qubits)
        build(circuit).update_quantum_state(state)
        return state

    def sample(self, circuit: Circuit, shots: int, seed: int) -> dict[int, int]:
        return counts_from_ints(self._final_state(circuit).sampling(shots, seed))

    def state(self, circuit: Circuit, probes: Any) -> tuple[str, np.ndarray, bool]:
        return ("vector", self._final_state(circuit).get_vector(), True)

    def batch(self, circuits: Any, shots: int, seed: int) -> list[dict[int, int]]:
        return [self.sample(c, shots, seed + i) for i, c in enumerate(circuits)]

    def estimate(self, circuit: Circuit, values: np.ndarray) -> np.ndarray:
        n = circuit.num_qubits
        qc = qulacs.ParametricQuantumCircuit(n)
        slots: list[int] = []  # the qulacs parameter index -> our parameter index
        for g in circuit.gates:
            if g.name == "ry" and g.param is not None:
                qc.add_parametric_RY_gate(g.qubits[0], 0.0)
                slots.append(g.param)
            elif g.name == "cx":
                qc.add_CNOT_gate(*g.qubits)
            else:
                raise ValueError(f"qulacs ansatz converter: unexpected gate {g.name}")
        observable = qulacs.Observable(n)
        for q in range(n):
            observable.add_operator(1.0, f"Z {q}")
        state = qulacs.QuantumState(n)
        out = np.empty(len(values))
        for row, params in enumerate(values):
            for slot, index in enumerate(slots):
                qc.set_parameter(slot, -float(params[index]))
            state.set_zero_state()
            qc.update_quantum_state(state)
            out[row] = observable.get_expectation_value(state).real
        return out

"""The circuits the engine conformance suite runs, and Qiskit's exact answers for them."""

from __future__ import annotations

import math

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Statevector

# ---------------------------------------------------------------- circuits


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    return circuit


def sign_probe(gate: str, theta: float) -> QuantumCircuit:
    """A circuit whose outcome distribution changes when ``gate``'s angle changes sign."""
    circuit = QuantumCircuit(2, 2)
    circuit.u(0.9, 0.4, 0.2, 0)
    circuit.u(1.7, -0.3, 0.8, 1)
    if gate in ("rx", "ry", "rz", "p"):
        getattr(circuit, gate)(theta, 0)
    else:
        getattr(circuit, gate)(theta, 0, 1)
    circuit.u(0.5, 1.1, -0.6, 0)
    circuit.u(2.1, 0.3, 0.0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def h_rz_sx(theta: float) -> QuantumCircuit:
    """H·RZ(θ)·SX: outcome 0 for θ = +π/2 and outcome 1 for θ = −π/2."""
    circuit = QuantumCircuit(1, 1)
    circuit.h(0)
    circuit.rz(theta, 0)
    circuit.sx(0)
    circuit.measure(0, 0)
    return circuit


def mixed(n: int = 4) -> QuantumCircuit:
    """Many gate kinds, direct and by matrix, with a global phase."""
    circuit = QuantumCircuit(n)
    circuit.global_phase = 0.3
    circuit.h(range(n))
    circuit.rx(0.3, 0)
    circuit.ry(-1.1, 1)
    circuit.rz(0.7, 2)
    circuit.p(0.4, 3)
    circuit.u(0.3, 1.2, -0.4, 0)
    circuit.sx(1)
    circuit.sxdg(2)
    circuit.t(3)
    circuit.sdg(0)
    circuit.cx(0, 1)
    circuit.cy(1, 2)
    circuit.cz(2, 3)
    circuit.cp(0.8, 3, 0)
    circuit.crz(-0.6, 0, 2)
    circuit.crx(0.5, 1, 3)
    circuit.rzz(0.9, 0, 3)
    circuit.rxx(-0.4, 1, 2)
    circuit.ryy(0.2, 0, 2)
    circuit.rzx(0.6, 3, 1)
    circuit.swap(0, 2)
    circuit.iswap(1, 3)
    circuit.ecr(2, 0)
    circuit.ccx(0, 1, 2)
    circuit.cswap(3, 0, 1)
    circuit.ch(2, 1)
    circuit.r(0.4, 0.2, 3)
    return circuit


def phase_heavy(n: int = 16, seed: int = 3) -> QuantumCircuit:
    """A QFT-like circuit, mostly controlled phases: engines merge such runs on wide states.

    From a basis state, a textbook QFT whose controlled phases are mixed with
    every other diagonal gate kind (``crz``, ``rzz``, ``cz``, one-qubit phases and
    ``rz``), then its final swaps. A last layer of ``ry`` turns the phases into
    probabilities, so sampling sees them too.
    """
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(n)
    circuit.x([q for q in range(n) if (0b1011001110001111 >> q) & 1])
    for target in reversed(range(n)):
        circuit.h(target)
        for control in reversed(range(target)):
            angle = math.pi / 2 ** (target - control)
            kind = rng.integers(8)
            if kind == 0:
                circuit.crz(angle, control, target)
            elif kind == 1:
                circuit.rzz(angle, control, target)
            elif kind == 2:
                circuit.cz(control, target)
            else:
                circuit.cp(angle, control, target)
            if rng.random() < 0.1:
                one = ["rz", "p", "t", "tdg", "s", "sdg", "z"][rng.integers(7)]
                qubit = int(rng.integers(n))
                if one in ("rz", "p"):
                    getattr(circuit, one)(rng.uniform(-3, 3), qubit)
                else:
                    getattr(circuit, one)(qubit)
    for q in range(n // 2):
        circuit.swap(q, n - 1 - q)
    circuit.ry(0.7, range(n))
    return circuit


def parametric() -> tuple[QuantumCircuit, list[dict[str, float]]]:
    t = ParameterVector("t", 3)
    circuit = QuantumCircuit(3)
    circuit.h(range(3))
    circuit.rx(t[0], 0)
    circuit.ry(2 * t[1], 1)
    circuit.rz(t[2] - t[0], 2)
    circuit.p(t[1], 0)
    circuit.cp(t[2], 1, 2)
    circuit.crz(t[0], 2, 0)
    circuit.rzz(t[1], 0, 2)
    circuit.u(t[0], 0.3, t[2], 1)
    circuit.global_phase = t[1]
    bindings = [
        {"t[0]": 0.3, "t[1]": -1.2, "t[2]": 2.0},
        {"t[0]": -2.5, "t[1]": 0.7, "t[2]": 0.1},
    ]
    return circuit, bindings


def clifford_dynamic() -> QuantumCircuit:
    """A Bell pair measured mid-circuit, reset, re-entangled: c0 = c1 = c2, each 0 or 1."""
    circuit = QuantumCircuit(2, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure(0, 0)
    circuit.reset(0)
    circuit.cx(1, 0)
    circuit.measure(0, 2)
    circuit.measure(1, 1)
    return circuit


def clifford_mix() -> QuantumCircuit:
    circuit = QuantumCircuit(4, 4)
    circuit.h([0, 1])
    circuit.s(0)
    circuit.sx(2)
    circuit.cy(0, 2)
    circuit.sdg(1)
    circuit.cz(1, 3)
    circuit.swap(2, 3)
    circuit.ecr(0, 3)
    circuit.iswap(1, 2)
    circuit.dcx(2, 0)
    circuit.h(range(4))
    circuit.measure(range(4), [2, 0, 3, 1])
    return circuit


# ---------------------------------------------------------------- references


def exact_counts(circuit: QuantumCircuit) -> dict[str, float]:
    """Outcome probabilities of a measurement-final circuit, keyed as Qiskit keys counts."""
    measures = [
        (circuit.find_bit(i.qubits[0]).index, circuit.find_bit(i.clbits[0]).index)
        for i in circuit.data
        if i.name == "measure"
    ]
    body = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.name != "measure":
            body.append(instruction)
    probabilities = Statevector(body).probabilities()
    nc = circuit.num_clbits
    sizes = [r.size for r in circuit.cregs]
    out: dict[str, float] = {}
    for index, p in enumerate(probabilities):
        if p < 1e-12:
            continue
        bits = [0] * nc
        for qubit, clbit in measures:
            bits[clbit] = (index >> qubit) & 1
        parts, start = [], 0
        for size in sizes:  # register 0 is rightmost
            parts.append("".join(str(b) for b in reversed(bits[start : start + size])))
            start += size
        key = " ".join(reversed(parts))
        out[key] = out.get(key, 0.0) + float(p)
    return out


def assert_matches(counts: dict[str, int], expected: dict[str, float], shots: int) -> None:
    """Every outcome within 5σ of its expectation; impossible outcomes never seen."""
    assert sum(counts.values()) == shots
    assert set(counts) <= set(expected), f"impossible outcomes {set(counts) - set(expected)}"
    for key, p in expected.items():
        sigma = math.sqrt(shots * p * (1 - p))
        assert abs(counts.get(key, 0) - shots * p) <= 5 * sigma + 1, (key, counts, expected)


def fidelity(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.vdot(a, b)) ** 2)

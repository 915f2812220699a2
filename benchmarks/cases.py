"""The six timed cases: their circuits, fixed seeds, references and checks.

Each case builds its workload (gate lists, shots, seeds) the same way in every
process, so every system runs the same circuits. References that need a
simulation (exact probabilities, exact expectation values) are computed once,
before any system runs, with Qiskit's ``quantum_info.Statevector`` (not Aer,
which is one of the systems measured); they are never timed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks import checks
from benchmarks.circuits import (
    Circuit,
    bind,
    ghz,
    hardware_efficient_ansatz,
    qft_of_basis_state,
    random_layers,
    random_u3_cz,
    to_qiskit,
)

#: Tolerances per precision: state infidelity, amplitude error (relative to 1/√N),
#: and expectation value error (absolute).
FIDELITY = {"double": 1e-6, "single": 1e-4}
AMPLITUDE = {"double": 1e-6, "single": 1e-3}
EXPECTATION = {"double": 1e-8, "single": 1e-4}

#: Basis states whose amplitudes qharbor is asked for in the QFT cases.
PROBES = 64


@dataclass(frozen=True)
class Work:
    """What one case asks a system to do.

    Attributes:
        kind: ``sample`` (one circuit, counts), ``state`` (final state vector),
            ``batch`` (many circuits, counts of each) or ``estimate`` (⟨Σ Z_i⟩
            of a parameterised circuit for many parameter sets).
        circuits: the circuit, or for ``batch`` every circuit.
        shots: shots per circuit (sampling kinds).
        seed: the sampling seed, where the system takes one.
        x: the basis state the QFT is applied to (``state``).
        probes: basis states (bit i = qubit i) whose amplitudes are checked when a
            system returns amplitudes rather than the whole vector (``state``).
        values: parameter sets, one row each (``estimate``).
    """

    kind: str
    circuits: tuple[Circuit, ...]
    shots: int = 0
    seed: int = 0
    x: int = 0
    probes: tuple[int, ...] = ()
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def circuit(self) -> Circuit:
        return self.circuits[0]


@dataclass(frozen=True)
class Case:
    """A named case, with its sizes for a full run and for a quick (smoke) run."""

    name: str
    title: str
    kind: str
    full: Mapping[str, int]
    quick: Mapping[str, int]

    def work(self, quick: bool = False) -> Work:
        size = self.quick if quick else self.full
        return BUILDERS[self.kind](dict(size))


def _sample(size: dict[str, int]) -> Work:
    if "depth" in size:
        circuit = random_layers(size["n"], size["depth"], seed=size["seed"])
    else:
        circuit = ghz(size["n"])
    return Work("sample", (circuit,), shots=size["shots"], seed=size["seed"])


def _state(size: dict[str, int]) -> Work:
    n = size["n"]
    rng = np.random.default_rng(size["seed"])
    x = int(rng.integers(1, 1 << n))
    probes = {0, (1 << n) - 1, x, *(int(k) for k in rng.integers(0, 1 << n, size=PROBES - 3))}
    return Work("state", (qft_of_basis_state(n, x),), x=x, probes=tuple(sorted(probes)))


def _batch(size: dict[str, int]) -> Work:
    layers = random_u3_cz if size.get("u3") else random_layers
    circuits = tuple(
        layers(size["n"], size["depth"], seed=size["seed"] + i) for i in range(size["count"])
    )
    return Work("batch", circuits, shots=size["shots"], seed=size["seed"])


def _estimate(size: dict[str, int]) -> Work:
    ansatz = hardware_efficient_ansatz(size["n"], size["reps"])
    rng = np.random.default_rng(size["seed"])
    values = rng.uniform(0.0, 2 * np.pi, size=(size["sets"], ansatz.num_params))
    return Work("estimate", (ansatz,), values=values)


BUILDERS = {"sample": _sample, "state": _state, "batch": _batch, "estimate": _estimate}

CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case(
            "ghz25",
            "GHZ-25, 1000 shots",
            "sample",
            {"n": 25, "shots": 1000, "seed": 25},
            {"n": 12, "shots": 200, "seed": 25},
        ),
        Case(
            "qft22",
            "QFT-22, state vector",
            "state",
            {"n": 22, "seed": 22},
            {"n": 10, "seed": 22},
        ),
        Case(
            "qft26",
            "QFT-26, state vector",
            "state",
            {"n": 26, "seed": 26},
            {"n": 12, "seed": 26},
        ),
        Case(
            "random20",
            "random n=20 depth 20, 1000 shots",
            "sample",
            {"n": 20, "depth": 20, "shots": 1000, "seed": 20},
            {"n": 10, "depth": 10, "shots": 500, "seed": 20},
        ),
        Case(
            "jobs5x1000",
            "1000 separate 5-qubit jobs, 100 shots",
            "batch",
            {"n": 5, "depth": 6, "count": 1000, "shots": 100, "seed": 5000},
            {"n": 5, "depth": 6, "count": 50, "shots": 100, "seed": 5000},
        ),
        Case(
            "batch5u3",
            "1000 random 5-qubit circuits, u3 + cz, depth 10, 100 shots, one batch",
            "batch",
            {"n": 5, "depth": 10, "count": 1000, "shots": 100, "seed": 7000, "u3": 1},
            {"n": 5, "depth": 10, "count": 50, "shots": 100, "seed": 7000, "u3": 1},
        ),
        Case(
            "ansatz12",
            "12-qubit ansatz, 200 parameter sets, ⟨ΣZ⟩",
            "estimate",
            {"n": 12, "reps": 3, "sets": 200, "seed": 12},
            {"n": 6, "reps": 2, "sets": 20, "seed": 12},
        ),
    )
}


# --- references (untimed, computed once) ------------------------------------------------


def z_sum_diagonal(n: int) -> np.ndarray:
    """The diagonal of Σ_i Z_i in the computational basis (bit i = qubit i)."""
    index = np.arange(1 << n)
    return sum((1 - 2 * ((index >> q) & 1)) for q in range(n)).astype(np.float64)


def _probabilities(circuit: Circuit) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    plain = Circuit(circuit.num_qubits, circuit.gates)
    return np.asarray(Statevector(to_qiskit(plain)).probabilities())


def reference(work: Work) -> dict[str, np.ndarray]:
    """The exact values a case's checks compare against (empty where analytic)."""
    if (work.kind == "sample" and not _is_ghz(work)) or work.kind == "batch":
        return {"probabilities": np.stack([_probabilities(c) for c in work.circuits])}
    if work.kind == "estimate":
        diagonal = z_sum_diagonal(work.circuit.num_qubits)
        values = [
            float(np.dot(_probabilities(bind(work.circuit, row)), diagonal)) for row in work.values
        ]
        return {"expectations": np.asarray(values)}
    return {}


def _is_ghz(work: Work) -> bool:
    return work.kind == "sample" and all(g.name in ("h", "cx") for g in work.circuit.gates)


# --- running and checking ---------------------------------------------------------------


def execute(runner: Any, work: Work) -> Any:
    """One run of the work on a system's runner: the part that is timed."""
    if work.kind == "sample":
        return runner.sample(work.circuit, work.shots, work.seed)
    if work.kind == "state":
        return runner.state(work.circuit, work.probes)
    if work.kind == "batch":
        return runner.batch(work.circuits, work.shots, work.seed)
    return runner.estimate(work.circuit, work.values)


def check(work: Work, result: Any, ref: Mapping[str, np.ndarray], precision: str) -> checks.Check:
    """Whether one run's result is right.

    ``state`` results are either ``("vector", array, lsb_first)`` or
    ``("amplitudes", {k: amplitude})``; sampling results are counts keyed by
    integers with bit i = qubit i.
    """
    if work.kind == "sample":
        if _is_ghz(work):
            return checks.ghz_counts(result, work.circuit.num_qubits, work.shots)
        return checks.cross_entropy([(result, ref["probabilities"][0])])
    if work.kind == "batch":
        if len(result) != len(work.circuits):
            return checks.Check(False, f"{len(result)} results for {len(work.circuits)} circuits")
        return checks.cross_entropy(list(zip(result, ref["probabilities"], strict=True)))
    if work.kind == "state":
        n = work.circuit.num_qubits
        if result[0] == "amplitudes":
            return checks.qft_amplitudes(result[1], n, work.x, AMPLITUDE[precision])
        _, vector, lsb_first = result
        return checks.qft_state(
            vector, n, work.x, lsb_first=lsb_first, tolerance=FIDELITY[precision]
        )
    return checks.close_values(result, ref["expectations"], EXPECTATION[precision])

"""Which simulation method runs one twin circuit, by predicted time.

A twin's circuit is simulated on its active qubits with the device's noise. No
one method is fastest at every width, so each circuit gets the fastest faithful
one its shape allows:

=======================  ===========================================  =====================
method                   predicted seconds (``s`` shots, ``g`` gates   faithful
                         and noise operations, ``n`` qubits)
=======================  ===========================================  =====================
``density_matrix``       ``call + dm·g·4^n``                          exact
``statevector``          ``call + sv·s·g·2^n`` (shot branching)       exact in distribution
``matrix_product_state`` ``call + t·g·n·(gate + mps·χ²)`` (``t``      exact in distribution
                         trajectories)
``stabilizer``           ``call + site·k + stab·s·g·n``               Pauli-twirled noise
=======================  ===========================================  =====================

``χ`` is the largest bond dimension the circuit can build: with the qubits laid
on a line in the order of their interactions (:func:`line_order`), across each
cut, two to the number of two-qubit gates that cross it, at most two to the
smaller side. ``k`` is the number of distinct gate sites whose noise is
twirled. The exact methods are preferred; the stabilizer method, whose noise is
the Pauli twirl of the device's (:mod:`qharbor.engines.twin_circuits`), is
chosen for a Clifford circuit only when every exact method is predicted to take
longer than :data:`APPROXIMATE_AFTER_S`.

The matrix product state runs one noise trajectory per shot (``t = s``), unless
that is predicted to exceed the twin's time limit: then each trajectory's final
state is sampled for a few shots (``t = s / shots per trajectory``, the fewest
that fit within three quarters of the limit, and at least :data:`MIN_TRAJECTORIES`
trajectories). Every shot is then still drawn from the exact noisy
distribution, but shots of one trajectory share its gate errors, so the counts
spread as if fewer shots were independent (readout errors are drawn per shot).
The result says so in its reason.

The coefficients (seconds per unit) are fitted on each host by timing probe
circuits on each method (:mod:`qharbor.engines.twin_benchmarking`,
``python -m benchmarks.twins --fit``) and stored beside the engines' cost fits
(:mod:`qharbor.engines.twin_costs`); until a host has its fit, the shipped
defaults in ``default_twin_costs.json`` apply (:data:`DEFAULT_COEFFICIENTS`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import reverse_cuthill_mckee

from qharbor.engines import twin_sampling
from qharbor.engines.features import CLIFFORD_GATES, NON_GATES

#: The methods, and the terms each one's prediction sums.
TERMS: Mapping[str, tuple[str, ...]] = {
    "density_matrix": ("call", "work"),
    "statevector": ("call", "work"),
    "matrix_product_state": ("call", "gate", "work"),
    "stabilizer": ("call", "site", "work"),
}


def shipped_coefficients() -> dict[str, dict[str, float]]:
    """The coefficients shipped with the package (``default_twin_costs.json``)."""
    text = resources.files("qharbor.engines").joinpath("default_twin_costs.json").read_text()
    methods = json.loads(text)["methods"]
    return {m: {t: float(v) for t, v in methods[m]["coefficients"].items()} for m in TERMS}


#: Seconds per unit of each method's terms, and each call's fixed cost (seconds).
DEFAULT_COEFFICIENTS: Mapping[str, Mapping[str, float]] = shipped_coefficients()
#: Widest register simulated as a density matrix (4^n entries: 16 MiB at 10).
DENSITY_MAX_QUBITS = 10
#: Widest register simulated as a state vector, one trajectory per shot.
STATEVECTOR_MAX_QUBITS = 24
#: An exact method predicted to take longer than this (seconds) gives way to the
#: Pauli-twirled stabilizer method, for a Clifford circuit.
APPROXIMATE_AFTER_S = 2.0
#: Shots sharing one trajectory are never so many that fewer trajectories than this run.
MIN_TRAJECTORIES = 50
#: Shared trajectories aim at this share of the twin's time limit.
GROUPED_SHARE_OF_LIMIT = 0.75
#: Noise operations written per gate: a relaxation per qubit and a depolarizing rest.
_NOISE_PER_GATE = 2
#: Rotation angles that keep ``rz`` Clifford are multiples of pi/2.
_QUARTER = math.pi / 2


@dataclass(frozen=True)
class TwinShape:
    """What the choice reads from one compiled, narrowed circuit.

    Attributes:
        qubits: active qubits simulated.
        gates: gates and the noise operations written after them.
        two_qubit: two-qubit gates.
        sites: distinct (gate, qubits) pairs, each with its own noise.
        bond: the largest bond dimension the circuit can build (chi).
        clifford: whether every gate is Clifford (``rz`` by multiples of pi/2).
        control_flow: whether it holds control flow (runs as a density matrix).
        final_measures: whether measurements only end the circuit (a trajectory
            can then be sampled for several shots).
    """

    qubits: int
    gates: int
    two_qubit: int
    sites: int
    bond: float
    clifford: bool
    control_flow: bool
    final_measures: bool = True


def line_order(circuit: QuantumCircuit) -> list[int]:
    """The circuit's qubits on a line, neighbours in interaction close together.

    The reverse Cuthill-McKee order of the graph of two-qubit gates: it keeps
    interacting qubits a short distance apart, so a matrix product state in this
    order needs few swaps and small bonds. A chain of neighbours laid on a grid
    comes back as the chain.
    """
    n = circuit.num_qubits
    adjacency = np.zeros((n, n), dtype=np.int8)
    for instruction in circuit.data:
        if len(instruction.qubits) == 2 and instruction.operation.name not in NON_GATES:
            a, b = (circuit.find_bit(q).index for q in instruction.qubits)
            adjacency[a, b] = adjacency[b, a] = 1
    return [int(q) for q in reverse_cuthill_mckee(csr_matrix(adjacency), symmetric_mode=True)]


def shape_of(circuit: QuantumCircuit) -> TwinShape:
    """The shape of a circuit already narrowed to its active qubits."""
    n = circuit.num_qubits
    gates = 0
    two = 0
    clifford = True
    control = False
    sites: set[tuple[str, tuple[int, ...]]] = set()
    crossing = [0] * max(n - 1, 0)
    position = {q: i for i, q in enumerate(line_order(circuit))}
    for instruction in circuit.data:
        op = instruction.operation
        if isinstance(op, ControlFlowOp):
            control = True
            clifford = False
            continue
        if op.name in NON_GATES:
            continue
        where = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        gates += 1
        if op.name != "rz":
            sites.add((op.name, where))
            gates += _NOISE_PER_GATE
        if len(where) == 2:
            two += 1
            low, high = sorted(position[q] for q in where)
            for cut in range(low, high):
                crossing[cut] += 1
        if op.name == "rz":
            angle = op.params[0]
            if (
                not isinstance(angle, float | int)
                or abs(angle / _QUARTER - round(angle / _QUARTER)) > 1e-9
            ):
                clifford = False
        elif op.name not in CLIFFORD_GATES:
            clifford = False
    bond_log2 = max((min(c, cut + 1, n - cut - 1) for cut, c in enumerate(crossing)), default=0)
    bond = 2.0 ** min(bond_log2, 512)
    final = not control and twin_sampling.final_measures_only(circuit)
    return TwinShape(n, gates, two, len(sites), bond, clifford, control, final)


@dataclass(frozen=True)
class MethodChoice:
    """The method one circuit runs on, and why.

    Attributes:
        method: the Aer method.
        reason: why, in words, with the predicted seconds.
        predicted_s: predicted seconds for the chosen method.
        approximate: whether the noise is approximated (Pauli twirl).
        estimates: predicted seconds of every method that could run it.
        shots_per_trajectory: shots drawn from each noise trajectory (1: every
            shot has its own).
    """

    method: str
    reason: str
    predicted_s: float
    approximate: bool
    estimates: Mapping[str, float]
    shots_per_trajectory: int = 1


def term_values(
    method: str, shape: TwinShape, shots: int, *, shots_per_trajectory: int = 1
) -> dict[str, float]:
    """The terms of ``method``'s prediction (:data:`TERMS`) for a circuit of ``shape``."""
    n, g = shape.qubits, max(shape.gates, 1)
    s = math.ceil(max(shots, 1) / max(1, shots_per_trajectory))
    if method == "density_matrix":
        return {"call": 1.0, "work": g * 4.0**n}
    if method == "statevector":
        return {"call": 1.0, "work": s * g * 2.0**n}
    if method == "matrix_product_state":
        return {"call": 1.0, "gate": s * g * n, "work": s * g * n * shape.bond**2}
    if method == "stabilizer":
        return {"call": 1.0, "site": float(shape.sites), "work": float(s * g * n)}
    raise ValueError(f"no cost model for method {method!r}")


def predict(
    method: str,
    shape: TwinShape,
    shots: int,
    coefficients: Mapping[str, Mapping[str, float]] | None = None,
    *,
    shots_per_trajectory: int = 1,
) -> float:
    """Predicted seconds to run ``shots`` shots of a circuit of ``shape`` on ``method``."""
    c = (coefficients or DEFAULT_COEFFICIENTS)[method]
    terms = term_values(method, shape, shots, shots_per_trajectory=shots_per_trajectory)
    return sum(c.get(term, 0.0) * value for term, value in terms.items())


def candidates(shape: TwinShape) -> list[str]:
    """The methods that can run a circuit of this shape, exact ones first."""
    if shape.control_flow:
        return ["density_matrix"] if shape.qubits <= DENSITY_MAX_QUBITS else []
    found = []
    if shape.qubits <= DENSITY_MAX_QUBITS:
        found.append("density_matrix")
    if shape.qubits <= STATEVECTOR_MAX_QUBITS:
        found.append("statevector")
    found.append("matrix_product_state")
    if shape.clifford:
        found.append("stabilizer")
    return found


def choose(
    shape: TwinShape,
    shots: int,
    coefficients: Mapping[str, Mapping[str, float]] | None = None,
    *,
    limit_s: float | None = None,
) -> MethodChoice:
    """The fastest exact method, or an approximate one when exact ones are slow.

    Args:
        shape: the circuit's shape (:func:`shape_of`).
        shots: shots asked for.
        coefficients: each method's cost coefficients; the shipped ones when omitted.
        limit_s: the twin's time limit (seconds); an exact choice predicted over it
            gives way to a matrix product state with shared trajectories, if one fits.

    Raises:
        ValueError: no method can run the circuit (control flow on a wide register).
    """
    methods = candidates(shape)
    if not methods:
        raise ValueError(
            f"a circuit with control flow runs as a density matrix, on at most "
            f"{DENSITY_MAX_QUBITS} active qubits; it acts on {shape.qubits}"
        )
    coefficients = coefficients or DEFAULT_COEFFICIENTS
    estimates = {m: predict(m, shape, shots, coefficients) for m in methods}
    exact = [m for m in methods if m != "stabilizer"]
    best = min(exact, key=estimates.__getitem__) if exact else "stabilizer"
    why = f"{_words(best, shape)} is the fastest exact method for {shape.qubits} qubits"
    if (
        "stabilizer" in estimates
        and (not exact or estimates[best] > APPROXIMATE_AFTER_S)
        and estimates["stabilizer"] < estimates[best]
    ):
        slower = f"; exact methods need at least {estimates[best]:.3g} s" if exact else ""
        return MethodChoice(
            "stabilizer",
            f"Clifford circuit: stabilizer with Pauli-twirled noise{slower}"
            f" (predicted {estimates['stabilizer']:.3g} s)",
            estimates["stabilizer"],
            True,
            estimates,
        )
    exact_choice = MethodChoice(
        best, f"{why} (predicted {estimates[best]:.3g} s)", estimates[best], False, estimates
    )
    if limit_s is not None and exact_choice.predicted_s > limit_s:
        return _grouped(shape, shots, coefficients, limit_s, exact_choice) or exact_choice
    return exact_choice


def _grouped(
    shape: TwinShape,
    shots: int,
    coefficients: Mapping[str, Mapping[str, float]],
    limit_s: float,
    exact: MethodChoice,
) -> MethodChoice | None:
    """A matrix product state whose trajectories each give several shots, if one fits.

    The fewest shots per trajectory that fit within the aimed share of the limit win;
    failing that, the fewest that fit within the limit itself, so that a circuit the
    margin alone would refuse still runs.
    """
    if "matrix_product_state" not in candidates(shape) or not shape.final_measures:
        return None
    sharings: list[tuple[int, float]] = []  # (shots per trajectory, predicted s), least first
    per = 2
    while math.ceil(shots / per) >= MIN_TRAJECTORIES:
        sharings.append(
            (
                per,
                predict(
                    "matrix_product_state", shape, shots, coefficients, shots_per_trajectory=per
                ),
            )
        )
        per *= 2
    for budget in (GROUPED_SHARE_OF_LIMIT * limit_s, limit_s):
        for per, seconds in sharings:
            if seconds <= budget:
                return replace(
                    exact,
                    method="matrix_product_state",
                    reason=(
                        f"{_words('matrix_product_state', shape)} with {math.ceil(shots / per)} "
                        f"noise trajectories of {per} shots each: exact methods need at least "
                        f"{exact.predicted_s:.3g} s, over the limit of {limit_s:g} s "
                        f"(predicted {seconds:.3g} s)"
                    ),
                    predicted_s=seconds,
                    approximate=True,
                    shots_per_trajectory=per,
                )
    return None


def _words(method: str, shape: TwinShape) -> str:
    return {
        "density_matrix": "density matrix",
        "statevector": "noisy state vector (shot branching)",
        "matrix_product_state": f"matrix product state (bond dimension at most {shape.bond:.0f})",
    }.get(method, method)

"""Which Aer method runs one twin circuit, by predicted time.

A twin's circuit is simulated on its active qubits with the device's noise. No
one method is fastest at every width, so each circuit gets the fastest faithful
one its shape allows:

=======================  ===========================================  =====================
method                   predicted seconds (``s`` shots, ``g`` gates   faithful
                         and noise operations, ``n`` qubits)
=======================  ===========================================  =====================
``density_matrix``       ``call + dm·g·4^n``                          exact
``statevector``          ``call + sv·s·g·2^n`` (one trajectory a shot) exact in distribution
``matrix_product_state`` ``call + mps·s·g·n²·χ³``                      exact in distribution
``stabilizer``           ``call + site·k + stab·s·g·n``               Pauli-twirled noise
=======================  ===========================================  =====================

``χ`` is the largest bond dimension the circuit can build: across each cut of
the qubit line, two to the number of two-qubit gates that cross it, at most two
to the smaller side. ``k`` is the number of distinct gate sites whose noise is
twirled. The exact methods are preferred; the stabilizer method, whose noise is
the Pauli twirl of the device's (:mod:`qharbor.engines.twin_circuits`), is
chosen for a Clifford circuit only when every exact method is predicted to take
longer than :data:`APPROXIMATE_AFTER_S`.

The coefficients (:data:`DEFAULT_COEFFICIENTS`, seconds per unit) were measured
on the 2-core reference host with ``python -m benchmarks.twins --fit``, which
times probe circuits on each method and prints new ones; they are shipped so
the choice, and admission, are the same on every host.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp

from qharbor.engines.features import CLIFFORD_GATES, NON_GATES

#: Seconds per unit of each method's terms, and each call's fixed cost (seconds).
DEFAULT_COEFFICIENTS: Mapping[str, Mapping[str, float]] = {
    "density_matrix": {"call": 0.05, "work": 1.2e-8},
    "statevector": {"call": 0.05, "work": 2.5e-9},
    "matrix_product_state": {"call": 0.05, "work": 2.0e-8},
    "stabilizer": {"call": 0.05, "site": 0.002, "work": 1.4e-7},
}
#: Widest register simulated as a density matrix (4^n entries: 16 MiB at 10).
DENSITY_MAX_QUBITS = 10
#: Widest register simulated as a state vector, one trajectory per shot.
STATEVECTOR_MAX_QUBITS = 24
#: An exact method predicted to take longer than this (seconds) gives way to the
#: Pauli-twirled stabilizer method, for a Clifford circuit.
APPROXIMATE_AFTER_S = 2.0
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
    """

    qubits: int
    gates: int
    two_qubit: int
    sites: int
    bond: float
    clifford: bool
    control_flow: bool


def shape_of(circuit: QuantumCircuit) -> TwinShape:
    """The shape of a circuit already narrowed to its active qubits."""
    n = circuit.num_qubits
    gates = 0
    two = 0
    clifford = True
    control = False
    sites: set[tuple[str, tuple[int, ...]]] = set()
    crossing = [0] * max(n - 1, 0)
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
            low, high = sorted(where)
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
    return TwinShape(n, gates, two, len(sites), 2.0 ** min(bond_log2, 512), clifford, control)


@dataclass(frozen=True)
class MethodChoice:
    """The method one circuit runs on, and why.

    Attributes:
        method: the Aer method.
        reason: why, in words, with the predicted seconds.
        predicted_s: predicted seconds for the chosen method.
        approximate: whether the noise is approximated (Pauli twirl).
        estimates: predicted seconds of every method that could run it.
    """

    method: str
    reason: str
    predicted_s: float
    approximate: bool
    estimates: Mapping[str, float]


def predict(
    method: str,
    shape: TwinShape,
    shots: int,
    coefficients: Mapping[str, Mapping[str, float]] = DEFAULT_COEFFICIENTS,
) -> float:
    """Predicted seconds to run ``shots`` shots of a circuit of ``shape`` on ``method``."""
    c = coefficients[method]
    n, g, s = shape.qubits, max(shape.gates, 1), max(shots, 1)
    if method == "density_matrix":
        return c["call"] + c["work"] * g * 4.0**n
    if method == "statevector":
        return c["call"] + c["work"] * s * g * 2.0**n
    if method == "matrix_product_state":
        return c["call"] + c["work"] * s * g * n * n * shape.bond**3
    if method == "stabilizer":
        return c["call"] + c["site"] * shape.sites + c["work"] * s * g * n
    raise ValueError(f"no cost model for method {method!r}")


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
    coefficients: Mapping[str, Mapping[str, float]] = DEFAULT_COEFFICIENTS,
) -> MethodChoice:
    """The fastest exact method, or the Pauli-twirled stabilizer when exact ones are slow.

    Raises:
        ValueError: no method can run the circuit (control flow on a wide register).
    """
    methods = candidates(shape)
    if not methods:
        raise ValueError(
            f"a circuit with control flow runs as a density matrix, on at most "
            f"{DENSITY_MAX_QUBITS} active qubits; it acts on {shape.qubits}"
        )
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
    return MethodChoice(
        best, f"{why} (predicted {estimates[best]:.3g} s)", estimates[best], False, estimates
    )


def _words(method: str, shape: TwinShape) -> str:
    return {
        "density_matrix": "density matrix",
        "statevector": "noisy state vector (one trajectory per shot)",
        "matrix_product_state": f"matrix product state (bond dimension at most {shape.bond:.0f})",
    }.get(method, method)

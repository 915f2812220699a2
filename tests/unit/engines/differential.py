"""The differential conformance harness: references, statistics and the coverage tally.

References come from ``qiskit.quantum_info`` only: final states from
``Statevector`` (global phase included), and outcome distributions of circuits
with mid-circuit measurement, reset and control flow from a branch-by-branch
walk whose every quantum step is ``Statevector.evolve`` and whose measurement
probabilities are ``Statevector.probabilities``. Sampled counts are judged by a
two-sided exact binomial test per outcome, at a false-alarm rate of 1e-9 per
comparison (Bonferroni over its outcomes), with fixed seeds, so a correct
engine passes deterministically and a wrong distribution fails.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import (
    ClassicalRegister,
    Clbit,
    ForLoopOp,
    Gate,
    IfElseOp,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.controlflow import CASE_DEFAULT
from qiskit.circuit.library import MCPhaseGate, MCXGate, get_standard_gate_name_mapping
from qiskit.quantum_info import Statevector
from scipy.stats import binom

from qharbor.engines import base
from qharbor.engines.features import features_of

METHOD = "statevector"
#: Largest amplitude error allowed per precision (angles up to 1e3 rad included).
ATOL = {"double": 1e-8, "single": 1e-4}
#: False-alarm rate of one sampled comparison.
ALPHA = 1e-9
#: Outcomes below this probability count as impossible (rounding in the reference).
IMPOSSIBLE = 1e-13
#: Angles where conventions break: zero, ±π, ±2π, tiny and large.
EDGE_ANGLES = (0.0, math.pi, -math.pi, 2 * math.pi, -2 * math.pi, 1e-9, -3e-7, 1e3, -777.7)
STANDARD = get_standard_gate_name_mapping()
#: Gates outside the standard mapping that an engine may declare: name ->
#: (number of angles, builder from the angles).
EXTRA_GATES: dict[str, tuple[int, Callable[[Sequence[float]], Gate]]] = {
    "mcx": (0, lambda p: MCXGate(3)),
    "mcphase": (1, lambda p: MCPhaseGate(p[0], 3)),
}
#: Every gate name the harness can build.
KNOWN_GATES = frozenset(n for n, g in STANDARD.items() if isinstance(g, Gate)) | set(EXTRA_GATES)


# ---------------------------------------------------------------- coverage


@dataclass
class Coverage:
    """What the harness checked in this pytest run, for the terminal summary."""

    combinations: set[tuple[str, str, str]] = field(default_factory=set)
    checks: int = 0
    random_circuits: int = 0
    mismatches: list[str] = field(default_factory=list)

    def record(self, operation: str, engine: str, precision: str) -> None:
        self.combinations.add((operation, engine, precision))

    def lines(self) -> list[str]:
        engines = sorted({(e, p) for _o, e, p in self.combinations})
        per_engine = ", ".join(
            f"{e}/{p} {sum(1 for c in self.combinations if c[1:] == (e, p))}" for e, p in engines
        )
        return [
            f"(operation, engine, precision) combinations checked: {len(self.combinations)}"
            + (f" ({per_engine})" if per_engine else ""),
            f"comparisons against qiskit.quantum_info: {self.checks}",
            f"random circuits checked: {self.random_circuits}",
            f"mismatches: {len(self.mismatches)}",
            *(f"  {m}" for m in self.mismatches[:20]),
        ]


COVERAGE = Coverage()


def engine_cases() -> list[tuple[str, str]]:
    """Every (registered engine, precision it offers)."""
    return [
        (name, precision)
        for name in base.registered()
        for precision in sorted(base.get_engine(name).precisions)
    ]


# ---------------------------------------------------------------- gates


def random_angle(rng: np.random.Generator, edge_share: float = 0.5) -> float:
    if rng.random() < edge_share:
        return float(rng.choice(EDGE_ANGLES))
    return float(rng.uniform(-2 * math.pi, 2 * math.pi))


def standard_gate(name: str, params: Sequence[float]) -> Gate:
    """The standard (or :data:`EXTRA_GATES`) gate ``name`` with ``params``."""
    if name in EXTRA_GATES:
        return EXTRA_GATES[name][1](params)
    template = STANDARD[name]
    return template.base_class(*params) if params else template


def gate_slots(name: str) -> int:
    """How many angles the gate ``name`` takes."""
    return EXTRA_GATES[name][0] if name in EXTRA_GATES else len(STANDARD[name].params)


def gate_width(name: str) -> int:
    """How many qubits the gate ``name`` acts on."""
    return int(standard_gate(name, [0.5] * gate_slots(name)).num_qubits)


def parameter_sets(name: str, rng: np.random.Generator, count: int) -> list[list[float]]:
    """Angles for a gate: each edge angle in every slot once, then random ones."""
    slots = gate_slots(name)
    if not slots:
        return [[]]
    sets = [[edge] * slots for edge in EDGE_ANGLES]
    sets += [[random_angle(rng, 0.3) for _ in range(slots)] for _ in range(count)]
    return sets


def prepare(circuit: QuantumCircuit, rng: np.random.Generator, clifford: bool) -> None:
    """Spread the state over the basis (entangled), so that every gate's matrix shows."""
    n = circuit.num_qubits
    for q in range(n):
        if clifford:
            circuit.h(q)
            if rng.random() < 0.5:
                circuit.s(q)
        else:
            circuit.u(*(float(a) for a in rng.uniform(-math.pi, math.pi, 3)), q)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    if not clifford:
        for q in range(n):
            circuit.u(*(float(a) for a in rng.uniform(-math.pi, math.pi, 3)), q)


def on_random_qubits(
    gate: Any, rng: np.random.Generator, spare: int = 1, clifford: bool = False
) -> QuantumCircuit:
    """``gate`` on a random subset and order of the qubits of a prepared circuit."""
    n = gate.num_qubits + spare
    circuit = QuantumCircuit(n)
    circuit.global_phase = float(rng.uniform(-math.pi, math.pi))
    prepare(circuit, rng, clifford)
    qubits = [int(q) for q in rng.permutation(n)[: gate.num_qubits]]
    circuit.append(gate, qubits)
    return circuit


# ---------------------------------------------------------------- references


def reference_state(circuit: QuantumCircuit) -> np.ndarray:
    return np.asarray(Statevector(circuit).data)


def counts_key(circuit: QuantumCircuit, values: Sequence[int]) -> str:
    """Qiskit's key: registers last-first, separated by spaces, each clbit 0 rightmost."""
    if not circuit.cregs:
        return "".join(str(values[i]) for i in reversed(range(circuit.num_clbits)))
    return " ".join(
        "".join(str(values[circuit.find_bit(bit).index]) for bit in reversed(register))
        for register in reversed(circuit.cregs)
    )


def exact_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    """The exact distribution of ``circuit``'s classical bits, branch by branch."""
    qubits = {bit: i for i, bit in enumerate(circuit.qubits)}
    clbits = {bit: i for i, bit in enumerate(circuit.clbits)}
    start = Branch(1.0, Statevector.from_int(0, 2**circuit.num_qubits), (0,) * circuit.num_clbits)
    out: dict[str, float] = defaultdict(float)
    for branch in _walk(circuit, [start], qubits, clbits):
        out[counts_key(circuit, branch.bits)] += branch.probability
    return dict(out)


@dataclass(frozen=True)
class Branch:
    probability: float
    state: Statevector
    bits: tuple[int, ...]


def _walk(
    block: QuantumCircuit,
    branches: list[Branch],
    qubits: dict[Any, int],
    clbits: dict[Any, int],
) -> list[Branch]:
    for instruction in block.data:
        op = instruction.operation
        qs = [qubits[q] for q in instruction.qubits]
        cs = [clbits[c] for c in instruction.clbits]
        if op.name == "barrier":
            continue
        if op.name == "measure":
            branches = [b for br in branches for b in _measure(br, qs[0], cs[0])]
        elif op.name == "reset":
            branches = [b for br in branches for b in _reset(br, qs[0])]
        elif isinstance(op, IfElseOp):
            branches = _if_else(op, instruction, branches, clbits, qubits)
        elif isinstance(op, ForLoopOp):
            branches = _for_loop(op, instruction, branches, clbits, qubits)
        elif isinstance(op, WhileLoopOp):
            branches = _while_loop(op, instruction, branches, clbits, qubits)
        elif isinstance(op, SwitchCaseOp):
            branches = _switch(op, instruction, branches, clbits, qubits)
        else:
            branches = [Branch(b.probability, b.state.evolve(op, qs), b.bits) for b in branches]
    return branches


def _measure(branch: Branch, qubit: int, clbit: int) -> Iterator[Branch]:
    p1 = float(branch.state.probabilities([qubit])[1])
    data = branch.state.data
    ones = (np.arange(len(data)) >> qubit) & 1
    for value, p in ((0, 1.0 - p1), (1, p1)):
        if p * branch.probability < IMPOSSIBLE:
            continue
        projected = np.where(ones == value, data, 0) / math.sqrt(p)
        bits = list(branch.bits)
        bits[clbit] = value
        yield Branch(branch.probability * p, Statevector(projected), tuple(bits))


def _reset(branch: Branch, qubit: int) -> Iterator[Branch]:
    for measured in _measure(Branch(branch.probability, branch.state, (0,)), qubit, 0):
        state = measured.state
        if measured.bits[0]:
            state = state.evolve(STANDARD["x"], [qubit])
        yield Branch(measured.probability, state, branch.bits)


def _value(target: Any, bits: tuple[int, ...], clbits: dict[Any, int]) -> int:
    """The value of a clbit, or of a register (its bit 0 least significant)."""
    if isinstance(target, Clbit):
        return bits[clbits[target]]
    assert isinstance(target, ClassicalRegister)
    return sum(bits[clbits[bit]] << i for i, bit in enumerate(target))


def _condition(condition: Any, bits: tuple[int, ...], clbits: dict[Any, int]) -> bool:
    target, value = condition
    return _value(target, bits, clbits) == int(value)


def _inner(
    body: QuantumCircuit, instruction: Any, qubits: dict[Any, int], clbits: dict[Any, int]
) -> tuple[dict[Any, int], dict[Any, int]]:
    """The block's bits as the outer circuit's indices."""
    return (
        {b: qubits[o] for b, o in zip(body.qubits, instruction.qubits, strict=True)},
        {b: clbits[o] for b, o in zip(body.clbits, instruction.clbits, strict=True)},
    )


def _if_else(op, instruction, branches, clbits, qubits) -> list[Branch]:  # type: ignore[no-untyped-def]
    true_body, false_body = op.blocks[0], op.blocks[1] if len(op.blocks) > 1 else None
    out: list[Branch] = []
    for branch in branches:
        body = true_body if _condition(op.condition, branch.bits, clbits) else false_body
        if body is None:
            out.append(branch)
            continue
        inner_q, inner_c = _inner(body, instruction, qubits, clbits)
        out += _walk(body, [branch], inner_q, inner_c)
    return out


def _switch(op, instruction, branches, clbits, qubits) -> list[Branch]:  # type: ignore[no-untyped-def]
    cases = list(op.cases_specifier())
    out: list[Branch] = []
    for branch in branches:
        value = _value(op.target, branch.bits, clbits)
        body = next((b for values, b in cases if value in values), None)
        if body is None:
            body = next((b for values, b in cases if CASE_DEFAULT in values), None)
        if body is None:
            out.append(branch)
            continue
        inner_q, inner_c = _inner(body, instruction, qubits, clbits)
        out += _walk(body, [branch], inner_q, inner_c)
    return out


def _for_loop(op, instruction, branches, clbits, qubits) -> list[Branch]:  # type: ignore[no-untyped-def]
    indices, parameter, body = op.params
    inner_q, inner_c = _inner(body, instruction, qubits, clbits)
    for index in indices:
        bound = body
        if parameter is not None and parameter in body.parameters:
            bound = body.assign_parameters({parameter: index})
        branches = _walk(bound, branches, inner_q, inner_c)
    return branches


def _while_loop(op, instruction, branches, clbits, qubits) -> list[Branch]:  # type: ignore[no-untyped-def]
    body = op.blocks[0]
    inner_q, inner_c = _inner(body, instruction, qubits, clbits)
    done: list[Branch] = []
    for _round in range(60):
        looping = [b for b in branches if _condition(op.condition, b.bits, clbits)]
        done += [b for b in branches if not _condition(op.condition, b.bits, clbits)]
        if not looping:
            return done
        branches = _walk(body, looping, inner_q, inner_c)
    # Branches still looping carry less than 2^-60 of the probability here.
    return done


# ---------------------------------------------------------------- comparisons


def state_mismatch(engine: Any, precision: str, circuit: QuantumCircuit) -> str | None:
    """Why the engine's final state differs from Qiskit's (phase included), or None."""
    COVERAGE.checks += 1
    reference = reference_state(circuit)
    [vector] = engine.statevectors(circuit, [], precision=precision)
    error = float(np.max(np.abs(np.asarray(vector) - reference)))
    if error > ATOL[precision]:
        fidelity = abs(np.vdot(reference, vector)) ** 2
        return f"state differs by {error:.2e} (fidelity {fidelity:.6f})"
    return None


def counts_mismatch(
    counts: dict[str, int], expected: dict[str, float], shots: int, alpha: float = ALPHA
) -> str | None:
    """Why ``counts`` are not a plausible sample of ``expected``, or None.

    Two-sided exact binomial test per outcome at ``alpha`` over all outcomes.
    """
    COVERAGE.checks += 1
    if sum(counts.values()) != shots:
        return f"{sum(counts.values())} counts for {shots} shots"
    outcomes = set(counts) | {k for k, p in expected.items() if p >= IMPOSSIBLE}
    level = alpha / max(1, len(outcomes))
    for key in sorted(outcomes):
        k = counts.get(key, 0)
        p = expected.get(key, 0.0)
        if p < IMPOSSIBLE:
            if k:
                return f"outcome {key!r} is impossible but came {k} times"
            continue
        tail = min(binom.cdf(k, shots, p), binom.sf(k - 1, shots, p))
        if 2 * tail < level:
            return f"outcome {key!r}: {k} of {shots}, expected p = {p:.4f} (p-value {2 * tail:.1e})"
    return None


def sample(engine: Any, precision: str, circuit: QuantumCircuit, shots: int, seed: int) -> dict:
    [[outcome]] = engine.run(
        [base.Experiment(circuit)], method=METHOD, shots=shots, seed=seed, precision=precision
    )
    return dict(outcome.counts)


def accepts(engine: Any, precision: str, circuit: QuantumCircuit) -> bool:
    return engine.unsupported(features_of(circuit), METHOD, precision) is None


def check(
    label: str,
    engine_name: str,
    precision: str,
    test: Callable[[], str | None],
    found: list[str],
) -> None:
    """Run one comparison; note a mismatch (or an error) for the test and the summary."""
    try:
        why = test()
    except Exception as exc:  # an engine error is a mismatch the summary must show
        why = f"raised {type(exc).__name__}: {exc}"
    if why is not None:
        line = f"{engine_name}/{precision} {label}: {why}"
        found.append(line)
        COVERAGE.mismatches.append(line)

"""Differential conformance: every engine, at every precision, against ``qiskit.quantum_info``.

Engines and their precisions come from the registry, and each engine's gates
from the operations it declares (``engine.operations``): a declared operation
this harness cannot exercise, or one an engine gets wrong, fails. States are
compared with their global phase; sampled counts with an exact binomial test
(see :mod:`tests.unit.engines.differential`). The run's coverage is printed
in the terminal summary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Gate, Parameter
from qiskit.circuit.library import (
    CUGate,
    GlobalPhaseGate,
    HGate,
    RXGate,
    SGate,
    SXGate,
    UnitaryGate,
    XXPlusYYGate,
    YGate,
    ZGate,
    iSwapGate,
)
from qiskit.quantum_info import Statevector, random_unitary

from qharbor.engines import base
from tests.unit.engines import differential as d

CASES = [pytest.param(n, p, id=f"{n}-{p}") for n, p in d.engine_cases()]
SHOTS = 2000
#: Random angle sets per gate, on top of one set per edge angle.
RANDOM_SETS = 3


def _has_states(engine: Any) -> bool:
    return hasattr(engine, "statevectors")


def _measured(circuit: QuantumCircuit) -> QuantumCircuit:
    copy = circuit.copy()
    copy.measure_all()
    return copy


def _compare(engine: Any, precision: str, circuit: QuantumCircuit, seed: int) -> str | None:
    """States where the engine gives them, else sampled counts of every qubit."""
    if _has_states(engine):
        return d.state_mismatch(engine, precision, circuit)
    measured = _measured(circuit)
    counts = d.sample(engine, precision, measured, SHOTS, seed)
    return d.counts_mismatch(counts, d.exact_distribution(measured), SHOTS)


def _sampled(engine: Any, precision: str, circuit: QuantumCircuit, seed: int) -> str | None:
    counts = d.sample(engine, precision, circuit, SHOTS, seed)
    return d.counts_mismatch(counts, d.exact_distribution(circuit), SHOTS)


# ---------------------------------------------------------------- the standard gates


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_every_declared_standard_gate_matches_qiskit(name: str, precision: str) -> None:
    """Each declared gate, at edge and random angles, on random qubits in random order."""
    engine = base.get_engine(name)
    rng = np.random.default_rng(2026)
    found: list[str] = []
    gates = sorted(engine.operations & d.KNOWN_GATES)
    assert gates, f"{name} declares no standard gate"
    for gate_name in gates:
        clifford = not _has_states(engine)
        for index, params in enumerate(d.parameter_sets(gate_name, rng, RANDOM_SETS)):
            gate = d.standard_gate(gate_name, params)
            circuit = d.on_random_qubits(gate, rng, spare=1 + index % 2, clifford=clifford)
            label = f"{gate_name}{tuple(round(p, 4) for p in params) if params else ''}"
            d.check(
                label, name, precision, lambda c=circuit: _compare(engine, precision, c, 7), found
            )
            if index == 0 and _has_states(engine):
                # The sampling path (``run``) too, once per gate.
                measured = _measured(circuit)
                d.check(
                    f"{label} sampled",
                    name,
                    precision,
                    lambda c=measured: _sampled(engine, precision, c, 8),
                    found,
                )
        d.COVERAGE.record(gate_name, name, precision)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("name", "precision"), [c for c in CASES if c.values[0] != "stim"])
def test_cu_with_a_controlled_global_phase_matches_qiskit(name: str, precision: str) -> None:
    """``cu`` with γ ≠ 0 on four qubits: γ is a relative phase once controlled."""
    circuit = QuantumCircuit(4)
    circuit.h(range(4))
    circuit.cu(0.7, 0.3, -1.1, 0.9, 2, 0)
    circuit.cu(1.9, -0.4, 0.2, -2.3, 1, 3)
    circuit.h(range(4))
    engine = base.get_engine(name)
    assert d.state_mismatch(engine, precision, circuit) is None
    measured = _measured(circuit)
    assert _sampled(engine, precision, measured, 5) is None
    d.COVERAGE.record("cu(γ≠0) 4 qubits", name, precision)


# ---------------------------------------------------------------- modifiers and composites


def _composite() -> Any:
    inner = QuantumCircuit(3, global_phase=0.4)
    inner.h(0)
    inner.cu(0.3, 0.2, 0.1, 1.2, 0, 2)
    inner.rzz(0.8, 1, 2)
    return inner.to_instruction()


def _custom_gate() -> Gate:
    inner = QuantumCircuit(2, name="mine")
    inner.sx(0)
    inner.cp(-0.6, 0, 1)
    inner.global_phase = -1.3
    nested = QuantumCircuit(3, name="outer")
    nested.append(inner.to_gate(), [2, 0])
    nested.ry(0.2, 1)
    return nested.to_gate()


def _clifford_gate() -> Gate:
    inner = QuantumCircuit(2, name="bell")
    inner.h(0)
    inner.cx(0, 1)
    inner.s(1)
    return inner.to_gate()


#: Label -> builder of the operation. Modifiers make names outside the standard
#: set, which engines must decompose before translating.
MODIFIED: dict[str, Callable[[], Any]] = {
    "cu(γ≠0).control(1)": lambda: CUGate(0.7, 0.3, -1.1, 0.9).control(1, annotated=False),
    "cu(γ≠0).control(2)": lambda: CUGate(-2.1, 1.3, 0.1, -0.6).control(2, annotated=False),
    "cu(γ≠0).control(2, annotated)": lambda: CUGate(-2.1, 1.3, 0.1, -0.6).control(
        2, annotated=True
    ),
    "h.control(3)": lambda: HGate().control(3, annotated=False),
    "rx.control(2, ctrl_state=01)": lambda: RXGate(0.9).control(
        2, ctrl_state="01", annotated=False
    ),
    "iswap.control(1)": lambda: iSwapGate().control(1, annotated=False),
    "iswap.control(1, annotated)": lambda: iSwapGate().control(1, annotated=True),
    "cu(γ≠0).inverse()": lambda: CUGate(0.7, 0.3, -1.1, 0.9).inverse(),
    "xx_plus_yy.inverse()": lambda: XXPlusYYGate(0.5, -0.3).inverse(),
    "iswap.inverse()": lambda: iSwapGate().inverse(),
    "s.inverse()": lambda: SGate().inverse(),
    "sx.inverse()": lambda: SXGate().inverse(),
    "z.control(1)": lambda: ZGate().control(1, annotated=False),
    "y.control(1)": lambda: YGate().control(1, annotated=False),
    "sx.power(0.5)": lambda: SXGate().power(0.5),
    "rx.power(-1.3)": lambda: RXGate(0.8).power(-1.3),
    "cu(γ≠0).power(3)": lambda: CUGate(0.7, 0.3, -1.1, 0.9).power(3),
    "iswap.power(0.25)": lambda: iSwapGate().power(0.25),
    "composite to_instruction": _composite,
    "custom to_gate (nested)": _custom_gate,
    "custom Clifford to_gate": _clifford_gate,
    "unitary 1q": lambda: UnitaryGate(random_unitary(2, seed=3)),
    "unitary 2q": lambda: UnitaryGate(random_unitary(4, seed=4)),
    "unitary 3q": lambda: UnitaryGate(random_unitary(8, seed=5)),
    "global_phase gate": lambda: GlobalPhaseGate(1.1),
}


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_modified_composite_and_custom_gates_match_qiskit(name: str, precision: str) -> None:
    engine = base.get_engine(name)
    rng = np.random.default_rng(7)
    found: list[str] = []
    accepted = 0
    for label, build in MODIFIED.items():
        op = build()
        clifford = not _has_states(engine)
        if op.num_qubits == 0:
            circuit = QuantumCircuit(2)
            d.prepare(circuit, rng, clifford)
            circuit.append(op, [])
        else:
            circuit = d.on_random_qubits(op, rng, spare=1, clifford=clifford)
        probe = _measured(circuit) if not _has_states(engine) else circuit
        if not d.accepts(engine, precision, probe):
            continue  # selection never gives it this circuit
        accepted += 1
        d.check(label, name, precision, lambda c=circuit: _compare(engine, precision, c, 3), found)
        d.COVERAGE.record(label, name, precision)
    assert accepted >= 4, f"{name} accepted only {accepted} of the modified gates"
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- measurement, reset, control flow


def _final_measurements() -> QuantumCircuit:
    """Permuted, partial measurements into two registers, one clbit never written."""
    q = QuantumRegister(4, "q")
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(3, "b")
    circuit = QuantumCircuit(q, a, b)
    circuit.h(0)
    circuit.ry(1.1, 1)
    circuit.cx(0, 2)
    circuit.rx(0.4, 3)
    circuit.barrier()
    circuit.measure(2, b[0])
    circuit.measure(0, a[1])
    circuit.measure(3, b[2])
    circuit.measure(1, a[0])
    return circuit


def _with_delay() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.delay(100, 0, unit="ns")
    circuit.id(1)
    circuit.cry(0.9, 0, 1)
    circuit.barrier()
    circuit.measure([0, 1], [0, 1])
    return circuit


def _mid_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 4)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.cx(0, 1)
    circuit.ry(0.7, 0)
    circuit.measure(0, 1)
    circuit.h(2)
    circuit.measure(2, 2)
    circuit.measure(1, 3)
    circuit.measure(2, 2)  # a clbit written twice: the later write wins
    return circuit


def _reset() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 3)
    circuit.ry(1.2, 0)
    circuit.cx(0, 1)
    circuit.measure(0, 0)
    circuit.reset(0)
    circuit.h(0)
    circuit.reset(1)
    circuit.measure([0, 1], [1, 2])
    return circuit


def _if_else() -> QuantumCircuit:
    qr = QuantumRegister(3)
    flag, out = ClassicalRegister(2, "flag"), ClassicalRegister(2, "out")
    circuit = QuantumCircuit(qr, flag, out)
    circuit.ry(1.0, 0)
    circuit.h(1)
    circuit.measure(0, flag[0])
    circuit.measure(1, flag[1])
    with circuit.if_test((flag[0], 1)) as otherwise:
        circuit.x(2)
        circuit.ry(0.5, 1)
    with otherwise:
        circuit.h(2)
    with circuit.if_test((flag, 3)):
        circuit.rz(0.3, 2)
        circuit.sx(2)
    circuit.measure(2, out[0])
    circuit.measure(1, out[1])
    return circuit


def _for_loop() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    theta = Parameter("θ")
    circuit.h(1)
    with circuit.for_loop(range(3), theta):
        circuit.ry(0.4, 0)
        circuit.crx(0.3, 1, 0)
    with circuit.for_loop([1, 3]) as k:
        circuit.rz(0.3 * k, 0)
        circuit.sx(0)
    circuit.measure([0, 1], [0, 1])
    return circuit


def _while_loop() -> QuantumCircuit:
    """Repeat until success: measure a |+⟩ until it reads 1, then count on qubit 1."""
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.while_loop((circuit.clbits[0], 0)):
        circuit.reset(0)
        circuit.ry(0.8, 0)
        circuit.rx(0.3, 1)
        circuit.measure(0, 0)
    circuit.measure(1, 1)
    return circuit


def _switch() -> QuantumCircuit:
    qr = QuantumRegister(3)
    select, out = ClassicalRegister(2, "select"), ClassicalRegister(2, "out")
    circuit = QuantumCircuit(qr, select, out)
    circuit.h(0)
    circuit.ry(1.9, 1)
    circuit.measure(0, select[0])
    circuit.measure(1, select[1])
    with circuit.switch(select) as case:
        with case(0):
            circuit.x(2)
        with case(1, 2):
            circuit.ry(0.7, 2)
            circuit.cx(2, 0)
        with case(case.DEFAULT):
            circuit.h(2)
    with circuit.switch(select[0]) as case, case(1):
        circuit.sx(1)
    circuit.measure(2, out[0])
    circuit.measure(1, out[1])
    return circuit


def _clifford_dynamic() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure(1, 0)
    circuit.barrier()
    circuit.reset(1)
    circuit.delay(20, 1, unit="ns")
    circuit.s(0)
    circuit.h(0)
    circuit.cx(0, 2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


def _unitary() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.append(UnitaryGate(random_unitary(4, seed=11)), [2, 0])
    circuit.measure([0, 1, 2], [2, 0, 1])
    return circuit


#: Declared non-gate operation -> circuits that use it.
OPERATION_CASES: dict[str, list[Callable[[], QuantumCircuit]]] = {
    "measure": [_final_measurements, _mid_circuit, _clifford_dynamic],
    "reset": [_reset, _clifford_dynamic, _while_loop],
    "barrier": [_final_measurements, _with_delay, _clifford_dynamic],
    "delay": [_with_delay, _clifford_dynamic],
    "unitary": [_unitary],
    "if_else": [_if_else],
    "for_loop": [_for_loop],
    "while_loop": [_while_loop],
    "switch_case": [_switch],
}


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_every_declared_operation_has_cases_the_harness_runs(name: str, precision: str) -> None:
    """A declared operation the harness cannot exercise is not proven: declaring it fails."""
    engine = base.get_engine(name)
    unknown = sorted(engine.operations - d.KNOWN_GATES - set(OPERATION_CASES))
    assert not unknown, f"{name} declares operations the harness does not exercise: {unknown}"


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_measurement_reset_and_control_flow_match_qiskit(name: str, precision: str) -> None:
    engine = base.get_engine(name)
    found: list[str] = []
    for operation in sorted(engine.operations - d.KNOWN_GATES):
        accepted = 0
        for make in OPERATION_CASES[operation]:
            circuit = make()
            if not d.accepts(engine, precision, circuit):
                continue
            accepted += 1
            label = f"{operation} ({make.__name__.strip('_')})"
            d.check(
                label, name, precision, lambda c=circuit: _sampled(engine, precision, c, 9), found
            )
        assert accepted, f"{name} declares {operation!r} but accepts none of its circuits"
        d.COVERAGE.record(operation, name, precision)
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- random circuits


def _random_circuit(engine: Any, data: st.DataObject, dynamic: bool) -> QuantumCircuit:
    """Up to 8 qubits of the engine's declared gates; with ``dynamic``, mid-circuit
    measurements (into a second register) and resets among them."""
    gates = sorted(engine.operations & d.KNOWN_GATES)
    n = data.draw(st.integers(1, 8), label="qubits")
    fitting = [g for g in gates if d.gate_width(g) <= n]
    circuit = QuantumCircuit(QuantumRegister(n, "q"))
    if dynamic:
        circuit.add_register(ClassicalRegister(3, "mid"))
    circuit.global_phase = data.draw(st.floats(-4, 4), label="phase")
    angles = st.one_of(st.sampled_from(d.EDGE_ANGLES), st.floats(-7, 7))
    steps = st.sampled_from(["gate"] * 6 + (["measure", "reset"] if dynamic else []))
    for _ in range(data.draw(st.integers(1, 14), label="steps")):
        step = data.draw(steps)
        qubit = data.draw(st.integers(0, n - 1))
        if step == "measure":
            circuit.measure(qubit, circuit.cregs[0][data.draw(st.integers(0, 2))])
            continue
        if step == "reset":
            circuit.reset(qubit)
            continue
        gate_name = data.draw(st.sampled_from(fitting))
        params = [data.draw(angles) for _ in range(d.gate_slots(gate_name))]
        qubits = data.draw(st.permutations(range(n)))[: d.gate_width(gate_name)]
        circuit.append(d.standard_gate(gate_name, params), qubits)
    return circuit


@pytest.mark.parametrize(("name", "precision"), CASES)
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_circuits_match_qiskit(name: str, precision: str, data: st.DataObject) -> None:
    engine = base.get_engine(name)
    dynamic = "reset" in engine.operations and data.draw(st.booleans(), label="dynamic")
    circuit = _random_circuit(engine, data, dynamic)
    d.COVERAGE.random_circuits += 1
    if _has_states(engine) and not dynamic:
        why = d.state_mismatch(engine, precision, circuit)
        assert why is None, f"{name}/{precision}: {why}\n{circuit}"
    measured = _measured(circuit)
    counts = d.sample(engine, precision, measured, SHOTS, 13)
    expected = d.exact_distribution(measured)
    why = d.counts_mismatch(counts, expected, SHOTS)
    if why is not None:
        d.COVERAGE.mismatches.append(f"{name}/{precision} random circuit: {why}")
    assert why is None, f"{name}/{precision}: {why}\n{circuit}"


def test_the_harness_catches_a_wrong_phase_and_a_wrong_distribution() -> None:
    """The comparisons can fail: a relative phase and a skewed sample are caught."""
    circuit = QuantumCircuit(2)
    circuit.h([0, 1])
    good = Statevector(circuit).data
    assert float(np.max(np.abs(good * np.exp(0.01j) - good))) > d.ATOL["single"]
    expected = {"00": 0.25, "01": 0.25, "10": 0.25, "11": 0.25}
    fair = {"00": 500, "01": 500, "10": 500, "11": 500}
    skewed = {"00": 560, "01": 440, "10": 500, "11": 500}
    checks = d.COVERAGE.checks
    assert d.counts_mismatch(fair, expected, 2000) is None
    assert d.counts_mismatch({"00": 2000}, {"00": 0.9, "11": 0.1}, 2000) is not None
    assert d.counts_mismatch(skewed, expected, 2000) is None  # 3 sd: within a 1e-9 bound
    assert d.counts_mismatch({"00": 700, "01": 300, "10": 500, "11": 500}, expected, 2000)
    assert d.counts_mismatch({"00": 1999, "01": 1}, {"00": 1.0}, 2000) is not None
    d.COVERAGE.checks = checks  # self-checks are not engine comparisons
    # An engine that drops cu's γ (as a controlled base-gate matrix does) is caught.
    circuit = QuantumCircuit(3)
    circuit.h(range(3))
    circuit.cu(0.7, 0.3, -1.1, 0.9, 2, 0)
    assert d.state_mismatch(_DropsGamma(), "double", circuit) is not None
    d.COVERAGE.checks = checks


class _DropsGamma:
    """A wrong engine: its ``cu`` ignores the controlled phase γ."""

    def statevectors(self, circuit: QuantumCircuit, bindings: Any, *, precision: str) -> list:
        wrong = circuit.copy_empty_like()
        for instruction in circuit.data:
            op = instruction.operation
            if op.name == "cu":
                op = CUGate(*op.params[:3], 0.0)
            wrong.append(op, instruction.qubits)
        return [Statevector(wrong).data]

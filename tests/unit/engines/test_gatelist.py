"""Gate lists: the same circuit as Qiskit's OpenQASM 2 reader, and the same run on qulacs.

Random OpenQASM 2 programs of every standard gate ``qelib1.inc`` offers, with
edge angles, several quantum and classical registers, measurements of some
qubits into shuffled bits, are read once into a circuit and a gate list. The
gate list must rebuild the circuit ``qiskit.qasm2.loads`` reads, give the
features and depth Qiskit gives, and run on qulacs to the state
``qiskit.quantum_info`` computes and to the counts the circuit's own
translation samples with the same seed, which are a plausible sample of the
exact distribution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit import qasm2 as qiskit_qasm2
from qiskit.circuit import Clbit, Gate, Parameter, Qubit
from qiskit.circuit.library import CXGate
from qiskit.circuit.random import random_circuit

from qharbor.engines import gatelist
from qharbor.engines.base import Experiment
from qharbor.engines.gatelist import GateList
from qharbor.engines.quick_features import gate_list_features, quick_features
from qharbor.engines.qulacs import QulacsEngine
from qharbor.engines.qulacs_circuits import translate_gates
from qharbor.programs import qasm2
from tests.unit.engines import differential as d

#: The names ``qelib1.inc`` (as the centre reads it) gives Qiskit's standard gates.
QELIB1_GATES = {
    "u3": (1, 3), "u2": (1, 2), "u1": (1, 1), "u": (1, 3), "p": (1, 1), "id": (1, 0),
    "x": (1, 0), "y": (1, 0), "z": (1, 0), "h": (1, 0), "s": (1, 0), "sdg": (1, 0),
    "t": (1, 0), "tdg": (1, 0), "rx": (1, 1), "ry": (1, 1), "rz": (1, 1), "sx": (1, 0),
    "sxdg": (1, 0), "cx": (2, 0), "cz": (2, 0), "cy": (2, 0), "swap": (2, 0), "ch": (2, 0),
    "crx": (2, 1), "cry": (2, 1), "crz": (2, 1), "cu1": (2, 1), "cp": (2, 1),
    "cu3": (2, 3), "csx": (2, 0), "cu": (2, 4), "rxx": (2, 1), "rzz": (2, 1),
    "ccx": (3, 0), "cswap": (3, 0), "rccx": (3, 0), "rc3x": (4, 0), "c3sqrtx": (4, 0),
}  # fmt: skip
#: Angles as a program writes them: exact multiples of pi, negative, big, tiny.
TEXT_ANGLES = ("pi/2", "-pi/2", "pi", "-pi", "2*pi", "3*pi/4", "-7*pi", "0", "1e-9", "1e3")
SHOTS = 20_000
SEEDS = range(24)


def _angle(rng: np.random.Generator) -> str:
    if rng.random() < 0.4:
        return str(rng.choice(TEXT_ANGLES))
    if rng.random() < 0.2:
        return repr(float(rng.choice(d.EDGE_ANGLES)))
    return repr(float(rng.uniform(-4 * math.pi, 4 * math.pi)))


def random_program(seed: int) -> str:
    """A plain OpenQASM 2 program: every register shape, every qelib1 standard gate in turn."""
    rng = np.random.default_rng(seed)
    qregs = [("q", int(rng.integers(1, 4))), ("r", int(rng.integers(1, 3)))]
    if seed % 3 == 0:
        qregs.append(("w", 1))
    cregs = [("c", int(rng.integers(1, 3))), ("d", int(rng.integers(1, 4)))][: 1 + seed % 2]
    qubits = [f"{name}[{i}]" for name, size in qregs for i in range(size)]
    clbits = [f"{name}[{i}]" for name, size in cregs for i in range(size)]
    names = sorted(QELIB1_GATES)
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    lines += [f"qreg {name}[{size}];" for name, size in qregs]
    lines += [f"creg {name}[{size}];" for name, size in cregs]
    for step in range(12):
        name = names[(seed * 12 + step) % len(names)]
        width, slots = QELIB1_GATES[name]
        if width > len(qubits):
            name, (width, slots) = "h", QELIB1_GATES["h"]
        targets = [qubits[i] for i in rng.permutation(len(qubits))[:width]]
        angles = f"({', '.join(_angle(rng) for _ in range(slots))})" if slots else ""
        lines.append(f"{name}{angles} {', '.join(targets)};")
        if rng.random() < 0.2:
            lines.append(f"barrier {', '.join(targets)};")
    # Some qubits measured, into shuffled bits; a bit may be written twice.
    measured = rng.permutation(len(qubits))[: int(rng.integers(1, len(qubits) + 1))]
    for qubit in measured:
        lines.append(f"measure {qubits[qubit]} -> {clbits[int(rng.integers(len(clbits)))]};")
    return "\n".join(lines) + "\n"


def _read(seed: int) -> tuple[Any, GateList]:
    """Qiskit's own circuit of a random program, and the gate list read here, as stored."""
    text = random_program(seed)
    gates = qasm2.parse_plain(text)
    assert isinstance(gates, GateList)
    return _reference(text), GateList.from_bytes(gates.to_bytes())


def _reference(text: str) -> Any:
    return qiskit_qasm2.loads(
        text,
        include_path=(),
        custom_instructions=qiskit_qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
        strict=False,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_a_gate_list_rebuilds_the_circuit_qiskit_reads(seed: int) -> None:
    circuit, gates = _read(seed)
    assert gates.to_circuit() == circuit == qasm2.parse(random_program(seed))
    assert gate_list_features(gates) == quick_features(circuit)
    assert gates.depth() == circuit.depth()


@pytest.mark.parametrize("seed", SEEDS)
def test_a_gate_list_runs_on_qulacs_as_its_circuit_and_as_quantum_info(seed: int) -> None:
    circuit, gates = _read(seed)
    # The state before the final measurements, against qiskit.quantum_info.
    unmeasured = circuit.remove_final_measurements(inplace=False)
    state, phase = translate_gates(gates).state(None)
    assert phase == 0.0
    error = np.max(np.abs(state.get_vector() - d.reference_state(unmeasured)))
    assert error < d.ATOL["double"]
    # The same counts as the circuit's own translation, seed for seed ...
    engine = QulacsEngine()
    [[by_gates]] = engine.run_gate_lists([gates], shots=SHOTS, seed=seed)
    [[by_circuit]] = engine.run([Experiment(circuit)], method=d.METHOD, shots=SHOTS, seed=seed)
    assert by_gates.counts == by_circuit.counts
    assert by_gates.seed == by_circuit.seed == seed
    # ... and a plausible sample of the exact distribution of the classical bits.
    assert d.counts_mismatch(by_gates.counts, d.exact_distribution(circuit), SHOTS) is None


def test_consecutive_gate_lists_sample_with_consecutive_seeds() -> None:
    pairs = [_read(seed) for seed in range(4)]
    engine = QulacsEngine()
    by_gates = engine.run_gate_lists([g for _c, g in pairs], shots=64, seed=11)
    by_circuit = engine.run([Experiment(c) for c, _g in pairs], method=d.METHOD, shots=64, seed=11)
    assert [o.counts for [o] in by_gates] == [o.counts for [o] in by_circuit]
    assert [o.seed for [o] in by_gates] == [11, 12, 13, 14]


@pytest.mark.parametrize(
    "body",
    [
        "gate g a { h a; }\ng q[0];",  # a gate definition
        "reset q[0];",
        "u0(1) q[0];",  # in qelib1.inc, not a Qiskit standard gate
        "c3x q[0], q[1], q[2], r[0];",
        "measure q[0] -> c[0];\nif (c == 1) x q[1];",
    ],
)
def test_programs_beyond_plain_gates_have_no_gate_list(body: str) -> None:
    text = f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nqreg r[1];\ncreg c[1];\n{body}\n'
    circuit = qasm2.parse_plain(text)
    assert not isinstance(circuit, GateList)
    assert circuit == _reference(text)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-3],  # cut short
        lambda b: b.replace(b'"names":[', b'"names":["nope",'),  # a name no gate list holds
        lambda b: b"QPY" + b[3:],  # not a gate list at all
    ],
)
def test_a_damaged_gate_list_is_refused(damage: object) -> None:
    _circuit, gates = _read(0)
    damaged = damage(gates.to_bytes())  # type: ignore[operator]
    with pytest.raises(ValueError):
        GateList.from_bytes(damaged)


def test_a_gate_list_holding_a_qubit_out_of_range_is_refused() -> None:
    _circuit, gates = _read(1)
    qubits = gates.qubits.copy()
    qubits[0] = gates.num_qubits
    wide = GateList(
        gates.qregs, gates.cregs, gates.names, gates.codes, gates.widths, qubits,
        gates.params, gates.clbits,
    )  # fmt: skip
    with pytest.raises(ValueError, match="qubit out of range"):
        GateList.from_bytes(wide.to_bytes())


def test_a_circuit_with_a_gate_after_a_measurement_is_dynamic_and_refused_by_qulacs() -> None:
    text = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    text += "h q[0];\nmeasure q[0] -> c[0];\nx q[0];\nmeasure q[0] -> c[1];\n"
    gates = qasm2.parse_plain(text)
    assert isinstance(gates, GateList)
    assert gate_list_features(gates) == quick_features(_reference(text))
    assert gate_list_features(gates).dynamic
    assert gatelist.MEASURE in gates.count_ops()


@pytest.mark.parametrize("seed", range(12))
def test_a_plain_circuit_of_any_format_has_its_own_gate_list(seed: int) -> None:
    """Circuits read from OpenQASM 3, OriginIR or QPY: Qiskit's own random circuits here."""
    circuit = random_circuit(5, 6, measure=True, seed=seed)
    gates = gatelist.of_circuit(circuit)
    assert gates is not None
    assert gates.to_circuit() == circuit
    assert gate_list_features(gates) == quick_features(circuit)
    assert gates.depth() == circuit.depth()
    engine = QulacsEngine()
    [[by_gates]] = engine.run_gate_lists([gates], shots=SHOTS, seed=seed)
    [[by_circuit]] = engine.run([Experiment(circuit)], method=d.METHOD, shots=SHOTS, seed=seed)
    assert by_gates.counts == by_circuit.counts
    assert d.counts_mismatch(by_gates.counts, d.exact_distribution(circuit), SHOTS) is None


def _not_plain() -> dict[str, QuantumCircuit]:
    parametric = QuantumCircuit(1)
    parametric.rx(Parameter("theta"), 0)
    phased = QuantumCircuit(1, global_phase=0.5)
    phased.h(0)
    described = QuantumCircuit(1, metadata={"experiment": 7})
    described.h(0)
    matrix = QuantumCircuit(1)
    matrix.unitary(np.eye(2), [0])
    open_control = QuantumCircuit(2)
    open_control.append(CXGate(ctrl_state=0), [0, 1])
    loose = QuantumCircuit([Qubit()])
    loose.h(0)
    bits = [Clbit(), Clbit()]
    reordered = QuantumCircuit(QuantumRegister(2), bits, ClassicalRegister(bits=bits[::-1]))
    reordered.measure([0, 1], [0, 1])
    reset = QuantumCircuit(1)
    reset.reset(0)
    custom = QuantumCircuit(1)
    custom.append(Gate("mine", 1, []), [0])
    branching = QuantumCircuit(1, 1)
    branching.measure(0, 0)
    with branching.if_test((branching.clbits[0], 1)):
        branching.x(0)
    return {
        "a parameter": parametric,
        "a global phase": phased,
        "metadata": described,
        "a unitary": matrix,
        "an open control": open_control,
        "a qubit in no register": loose,
        "a register out of bit order": reordered,
        "a reset": reset,
        "a custom gate": custom,
        "control flow": branching,
    }


@pytest.mark.parametrize("what", list(_not_plain()))
def test_circuits_beyond_plain_gates_have_no_gate_list(what: str) -> None:
    assert gatelist.of_circuit(_not_plain()[what]) is None

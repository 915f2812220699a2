"""The direct OpenQASM 3 reader against the reference (``qiskit.qasm3.loads``).

Programs are drawn at random from the reader's subset, and then mutated at
random: whatever the reader accepts must be what the reference reads, the same
circuit gate for gate, and whatever it leaves must go to the reference.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import qiskit.qasm3
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qharbor import errors
from qharbor.programs import intake, qasm3, qasm3_plain

HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def _reference(source: str) -> QuantumCircuit | None:
    try:
        return qiskit.qasm3.loads(source)
    except Exception:
        return None


def _same(mine: QuantumCircuit, reference: QuantumCircuit) -> bool:
    """Equal circuits, reading parameters by name (each reader makes its own)."""
    names = {p.name: p for p in mine.parameters}
    if sorted(names) != sorted(p.name for p in reference.parameters):
        return False
    renamed = reference.assign_parameters({p: names[p.name] for p in reference.parameters})
    return bool(mine == renamed) and mine.qregs == reference.qregs


def _angle(rng: random.Random, inputs: list[str]) -> str:
    draw = rng.random()
    if draw < 0.5 and inputs:
        return ("-" if rng.random() < 0.3 else "") + rng.choice(inputs)
    value = rng.uniform(0, 7)
    text = rng.choice([repr(value), f"{value:.3e}", f"{value:.4f}", f".{rng.randint(1, 99)}"])
    return ("-" if rng.random() < 0.4 else "") + text


def _program(rng: random.Random) -> str:
    registers = {f"r{k}": rng.randint(1, 4) for k in range(rng.randint(1, 3))}
    inputs = [rng.choice(["theta", "p", "_a", "Beta"]) + str(k) for k in range(rng.randint(0, 5))]
    lines = [HEADER.rstrip("\n")]
    lines += [f"input float{rng.choice(['[64]', '', ' [ 64 ]'])} {name};" for name in inputs]
    lines += [f"qubit[{size}] {name};" for name, size in registers.items()]
    qubits = [f"{name}[{i}]" for name, size in registers.items() for i in range(size)]
    unused = set(inputs)
    for _ in range(rng.randint(1, 25)):
        name, (_, num_angles, num_qubits) = rng.choice(list(qasm3_plain.GATES.items()))
        if num_qubits > len(qubits):
            continue
        angles = [_angle(rng, inputs) for _ in range(num_angles)]
        unused -= {a.lstrip("-") for a in angles}
        args = f"({', '.join(angles)})" if angles else ""
        gap = rng.choice([" ", "  ", "\t"])
        lines.append(f"{name}{args}{gap}{', '.join(rng.sample(qubits, num_qubits))};")
        if rng.random() < 0.1:
            lines.append("// a comment; with a semicolon")
    lines += [f"rz({name}) {qubits[0]};" for name in sorted(unused)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(40))
def test_a_random_plain_program_reads_as_the_reference_reads_it(seed: int) -> None:
    rng = random.Random(seed)
    source = _program(rng)
    mine = qasm3_plain.read(source, max_qubits=64)
    reference = qiskit.qasm3.loads(source)
    assert mine is not None, source
    assert _same(mine, reference), source
    if seed % 8 == 0 and mine.num_parameters:
        values = np.random.default_rng(seed).uniform(-3, 3, mine.num_parameters)
        bound = mine.assign_parameters(values)
        expected = reference.assign_parameters(values)  # both sort parameters by name
        assert Statevector(bound).equiv(Statevector(expected))


def _mutations(source: str, rng: random.Random) -> str:
    pieces = [";", "[", "]", "(", ")", ",", "-", "9", "q", " ", "\n", "measure", "x", "/*"]
    where = rng.randrange(len(source))
    kind = rng.random()
    if kind < 0.4:
        return source[:where] + source[where + 1 :]
    if kind < 0.8:
        return source[:where] + rng.choice(pieces) + source[where:]
    return source[:where] + source[where + rng.randint(1, 12) :]


def test_a_mutated_program_is_read_only_as_the_reference_reads_it() -> None:
    rng = random.Random(20)
    accepted = 0
    for _ in range(300):
        source = _mutations(_program(rng), rng)
        mine = qasm3_plain.read(source, max_qubits=64)
        if mine is None:
            continue
        accepted += 1
        reference = _reference(source)
        assert reference is not None, f"read a program the reference refuses:\n{source}"
        assert _same(mine, reference), source
    assert accepted > 30  # the mutations leave many programs inside the subset


@pytest.mark.parametrize(
    "body",
    [
        "input float[64] a;\nqubit[1] q;\n",  # an unused input
        "qubit[1] q;\nrx(a) q[0];\n",  # an undeclared name
        "qubit[1] q;\nx q[1];\n",  # out of range
        "qubit[2] q;\ncx q[0], q[0];\n",  # the same qubit twice
        "qubit[2] q;\nx q;\n",  # a whole register
        "qubit[1] q;\nrx(1) q[0];\n",  # an integer angle stays an int in the reference
        "qubit[1] q;\nrx(pi) q[0];\n",
        "qubit[1] q;\nctrl @ x q[0];\n",
        "qubit[1] q;\nbit[1] c;\nc[0] = measure q[0];\n",
        "input angle a;\nqubit[1] q;\nrx(a) q[0];\n",
        "input float[32] a;\nqubit[1] q;\nrx(a) q[0];\n",
        "input float[64] q;\nqubit[1] q;\n",  # declared twice
        "input float[64] rx;\nqubit[1] q;\nrx(rx) q[0];\n",
        "qubit[1] Q;\nx Q[0];\n",  # the reference renames the register
        "qubit[1] q;\n/* a block */ x q[0];\n",
        "qubit[1] q;\nx q[0];\nx q[0]",  # no closing semicolon
        "qubit[1] q;\nid q[0];\n",
        "qubit[1] q;\nU(0.1, 0.2, 0.3) q[0];\n",
        "qubit[1] q;\nrx(0.1, 0.2) q[0];\n",
        "qubit[100] q;\nx q[0];\n",  # over the qubit limit: left for the refusal
    ],
)
def test_a_program_outside_the_subset_is_left_to_the_reference(body: str) -> None:
    assert qasm3_plain.read(HEADER + body, max_qubits=64) is None


#: Keywords, constants, literals and built-in names a declaration might take.
_BUILTINS = ("sin", "cos", "arccos", "exp", "ln", "sqrt", "mod", "popcount", "rotl", "real")
_CONSTANTS = ("pi", "tau", "euler", "e", "dt", "ns", "im", "true", "false", "sizeof")
_STATEMENTS = ("measure", "reset", "barrier", "delay", "box", "let", "const", "input", "output")
_TYPES = ("qubit", "bit", "angle", "float", "int", "bool", "duration", "stretch", "complex")
_BLOCKS = ("array", "extern", "def", "gate", "defcal", "cal", "end", "return", "for", "while")
_MORE = ("if", "else", "switch", "case", "default", "ctrl", "negctrl", "inv", "pow", "durationof")
_GATES = ("U", "gphase", "CX", "id", "phase", "cphase", "rx")
NAMES = _BUILTINS + _CONSTANTS + _STATEMENTS + _TYPES + _BLOCKS + _MORE + _GATES


def test_a_name_is_declared_here_only_where_the_reference_takes_it() -> None:
    for name in NAMES:
        for body in (
            f"input float[64] {name};\nqubit[1] q;\nrx({name}) q[0];\n",
            f"qubit[1] {name};\nx {name}[0];\n",
        ):
            if qasm3_plain.read(HEADER + body, 64) is not None:
                assert _reference(HEADER + body) is not None, body


def test_the_include_must_come_first_and_once() -> None:
    gates = "qubit[1] q;\nx q[0];\n"
    assert qasm3_plain.read("OPENQASM 3.0;\n" + gates, 64) is None
    assert qasm3_plain.read("OPENQASM 3.0;\n" + gates + 'include "stdgates.inc";\n', 64) is None
    assert qasm3_plain.read(HEADER + 'include "stdgates.inc";\n' + gates, 64) is None
    assert qasm3_plain.read(HEADER.replace("3.0", "3") + gates, 64) is not None


def test_intake_still_refuses_what_the_reader_leaves() -> None:
    with pytest.raises(errors.ProgramLimit):
        intake.parse_circuit(HEADER + "qubit[100000] q;\nx q[0];\n", "qasm3")
    with pytest.raises(errors.ProgramSyntax) as caught:
        qasm3.parse(HEADER + "qubit[1] q;\nrx(a) q[0];\n")
    assert caught.value.detail.get("line") == 4

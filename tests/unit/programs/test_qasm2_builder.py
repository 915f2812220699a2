"""OpenQASM 2's circuit builder, against Qiskit's own ``qasm2.loads`` on random programs.

The centre builds the circuits of common programs itself, from Qiskit's parser
stream; each must equal, gate for gate, what Qiskit's builder makes of the same
text, including the programs that take Qiskit's builder (gate definitions, ``if``).
"""

from __future__ import annotations

import io
import random

import pytest
from qiskit import qasm2 as qiskit_qasm2
from qiskit import qpy

from qharbor.programs import qasm2

#: qelib1's gates as (name, angles, qubits), all of them.
GATES = [(c.name, c.num_params, c.num_qubits) for c in qiskit_qasm2.LEGACY_CUSTOM_INSTRUCTIONS]
GATES = [g for g in GATES if g[0] != "delay"] + [("U", 3, 1), ("CX", 0, 2)]
ANGLES = ["0.5", "-pi/2", "2*pi/3", "1e-3", "3", "(1+2)*pi", "-0.25", "sin(0.3)", "2^0.5"]


def reference(source: str) -> object:
    return qiskit_qasm2.loads(
        source,
        include_path=(),
        custom_instructions=qiskit_qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
        strict=False,
    )


def random_program(rng: random.Random, statements: int) -> str:
    sizes = {"q": rng.randint(5, 6), "r": rng.randint(1, 3)}
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{sizes['q']}];"]
    lines += [f"creg c[{sizes['q']}];", f"qreg r[{sizes['r']}];"]
    if rng.random() < 0.2:
        lines.append("gate twirl(a) x, y { cx x, y; rz(a) y; cx x, y; }")
    for _ in range(statements):
        roll = rng.random()
        if roll < 0.05:
            lines.append(rng.choice(["barrier q;", "barrier q[0], r;", "reset q[1];"]))
            continue
        if roll < 0.08:
            lines.append(rng.choice(["measure q[2] -> c[0];", "measure q -> c;"]))
            continue
        if roll < 0.10 and "gate twirl" in lines[5]:
            lines.append("twirl(0.7) q[0], r[0];")
            continue
        if roll < 0.11:
            lines.append("if (c == 1) x q[0];")
            continue
        name, angles, width = rng.choice(GATES)
        operands = rng.sample([f"q[{i}]" for i in range(sizes["q"])], width)
        if width == 1 and rng.random() < 0.1:
            operands = ["r"]  # a whole register: one gate per qubit
        params = ", ".join(rng.choice(ANGLES) for _ in range(angles))
        if name == "u0":
            params = str(rng.randint(0, 3))  # u0 takes a whole number of identity lengths
        lines.append(f"{name}{f'({params})' if angles else ''} {', '.join(operands)};")
    return "\n".join(lines) + "\n"


def _qpy(circuit: object) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


def _through_qpy(circuit: object) -> object:
    return qpy.load(io.BytesIO(_qpy(circuit)))[0]


def _described(circuit: object) -> list[tuple[object, ...]]:
    return [
        (
            type(i.operation).__name__,
            i.operation.name,
            [str(p) for p in i.operation.params],
            [circuit.find_bit(b).index for b in i.qubits],  # type: ignore[attr-defined]
            [circuit.find_bit(b).index for b in i.clbits],  # type: ignore[attr-defined]
        )
        for i in circuit.data  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("seed", range(60))
def test_random_programs_build_the_circuit_qiskit_builds(seed: int) -> None:
    rng = random.Random(seed)
    source = random_program(rng, rng.randint(1, 60))
    ours, theirs = qasm2.parse(source), reference(source)
    assert ours == theirs
    assert _described(ours) == _described(theirs)
    assert [(r.name, r.size) for r in ours.qregs] == [(r.name, r.size) for r in theirs.qregs]
    assert [(r.name, r.size) for r in ours.cregs] == [(r.name, r.size) for r in theirs.cregs]
    # What the job stores and its worker reads back is the same circuit too.
    assert _through_qpy(ours) == _through_qpy(theirs)


def test_standard_gates_are_qiskits_own_classes() -> None:
    circuit = qasm2.parse('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nu3(1,2,3) q[0];\n')
    operation = circuit.data[0].operation
    assert type(operation).__name__ == "U3Gate"
    assert [float(p) for p in operation.params] == [1.0, 2.0, 3.0]

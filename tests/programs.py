"""Programs the tests submit, as OpenQASM text."""

from __future__ import annotations

import math

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""

BELL_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""

ROTATION = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
qubit[1] q;
bit[1] c;
rx(theta) q[0];
c[0] = measure q[0];
"""

MID_CIRCUIT = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
x q[0];
c[0] = measure q[0];
if (c[0]) {
  x q[1];
}
c[1] = measure q[1];
"""


def ghz(n: int, version: int = 2) -> str:
    """GHZ on n qubits, measured."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];", "h q[0];"]
    lines += [f"cx q[{i}],q[{i + 1}];" for i in range(n - 1)]
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def slow(n: int = 22, layers: int = 60) -> str:
    """A program that keeps a worker busy for several seconds (22 qubits, 60 layers)."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for layer in range(layers):
        lines += [f"rx({0.1 + layer * 0.01 + i * 0.001}) q[{i}];" for i in range(n)]
        lines += [f"cx q[{i}],q[{i + 1}];" for i in range(layer % 2, n - 1, 2)]
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def qft(n: int) -> str:
    """A QFT on n qubits applied to |1>, measured (OpenQASM 2)."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];", "x q[0];"]
    for target in reversed(range(n)):
        lines.append(f"h q[{target}];")
        for control in reversed(range(target)):
            lines.append(f"cu1({math.pi / 2 ** (target - control)}) q[{control}],q[{target}];")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def stored(source: str, bindings: list | None = None, name: str | None = None, fmt: str = "auto"):
    """A program as a job row holds it once admitted: its text and its parsed circuit."""
    from qharbor.jobs.preparation import parse_here

    return parse_here(source, fmt, bindings, name).to_json()

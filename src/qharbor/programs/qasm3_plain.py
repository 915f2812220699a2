"""A direct reader for plain, parameterised OpenQASM 3: the variational ansatz's form.

The reference front end (the ANTLR parser, then ``qiskit_qasm3_import``) takes
about 20 ms for a 130-line ansatz, most of it in the ANTLR runtime, and a VQE
loop sends such a program on every iteration. Most of those programs use a
tiny part of the language::

    OPENQASM 3.0;
    include "stdgates.inc";
    input float[64] theta;
    qubit[2] q;
    ry(theta) q[0];
    cx q[0], q[1];
    rz(-0.25) q[1];

This module reads exactly that subset (the version line, the standard
include, ``input float`` / ``input float[64]`` declarations, ``qubit[n]``
registers, and standard gates on indexed qubits whose angles are inputs or
float literals) straight into the circuit the reference converter builds. It
answers ``None`` for anything else, including every program the reference
would refuse, so the reference reads it and says what is wrong and where: this
reader never refuses a program and never accepts one the reference refuses.
``tests/unit/programs/test_qasm3_plain.py`` holds it to the reference.
"""

from __future__ import annotations

import re
from typing import Any

from openqasm3._antlr.qasm3Lexer import qasm3Lexer
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import CircuitInstruction, Parameter
from qiskit.circuit.library import standard_gates as std

#: ``stdgates.inc`` as ``qiskit_qasm3_import`` reads it: gate class, angles, qubits
#: (``id`` is left out: the reference builds it as a ``U(0, 0, 0)``).
GATES: dict[str, tuple[Any, int, int]] = {
    "p": (std.PhaseGate, 1, 1),
    "x": (std.XGate, 0, 1),
    "y": (std.YGate, 0, 1),
    "z": (std.ZGate, 0, 1),
    "h": (std.HGate, 0, 1),
    "s": (std.SGate, 0, 1),
    "sdg": (std.SdgGate, 0, 1),
    "t": (std.TGate, 0, 1),
    "tdg": (std.TdgGate, 0, 1),
    "sx": (std.SXGate, 0, 1),
    "rx": (std.RXGate, 1, 1),
    "ry": (std.RYGate, 1, 1),
    "rz": (std.RZGate, 1, 1),
    "cx": (std.CXGate, 0, 2),
    "cy": (std.CYGate, 0, 2),
    "cz": (std.CZGate, 0, 2),
    "cp": (std.CPhaseGate, 1, 2),
    "crx": (std.CRXGate, 1, 2),
    "cry": (std.CRYGate, 1, 2),
    "crz": (std.CRZGate, 1, 2),
    "ch": (std.CHGate, 0, 2),
    "swap": (std.SwapGate, 0, 2),
    "ccx": (std.CCXGate, 0, 3),
    "cswap": (std.CSwapGate, 0, 3),
    "cu": (std.CUGate, 4, 2),
    "CX": (std.CXGate, 0, 2),
    "phase": (std.PhaseGate, 1, 1),
    "cphase": (std.CPhaseGate, 1, 2),
    "u1": (std.U1Gate, 1, 1),
    "u2": (std.U2Gate, 2, 1),
    "u3": (std.U3Gate, 3, 1),
}

#: Names a declaration may not take here: the language's keywords and the
#: standard gates' names (the reference refuses or reads them otherwise).
_RESERVED = (
    frozenset(name.strip("'") for name in qasm3Lexer.literalNames if name and name[1:2].isalpha())
    | frozenset(GATES)
    | {"id", "pi", "tau", "euler", "U", "gphase", "true", "false"}
)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
#: A float literal as the reference reads it (no digit separators, no integers:
#: an integer angle stays an ``int`` in the reference's circuit).
_FLOAT = r"(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)"
_VERSION = re.compile(r"OPENQASM\s+3(?:\.0)?")
_INCLUDE = re.compile(r'include\s*"stdgates\.inc"')
_INPUT = re.compile(rf"input\s+float(?:\s*\[\s*64\s*\])?\s+({_NAME})")
_QUBITS = re.compile(r"qubit\s*\[\s*([1-9]\d{0,6})\s*\]\s*([a-z][A-Za-z0-9_]*)")
_GATE = re.compile(rf"({_NAME})\s*(?:\(([^()]*)\))?\s+(.+)", re.DOTALL)
_ANGLE = re.compile(rf"\s*(?:(-)\s*)?(?:({_FLOAT})|({_NAME}))\s*")
_OPERAND = re.compile(rf"\s*({_NAME})\s*\[\s*(0|[1-9]\d{{0,6}})\s*\]\s*")
_LINE_COMMENT = re.compile(r"//[^\n]*")


def read(source: str, max_qubits: int) -> QuantumCircuit | None:
    """The circuit of a plain parameterised program, or None for any other text.

    Args:
        source: OpenQASM 3 text.
        max_qubits: a program declaring more qubits is left to the reference
            reader, which refuses it before allocating anything.

    Returns:
        The circuit ``qiskit_qasm3_import`` builds for ``source`` (the same
        registers, parameters and gates, in order), or None when ``source`` is
        outside this reader's subset.
    """
    if "/*" in source:
        return None
    statements = _LINE_COMMENT.sub("", source).split(";")
    if statements[-1].strip():
        return None  # text after the last statement
    return _Reader(max_qubits).read([s.strip() for s in statements[:-1]])


class _Reader:
    def __init__(self, max_qubits: int) -> None:
        self.max_qubits = max_qubits
        self.circuit = QuantumCircuit()
        self.registers: dict[str, QuantumRegister] = {}
        self.inputs: dict[str, Parameter] = {}
        self.used: set[str] = set()
        self.included = False

    def read(self, statements: list[str]) -> QuantumCircuit | None:
        if not statements or not _VERSION.fullmatch(statements[0]):
            return None
        for statement in statements[1:]:
            if not self._statement(statement):
                return None
        if self.used != set(self.inputs):
            return None  # an unused input: the reference keeps it in a way of its own
        return self.circuit

    def _statement(self, text: str) -> bool:
        if _INCLUDE.fullmatch(text):
            if self.included:
                return False
            self.included = True
            return True
        declared = _INPUT.fullmatch(text)
        if declared:
            return self._input(declared[1])
        declared = _QUBITS.fullmatch(text)
        if declared:
            return self._qubits(declared[2], int(declared[1]))
        call = _GATE.fullmatch(text)
        return call is not None and self._gate(call[1], call[2], call[3])

    def _fresh(self, name: str) -> bool:
        return name not in _RESERVED and name not in self.inputs and name not in self.registers

    def _input(self, name: str) -> bool:
        if not self._fresh(name):
            return False
        self.inputs[name] = Parameter(name)
        return True

    def _qubits(self, name: str, size: int) -> bool:
        if not self._fresh(name) or self.circuit.num_qubits + size > self.max_qubits:
            return False
        register = QuantumRegister(size, name)
        self.registers[name] = register
        self.circuit.add_register(register)
        return True

    def _gate(self, name: str, arguments: str | None, operands: str) -> bool:
        shape = GATES.get(name)
        if shape is None or not self.included:
            return False
        builder, num_angles, num_qubits = shape
        angles = [] if arguments is None else [self._angle(a) for a in arguments.split(",")]
        if len(angles) != num_angles or any(a is None for a in angles):
            return False
        qubits = [self._qubit(o) for o in operands.split(",")]
        if len(qubits) != num_qubits or any(q is None for q in qubits):
            return False
        if len(set(qubits)) != len(qubits):
            return False
        self.circuit._append(CircuitInstruction(builder(*angles), qubits, ()))
        return True

    def _angle(self, text: str) -> Any:
        match = _ANGLE.fullmatch(text)
        if match is None:
            return None
        negative, literal, name = match[1], match[2], match[3]
        if literal is not None:
            value = float(literal)
            return -value if negative else value
        parameter = self.inputs.get(name)
        if parameter is None:
            return None
        self.used.add(name)
        return -parameter if negative else parameter

    def _qubit(self, text: str) -> Any:
        match = _OPERAND.fullmatch(text)
        if match is None:
            return None
        register = self.registers.get(match[1])
        index = int(match[2])
        if register is None or index >= register.size:
            return None
        return register[index]

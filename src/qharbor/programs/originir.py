"""OriginIR, the text format of Origin Quantum's QPanda, read into a Qiskit circuit.

A program is one statement per line: ``QINIT n`` and ``CREG m`` first, gates
(``H q[0]``, ``CNOT q[0],q[1]``, ``RX q[0],(PI/2)``), ``MEASURE``, ``BARRIER``,
``RESET``, ``DAGGER``/``ENDDAGGER`` and ``CONTROL``/``ENDCONTROL`` blocks,
``QGATE``/``ENDQGATE`` gate definitions, and ``QIF``/``QELSE``/``QENDIF`` and
``QWHILE``/``QENDWHILE`` on measured bits. The meaning is pyqpanda3's, global
phase included, wherever its reading differs from the obvious one (``^``
precedence, ``QIF c[0],c[1]``, ``RESET`` under ``DAGGER``; see docs/formats.md).
The reader is a single pass over the lines; angle expressions are read by a
small recursive-descent parser whose depth the intake limits bound, and QGATE
calls are expanded within :data:`MAX_EXPANDED_GATES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import IfElseOp, Instruction, WhileLoopOp
from qiskit.circuit import library as lib
from qiskit.circuit.classical import expr

from qharbor import errors
from qharbor.programs.originir_expressions import Angle, Condition, split_top
from qharbor.programs.originir_gates import GATES, KEYWORDS, u4

_QUBIT = re.compile(r"^q\s*\[\s*(\d+)\s*\]$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QGATE = re.compile(
    r"^QGATE\s+([A-Za-z_][A-Za-z0-9_]*)\s+([^(]*?)\s*(?:,\s*\(([^)]*)\))?$", re.IGNORECASE
)
#: Gates a program may emit once QGATE definitions are expanded.
MAX_EXPANDED_GATES = 1_000_000
_CLBIT = re.compile(r"^c\s*\[\s*(\d+)\s*\]$")
_HEADER = re.compile(r"^(QINIT|CREG)\s+(\d+)$")


@dataclass
class _Definition:
    """A QGATE: formal qubit and angle names, and its body lines as (line, text)."""

    name: str
    line: int
    qubits: list[str]
    angles: list[str]
    body: list[tuple[int, str]] = field(default_factory=list)
    #: Gates one call expands to, through the definitions it calls.
    size: int = 0


@dataclass
class _Block:
    """An open DAGGER, CONTROL, QIF or QWHILE block."""

    kind: str
    line: int
    controls: list[int] = field(default_factory=list)
    condition: object = None
    body: list[tuple[Instruction, list[int], list[int]]] = field(default_factory=list)
    other: list[tuple[Instruction, list[int], list[int]]] | None = None

    @property
    def target(self) -> list[tuple[Instruction, list[int], list[int]]]:
        return self.other if self.other is not None else self.body


def parse(source: str) -> QuantumCircuit:
    """Parse OriginIR text.

    Raises:
        errors.ProgramSyntax: with the 1-based ``line``.
        errors.ProgramUnsupported: a construct that cannot be run here, with its line.
    """
    return _Reader(source).read()


class _Reader:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.num_qubits = -1
        self.num_clbits = 0
        self.line = 0
        self.qreg: QuantumRegister | None = None
        self.creg: ClassicalRegister | None = None
        self.definitions: dict[str, _Definition] = {}
        self.defining: _Definition | None = None
        # While a QGATE body is expanded: its formal names and their values.
        self.qubit_names: dict[str, int] = {}
        self.angle_names: dict[str, float] = {}
        self.emitted = 0

    def error(self, message: str) -> errors.ProgramSyntax:
        return errors.ProgramSyntax(f"line {self.line}: {message}", line=self.line)

    def unsupported(self, message: str) -> errors.ProgramUnsupported:
        return errors.ProgramUnsupported(f"line {self.line}: {message}", line=self.line)

    def read(self) -> QuantumCircuit:
        top: list[tuple[Instruction, list[int], list[int]]] = []
        stack: list[_Block] = []
        creg_seen = False
        for number, raw in enumerate(self.lines, start=1):
            self.line = number
            text = raw.split("//", 1)[0].strip()
            if not text:
                continue
            if self.defining is not None:
                self._define(text)
                continue
            if self.qreg is None:
                # QINIT and CREG head the program, in either order (as pyqpanda3 reads them).
                match = _HEADER.match(text)
                if match and match[1] == "QINIT" and self.num_qubits < 0:
                    self.num_qubits = int(match[2])
                    continue
                if match and match[1] == "CREG" and not creg_seen:
                    self.num_clbits, creg_seen = int(match[2]), True
                    continue
                if self.num_qubits < 0:
                    raise self.error("an OriginIR program starts with 'QINIT <number of qubits>'")
                self._make_registers()
            self._statement(text, stack, top)
        if self.num_qubits < 0:
            raise errors.ProgramSyntax("the program is empty; start it with 'QINIT <qubits>'")
        if self.defining is not None:
            self.line = self.defining.line
            raise self.error(f"QGATE {self.defining.name} is never closed with ENDQGATE")
        if stack:
            block = stack[-1]
            self.line = block.line
            raise self.error(f"{block.kind} is never closed")
        if self.qreg is None:
            self._make_registers()
        assert self.qreg is not None and self.creg is not None
        circuit = QuantumCircuit(self.qreg, self.creg)
        for op, qubits, clbits in top:
            circuit.append(
                op, [circuit.qubits[i] for i in qubits], [circuit.clbits[i] for i in clbits]
            )
        return circuit

    def _make_registers(self) -> None:
        self.qreg = QuantumRegister(self.num_qubits, "q")
        self.creg = ClassicalRegister(self.num_clbits, "c")

    def _statement(
        self,
        text: str,
        stack: list[_Block],
        top: list[tuple[Instruction, list[int], list[int]]],
    ) -> None:
        head, _, rest = text.replace("\t", " ").partition(" ")
        keyword = head.upper()
        rest = rest.strip()
        out = stack[-1].target if stack else top
        quantum_block = any(b.kind in ("DAGGER", "CONTROL") for b in stack)
        controlled = any(b.kind == "CONTROL" for b in stack)
        if head in self.definitions:
            out.extend(self._call(head, rest, stack))
        elif keyword == "QGATE":
            self._open_definition(text)
        elif keyword == "DAGGER":
            stack.append(_Block("DAGGER", self.line))
        elif keyword == "CONTROL":
            controls = [self._qubit(t) for t in self._split(rest)]
            if not controls:
                raise self.error("CONTROL needs at least one control qubit")
            stack.append(_Block("CONTROL", self.line, controls=controls))
        elif keyword in ("QIF", "QWHILE"):
            if quantum_block:
                raise self.unsupported(f"{keyword} inside a DAGGER or CONTROL block")
            stack.append(_Block(keyword, self.line, condition=self._condition(rest)))
        elif keyword == "QELSE":
            if not stack or stack[-1].kind != "QIF" or stack[-1].other is not None:
                raise self.error("QELSE without an open QIF")
            stack[-1].other = []
        elif keyword in ("ENDDAGGER", "ENDCONTROL", "QENDIF", "QENDWHILE"):
            self._close(keyword, stack, top)
        elif keyword == "MEASURE":
            if quantum_block:
                raise self.unsupported("MEASURE inside a DAGGER or CONTROL block")
            out.extend(self._measure(rest))
        elif keyword == "RESET":
            # Under DAGGER a reset stays a reset, as in pyqpanda3; a controlled
            # reset has no meaning there either.
            if controlled:
                raise self.unsupported("RESET inside a CONTROL block")
            for qubit in self._targets(rest):
                out.append((lib.Reset(), [qubit], []))
        elif keyword == "BARRIER":
            qubits = list(dict.fromkeys(self._targets(rest)))
            out.append((lib.Barrier(len(qubits)), qubits, []))
        elif keyword in GATES:
            out.extend(self._gate(keyword, rest, stack))
        elif keyword in ("QINIT", "CREG"):
            raise self.error(f"{keyword} must come first (QINIT, then CREG)")
        else:
            raise self.unsupported(f"{head!r} is not an OriginIR statement this centre reads")

    def _close(
        self,
        keyword: str,
        stack: list[_Block],
        top: list[tuple[Instruction, list[int], list[int]]],
    ) -> None:
        opener = {
            "ENDDAGGER": "DAGGER",
            "ENDCONTROL": "CONTROL",
            "QENDIF": "QIF",
            "QENDWHILE": "QWHILE",
        }[keyword]
        if not stack or stack[-1].kind != opener:
            raise self.error(f"{keyword} without an open {opener}")
        block = stack.pop()
        out = stack[-1].target if stack else top
        if opener == "DAGGER":
            out.extend(
                (op if isinstance(op, lib.Reset) else op.inverse(), q, c)
                for op, q, c in reversed(block.body)
            )
        elif opener == "CONTROL":
            out.extend(block.body)
        else:
            assert self.qreg is not None and self.creg is not None
            true_body = self._circuit(block.body)
            qubits = list(range(self.num_qubits))
            clbits = list(range(self.num_clbits))
            op: Instruction
            if opener == "QIF":
                false_body = self._circuit(block.other) if block.other is not None else None
                op = IfElseOp(block.condition, true_body, false_body)
            else:
                op = WhileLoopOp(block.condition, true_body)
            out.append((op, qubits, clbits))

    def _circuit(self, body: list[tuple[Instruction, list[int], list[int]]]) -> QuantumCircuit:
        assert self.qreg is not None and self.creg is not None
        circuit = QuantumCircuit(self.qreg, self.creg)
        for op, qubits, clbits in body:
            circuit.append(
                op, [circuit.qubits[i] for i in qubits], [circuit.clbits[i] for i in clbits]
            )
        return circuit

    def _gate(
        self, name: str, rest: str, stack: list[_Block]
    ) -> list[tuple[Instruction, list[int], list[int]]]:
        arity, num_params, factory = GATES[name]
        operands, params = self._operands_and_params(rest)
        counts = num_params if isinstance(num_params, tuple) else (num_params,)
        if len(params) not in counts:
            wanted = " or ".join(str(n) for n in counts)
            raise self.error(f"{name} takes {wanted} angle(s), got {len(params)}")
        controls = [q for block in stack if block.kind == "CONTROL" for q in block.controls]
        gate = factory(*params)
        if controls and name == "CU":
            # Qiskit's CUGate.control() keeps its phase in a base gate whose
            # inverse drops it, which DAGGER would expose; a controlled U4 has
            # the same matrix and inverts exactly.
            gate = u4(*params).control(len(controls) + 1, annotated=False)
        elif controls:
            gate = gate.control(len(controls), annotated=False)
        if arity == 1 and operands == ["q"]:
            targets = [[q] for q in range(self.num_qubits)]
        else:
            if len(operands) != arity:
                raise self.error(f"{name} acts on {arity} qubit(s), got {len(operands)}")
            targets = [[self._qubit(t) for t in operands]]
        if not self.qubit_names:  # a QGATE call counts its gates up front
            self._count(len(targets))
        out: list[tuple[Instruction, list[int], list[int]]] = []
        for qubits in targets:
            everything = controls + qubits
            if len(set(everything)) != len(everything):
                raise self.error(f"{name}: a qubit appears twice among controls and targets")
            out.append((gate, everything, []))
        return out

    def _operands_and_params(self, rest: str) -> tuple[list[str], list[float]]:
        params: list[float] = []
        paren = rest.find("(")
        if paren >= 0:
            if not rest.endswith(")"):
                raise self.error("angles go in parentheses at the end: 'RX q[0],(1.5)'")
            params = [Angle(p, self).value() for p in split_top(rest[paren + 1 : -1])]
            rest = rest[:paren].rstrip().rstrip(",")
        return self._split(rest), params

    def _split(self, text: str) -> list[str]:
        return [t.strip() for t in text.split(",") if t.strip()]

    def _qubit(self, token: str) -> int:
        if token.strip() in self.qubit_names:
            return self.qubit_names[token.strip()]
        match = _QUBIT.match(token.strip())
        if not match:
            if token.strip().startswith("q[") and "c[" in token:
                raise self.unsupported(f"qubit index {token!r} computed from classical bits")
            raise self.error(f"expected a qubit like q[0], got {token!r}")
        index = int(match[1])
        if index >= self.num_qubits:
            raise self.error(f"q[{index}] is out of range; QINIT declared {self.num_qubits}")
        return index

    def clbit(self, token: str) -> int:
        match = _CLBIT.match(token.strip())
        if not match:
            raise self.error(f"expected a classical bit like c[0], got {token!r}")
        index = int(match[1])
        if index >= self.num_clbits:
            raise self.error(f"c[{index}] is out of range; CREG declared {self.num_clbits}")
        return index

    def _targets(self, rest: str) -> list[int]:
        tokens = self._split(rest)
        if tokens == ["q"]:
            return list(range(self.num_qubits))
        if not tokens:
            raise self.error("name the qubits, like q[0],q[1] or q")
        return [self._qubit(t) for t in tokens]

    def _measure(self, rest: str) -> list[tuple[Instruction, list[int], list[int]]]:
        tokens = self._split(rest)
        if tokens == ["q", "c"]:
            if self.num_clbits < self.num_qubits:
                raise self.error("MEASURE q,c needs at least as many classical bits as qubits")
            return [(lib.Measure(), [i], [i]) for i in range(self.num_qubits)]
        if len(tokens) != 2:
            raise self.error("MEASURE takes a qubit and a classical bit: MEASURE q[0],c[0]")
        return [(lib.Measure(), [self._qubit(tokens[0])], [self.clbit(tokens[1])])]

    def _condition(self, text: str) -> object:
        """A condition on measured bits: c[i], !c[i], c[i]==k, joined by && and ||.

        A comma-separated list (``QIF c[0],c[1]``, as pyqpanda3 writes
        ``qif([0, 1])``) holds when every listed condition holds.
        """
        assert self.creg is not None
        clbits = list(self.creg)
        parts = [Condition(part, self, clbits).parse() for part in split_top(text)]
        value = parts[0]
        for part in parts[1:]:
            value = expr.logic_and(value, part)
        return value

    def _count(self, gates: int) -> None:
        self.emitted += gates
        if self.emitted > MAX_EXPANDED_GATES:
            raise errors.ProgramLimit(
                f"line {self.line}: the program expands to more than {MAX_EXPANDED_GATES} "
                "gates; define fewer nested QGATE calls",
                line=self.line,
                max_operations=MAX_EXPANDED_GATES,
            )

    def _open_definition(self, text: str) -> None:
        match = _QGATE.match(text)
        if not match:
            raise self.error("write a gate definition as 'QGATE name a,b,(theta,phi)'")
        name = match[1]
        if name.upper() in GATES or name.upper() in KEYWORDS or name in self.definitions:
            raise self.error(f"QGATE {name}: the name is already taken")
        qubits = self._split(match[2])
        angles = self._split(match[3] or "")
        names = qubits + angles
        if not qubits or not all(_NAME.match(n) for n in names) or len(set(names)) != len(names):
            raise self.error(f"QGATE {name}: name its qubits and angles once each, like a,b,(t)")
        if {"q", "c"} & set(names):
            raise self.error(f"QGATE {name}: q and c name the registers; call its qubits a,b,...")
        self.defining = _Definition(name, self.line, qubits, angles)

    def _define(self, text: str) -> None:
        assert self.defining is not None
        if text.upper() == "ENDQGATE":
            if not self.defining.body:
                raise self.error(f"QGATE {self.defining.name} has no gates")
            for _line, body in self.defining.body:
                callee = self.definitions.get(body.split()[0])
                self.defining.size += callee.size if callee else 1
            if self.defining.size > MAX_EXPANDED_GATES:
                self.line = self.defining.line
                self._count(self.defining.size)
            self.definitions[self.defining.name] = self.defining
            self.defining = None
        elif text.split()[0].upper() == "QGATE":
            raise self.unsupported("a QGATE inside another QGATE")
        else:
            self.defining.body.append((self.line, text))

    def _call(
        self, name: str, rest: str, stack: list[_Block]
    ) -> list[tuple[Instruction, list[int], list[int]]]:
        definition = self.definitions[name]
        operands, params = self._operands_and_params(rest)
        if len(operands) != len(definition.qubits) or len(params) != len(definition.angles):
            raise self.error(
                f"{name} takes {len(definition.qubits)} qubit(s) and "
                f"{len(definition.angles)} angle(s), got {len(operands)} and {len(params)}"
            )
        qubits = [self._qubit(t) for t in operands]
        if len(set(qubits)) != len(qubits):
            raise self.error(f"{name}: a qubit appears twice")
        if not self.qubit_names:
            self._count(definition.size)
        saved = (self.qubit_names, self.angle_names, self.line)
        self.qubit_names = dict(zip(definition.qubits, qubits, strict=True))
        self.angle_names = dict(zip(definition.angles, params, strict=True))
        out: list[tuple[Instruction, list[int], list[int]]] = []
        try:
            for line, text in definition.body:
                self.line = line
                head, _, body_rest = text.replace("\t", " ").partition(" ")
                if head in self.definitions:
                    out.extend(self._call(head, body_rest.strip(), stack))
                elif head.upper() in GATES:
                    out.extend(self._gate(head.upper(), body_rest.strip(), stack))
                else:
                    raise self.unsupported(
                        f"{head!r} in QGATE {name}; a gate definition holds only gates"
                    )
        finally:
            self.qubit_names, self.angle_names, self.line = saved
        return out

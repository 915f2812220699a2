"""OpenQASM 2 through Qiskit's native parser, with a lighter circuit builder.

Qiskit's parser reads the text in compiled code and yields a stream of
operations (its "bytecode"); its Python half then builds one gate object per
operation, which for a batch of small circuits costs more than simulating them
(about 0.4 ms of the 0.6 ms it takes to read a 176-gate program). Programs
made of the common subset (registers, ``qelib1.inc``'s standard gates,
measurements, barriers and resets) are built here from the same stream,
appending each standard gate to the circuit's compiled core without a Python
gate object (0.15 ms for the same program).
Anything else in the stream (gate definitions, ``opaque``, ``if``) goes to
Qiskit's own builder, so the circuit is always the one ``qiskit.qasm2.loads``
gives, and errors are Qiskit's, raised by the same compiled parser.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from qiskit import QuantumCircuit, qasm2
from qiskit.circuit import CircuitInstruction, ClassicalRegister, QuantumRegister
from qiskit.circuit.library import Barrier, Measure, Reset, get_standard_gate_name_mapping

from qharbor import errors
from qharbor.engines import gatelist

try:  # Qiskit's parser internals; without them every program takes ``qasm2.loads``.
    from qiskit._accelerate import qasm2 as _native
    from qiskit.qasm2 import parse as _qiskit_builder
except ImportError:  # pragma: no cover - a Qiskit that moved them
    _native = None
    _qiskit_builder = None

# Qiskit reports positions as "<input>:LINE,COLUMN: message".
_POSITION = re.compile(r"^(?:[^:]*):(\d+),(\d+):\s*(.*)$", re.DOTALL)

_CUSTOM = tuple(qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


def parse(source: str) -> QuantumCircuit:
    """Parse OpenQASM 2 text.

    Includes are limited to the built-in ``qelib1.inc``: the include path is empty,
    so a program can never read a file of the centre's.

    Raises:
        errors.ProgramSyntax: with ``line`` and ``column`` (1-based line, 0-based column).
    """
    return parse_with_gates(source)[0]


def parse_with_gates(source: str) -> tuple[QuantumCircuit, gatelist.GateList | None]:
    """Parse OpenQASM 2 text; the circuit, and its gate list when it is plain.

    The gate list (:mod:`qharbor.engines.gatelist`) is written from the same
    operation stream as the circuit; a program with gate definitions, ``opaque``,
    ``if``, resets or non-standard gates has none.

    Raises:
        errors.ProgramSyntax: as for :func:`parse`.
    """
    try:
        if _native is None:  # pragma: no cover
            circuit = qasm2.loads(
                source, include_path=(), custom_instructions=_CUSTOM, strict=False
            )
            return circuit, None
        operations = list(
            _native.bytecode_from_string(
                source, [], _NATIVE_CUSTOM, tuple(qasm2.LEGACY_CUSTOM_CLASSICAL), False
            )
        )
        return _build(operations)
    except qasm2.QASM2ParseError as exc:
        raise _syntax_error(str(exc)) from None
    except qasm2.QASM2Error as exc:  # pragma: no cover - other parser errors
        raise errors.ProgramUnsupported(f"OpenQASM 2: {exc}") from None


def _native_custom() -> list[Any]:
    if _native is None:  # pragma: no cover
        return []
    return [
        _native.CustomInstruction(c.name, c.num_params, c.num_qubits, c.builtin) for c in _CUSTOM
    ]


_NATIVE_CUSTOM = _native_custom()
#: Qiskit's standard gate classes: built from their standard-gate tag, nothing else.
_STANDARD_CLASSES = frozenset(g.base_class for g in get_standard_gate_name_mapping().values())


#: The gate-list name of each standard gate class.
_GATE_NAMES = {gate.base_class: name for name, gate in gatelist.STANDARD.items()}


def _standard_of(constructor: Any) -> tuple[Any, Any, str | None]:
    """A constructor, its standard-gate tag and gate-list name (both None unless it is
    exactly a standard gate class)."""
    if constructor in _STANDARD_CLASSES:
        tag = getattr(constructor, "_standard_gate", None)
        if tag is not None:
            return constructor, tag, _GATE_NAMES.get(constructor)
    return constructor, None, None


def _gate_table() -> list[tuple[Any, Any, str | None]]:
    """The parser's gate numbering before any include, as Qiskit's builder starts it:
    each gate's constructor, standard-gate tag and gate-list name (None for other gates)."""
    constructors = [c.constructor for c in _CUSTOM]
    names = {c.name for c in _CUSTOM}
    if "U" not in names:
        constructors.append(_qiskit_builder.lib.UGate)
    if "CX" not in names:
        constructors.append(_qiskit_builder.lib.CXGate)
    return [_standard_of(c) for c in constructors]


#: Made once: each parse copies it and adds what its include brings.
_GATES = _gate_table() if _qiskit_builder is not None else []
#: ``qelib1.inc``'s gates by the index the parser's include operation gives.
_QELIB1 = [_standard_of(c) for c in _qiskit_builder.QELIB1] if _qiskit_builder is not None else []


def _build(operations: Sequence[Any]) -> tuple[QuantumCircuit, gatelist.GateList | None]:
    """The circuit of the parser's operation stream, and its gate list if it is plain;
    Qiskit's builder (and no gate list) for what is not plain."""
    codes = _qiskit_builder.OpCode
    # The opcodes are not hashable: a list, compared by equality.
    plain = [
        codes.Gate,
        codes.Measure,
        codes.Barrier,
        codes.Reset,
        codes.DeclareQreg,
        codes.DeclareCreg,
        codes.SpecialInclude,
    ]
    if any(op.opcode not in plain for op in operations):
        return _qiskit_builder.from_bytecode(iter(operations), _CUSTOM), None
    circuit = QuantumCircuit()
    gates: gatelist.Builder | None = gatelist.Builder()
    append = circuit._data.append
    qubits: list[Any] = []
    clbits: list[Any] = []
    table = list(_GATES)
    for op in operations:
        opcode = op.opcode
        if opcode == codes.Gate:
            gate_id, parameters, op_qubits = op.operands
            targets = tuple(qubits[q] for q in op_qubits)
            constructor, tag, name = table[gate_id]
            if tag is not None:
                append(CircuitInstruction.from_standard(tag, targets, list(parameters)))
            else:
                circuit._append(CircuitInstruction(constructor(*parameters), targets))
            if gates is not None:
                if name is None:
                    gates = None
                else:
                    gates.gate(name, op_qubits, parameters)
        elif opcode == codes.Measure:
            qubit, clbit = op.operands
            append(CircuitInstruction(Measure(), (qubits[qubit],), (clbits[clbit],)))
            if gates is not None:
                gates.measure(qubit, clbit)
        elif opcode == codes.Barrier:
            targets = tuple(qubits[q] for q in op.operands[0])
            append(CircuitInstruction(Barrier(len(targets)), targets))
            if gates is not None:
                gates.barrier(op.operands[0])
        elif opcode == codes.Reset:
            append(CircuitInstruction(Reset(), (qubits[op.operands[0]],)))
            gates = None
        elif opcode == codes.DeclareQreg:
            name, size = op.operands
            register: QuantumRegister | ClassicalRegister = QuantumRegister(size, name)
            qubits += register[:]
            circuit.add_register(register)
            if gates is not None:
                gates.qregs.append((name, size))
        elif opcode == codes.DeclareCreg:
            name, size = op.operands
            register = ClassicalRegister(size, name)
            clbits += register[:]
            circuit.add_register(register)
            if gates is not None:
                gates.cregs.append((name, size))
        else:  # SpecialInclude: qelib1's gates, numbered after those known so far
            table += [_QELIB1[index] for index in op.operands[0]]
    return circuit, gates.build() if gates is not None else None


def _syntax_error(text: str) -> errors.ProgramSyntax:
    text = text.strip().strip("\"'")
    match = _POSITION.match(text)
    if not match:
        return errors.ProgramSyntax(f"OpenQASM 2 syntax error: {text}")
    line, column, message = int(match[1]), int(match[2]), match[3].strip()
    if "include" in message or "could not find" in message.lower():
        return errors.ProgramSyntax(
            f"line {line}, column {column}: {message}; only 'qelib1.inc' may be included",
            line=line,
            column=column,
        )
    return errors.ProgramSyntax(
        f"line {line}, column {column}: {message}", line=line, column=column
    )

"""OpenQASM 2 through Qiskit's native parser, with a lighter circuit builder.

Qiskit's parser reads the text in compiled code and yields a stream of
operations (its "bytecode"); its Python half then builds one gate object per
operation, which for a batch of small circuits costs more than simulating them
(about 0.4 ms of the 0.6 ms it takes to read a 176-gate program). Programs
made of the common subset (registers, ``qelib1.inc``'s standard gates,
measurements and barriers) are read from the same stream into a gate list
(:mod:`qharbor.engines.gatelist`), with no circuit at all; those with resets or
``qelib1.inc``'s other gates are built here, appending each standard gate to
the circuit's compiled core without a Python gate object (0.15 ms for the same
program).
Anything else in the stream (gate definitions, ``opaque``, ``if``) goes to
Qiskit's own builder, so the circuit is always the one ``qiskit.qasm2.loads``
gives, and errors are Qiskit's, raised by the same compiled parser.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
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
    with _refusals():
        if _native is None:  # pragma: no cover
            return qasm2.loads(source, include_path=(), custom_instructions=_CUSTOM, strict=False)
        return _build(_stream(source))


def parse_plain(source: str) -> QuantumCircuit | gatelist.GateList:
    """Parse OpenQASM 2 text; a plain program as its gate list, any other as its circuit.

    The gate list (:mod:`qharbor.engines.gatelist`) is written from the parser's
    operation stream without building a circuit; its ``to_circuit`` is the circuit
    :func:`parse` gives. A program with gate definitions, ``opaque``, ``if``,
    resets or gates outside Qiskit's standard set is read as a circuit.

    Raises:
        errors.ProgramSyntax: as for :func:`parse`.
    """
    with _refusals():
        if _native is None:  # pragma: no cover
            return qasm2.loads(source, include_path=(), custom_instructions=_CUSTOM, strict=False)
        operations = _stream(source)
        return _gate_list(operations) or _build(operations)


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """Qiskit's parse errors as the centre's, with line and column."""
    try:
        yield
    except qasm2.QASM2ParseError as exc:
        raise _syntax_error(str(exc)) from None
    except qasm2.QASM2Error as exc:  # pragma: no cover - other parser errors
        raise errors.ProgramUnsupported(f"OpenQASM 2: {exc}") from None


def _stream(source: str) -> list[Any]:
    """The parser's operation stream of ``source``, from Qiskit's compiled parser."""
    return list(
        _native.bytecode_from_string(
            source, [], _NATIVE_CUSTOM, tuple(qasm2.LEGACY_CUSTOM_CLASSICAL), False
        )
    )


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


def _gate_list(operations: Sequence[Any]) -> gatelist.GateList | None:
    """The gate list of the parser's operation stream, or None if it is not plain."""
    codes = _qiskit_builder.OpCode
    gate, measure, barrier = codes.Gate, codes.Measure, codes.Barrier
    qreg, creg, include = codes.DeclareQreg, codes.DeclareCreg, codes.SpecialInclude
    out = gatelist.Builder()
    table = list(_GATES)
    for op in operations:
        opcode = op.opcode
        if opcode == gate:
            gate_id, parameters, op_qubits = op.operands
            name = table[gate_id][2]
            if name is None:
                return None
            out.gate(name, op_qubits, parameters)
        elif opcode == measure:
            out.measure(*op.operands)
        elif opcode == barrier:
            out.barrier(op.operands[0])
        elif opcode == qreg:
            out.qregs.append(tuple(op.operands))
        elif opcode == creg:
            out.cregs.append(tuple(op.operands))
        elif opcode == include:  # qelib1's gates, numbered after those known so far
            table += [_QELIB1[index] for index in op.operands[0]]
        else:  # gate definitions, opaque, if, reset
            return None
    return out.build()


def _build(operations: Sequence[Any]) -> QuantumCircuit:
    """The circuit of the parser's operation stream; Qiskit's builder for what is not plain."""
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
        return _qiskit_builder.from_bytecode(iter(operations), _CUSTOM)
    circuit = QuantumCircuit()
    append = circuit._data.append
    qubits: list[Any] = []
    clbits: list[Any] = []
    table = list(_GATES)
    for op in operations:
        opcode = op.opcode
        if opcode == codes.Gate:
            gate_id, parameters, op_qubits = op.operands
            targets = tuple(qubits[q] for q in op_qubits)
            constructor, tag, _name = table[gate_id]
            if tag is not None:
                append(CircuitInstruction.from_standard(tag, targets, list(parameters)))
            else:
                circuit._append(CircuitInstruction(constructor(*parameters), targets))
        elif opcode == codes.Measure:
            qubit, clbit = op.operands
            append(CircuitInstruction(Measure(), (qubits[qubit],), (clbits[clbit],)))
        elif opcode == codes.Barrier:
            targets = tuple(qubits[q] for q in op.operands[0])
            append(CircuitInstruction(Barrier(len(targets)), targets))
        elif opcode == codes.Reset:
            append(CircuitInstruction(Reset(), (qubits[op.operands[0]],)))
        elif opcode == codes.DeclareQreg:
            name, size = op.operands
            register: QuantumRegister | ClassicalRegister = QuantumRegister(size, name)
            qubits += register[:]
            circuit.add_register(register)
        elif opcode == codes.DeclareCreg:
            name, size = op.operands
            register = ClassicalRegister(size, name)
            clbits += register[:]
            circuit.add_register(register)
        else:  # SpecialInclude: qelib1's gates, numbered after those known so far
            table += [_QELIB1[index] for index in op.operands[0]]
    return circuit


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

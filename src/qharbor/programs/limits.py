"""Input limits for programs from strangers.

Two layers guard the centre. Cheap checks on the raw text (:func:`check_text`)
answer most hostile programs at once: size, UTF-8, bracket nesting, declared
qubits, constant-true ``while`` loops, ``for`` ranges and includes. Checks on
the parsed circuit (:func:`check_circuit`) then bound what the text could not
show: operations after loops and gate definitions are expanded, nesting of gate
definitions, and non-finite angles. Parsing itself runs in a sandboxed process
(:mod:`qharbor.programs.sandbox`) with a time and memory limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp, ForLoopOp, Gate, ParameterExpression
from qiskit.circuit.library import get_standard_gate_name_mapping

from qharbor import errors
from qharbor.engines.gatelist import GateList

_STANDARD = frozenset(get_standard_gate_name_mapping())
# +1 for each opening bracket, -1 for each closing one, by byte value.
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"([{")] = 1
_STEP[list(b")]}")] = -1

#: The only files a program may include: the standard gate libraries, served built in.
STANDARD_INCLUDES = frozenset({"qelib1.inc", "stdgates.inc"})


@dataclass(frozen=True)
class Limits:
    """What one program may ask of the centre.

    Attributes:
        max_bytes: program text size, in bytes (UTF-8).
        max_nesting: depth of nested brackets, braces and blocks.
        max_qubits: qubits one program may declare, all registers together.
        max_clbits: classical bits one program may declare, all registers together.
        max_loop_iterations: iterations of one ``for`` loop, and of nested
            ``for`` loops multiplied together.
        max_while_iterations: a ``while`` loop runs at most this many times;
            nested loops multiplied also count against ``max_loop_iterations``.
        max_operations: operations once loops and gate definitions are
            expanded.
        max_definition_depth: gate definitions nested inside one another.
        max_definitions: gate definitions in one program.
        max_gate_calls: calls of gates the program defines, each definition's
            own calls included.
        max_blocks: control-flow blocks (``if``, ``else``, loop bodies), with
            each ``while`` loop counted as unrolled.
        max_controls: control qubits one ``ctrl``/``negctrl`` modifier may add.
        max_token_chars: characters in one OpenQASM 3 name or number; its
            reference lexer is slow on long tokens.
        max_pow_qubits: qubits a gate under ``pow`` may act on; its power is
            computed as a dense matrix, 4^n numbers for n qubits.
    """

    max_bytes: int = 2 * 1024 * 1024
    max_nesting: int = 64
    max_qubits: int = 1024
    max_loop_iterations: int = 100_000
    max_while_iterations: int = 64
    max_operations: int = 1_000_000
    max_definition_depth: int = 8
    max_clbits: int = 4096
    max_blocks: int = 2048
    max_gate_calls: int = 1000
    max_definitions: int = 4096
    max_controls: int = 32
    max_pow_qubits: int = 4
    max_token_chars: int = 1024


DEFAULT_LIMITS = Limits()

_QASM2 = re.compile(r"^(?:\s|//[^\n]*\n)*OPENQASM\s+2\b")
# These start with their word, not ``\\b``: a leading ``\\b`` stops the regular
# expression engine from scanning for the literal word, and a search over a
# 6 kB program then takes 0.2 ms instead of 3 µs. ``_at_word_start`` filters.
_INCLUDE = re.compile(r'include\s+"([^"\n]*)"')
_QREG = re.compile(r"qreg\s+\w+\s*\[\s*(\d+)\s*\]")
_QUBIT = re.compile(r"qubit\s*\[\s*(\d+)\s*\]")
_QINIT = re.compile(r"^\s*QINIT\s+(\d+)", re.MULTILINE)
_CREG = re.compile(r"creg\s+\w+\s*\[\s*(\d+)\s*\]")
_BIT = re.compile(r"bit\s*\[\s*(\d+)\s*\]")
_WORD_CHARACTER = re.compile(r"\w")
_CREG_ORIGINIR = re.compile(r"^\s*CREG\s+(\d+)", re.MULTILINE)
# Statements that open a control-flow block, in each format; the words first, as
# a cheap upper bound that spares most programs the patterns.
_BLOCK_WORDS = ("if", "else", "while", "for", "case", "QIF", "QELSE", "QWHILE")
_BLOCK_OPENERS = (
    re.compile(r"\b(?:if|while)\s*\("),
    re.compile(r"\belse\b"),
    re.compile(r"\bfor\s"),
    re.compile(r"\bcase\s"),
    re.compile(r"^[ \t]*(?:QIF|QELSE|QWHILE)\b", re.MULTILINE | re.IGNORECASE),
)
# OriginIR's keyword blocks, which brackets do not show.
_ORIGINIR_BLOCK = re.compile(
    r"^[ \t]*(?:(QIF|QWHILE|DAGGER|CONTROL)|(QENDIF|QENDWHILE|ENDDAGGER|ENDCONTROL))\b",
    re.MULTILINE | re.IGNORECASE,
)
_ORIGINIR_CONDITION = re.compile(r"^[ \t]*(?:QIF|QWHILE)\b([^\n]*)", re.MULTILINE | re.IGNORECASE)
_WHILE_TRUE = re.compile(r"\bwhile\s*\(\s*(?:true|1|!\s*false)\s*\)")
_FOR_RANGE = re.compile(
    r"\bfor\s+[\w\[\]\s]*?\bin\s*\[\s*(-?\d+)\s*:\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?\]\s*\{?"
)


def line_of(source: str, offset: int) -> int:
    """The 1-based line number of a character offset."""
    return source.count("\n", 0, offset) + 1


def decode(body: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """Program bytes as text, refusing oversized and non-UTF-8 input.

    Raises:
        errors.ProgramLimit: the program is larger than ``limits.max_bytes``.
        errors.ProgramSyntax: the bytes are not UTF-8.
    """
    if len(body) > limits.max_bytes:
        raise errors.ProgramLimit(
            f"program is {len(body)} bytes; the limit is {limits.max_bytes}",
            limit_bytes=limits.max_bytes,
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.ProgramSyntax(
            f"the program is not UTF-8 text (byte {exc.start}); send UTF-8", offset=exc.start
        ) from None


def check_size(source: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """The checks made before a program is handed to the sandbox: size and text.

    Constant work per byte at C speed, so the caller's process spends next to
    nothing on a hostile program; everything else runs in the sandbox.

    Raises:
        errors.ProgramLimit: the program is larger than ``limits.max_bytes``.
        errors.ProgramSyntax: the text is not valid Unicode, or holds a NUL.
    """
    try:
        size = len(source.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise errors.ProgramSyntax(
            f"the program is not valid Unicode text (character {exc.start}); send UTF-8",
            offset=exc.start,
        ) from None
    if size > limits.max_bytes:
        raise errors.ProgramLimit(
            f"program is {size} bytes; the limit is {limits.max_bytes}",
            limit_bytes=limits.max_bytes,
        )
    if "\x00" in source:
        raise errors.ProgramSyntax("the program contains a NUL character; send plain text")


def check_text(source: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Cheap checks on the program text, before a parser reads it (in the sandbox).

    Raises:
        errors.ProgramError: ``PROGRAM_LIMIT`` for sizes and bounds,
            ``PROGRAM_UNSUPPORTED`` for forbidden includes.
    """
    check_size(source, limits)
    _check_nesting(source, limits)
    _check_blocks(source, limits)
    for match in _at_word_start(_INCLUDE, source) if "include" in source else ():
        name = match[1]
        if name not in STANDARD_INCLUDES:
            line = line_of(source, match.start())
            # Each format keeps the code it has always given for a refused include.
            klass: type[errors.ProgramError] = (
                errors.ProgramSyntax if _QASM2.match(source) else errors.ProgramUnsupported
            )
            raise klass(
                f"line {line}: include {name!r} is not allowed; only the standard gate "
                f"libraries {sorted(STANDARD_INCLUDES)} may be included",
                line=line,
                include=name,
            )
    _check_declared(
        source,
        (("qreg", _QREG), ("qubit", _QUBIT), ("QINIT", _QINIT)),
        "qubits",
        limits.max_qubits,
    )
    _check_declared(
        source,
        (("creg", _CREG), ("bit", _BIT), ("CREG", _CREG_ORIGINIR)),
        "classical bits",
        limits.max_clbits,
    )
    forever = _WHILE_TRUE.search(source) if "while" in source else None
    if forever:
        line = line_of(source, forever.start())
        raise errors.ProgramLimit(
            f"line {line}: a 'while' loop whose condition is always true never ends; "
            "loop on a measured bit instead",
            line=line,
        )
    if "for" in source:
        _check_for_ranges(source, limits)
    if "gate" in source:
        _check_gate_definitions(source, limits)


def _at_word_start(pattern: re.Pattern[str], source: str) -> Iterator[re.Match[str]]:
    """The matches ``\\b`` before ``pattern`` would give: those that start a word.

    A match that does not start a word is skipped by one character only, so it
    cannot hide a match that starts inside it.
    """
    position = 0
    while (match := pattern.search(source, position)) is not None:
        start = match.start()
        if start == 0 or not _WORD_CHARACTER.match(source, start - 1):
            yield match
            position = match.end()
        else:
            position = start + 1


def _check_blocks(source: str, limits: Limits) -> None:
    """Refuse more control-flow blocks than the limit, and OriginIR blocks nested too deep.

    Each opener is at least one block once parsed (a ``while`` loop is many), so
    counting them in the text refuses a program of thousands of conditions
    before a parser builds them.
    """
    upper = source.upper()
    words = sum(upper.count(word.upper()) for word in _BLOCK_WORDS[:5])
    if words > limits.max_blocks:
        openers = sum(len(pattern.findall(source)) for pattern in _BLOCK_OPENERS)
        if openers > limits.max_blocks:
            raise errors.ProgramLimit(
                f"{openers} control-flow blocks (if, else, loops); the limit is "
                f"{limits.max_blocks}: use fewer conditions and loops",
                blocks=openers,
                max_blocks=limits.max_blocks,
            )
    if "QINIT" not in source[:4096].upper():
        return
    for match in _ORIGINIR_CONDITION.finditer(source):
        terms = match[1].count("&&") + match[1].count("||") + 1
        if terms > limits.max_nesting:
            line = line_of(source, match.start())
            raise errors.ProgramLimit(
                f"line {line}: a condition of {terms} terms; the limit is {limits.max_nesting}",
                line=line,
                terms=terms,
                max_terms=limits.max_nesting,
            )
    depth = 0
    for match in _ORIGINIR_BLOCK.finditer(source):
        depth += 1 if match[1] else -1
        if depth > limits.max_nesting:
            line = line_of(source, match.start())
            raise errors.ProgramLimit(
                f"line {line}: blocks nest more than {limits.max_nesting} deep; "
                "simplify the program",
                line=line,
                max_nesting=limits.max_nesting,
            )


def _check_declared(
    source: str, patterns: tuple[tuple[str, re.Pattern[str]], ...], what: str, limit: int
) -> None:
    """Refuse literal register sizes that, added up, pass ``limit``."""
    total = 0
    for word, pattern in patterns:
        if word not in source:
            continue
        for match in _at_word_start(pattern, source):
            count = int(match[1][:12])
            total += count
            if total > limit:
                line = line_of(source, match.start())
                key = "qubits" if what == "qubits" else "clbits"
                raise errors.ProgramLimit(
                    f"line {line}: {total} {what} declared so far; a program may declare at "
                    f"most {limit}: use smaller registers",
                    line=line,
                    **{key: total, f"max_{key}": limit},
                )


_GATE_NAME = re.compile(r"\bgate\s+(\w+)")


def _gate_definitions(source: str) -> Iterator[tuple[str, int, str, int]]:
    """``(name, start, body, end)`` of each ``gate name ... { body }`` without inner braces.

    One pass: the next ``{``, ``}`` and ``;`` are found once and reused while
    they lie ahead, so text full of ``gate`` words without bodies stays linear.
    """
    brace = close = semicolon = -1
    for match in _GATE_NAME.finditer(source):
        position = match.end()
        if brace != len(source) and brace < position:
            brace = _find(source, "{", position)
        if semicolon != len(source) and semicolon < position:
            semicolon = _find(source, ";", position)
        if brace == len(source):
            return  # no body can follow
        if semicolon < brace:
            continue
        if close != len(source) and close <= brace:
            close = _find(source, "}", brace)
        if close == len(source):
            continue
        body = source[brace + 1 : close]
        if "{" in body:
            continue
        yield match[1], match.start(), body, close + 1


def _find(source: str, char: str, start: int) -> int:
    found = source.find(char, start)
    return len(source) if found < 0 else found


_CALLEE = re.compile(r"^(?:\s*(?:ctrl|negctrl|inv|pow)\s*(?:\([^)]*\))?\s*@)*\s*(\w+)")


def _check_gate_definitions(source: str, limits: Limits) -> None:
    """Refuse gate definitions that expand, through one another, past the bounds.

    Each definition's size is the sum of the sizes of the gates its body calls,
    so a chain of definitions that each call the previous one twice is caught
    from the text, before a parser expands it. Calls of defined gates are
    counted the same way: the OpenQASM 3 importer builds each one afresh.
    """
    if source.count("gate") > limits.max_definitions:
        found = len(_GATE_NAME.findall(source))
        if found > limits.max_definitions:
            raise errors.ProgramLimit(
                f"{found} gate definitions; the limit is {limits.max_definitions}",
                definitions=found,
                max_definitions=limits.max_definitions,
            )
    sizes: dict[str, int] = {}
    depths: dict[str, int] = {}
    calls: dict[str, int] = {}
    outside: list[str] = []
    last = 0
    for name, start, body, end in _gate_definitions(source):
        outside.append(source[last:start])
        last = end
        size, depth, called = 0, 0, 0
        for statement in body.split(";"):
            callee = _CALLEE.match(statement)
            if not callee:
                continue
            size += sizes.get(callee[1], 1)
            depth = max(depth, depths.get(callee[1], 0))
            if callee[1] in calls:
                called += 1 + calls[callee[1]]
        sizes[name], depths[name], calls[name] = size, depth + 1, called
        line = line_of(source, start)
        if depth + 1 > limits.max_definition_depth:
            raise errors.ProgramLimit(
                f"line {line}: gate definitions nest more than {limits.max_definition_depth} deep",
                line=line,
                max_definition_depth=limits.max_definition_depth,
            )
        if size > limits.max_operations:
            raise errors.ProgramLimit(
                f"line {line}: gate {name!r} expands to {size} operations; the limit "
                f"is {limits.max_operations}",
                line=line,
                operations=size,
                max_operations=limits.max_operations,
            )
        _check_gate_calls(called, limits, line)
    if not calls:
        return
    outside.append(source[last:])
    total = 0
    for statement in ";".join(outside).split(";"):
        callee = _CALLEE.match(statement)
        if callee and callee[1] in calls:
            total += 1 + calls[callee[1]]
            if total > limits.max_gate_calls:
                _check_gate_calls(total, limits, None)


def _check_gate_calls(total: int, limits: Limits, line: int | None) -> None:
    if total > limits.max_gate_calls:
        where = f"line {line}: " if line is not None else ""
        raise errors.ProgramLimit(
            f"{where}the program calls defined gates {total} times once definitions are "
            f"expanded; the limit is {limits.max_gate_calls}: call standard gates directly, "
            "or define fewer levels",
            gate_calls=total,
            max_gate_calls=limits.max_gate_calls,
        )


def _check_nesting(source: str, limits: Limits) -> None:
    # Vectorised, so a 2 MiB program is checked in milliseconds: the depth at
    # each character is the running sum of opens minus closes, measured from
    # the lowest point before it (so stray closing brackets cannot hide depth).
    data = np.frombuffer(source.encode("utf-8"), dtype=np.uint8)
    step = _STEP[data]
    if not step.any():
        return
    level = np.cumsum(step, dtype=np.int32)
    depth = level - np.minimum(np.minimum.accumulate(level), 0)
    over = np.flatnonzero(depth > limits.max_nesting)
    if over.size:
        line = int(np.count_nonzero(data[: over[0]] == ord("\n"))) + 1
        raise errors.ProgramLimit(
            f"line {line}: brackets nest more than {limits.max_nesting} deep; "
            "simplify the expression",
            line=line,
            max_nesting=limits.max_nesting,
        )


def _check_for_ranges(source: str, limits: Limits) -> None:
    """Refuse ``for`` loops whose literal ranges, nested, exceed the iteration bound."""
    # (end offset of the loop body, iterations) for each enclosing loop.
    enclosing: list[tuple[int, int]] = []
    for match in _FOR_RANGE.finditer(source):
        start = match.start()
        enclosing = [(end, n) for end, n in enclosing if end > start]
        first, second, third = (int(g[:19]) if g else None for g in match.groups())
        assert first is not None and second is not None
        if third is None:
            iterations = abs(second - first) + 1
        else:
            step = second if second != 0 else 1
            iterations = abs(third - first) // abs(step) + 1
        total = iterations
        for _end, outer in enclosing:
            total *= outer
        if total > limits.max_loop_iterations:
            line = line_of(source, start)
            raise errors.ProgramLimit(
                f"line {line}: this 'for' loop runs {total} iterations (nested loops "
                f"multiplied); the limit is {limits.max_loop_iterations}",
                line=line,
                iterations=total,
                max_loop_iterations=limits.max_loop_iterations,
            )
        enclosing.append((_block_end(source, match.end()), iterations))


def _block_end(source: str, start: int) -> int:
    """The offset just past the brace block that opens at or after ``start``."""
    opening = source.find("{", start - 1)
    if opening < 0:
        return start
    depth = 0
    for index in range(opening, len(source)):
        if source[index] == "{":
            depth += 1
        elif source[index] == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return len(source)


def check_circuit(circuit: QuantumCircuit, limits: Limits = DEFAULT_LIMITS) -> None:
    """Bounds on the parsed circuit that the text alone could not show.

    Raises:
        errors.ProgramLimit: too many qubits, or too many operations once loops
            and gate definitions are expanded.
        errors.ProgramParameters: an angle is NaN or infinite.
    """
    _check_width(circuit.num_qubits, circuit.num_clbits, limits)
    count_operations(circuit, limits)


def _check_width(qubits: int, clbits: int, limits: Limits) -> None:
    if qubits > limits.max_qubits:
        raise errors.ProgramLimit(
            f"the program uses {qubits} qubits; the limit is {limits.max_qubits}",
            qubits=qubits,
            max_qubits=limits.max_qubits,
        )
    if clbits > limits.max_clbits:
        raise errors.ProgramLimit(
            f"the program uses {clbits} classical bits; the limit is {limits.max_clbits}",
            clbits=clbits,
            max_clbits=limits.max_clbits,
        )


def check_gates(gates: GateList, limits: Limits = DEFAULT_LIMITS) -> None:
    """:func:`check_circuit` of a plain program's gate list, without building its circuit.

    Every operation of a gate list counts once (standard gates have no definition
    to expand); only limits tighter than the standard gates' controls need the circuit.

    Raises:
        errors.ProgramLimit, errors.ProgramParameters: as :func:`check_circuit`.
    """
    if limits.max_controls < _STANDARD_MAX_CONTROLS:
        check_circuit(gates.to_circuit(), limits)
        return
    _check_width(gates.num_qubits, gates.num_clbits, limits)
    if not bool(np.isfinite(gates.params).all()):
        for name, _qubits, angles, _clbit in gates.operations():
            _check_values(name, angles)
    if len(gates.codes) > limits.max_operations:
        # As counting the circuit reports it: at the first operation past the limit.
        raise _too_many(limits.max_operations + 1, limits)


def count_operations(circuit: QuantumCircuit, limits: Limits = DEFAULT_LIMITS) -> int:
    """Operations in the circuit with loops and definitions expanded.

    Raises:
        errors.ProgramLimit: as soon as the count passes ``limits.max_operations``.
    """
    total = _OperationCounter(limits).count(circuit, 0)
    if total > limits.max_operations:
        raise _too_many(total, limits)
    return total


def _too_many(total: int, limits: Limits) -> errors.ProgramLimit:
    return errors.ProgramLimit(
        f"the program expands to more than {limits.max_operations} operations once loops "
        "and gate definitions are unrolled; make it smaller or split it",
        operations=total,
        max_operations=limits.max_operations,
    )


class _OperationCounter:
    """Counts operations with loops and definitions expanded, stopping past the limit."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._definitions: dict[tuple[Any, ...], int] = {}

    def count(self, circuit: QuantumCircuit, depth: int) -> int:
        if depth > self.limits.max_definition_depth:
            raise errors.ProgramLimit(
                f"gate definitions nest more than {self.limits.max_definition_depth} deep",
                max_definition_depth=self.limits.max_definition_depth,
            )
        total = 0
        # A standard gate has no definition to expand and at most 3 controls: only
        # its angles need a look, read without building the gate's Python object
        # (which for a small circuit costs more than parsing it).
        plain = self.limits.max_controls >= _STANDARD_MAX_CONTROLS
        for instruction in circuit.data:
            if plain and instruction.is_standard_gate():
                _check_values(instruction.name, instruction.params)
                total += 1
            else:
                total += self._one(instruction.operation, depth)
            if total > self.limits.max_operations:
                raise _too_many(total, self.limits)
        return total

    def _one(self, op: Any, depth: int) -> int:
        _check_params(op)
        controls = getattr(op, "num_ctrl_qubits", 0)
        if controls > self.limits.max_controls:
            raise errors.ProgramLimit(
                f"{op.name!r} has {controls} control qubits; the limit is "
                f"{self.limits.max_controls}",
                controls=controls,
                max_controls=self.limits.max_controls,
            )
        if isinstance(op, ControlFlowOp):
            inner = sum(self.count(block, depth + 1) for block in op.blocks)
            if isinstance(op, ForLoopOp):
                iterations = len(op.params[0])
                if iterations > self.limits.max_loop_iterations:
                    raise errors.ProgramLimit(
                        f"a 'for' loop runs {iterations} iterations; the limit is "
                        f"{self.limits.max_loop_iterations}",
                        iterations=iterations,
                        max_loop_iterations=self.limits.max_loop_iterations,
                    )
                return max(1, inner * iterations)
            return inner + 1
        if isinstance(op, Gate) and not _is_standard(op):
            definition = op.definition
            if definition is None:
                return 1
            key = (op.name, op.num_qubits, tuple(str(p) for p in op.params))
            if key not in self._definitions:
                self._definitions[key] = max(1, self.count(definition, depth + 1))
            return self._definitions[key]
        return 1


def _is_standard(op: Gate) -> bool:
    # Qiskit's standard gates carry their standard-gate tag; user definitions do not.
    return op.name in _STANDARD and getattr(op, "_standard_gate", None) is not None


#: The most control qubits of any of Qiskit's standard gates (``mcx``'s C3X, ``c3sx``).
_STANDARD_MAX_CONTROLS = 3


def _check_params(op: Any) -> None:
    _check_values(op.name, getattr(op, "params", ()))


def _check_values(name: str, params: Any) -> None:
    for param in params:
        if type(param) is float and math.isfinite(param):
            continue  # nearly every angle: a finite float needs no other look
        value: Any = param
        if isinstance(param, ParameterExpression):
            if param.parameters:
                continue
            value = complex(param)
        if isinstance(value, int | float | complex) and not _finite(value):
            raise errors.ProgramParameters(
                f"operation {name!r} has the angle {value}; angles must be finite numbers",
                operation=name,
            )


def _finite(value: complex | float) -> bool:
    if isinstance(value, complex):
        return math.isfinite(value.real) and math.isfinite(value.imag)
    return math.isfinite(value)

"""Detects a program's format, parses it within the limits, and binds its parameters."""

from __future__ import annotations

import copy
import dataclasses
import io
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qiskit import QuantumCircuit
from qiskit import qpy as qiskit_qpy
from qiskit.circuit import BoxOp, ControlFlowOp, IfElseOp, WhileLoopOp

from qharbor import errors
from qharbor.engines import gatelist
from qharbor.programs import braket, originir, qasm2, qasm3, qpy
from qharbor.programs.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_circuit,
    check_gates,
    check_size,
    check_text,
    count_operations,
)

Parser = Callable[[str], QuantumCircuit]


@dataclass(frozen=True)
class Format:
    """One accepted program format."""

    name: str
    title: str
    versions: tuple[str, ...]
    parse: Parser
    description: str


#: Accepted formats, by the name a request gives.
FORMATS: dict[str, Format] = {
    "qasm2": Format("qasm2", "OpenQASM 2", ("2.0",), qasm2.parse, "OpenQASM 2 with qelib1.inc."),
    "qasm3": Format(
        "qasm3",
        "OpenQASM 3",
        ("3.0", "3.1"),
        qasm3.parse,
        "OpenQASM 3 with stdgates.inc, including Amazon Braket's gate names, "
        "'#pragma braket result' result types and verbatim boxes.",
    ),
    "originir": Format(
        "originir",
        "OriginIR",
        ("QPanda 3",),
        originir.parse,
        "Origin Quantum's OriginIR text, as pyqpanda3 writes it.",
    ),
    "qpy": Format(
        "qpy",
        "QPY",
        tuple(str(v) for v in range(qpy.MIN_VERSION, qpy.MAX_VERSION + 1)),
        qpy.parse,
        "Qiskit's binary circuit format, base64-encoded; current versions only.",
    ),
}

_VERSION = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.MULTILINE)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_ORIGINIR = re.compile(r"^\s*(?://[^\n]*\n\s*)*QINIT\s+\d+", re.IGNORECASE)


class ParsedCircuit:
    """A program's circuit and what else its format said (verbatim, result types).

    ``gates`` is the gate list of a plain circuit (:func:`gatelist.of_circuit`).
    A plain OpenQASM 2 program is read into its gate list only; its ``circuit``
    is built from it when first asked for, which admission never does: the
    limits, the device checks and the stored form all read the gate list.
    """

    def __init__(
        self,
        format: str,
        circuit: QuantumCircuit | None = None,
        extras: dict[str, Any] | None = None,
        gates: gatelist.GateList | None = None,
    ) -> None:
        if circuit is None and gates is None:
            raise ValueError("a parsed circuit needs its circuit or its gate list")
        self.format = format
        self.extras = extras if extras is not None else {}
        self.gates = gates
        self._circuit = circuit

    @property
    def circuit(self) -> QuantumCircuit:
        if self._circuit is None:
            assert self.gates is not None
            self._circuit = self.gates.to_circuit()
        return self._circuit

    @property
    def checked(self) -> QuantumCircuit | gatelist.GateList:
        """What an admission check reads: the gate list of a plain program, else the circuit."""
        return self.gates if self.gates is not None else self.circuit

    @property
    def parameter_names(self) -> list[str]:
        return [] if self.gates is not None else [p.name for p in self.circuit.parameters]


@dataclass(frozen=True)
class Program:
    """One parsed program of a job.

    Attributes:
        format: the format it was read as (``qasm2``, ``qasm3``, ``originir``, ``qpy``).
        circuit: the parsed circuit, before compilation.
        bindings: one mapping of parameter name to value per run; empty when the
            circuit has no parameters.
        extras: ``verbatim`` (run without compilation) and ``result_types``
            (Braket result types to compute), when the program asked for them.
    """

    format: str
    circuit: QuantumCircuit
    bindings: tuple[Mapping[str, float], ...]
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.circuit.parameters]

    @property
    def num_experiments(self) -> int:
        return max(1, len(self.bindings))

    @property
    def verbatim(self) -> bool:
        return bool(self.extras.get("verbatim"))

    @property
    def result_types(self) -> list[dict[str, Any]]:
        return list(self.extras.get("result_types", ()))


def detect_format(source: str) -> str:
    """The format a program's first lines show; OpenQASM 3 when nothing else fits."""
    head = source[:4096]
    if head.lstrip().startswith(qpy.BASE64_PREFIX):
        return "qpy"
    if _ORIGINIR.match(head):
        return "originir"
    match = _VERSION.search(_COMMENTS.sub("", head))
    if match and match[1] == "2":
        return "qasm2"
    if match and match[1] not in ("2", "3"):
        raise errors.ProgramUnsupported(
            f"OPENQASM {match[1]} is not a version this centre reads; use 2.0 or 3.0",
            accepted=sorted(FORMATS),
        )
    return "qasm3"


def warm_up() -> None:
    """Import and exercise every parser once, so the first real parse is quick."""
    parse_circuit('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nh q[0];\n', "qasm2")
    parse_circuit('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nh q;\n', "qasm3")
    parse_circuit("QINIT 1\nCREG 1\nH q[0]\n", "originir")


#: Bytes of parsed programs (in their stored form) kept per process, for programs sent again
#: and again (a VQE loop's ansatz, a sweep resubmitted); keyed by the exact
#: text, format and limits. The bound is in bytes, so a few huge circuits cannot
#: fill the process.
PARSE_CACHE_BYTES = 32 * 1024 * 1024
#: Longer programs are not kept: their parse is a small part of their run.
PARSE_CACHE_MAX_BYTES = 64 * 1024


class _KeptParses:
    """A least-recently-used cache of parses, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self._items: OrderedDict[tuple[str, str, Limits], tuple[str, bytes, dict[str, Any]]]
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, Limits]) -> tuple[str, bytes, dict[str, Any]] | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
                self.hits += 1
            return item

    def put(self, key: tuple[str, str, Limits], item: tuple[str, bytes, dict[str, Any]]) -> None:
        size = len(key[0]) + len(item[1])
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self.bytes += size
            while self.bytes > self.max_bytes:
                old_key, old = self._items.popitem(last=False)
                self.bytes -= len(old_key[0]) + len(old[1])


_kept = _KeptParses(PARSE_CACHE_BYTES)


def parse_circuit(source: str, fmt: str = "auto", limits: Limits = DEFAULT_LIMITS) -> ParsedCircuit:
    """Parse one program in this process, within the limits.

    A program parsed before in this process (the same text, format and limits)
    is not parsed again: the caller gets a fresh circuit read from its kept
    stored form, so nothing it does to the circuit reaches the next caller.

    Raises:
        errors.ProgramError: a subclass saying what is wrong and where.
    """
    return _parse_keeping(source, fmt, limits)[0]


def _parse_keeping(source: str, fmt: str, limits: Limits) -> tuple[ParsedCircuit, bytes | None]:
    """The parse, and its stored form when it has one (kept, or just written for keeping)."""
    if len(source) > PARSE_CACHE_MAX_BYTES:
        return _parse_circuit(source, fmt, limits), None
    key = (source, fmt, limits)
    kept = _kept.get(key)
    if kept is not None:
        extras = copy.deepcopy(kept[2])
        if gatelist.is_gate_list(kept[1]):
            gates = gatelist.GateList.from_bytes(kept[1])
            return ParsedCircuit(kept[0], None, extras, gates), kept[1]
        return ParsedCircuit(kept[0], load_circuit(kept[1]), extras), kept[1]
    parsed = _parse_circuit(source, fmt, limits)
    try:
        stored = _stored_of(parsed, None)
    except Exception:  # a circuit QPY cannot hold is simply not kept
        return parsed, None
    _kept.put(key, (parsed.format, stored, copy.deepcopy(parsed.extras)))
    return parsed, stored


def _stored_of(parsed: ParsedCircuit, kept: bytes | None) -> bytes:
    """The circuit as a job stores it: its gate list when it has one, else QPY."""
    if kept is not None:
        return kept
    if parsed.gates is not None:
        return parsed.gates.to_bytes()
    buffer = io.BytesIO()
    qiskit_qpy.dump(parsed.circuit, buffer)
    return buffer.getvalue()


def _qpy_of(parsed: ParsedCircuit, kept: bytes | None) -> bytes:
    if kept is not None and not gatelist.is_gate_list(kept):
        return kept
    buffer = io.BytesIO()
    qiskit_qpy.dump(parsed.circuit, buffer)
    return buffer.getvalue()


def parse_with_qpy(
    source: str, fmt: str = "auto", limits: Limits = DEFAULT_LIMITS, *, max_bytes: int | None = None
) -> tuple[QuantumCircuit, bytes]:
    """Parse one program here, within the limits; its circuit and that circuit as QPY.

    Raises:
        errors.ProgramError: a subclass saying what is wrong and where.
    """
    parsed, kept = _parse_keeping(source, fmt, _with_max_bytes(limits, max_bytes))
    return parsed.circuit, _qpy_of(parsed, kept)


def parse_to_qpy(source: str, fmt: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse one program and return it as QPY; what a sandboxed parser runs."""
    from qharbor.programs.sandbox import Parsed

    parsed, kept = _parse_keeping(source, fmt, limits)
    return Parsed(parsed.format, _qpy_of(parsed, kept), parsed.extras)


def _parse_circuit(source: str, fmt: str, limits: Limits) -> ParsedCircuit:
    check_text(source, limits)
    if not source.strip():
        raise errors.ProgramSyntax("the program is empty")
    if fmt == "auto":
        fmt = detect_format(source)
    if fmt not in FORMATS:
        raise errors.ProgramUnsupported(
            f"unknown program format {fmt!r}; accepted: auto, {', '.join(sorted(FORMATS))}",
            accepted=sorted(FORMATS),
        )
    extras: dict[str, Any] = {}
    text = source
    if fmt == "qasm3" and braket.is_braket(source):
        text, extras = braket.preprocess(source)
    try:
        # OpenQASM 3 sizes and gate modifiers are bounded on the syntax tree,
        # before the converter allocates registers or synthesises gates.
        if fmt == "qasm3":
            circuit = qasm3.parse(text, limits)
        elif fmt == "qasm2":
            read = qasm2.parse_plain(text)
            if isinstance(read, gatelist.GateList):
                check_gates(read, limits)
                return ParsedCircuit(fmt, None, extras, read)
            circuit = read
        else:
            circuit = FORMATS[fmt].parse(text)
    except errors.QHarborError:
        raise
    except RecursionError:
        raise errors.ProgramLimit("the program nests too deeply to read") from None
    except Exception as exc:  # a parser's internal error must still be a clean refusal
        raise errors.ProgramSyntax(
            f"the {FORMATS[fmt].title} program could not be read ({type(exc).__name__}: "
            f"{str(exc)[:200]})"
        ) from None
    circuit = _bounded(circuit, limits)
    if fmt == "qasm3" and extras.get("result_types") and circuit.num_clbits == 0:
        # As on Braket's simulators, a program that only asks for result types
        # is still sampled: every qubit is measured at the end.
        circuit.measure_all()
    check_circuit(circuit, limits)
    # A plain circuit of another format is kept as a gate list too (not with
    # Braket's result types or verbatim boxes, which its worker reads as circuits).
    gates = gatelist.of_circuit(circuit) if not extras else None
    return ParsedCircuit(fmt, circuit, extras, gates)


def _bounded(circuit: QuantumCircuit, limits: Limits) -> QuantumCircuit:
    """Unwrap boxes, and unroll each ``while`` loop into at most the bounded iterations.

    A ``while`` loop on measured bits becomes that many ``if`` blocks in a row:
    once its condition is false the bits it reads no longer change, so the
    remaining blocks are skipped, exactly as the loop would have ended.

    Unrolling is counted as it goes, and refused before it is built: nested
    loops whose iterations multiplied pass ``limits.max_loop_iterations``, an
    unrolled body past ``limits.max_operations``, or more than
    ``limits.max_blocks`` control-flow blocks in all.
    """
    return _Unroller(limits).bounded(circuit, 1)[0]


class _Unroller:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def bounded(self, circuit: QuantumCircuit, outer: int) -> tuple[QuantumCircuit, int]:
        """The circuit with loops unrolled, and the control-flow blocks it then holds.

        ``outer`` is the product of the iterations of the loops around this block.
        """
        # Asked of the circuit's compiled core: walking ``circuit.data`` would build
        # a Python gate object per instruction, for nothing in most programs.
        if not circuit.has_control_flow_op():
            return circuit, 0
        limits = self.limits
        out = circuit.copy_empty_like()
        blocks = 0
        for instruction in circuit.data:
            op = instruction.operation
            if isinstance(op, BoxOp):
                body, inner = self.bounded(op.blocks[0], outer)
                out.compose(body, instruction.qubits, instruction.clbits, inplace=True)
                blocks += inner
            elif isinstance(op, WhileLoopOp):
                iterations = outer * limits.max_while_iterations
                if iterations > limits.max_loop_iterations:
                    raise errors.ProgramLimit(
                        f"nested 'while' loops unroll to {iterations} iterations (each runs at "
                        f"most {limits.max_while_iterations} times, nested loops multiplied); "
                        f"the limit is {limits.max_loop_iterations}: nest fewer loops",
                        iterations=iterations,
                        max_loop_iterations=limits.max_loop_iterations,
                    )
                body, inner = self.bounded(op.blocks[0], iterations)
                blocks += limits.max_while_iterations * (1 + inner)
                self._check_blocks(blocks)
                operations = count_operations(body, limits) * limits.max_while_iterations
                if operations > limits.max_operations:
                    raise errors.ProgramLimit(
                        f"a 'while' loop unrolls to {operations} operations "
                        f"({limits.max_while_iterations} iterations); the limit is "
                        f"{limits.max_operations}: make its body smaller",
                        operations=operations,
                        max_operations=limits.max_operations,
                    )
                step = IfElseOp(op.condition, body)
                for _ in range(limits.max_while_iterations):
                    out.append(step, instruction.qubits, instruction.clbits)
            elif isinstance(op, ControlFlowOp):
                unrolled = [self.bounded(block, outer) for block in op.blocks]
                blocks += len(unrolled) + sum(inner for _body, inner in unrolled)
                self._check_blocks(blocks)
                replaced = op.replace_blocks([body for body, _inner in unrolled])
                out.append(replaced, instruction.qubits, instruction.clbits)
            else:
                out.append(instruction)
        return out, blocks

    def _check_blocks(self, blocks: int) -> None:
        if blocks > self.limits.max_blocks:
            raise errors.ProgramLimit(
                f"the program holds more than {self.limits.max_blocks} control-flow blocks "
                f"once each 'while' loop is unrolled ({self.limits.max_while_iterations} "
                "iterations each); use fewer or less deeply nested loops and conditions",
                blocks=blocks,
                max_blocks=self.limits.max_blocks,
            )


def parse_program(
    source: str,
    fmt: str = "auto",
    parameters: Sequence[Sequence[float] | Mapping[str, float]] | None = None,
    *,
    max_bytes: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    sandbox: Any = None,
) -> Program:
    """Parse one program and check its parameter bindings.

    Args:
        source: the program text (base64 for QPY).
        fmt: ``auto`` or one of :data:`FORMATS`.
        parameters: bindings, each a sequence in the order of the circuit's
            parameters sorted by name, or a mapping from name to value.
        max_bytes: refuse longer sources with ``PROGRAM_LIMIT``.
        limits: the input limits.
        sandbox: a :class:`~qharbor.programs.sandbox.ParserPool` to parse in;
            ``None`` parses here (a worker, reading a program already admitted).

    Raises:
        errors.ProgramError: a subclass saying what is wrong and where.
    """
    limits = _with_max_bytes(limits, max_bytes)
    if sandbox is not None:
        check_size(source, limits)  # the cheapest refusals need no parser process
        parsed = sandbox.parse(source, fmt, limits)
        circuit = load_circuit(parsed.qpy)
        result = ParsedCircuit(parsed.format, circuit, parsed.extras)
    else:
        result = parse_circuit(source, fmt, limits)
    names = [p.name for p in result.circuit.parameters]
    bindings = _bindings(names, parameters)
    return Program(result.format, result.circuit, bindings, result.extras)


@dataclass(frozen=True)
class Admitted:
    """A program that parsed and passed its checks, as the API keeps it.

    The API process holds no circuit of an untrusted program: only the circuit
    in its stored form (for a dry run's compilation, also sandboxed), what the
    format said, and what the check returned.

    Attributes:
        format: the format it was read as.
        stored: the parsed circuit as a job stores it: a gate list
            (:mod:`qharbor.engines.gatelist`) for a plain circuit, else QPY;
            :func:`load_circuit` reads either.
        bindings: one mapping of parameter name to value per run.
        extras: ``verbatim`` and ``result_types``, when the program asked for them.
        checked: what the check function returned (e.g. the circuit's features).
    """

    format: str
    stored: bytes
    bindings: tuple[Mapping[str, float], ...]
    extras: Mapping[str, Any] = field(default_factory=dict)
    checked: Any = None

    @property
    def num_experiments(self) -> int:
        return max(1, len(self.bindings))

    @property
    def verbatim(self) -> bool:
        return bool(self.extras.get("verbatim"))


def admit_program(
    source: str,
    fmt: str = "auto",
    parameters: Sequence[Sequence[float] | Mapping[str, float]] | None = None,
    *,
    sandbox: Any,
    max_bytes: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    check: Callable[[QuantumCircuit, Mapping[str, Any]], Any] | None = None,
) -> Admitted:
    """Parse one program and run ``check`` on its circuit, all in the sandbox.

    Every program, of every format and size, goes to the sandbox, so no text a
    stranger sends is read in the caller's process; a program that exhausts its
    parser costs that request and that parser, never the caller.

    Args:
        source, fmt, parameters, max_bytes, limits: as for :func:`parse_program`.
        sandbox: a :class:`~qharbor.programs.sandbox.ParserPool`, or ``None`` to
            run here (tests and tools).
        check: a module-level function (or a ``functools.partial`` of one) of
            the circuit (a plain program's gate list, see
            :attr:`ParsedCircuit.checked`) and the format's extras that raises
            for a circuit the caller cannot take, e.g. the device checks;
            what it returns comes back as :attr:`Admitted.checked`.

    Raises:
        errors.QHarborError: the program's error, or what ``check`` raised.
    """
    limits = _with_max_bytes(limits, max_bytes)
    check_size(source, limits)  # the cheapest refusals need no parser process
    if sandbox is None:
        answer = admit_here(source, fmt, limits, check)
    else:
        answer = sandbox.call(admit_here, source, fmt, limits, check)
    fmt_read, stored, extras, names, checked = answer
    return Admitted(fmt_read, stored, _bindings(names, parameters), extras, checked)


def admit_here(
    source: str,
    fmt: str,
    limits: Limits,
    check: Callable[[QuantumCircuit, Mapping[str, Any]], Any] | None,
) -> tuple[str, bytes, dict[str, Any], list[str], Any]:
    """Parse and check in this process: what a sandboxed parser runs for the API."""
    parsed, kept = _parse_keeping(source, fmt, limits)
    checked = check(parsed.checked, parsed.extras) if check is not None else None
    names = parsed.parameter_names
    return parsed.format, _stored_of(parsed, kept), parsed.extras, names, checked


def load_circuit(stored: bytes) -> QuantumCircuit:
    """The circuit of stored bytes: a gate list or QPY (an :class:`Admitted` program's)."""
    if gatelist.is_gate_list(stored):
        rebuilt: QuantumCircuit = gatelist.GateList.from_bytes(stored).to_circuit()
        return rebuilt
    circuit: QuantumCircuit = qiskit_qpy.load(io.BytesIO(stored))[0]
    return circuit


def _with_max_bytes(limits: Limits, max_bytes: int | None) -> Limits:
    if max_bytes is not None and max_bytes < limits.max_bytes:
        return dataclasses.replace(limits, max_bytes=max_bytes)
    return limits


def _bindings(
    names: list[str],
    parameters: Sequence[Sequence[float] | Mapping[str, float]] | None,
) -> tuple[Mapping[str, float], ...]:
    if not parameters:
        if names:
            raise errors.ProgramParameters(
                f"the program has parameters {names} but no values were given; "
                "pass 'parameters': [[...], ...] with one value per parameter, in this order",
                parameters=names,
            )
        return ()
    if not names:
        raise errors.ProgramParameters(
            "parameter values were given but the program declares no parameters "
            "(use OpenQASM 3 'input float[64] name;')"
        )
    bound: list[Mapping[str, float]] = []
    for index, binding in enumerate(parameters):
        values = _one_binding(names, binding, index)
        bound.append(values)
    return tuple(bound)


def _one_binding(names: list[str], binding: Any, index: int) -> dict[str, float]:
    if isinstance(binding, Mapping):
        missing = [n for n in names if n not in binding]
        extra = [k for k in binding if k not in names]
        if missing or extra:
            raise errors.ProgramParameters(
                f"binding {index}: missing {missing}, unknown {extra}; expected {names}",
                binding=index,
                parameters=names,
            )
        raw = [binding[n] for n in names]
    else:
        raw = list(binding)
        if len(raw) != len(names):
            raise errors.ProgramParameters(
                f"binding {index} has {len(raw)} values; the program has "
                f"{len(names)} parameters {names}",
                binding=index,
                parameters=names,
            )
    values: dict[str, float] = {}
    for name, value in zip(names, raw, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise errors.ProgramParameters(
                f"binding {index}: {name} must be a number, not {value!r}", binding=index
            )
        if not math.isfinite(value):
            raise errors.ProgramParameters(
                f"binding {index}: {name} must be finite, not {value}", binding=index
            )
        values[name] = float(value)
    return values

"""Detects a program's format, parses it within the limits, and binds its parameters."""

from __future__ import annotations

import copy
import functools
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qiskit import QuantumCircuit
from qiskit import qpy as qiskit_qpy
from qiskit.circuit import BoxOp, ControlFlowOp, IfElseOp, WhileLoopOp

from qharbor import errors
from qharbor.programs import braket, originir, qasm2, qasm3, qpy
from qharbor.programs.limits import DEFAULT_LIMITS, Limits, check_circuit, check_text

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

#: Small programs without loops or definitions are parsed in the request's own
#: process: their parse is bounded by their size. Everything else is sandboxed.
FAST_PATH_BYTES = 8 * 1024
_SLOW_CONSTRUCTS = re.compile(r"\b(?:gate|def|for|while|opaque|defcal|cal)\b")

_VERSION = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.MULTILINE)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_ORIGINIR = re.compile(r"^\s*(?://[^\n]*\n\s*)*QINIT\s+\d+", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedCircuit:
    """A program's circuit and what else its format said (verbatim, result types)."""

    format: str
    circuit: QuantumCircuit
    extras: dict[str, Any] = field(default_factory=dict)


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


#: Parsed programs kept per process, for programs sent again and again (a VQE
#: loop's ansatz, a sweep resubmitted); keyed by the exact text, format and limits.
PARSE_CACHE_SIZE = 128
#: Longer programs are not kept: their parse is a small part of their run.
PARSE_CACHE_MAX_BYTES = 64 * 1024


def parse_circuit(source: str, fmt: str = "auto", limits: Limits = DEFAULT_LIMITS) -> ParsedCircuit:
    """Parse one program in this process, within the limits.

    A program parsed before in this process (the same text, format and limits)
    is not parsed again: the caller gets a copy of the earlier circuit, so
    nothing it does to the circuit reaches the next caller.

    Raises:
        errors.ProgramError: a subclass saying what is wrong and where.
    """
    if len(source) > PARSE_CACHE_MAX_BYTES:
        return _parse_circuit(source, fmt, limits)
    kept = _parse_kept(source, fmt, limits)
    return ParsedCircuit(kept.format, kept.circuit.copy(), copy.deepcopy(kept.extras))


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
    return ParsedCircuit(fmt, circuit, extras)


#: Refusals raise, so only programs that parsed are kept.
_parse_kept = functools.lru_cache(maxsize=PARSE_CACHE_SIZE)(_parse_circuit)


def _bounded(circuit: QuantumCircuit, limits: Limits) -> QuantumCircuit:
    """Unwrap boxes, and unroll each ``while`` loop into at most the bounded iterations.

    A ``while`` loop on measured bits becomes that many ``if`` blocks in a row:
    once its condition is false the bits it reads no longer change, so the
    remaining blocks are skipped, exactly as the loop would have ended.
    """
    if not any(isinstance(i.operation, ControlFlowOp) for i in circuit.data):
        return circuit
    out = circuit.copy_empty_like()
    for instruction in circuit.data:
        op = instruction.operation
        if isinstance(op, BoxOp):
            body = _bounded(op.blocks[0], limits)
            out.compose(body, qubits=instruction.qubits, clbits=instruction.clbits, inplace=True)
        elif isinstance(op, WhileLoopOp):
            body = _bounded(op.blocks[0], limits)
            step = IfElseOp(op.condition, body)
            for _ in range(limits.max_while_iterations):
                out.append(step, instruction.qubits, instruction.clbits)
        elif isinstance(op, ControlFlowOp):
            blocks = [_bounded(block, limits) for block in op.blocks]
            out.append(op.replace_blocks(blocks), instruction.qubits, instruction.clbits)
        else:
            out.append(instruction)
    return out


def uses_sandbox(source: str, fmt: str) -> bool:
    """Whether a program must be parsed in the sandbox rather than in this process."""
    if len(source) > FAST_PATH_BYTES:
        return True
    if fmt == "auto":
        try:
            fmt = detect_format(source)
        except errors.ProgramError:
            return False
    if fmt == "qpy":
        return True
    if fmt == "originir":
        return False
    return bool(_SLOW_CONSTRUCTS.search(source))


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
        sandbox: a :class:`~qharbor.programs.sandbox.ParserPool`; programs that
            are not small and simple are parsed in it. ``None`` parses here.

    Raises:
        errors.ProgramError: a subclass saying what is wrong and where.
    """
    if max_bytes is not None and max_bytes < limits.max_bytes:
        limits = Limits(**{**limits.__dict__, "max_bytes": max_bytes})
    if sandbox is not None and uses_sandbox(source, fmt):
        check_text(source, limits)  # the cheap refusals need no parser process
        parsed = sandbox.parse(source, fmt, limits)
        circuit = qiskit_qpy.load(io.BytesIO(parsed.qpy))[0]
        result = ParsedCircuit(parsed.format, circuit, parsed.extras)
    else:
        result = parse_circuit(source, fmt, limits)
    bindings = _bindings(result.circuit, parameters)
    return Program(result.format, result.circuit, bindings, result.extras)


def _bindings(
    circuit: QuantumCircuit,
    parameters: Sequence[Sequence[float] | Mapping[str, float]] | None,
) -> tuple[Mapping[str, float], ...]:
    names = [p.name for p in circuit.parameters]
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

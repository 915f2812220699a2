"""Detects a program's format, parses it, and binds its parameter values."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qiskit import QuantumCircuit

from qharbor import errors
from qharbor.programs import qasm2, qasm3

Parser = Callable[[str], QuantumCircuit]

#: Accepted formats, by the name a request gives, with the versions they accept.
FORMATS: dict[str, tuple[str, Parser]] = {
    "qasm2": ("OpenQASM 2.0", qasm2.parse),
    "qasm3": ("OpenQASM 3.0 / 3.1", qasm3.parse),
}

_VERSION = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.MULTILINE)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


@dataclass(frozen=True)
class Program:
    """One parsed program of a job.

    Attributes:
        format: the format it was read as (``qasm2`` or ``qasm3``).
        circuit: the parsed circuit, before compilation.
        bindings: one mapping of parameter name to value per run; empty when the
            circuit has no parameters.
    """

    format: str
    circuit: QuantumCircuit
    bindings: tuple[Mapping[str, float], ...]

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.circuit.parameters]

    @property
    def num_experiments(self) -> int:
        return max(1, len(self.bindings))


def detect_format(source: str) -> str:
    """The format named by the version line; OpenQASM 3 when there is none."""
    head = _COMMENTS.sub("", source[:4096])
    match = _VERSION.search(head)
    if match and match[1] == "2":
        return "qasm2"
    if match and match[1] not in ("2", "3"):
        raise errors.ProgramUnsupported(
            f"OPENQASM {match[1]} is not a version this centre reads; use 2.0 or 3.0",
            accepted=sorted(FORMATS),
        )
    return "qasm3"


def parse_program(
    source: str,
    fmt: str = "auto",
    parameters: Sequence[Sequence[float] | Mapping[str, float]] | None = None,
    *,
    max_bytes: int | None = None,
) -> Program:
    """Parse one program and check its parameter bindings.

    Args:
        source: the program text.
        fmt: ``auto``, ``qasm2`` or ``qasm3``.
        parameters: bindings, each a sequence in the order of the circuit's
            parameters sorted by name, or a mapping from name to value.
        max_bytes: refuse longer sources with ``PROGRAM_LIMIT``.

    Raises:
        errors.ProgramError: a subclass saying what is wrong and where.
    """
    if fmt == "auto":
        fmt = detect_format(source)
    circuit = parse_circuit(source, fmt, max_bytes=max_bytes)
    return Program(format=fmt, circuit=circuit, bindings=_bindings(circuit, parameters))


def parse_circuit(
    source: str, fmt: str = "auto", *, max_bytes: int | None = None
) -> QuantumCircuit:
    """Parse one program into a circuit, leaving its parameters unbound.

    Raises:
        errors.ProgramError: a subclass saying what is wrong and where.
    """
    if max_bytes is not None and len(source.encode()) > max_bytes:
        raise errors.ProgramLimit(
            f"program is {len(source.encode())} bytes; the limit is {max_bytes}",
            limit_bytes=max_bytes,
        )
    if not source.strip():
        raise errors.ProgramSyntax("the program is empty")
    if fmt == "auto":
        fmt = detect_format(source)
    if fmt not in FORMATS:
        raise errors.ProgramUnsupported(
            f"unknown program format {fmt!r}; accepted: auto, {', '.join(sorted(FORMATS))}",
            accepted=sorted(FORMATS),
        )
    return FORMATS[fmt][1](source)


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

"""Amazon Braket's OpenQASM 3 dialect: its gate names and ``#pragma braket`` lines.

A Braket ``Circuit`` serialised with ``to_ir(IRType.OPENQASM)`` uses gate names
that ``stdgates.inc`` lacks (``cnot``, ``si``, ``xx``, ``gpi`` ...) and no
include line, marks verbatim boxes with ``#pragma braket verbatim`` and asks for
result types with ``#pragma braket result ...``. This module rewrites such a
program into plain OpenQASM 3, on the same lines so positions in errors stay
true, and returns the pragmas' meaning alongside.
"""

from __future__ import annotations

import re
from typing import Any

from qharbor import errors

#: Braket gates that ``stdgates.inc`` lacks, defined with its gates and ``U``.
GATE_DEFINITIONS: dict[str, str] = {
    "i": "gate i a { U(0, 0, 0) a; }",
    "cnot": "gate cnot a, b { cx a, b; }",
    "ccnot": "gate ccnot a, b, c { ccx a, b, c; }",
    "si": "gate si a { sdg a; }",
    "ti": "gate ti a { tdg a; }",
    "v": "gate v a { sx a; }",
    "vi": "gate vi a { inv @ sx a; }",
    "phaseshift": "gate phaseshift(l) a { p(l) a; }",
    "cphaseshift": "gate cphaseshift(l) a, b { cp(l) a, b; }",
    "cphaseshift00": "gate cphaseshift00(l) a, b { x a; x b; cp(l) a, b; x a; x b; }",
    "cphaseshift01": "gate cphaseshift01(l) a, b { x a; cp(l) a, b; x a; }",
    "cphaseshift10": "gate cphaseshift10(l) a, b { x b; cp(l) a, b; x b; }",
    "cv": "gate cv a, b { h b; cp(pi/2) a, b; h b; }",
    "iswap": "gate iswap a, b { s a; s b; h a; cx a, b; cx b, a; h b; }",
    "pswap": "gate pswap(t) a, b { swap a, b; cx a, b; p(t) b; cx a, b; }",
    "xx": "gate xx(t) a, b { h a; h b; cx a, b; rz(t) b; cx a, b; h a; h b; }",
    "yy": "gate yy(t) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(t) b; cx a, b; "
    "rx(-pi/2) a; rx(-pi/2) b; }",
    "zz": "gate zz(t) a, b { cx a, b; rz(t) b; cx a, b; }",
    "xy": "gate xy(t) a, b { xx(-t/2) a, b; yy(-t/2) a, b; }",
    "ecr": "gate ecr a, b { s a; sx b; cx a, b; x a; }",
    "gpi": "gate gpi(f) a { U(pi, f, pi - f) a; }",
    "gpi2": "gate gpi2(f) a { U(pi/2, f - pi/2, pi/2 - f) a; }",
    "prx": "gate prx(a1, a2) a { U(a1, a2 - pi/2, pi/2 - a2) a; }",
    "ms": "gate ms(a1, a2, a3) a, b { rz(-a1) a; rz(-a2) b; xx(a3) a, b; rz(a1) a; rz(a2) b; }",
    "u": "gate u(a1, a2, a3) a { U(a1, a2, a3) a; }",
}
# The importer orders a definition's parameters by name, so multi-parameter
# definitions name theirs a1, a2, ... in their declared order.

#: Gates of stdgates.inc; a program that defines one of them gets no include added.
STDGATES = (
    "p",
    "x",
    "y",
    "z",
    "h",
    "s",
    "sdg",
    "t",
    "tdg",
    "sx",
    "rx",
    "ry",
    "rz",
    "cx",
    "cy",
    "cz",
    "cp",
    "crx",
    "cry",
    "crz",
    "ch",
    "swap",
    "ccx",
    "cswap",
    "cu",
    "CX",
    "phase",
    "cphase",
    "id",
    "u1",
    "u2",
    "u3",
)
# Definitions that use other Braket gates, and which they need.
_NEEDS = {"xy": ("xx", "yy"), "ms": ("xx",)}

#: Result types a simulator computes, by the name a pragma gives.
RESULT_TYPES = (
    "expectation",
    "variance",
    "probability",
    "amplitude",
    "state_vector",
    "density_matrix",
)
#: Observables a result type may name, each on one qubit.
OBSERVABLES = ("x", "y", "z", "h", "i")

_PRAGMA = re.compile(r"^[ \t]*#pragma[ \t]+(.*)$", re.MULTILINE)
_VERSION = re.compile(r"^\s*OPENQASM\s+3(?:\.\d+)?\s*;", re.MULTILINE)
_TARGET = re.compile(r"^(?:q\s*\[\s*(\d+)\s*\]|\$(\d+))$")
_FACTOR = re.compile(r"^([a-z]+)\s*\(\s*([^()]*?)\s*\)$")
_BITSTRING = re.compile(r'^"([01]+)"$')


def is_braket(source: str) -> bool:
    """Whether the program uses Braket's pragmas, or has no include (as Braket writes)."""
    return "#pragma braket" in source or "include" not in source


def _used_gates(source: str) -> list[str]:
    used = []
    for name in GATE_DEFINITIONS:
        applied = rf"(?<![\w$.]){name}\s*(?:\([^;{{}}]*?\))?\s+(?!in\b)[$a-zA-Z_]"
        if re.search(applied, source) and not re.search(rf"\bgate\s+{name}\b", source):
            used.append(name)
    return used


def preprocess(source: str) -> tuple[str, dict[str, Any]]:
    """Plain OpenQASM 3 for a Braket program, and what its pragmas asked for.

    Returns:
        The rewritten text, and extras: ``verbatim`` (a verbatim box was present)
        and ``result_types`` (a list of result-type requests).

    Raises:
        errors.ProgramUnsupported: a pragma this centre cannot honour, with its line.
        errors.ProgramSyntax: a malformed result-type pragma.
    """
    extras: dict[str, Any] = {}
    result_types: list[dict[str, Any]] = []

    def pragma(match: re.Match[str]) -> str:
        line = source.count("\n", 0, match.start()) + 1
        words = match[1].strip()
        if words == "braket verbatim":
            extras["verbatim"] = True
        elif words.startswith("braket result "):
            result_types.append(_result_type(words.removeprefix("braket result ").strip(), line))
        else:
            raise errors.ProgramUnsupported(
                f"line {line}: '#pragma {words}' is not supported; this centre reads "
                "'#pragma braket verbatim' and '#pragma braket result ...' "
                f"({', '.join(RESULT_TYPES)})",
                line=line,
            )
        return ""

    text = _PRAGMA.sub(pragma, source)
    if result_types:
        extras["result_types"] = result_types
    if "include" not in text:
        defined = set(re.findall(r"\bgate\s+(\w+)", text))
        header = [] if defined & set(STDGATES) else ['include "stdgates.inc";']
        needed: list[str] = []
        for name in _used_gates(text):
            for dependency in (*_NEEDS.get(name, ()), name):
                if dependency not in needed:
                    needed.append(dependency)
        header.extend(GATE_DEFINITIONS[name] for name in needed)
        # On the version's line, so every later line keeps its number.
        match = _VERSION.search(text)
        at = match.end() if match else 0
        text = text[:at] + " " + " ".join(header) + text[at:]
    return text, extras


def _result_type(text: str, line: int) -> dict[str, Any]:
    kind, _, rest = text.partition(" ")
    rest = rest.strip()
    if kind not in RESULT_TYPES:
        raise errors.ProgramUnsupported(
            f"line {line}: result type {kind!r} is not supported; this centre computes "
            f"{', '.join(RESULT_TYPES)}",
            line=line,
        )
    if kind in ("expectation", "variance"):
        observable, targets = _observable(rest, line)
        return {"type": kind, "observable": observable, "targets": targets}
    if kind in ("probability", "density_matrix"):
        targets = None if rest in ("", "all") else [_target(t, line) for t in rest.split(",")]
        return {"type": kind, "targets": targets}
    if kind == "amplitude":
        states = []
        for item in rest.split(","):
            match = _BITSTRING.match(item.strip())
            if not match:
                raise errors.ProgramSyntax(
                    f'line {line}: amplitudes are asked for as bit strings, like "01"', line=line
                )
            states.append(match[1])
        return {"type": kind, "states": states}
    return {"type": kind}


def _observable(text: str, line: int) -> tuple[list[str], list[int] | None]:
    """A tensor product of one-qubit observables: ``z(q[0]) @ x(q[1])``, or ``z all``."""
    if text.endswith(" all"):
        name = text.removesuffix(" all").strip()
        if name not in OBSERVABLES:
            raise _bad_observable(name, line)
        return [name], None
    names: list[str] = []
    targets: list[int] = []
    for factor in text.split("@"):
        match = _FACTOR.match(factor.strip())
        if not match or match[1] not in OBSERVABLES:
            raise _bad_observable(factor.strip(), line)
        names.append(match[1])
        targets.append(_target(match[2], line))
    return names, targets


def _bad_observable(text: str, line: int) -> errors.ProgramUnsupported:
    return errors.ProgramUnsupported(
        f"line {line}: observable {text!r} is not supported; use products of "
        f"{', '.join(OBSERVABLES)} on single qubits, like z(q[0]) @ x(q[1])",
        line=line,
    )


def _target(text: str, line: int) -> int:
    match = _TARGET.match(text.strip())
    if not match:
        raise errors.ProgramSyntax(
            f"line {line}: expected a qubit like q[0] or $0, got {text.strip()!r}", line=line
        )
    return int(match[1] if match[1] is not None else match[2])

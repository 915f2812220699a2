"""OpenQASM 2 through Qiskit's native parser."""

from __future__ import annotations

import re

from qiskit import QuantumCircuit, qasm2

from qharbor import errors

# Qiskit reports positions as "<input>:LINE,COLUMN: message".
_POSITION = re.compile(r"^(?:[^:]*):(\d+),(\d+):\s*(.*)$", re.DOTALL)


def parse(source: str) -> QuantumCircuit:
    """Parse OpenQASM 2 text.

    Includes are limited to the built-in ``qelib1.inc``: the include path is empty,
    so a program can never read a file of the centre's.

    Raises:
        errors.ProgramSyntax: with ``line`` and ``column`` (1-based line, 0-based column).
    """
    try:
        return qasm2.loads(
            source,
            include_path=(),
            custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
            strict=False,
        )
    except qasm2.QASM2ParseError as exc:
        raise _syntax_error(str(exc)) from None
    except qasm2.QASM2Error as exc:  # pragma: no cover - other parser errors
        raise errors.ProgramUnsupported(f"OpenQASM 2: {exc}") from None


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

"""OpenQASM 3 through the reference ANTLR parser and ``qiskit_qasm3_import``.

The reference parser's own entry point drops the position of a syntax error, so
this module drives the lexer and parser itself with a listener that keeps it.
"""

from __future__ import annotations

import re
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from openqasm3._antlr.qasm3Lexer import qasm3Lexer
from openqasm3._antlr.qasm3Parser import qasm3Parser
from openqasm3.parser import QASM3ParsingError, QASMNodeVisitor
from qiskit import QuantumCircuit
from qiskit_qasm3_import import ConversionError, convert

from qharbor import errors

_POSITION = re.compile(r"^(\d+),(\d+):\s*(.*)$", re.DOTALL)
_VISITOR_POSITION = re.compile(r"^L(\d+):C(\d+):\s*(.*)$", re.DOTALL)


class _SyntaxErrorListener(ErrorListener):
    """Turns the first lexer or parser error into a ``ProgramSyntax``."""

    def syntaxError(
        self,
        recognizer: Any,
        offendingSymbol: Any,
        line: int,
        column: int,
        msg: str,
        e: Any,
    ) -> None:
        raise errors.ProgramSyntax(f"line {line}, column {column}: {msg}", line=line, column=column)


def parse(source: str) -> QuantumCircuit:
    """Parse OpenQASM 3 text.

    Only ``stdgates.inc`` may be included; the importer refuses any other file,
    so a program can never read a file of the centre's.

    Raises:
        errors.ProgramSyntax: for text that is not OpenQASM 3, with line and column.
        errors.ProgramUnsupported: for valid OpenQASM 3 that cannot be run here.
    """
    listener = _SyntaxErrorListener()
    lexer = qasm3Lexer(InputStream(source))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = qasm3Parser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    tree = parser.program()
    try:
        program = QASMNodeVisitor().visitProgram(tree)
    except QASM3ParsingError as exc:
        raise _positioned(errors.ProgramSyntax, str(exc), _VISITOR_POSITION) from None
    try:
        return convert(program)
    except ConversionError as exc:
        raise _positioned(errors.ProgramSyntax, str(exc), _POSITION) from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise errors.ProgramUnsupported(
            f"OpenQASM 3 program could not be converted: {exc}"
        ) from None


def _positioned(
    klass: type[errors.ProgramError], text: str, pattern: re.Pattern[str]
) -> errors.ProgramError:
    match = pattern.match(text.strip())
    if not match:
        return klass(text.strip())
    line, column, message = int(match[1]), int(match[2]), match[3].strip()
    if "not supported" in message or "not currently supported" in message:
        klass = errors.ProgramUnsupported
    return klass(f"line {line}, column {column}: {message}", line=line, column=column)

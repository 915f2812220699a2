"""OpenQASM 3 through the reference ANTLR parser and ``qiskit_qasm3_import``.

Plain parameterised programs take a direct reader
(:mod:`qharbor.programs.qasm3_plain`) that builds the same circuit without them.

The reference parser's own entry point drops the position of a syntax error, so
this module drives the lexer and parser itself with a listener that keeps it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from antlr4.error.ErrorListener import ErrorListener
from openqasm3 import ast
from openqasm3._antlr.qasm3Lexer import qasm3Lexer
from openqasm3._antlr.qasm3Parser import qasm3Parser
from openqasm3.parser import QASM3ParsingError, QASMNodeVisitor
from qiskit import QuantumCircuit
from qiskit_qasm3_import import ConversionError, convert

from qharbor import errors
from qharbor.programs import qasm3_plain
from qharbor.programs.limits import DEFAULT_LIMITS, Limits

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


def parse(source: str, limits: Limits = DEFAULT_LIMITS) -> QuantumCircuit:
    """Parse OpenQASM 3 text.

    Only ``stdgates.inc`` may be included; the importer refuses any other file,
    so a program can never read a file of the centre's. Register sizes (with
    their arithmetic and constants) and gate modifiers are checked against
    ``limits`` on the syntax tree, before the converter allocates or
    synthesises anything.

    Raises:
        errors.ProgramSyntax: for text that is not OpenQASM 3, with line and column.
        errors.ProgramUnsupported: for valid OpenQASM 3 that cannot be run here.
    """
    _check_tokens(source, limits)
    # A plain parameterised program (a VQE loop's ansatz) is read directly; the
    # reader answers None for anything else, which the reference reads below.
    plain = qasm3_plain.read(source, limits.max_qubits)
    if plain is not None:
        return plain
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
    _Sizes(limits).check(program)
    try:
        return convert(program)
    except ConversionError as exc:
        raise _positioned(errors.ProgramSyntax, str(exc), _POSITION) from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise errors.ProgramUnsupported(
            f"OpenQASM 3 program could not be converted: {exc}"
        ) from None


def _check_tokens(source: str, limits: Limits) -> None:
    """Refuse what the reference parser is slow or deeply recursive on, from the text."""
    unary = re.search(rf"(?:[-+~!]\s*){{{limits.max_nesting + 1},}}", source)
    if unary:
        line = source.count("\n", 0, unary.start()) + 1
        raise errors.ProgramLimit(
            f"line {line}: more than {limits.max_nesting} operators in a row; simplify the "
            "expression",
            line=line,
            max_nesting=limits.max_nesting,
        )
    long = re.search(rf"[\w.]{{{limits.max_token_chars + 1},}}", source)
    if long:
        line = source.count("\n", 0, long.start()) + 1
        raise errors.ProgramLimit(
            f"line {line}: a name or number of {long.end() - long.start()} characters; the "
            f"limit is {limits.max_token_chars}",
            line=line,
            max_token_chars=limits.max_token_chars,
        )


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


#: Integers past this are not sizes anyone means; evaluation stops there.
_HUGE = 1 << 62


class _Sizes:
    """Bounds on what declarations and gate modifiers mean, read from the syntax tree.

    Sizes are evaluated as the converter would: integer literals, ``const``
    integers declared earlier, and ``+ - * / % ** << >>`` between them. A size
    this reader cannot evaluate is left to the converter, which runs under the
    sandbox's time and memory bound.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.constants: dict[str, int] = {}
        self.qubits = 0
        self.clbits = 0

    def check(self, program: ast.Program) -> None:
        stack: list[Any] = list(reversed(program.statements))
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
                continue
            if not isinstance(node, ast.QASMNode):
                continue
            self._visit(node)
            if isinstance(node, ast.Expression):
                continue  # expressions hold no declarations or gate calls
            stack.extend(
                getattr(node, f.name)
                for f in reversed(dataclasses.fields(node))
                if f.name not in ("span", "annotations")
            )

    def _visit(self, node: ast.QASMNode) -> None:
        if isinstance(node, ast.ConstantDeclaration) and isinstance(
            node.type, ast.IntType | ast.UintType
        ):
            value = self._value(node.init_expression)
            if value is not None:
                self.constants[node.identifier.name] = value
        elif isinstance(node, ast.QubitDeclaration):
            size = 1 if node.size is None else self._value(node.size)
            if size is not None:
                self.qubits += size
                self._bound(node, self.qubits, "qubits", self.limits.max_qubits, "qubits")
        elif isinstance(node, ast.ClassicalDeclaration | ast.IODeclaration) and isinstance(
            node.type, ast.BitType
        ):
            size = 1 if node.type.size is None else self._value(node.type.size)
            if size is not None:
                self.clbits += size
                self._bound(node, self.clbits, "classical bits", self.limits.max_clbits, "clbits")
        elif isinstance(node, ast.QuantumGate) and node.modifiers:
            self._modifiers(node)

    def _bound(self, node: ast.QASMNode, total: int, what: str, limit: int, key: str) -> None:
        if total > limit:
            line = node.span.start_line if node.span else 0
            raise errors.ProgramLimit(
                f"line {line}: {total} {what} declared so far; a program may declare at most "
                f"{limit}: use smaller registers",
                line=line,
                **{key: total, f"max_{key}": limit},
            )

    def _modifiers(self, node: ast.QuantumGate) -> None:
        line = node.span.start_line if node.span else 0
        controls = 0
        powered = False
        for modifier in node.modifiers:
            if modifier.modifier is ast.GateModifierName.pow:
                powered = True
            elif modifier.modifier in (ast.GateModifierName.ctrl, ast.GateModifierName.negctrl):
                count = 1 if modifier.argument is None else self._value(modifier.argument)
                controls += self.limits.max_controls + 1 if count is None else count
        if controls > self.limits.max_controls:
            raise errors.ProgramLimit(
                f"line {line}: {controls} control qubits on one gate; the limit is "
                f"{self.limits.max_controls}",
                line=line,
                controls=controls,
                max_controls=self.limits.max_controls,
            )
        width = len(node.qubits)
        if powered and width > self.limits.max_pow_qubits:
            raise errors.ProgramLimit(
                f"line {line}: 'pow' on a {width}-qubit gate; its power is computed as a dense "
                f"2^{width} x 2^{width} matrix, so 'pow' takes gates of at most "
                f"{self.limits.max_pow_qubits} qubits: apply 'pow' before 'ctrl', or repeat "
                "the gate for a whole power",
                line=line,
                qubits=width,
                max_pow_qubits=self.limits.max_pow_qubits,
            )

    def _value(self, node: Any) -> int | None:
        """The integer an expression means, or None when it is not a constant integer."""
        try:
            value = self._evaluate(node)
        except (RecursionError, ArithmeticError, ValueError):
            return None
        return value

    def _evaluate(self, node: Any) -> int | None:
        if isinstance(node, ast.IntegerLiteral):
            return int(node.value)
        if isinstance(node, ast.Identifier):
            return self.constants.get(node.name)
        if isinstance(node, ast.UnaryExpression) and node.op is ast.UnaryOperator["-"]:
            inner = self._evaluate(node.expression)
            return None if inner is None else -inner
        if not isinstance(node, ast.BinaryExpression):
            return None
        left, right = self._evaluate(node.lhs), self._evaluate(node.rhs)
        if left is None or right is None:
            return None
        op = node.op.name
        if op == "**":
            if right < 0 or (abs(left) > 1 and right * math.log2(abs(left)) > 62):
                return _HUGE
            result = left**right
        elif op == "<<":
            result = _HUGE if right > 62 or right < 0 else left << right
        elif op == "*":
            result = left * right
        elif op == "+":
            result = left + right
        elif op == "-":
            result = left - right
        elif op == "/":
            result = left // right
        elif op == "%":
            result = left % right
        elif op == ">>":
            result = left >> min(right, 64)
        else:
            return None
        return max(-_HUGE, min(_HUGE, result))

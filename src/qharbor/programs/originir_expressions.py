"""OriginIR's expressions: angle arithmetic and conditions on measured bits.

Both are small recursive-descent parsers; the intake limits bound their depth. They
report errors through the line reader that calls them (:class:`Context`).
"""

from __future__ import annotations

import math
import re
from typing import Protocol

from qiskit.circuit import Clbit
from qiskit.circuit.classical import expr

from qharbor import errors


class Context(Protocol):
    """What an expression needs from the reader: the line, the angle names in scope, errors."""

    line: int
    angle_names: dict[str, float]

    def error(self, message: str) -> errors.ProgramSyntax: ...

    def unsupported(self, message: str) -> errors.ProgramUnsupported: ...

    def clbit(self, token: str) -> int: ...


def split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)")


class Angle:
    """A real expression: numbers, PI, + - * /, unary minus and parentheses."""

    def __init__(self, text: str, reader: Context) -> None:
        self.text = text.replace(" ", "")
        self.pos = 0
        self.reader = reader

    def value(self) -> float:
        if not self.text:
            raise self.reader.error("an angle is empty")
        result = self._sum()
        if self.pos != len(self.text):
            raise self.reader.error(f"cannot read the angle {self.text!r}")
        if not math.isfinite(result):
            raise errors.ProgramParameters(
                f"line {self.reader.line}: the angle {self.text!r} is not a finite number",
                line=self.reader.line,
            )
        return result

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _sum(self) -> float:
        value = self._product()
        while self._peek() in ("+", "-") and self._peek():
            op = self.text[self.pos]
            self.pos += 1
            right = self._product()
            value = value + right if op == "+" else value - right
        return value

    def _product(self) -> float:
        value = self._power()
        while self._peek() in ("*", "/") and self._peek():
            op = self.text[self.pos]
            self.pos += 1
            right = self._power()
            if op == "/" and right == 0:
                raise self.reader.error("division by zero in an angle")
            value = value * right if op == "*" else value / right
        return value

    def _power(self) -> float:
        # As pyqpanda3 reads it: '^' binds tighter than '*' and looser than a
        # sign, left to right, so -2^2 is 4 and 2^3^2 is 64.
        value = self._unary()
        while self._peek() == "^":
            self.pos += 1
            exponent = self._unary()
            try:
                result = value**exponent
            except (OverflowError, ZeroDivisionError):
                result = math.inf
            if isinstance(result, complex) or not math.isfinite(result):
                raise errors.ProgramParameters(
                    f"line {self.reader.line}: {value}^{exponent} in the angle {self.text!r} "
                    "is not a finite real number",
                    line=self.reader.line,
                )
            value = float(result)
        return value

    def _unary(self) -> float:
        if self._peek() == "-":
            self.pos += 1
            return -self._unary()
        if self._peek() == "+":
            self.pos += 1
            return self._unary()
        return self._atom()

    def _atom(self) -> float:
        if self._peek() == "(":
            self.pos += 1
            value = self._sum()
            if self._peek() != ")":
                raise self.reader.error(f"unbalanced parentheses in the angle {self.text!r}")
            self.pos += 1
            return value
        name = _IDENTIFIER.match(self.text, self.pos)
        if name:
            self.pos = name.end()
            if name[0] in self.reader.angle_names:
                return self.reader.angle_names[name[0]]
            if name[0].upper() == "PI":
                return math.pi
            raise self.reader.error(f"unknown name {name[0]!r} in the angle {self.text!r}")
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            raise self.reader.error(f"cannot read the angle {self.text!r}")
        self.pos = match.end()
        return float(match[1])


class Condition:
    """Conditions on classical bits, as Qiskit classical expressions."""

    _TOKEN = re.compile(r"\s*(c\s*\[\s*\d+\s*\]|&&|\|\||==|!=|!|\(|\)|\d+)")

    def __init__(self, text: str, reader: Context, clbits: list[Clbit]) -> None:
        self.reader = reader
        self.clbits = clbits
        self.tokens: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = self._TOKEN.match(text, pos)
            if not match:
                raise reader.unsupported(
                    f"the condition {text!r}; conditions use c[i], !, ==, !=, && and || with 0 or 1"
                )
            self.tokens.append(match[1].replace(" ", ""))
            pos = match.end()
        self.pos = 0

    def parse(self) -> object:
        if not self.tokens:
            raise self.reader.error("a condition is missing")
        value = self._or()
        if self.pos != len(self.tokens):
            raise self.reader.unsupported(f"the condition near {self.tokens[self.pos]!r}")
        return value

    def _next(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _or(self) -> object:
        value = self._and()
        while self._next() == "||":
            self.pos += 1
            value = expr.logic_or(value, self._and())
        return value

    def _and(self) -> object:
        value = self._not()
        while self._next() == "&&":
            self.pos += 1
            value = expr.logic_and(value, self._not())
        return value

    def _not(self) -> object:
        if self._next() == "!":
            self.pos += 1
            return expr.logic_not(self._not())
        return self._comparison()

    def _comparison(self) -> object:
        if self._next() == "(":
            self.pos += 1
            value = self._or()
            if self._next() != ")":
                raise self.reader.error("unbalanced parentheses in a condition")
            self.pos += 1
            return value
        token = self._next()
        if not token.startswith("c"):
            raise self.reader.unsupported(f"the condition near {token!r}")
        self.pos += 1
        bit = self.clbits[self.reader.clbit(token)]
        if self._next() in ("==", "!="):
            op = self._next()
            self.pos += 1
            constant = self._next()
            if constant not in ("0", "1"):
                raise self.reader.unsupported(f"comparing a bit with {constant!r}; use 0 or 1")
            self.pos += 1
            equal = expr.equal(bit, constant == "1")
            return equal if op == "==" else expr.logic_not(equal)
        return expr.lift(bit)

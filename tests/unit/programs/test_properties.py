"""Property tests: random and mutated programs give a circuit or a clean qharbor error.

Every parser is fed text it was never meant to read, for a bounded number of
examples. The only acceptable outcomes are a parsed program or a
``ProgramError`` with a stable code; any other exception is a bug.
"""

from __future__ import annotations

import base64
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit, qpy

from qharbor import errors
from qharbor.programs import parse_program
from qharbor.programs.intake import Program
from tests.programs import BELL, BELL_QASM3

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)

ORIGINIR = "QINIT 3\nCREG 2\nH q[0]\nCNOT q[0],q[1]\nRX q[2],(PI/3)\nDAGGER\nS q[1]\nENDDAGGER\n"
ORIGINIR += "CONTROL q[2]\nX q[0]\nENDCONTROL\nMEASURE q[0],c[0]\nQIF c[0]\nX q[1]\nQENDIF\n"
BRAKET = (
    "OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\nxx(0.3) q[0], q[1];\n"
    "#pragma braket result expectation z(q[0]) @ x(q[1])\nb[0] = measure q[0];\n"
    "b[1] = measure q[1];\n"
)
TOKENS = [
    "qubit",
    "qreg",
    "creg",
    "bit",
    "gate",
    "for",
    "while",
    "if",
    "else",
    "measure",
    "reset",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    "->",
    "=",
    "==",
    "@",
    "ctrl",
    "inv",
    "pow",
    "pi",
    "1e999",
    "-",
    "+",
    "*",
    "/",
    "q",
    "c",
    "h",
    "cx",
    "rx",
    "0",
    "1",
    "3",
    "\n",
    " ",
    "QINIT",
    "CREG",
    "DAGGER",
    "ENDDAGGER",
    "CONTROL",
    "ENDCONTROL",
    "QIF",
    "QELSE",
    "QENDIF",
    "QWHILE",
    "QENDWHILE",
    "MEASURE",
    "CNOT",
    "U4",
    "q[0]",
    "c[0]",
    "#pragma braket ",
    "result ",
    "verbatim",
    "box",
    "include",
    '"stdgates.inc"',
    "$0",
    "input float[64] t;",
]


def accept_or_clean_error(source: str, fmt: str = "auto") -> None:
    try:
        program = parse_program(source, fmt)
    except errors.ProgramError as exc:
        assert exc.code.startswith("PROGRAM_")
        assert exc.message
        return
    assert isinstance(program, Program)
    assert isinstance(program.circuit, QuantumCircuit)


def mutations(seed: str) -> st.SearchStrategy[str]:
    """A valid program with a few slices deleted, duplicated or replaced by tokens."""

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        text = seed
        for _ in range(draw(st.integers(1, 4))):
            start = draw(st.integers(0, len(text)))
            end = draw(st.integers(start, min(len(text), start + 12)))
            action = draw(st.sampled_from(["delete", "duplicate", "insert"]))
            if action == "delete":
                text = text[:start] + text[end:]
            elif action == "duplicate":
                text = text[:end] + text[start:end] + text[end:]
            else:
                text = text[:start] + draw(st.sampled_from(TOKENS)) + text[start:]
        return text

    return mutate()


token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@BOUNDED
@given(st.one_of(mutations(BELL), token_soup.map(lambda t: "OPENQASM 2.0;\n" + t)))
def test_openqasm2_parser(source: str) -> None:
    accept_or_clean_error(source, "qasm2")


@BOUNDED
@given(st.one_of(mutations(BELL_QASM3), token_soup.map(lambda t: "OPENQASM 3.0;\n" + t)))
def test_openqasm3_parser(source: str) -> None:
    accept_or_clean_error(source, "qasm3")


@BOUNDED
@given(st.one_of(mutations(BRAKET), token_soup))
def test_braket_dialect(source: str) -> None:
    accept_or_clean_error(source, "qasm3")


@BOUNDED
@given(st.one_of(mutations(ORIGINIR), token_soup.map(lambda t: "QINIT 2\nCREG 2\n" + t)))
def test_originir_parser(source: str) -> None:
    accept_or_clean_error(source, "originir")


def _qpy_bytes() -> bytes:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


QPY = _qpy_bytes()


@st.composite
def mutated_qpy(draw: st.DrawFn) -> str:
    data = bytearray(QPY)
    for _ in range(draw(st.integers(1, 6))):
        # Keep the header's version current, so the payload itself is exercised.
        index = draw(st.integers(7, len(data) - 1))
        data[index] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(7, len(data)))]
    return base64.b64encode(bytes(data)).decode()


@BOUNDED
@given(st.one_of(mutated_qpy(), st.text(max_size=60)))
def test_qpy_reader(source: str) -> None:
    accept_or_clean_error(source, "qpy")


@BOUNDED
@given(st.text(max_size=200))
def test_any_text_with_automatic_detection(source: str) -> None:
    accept_or_clean_error(source)

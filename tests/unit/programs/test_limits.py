"""Input limits: cheap refusals from the text, bounds on the parsed circuit, the sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from qharbor import errors
from qharbor.programs import parse_program
from qharbor.programs.limits import DEFAULT_LIMITS, Limits, check_text
from qharbor.programs.sandbox import ParserPool

HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def nested_definitions(levels: int) -> str:
    lines = ["gate g0 a { h a; }"]
    lines += [f"gate g{i + 1} a {{ g{i} a; g{i} a; }}" for i in range(levels)]
    return HEADER + "\n".join(lines) + f"\nqubit q;\ng{levels} q;\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    parsers = ParserPool(size=1, timeout_s=1.0)
    parsers.start()
    yield parsers
    parsers.close()


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (HEADER + "qubit q;\nbit c;\nwhile (true) { h q; }\n", "PROGRAM_LIMIT"),
        (HEADER + "qubit q;\nfor uint i in [0:1000000000] { h q; }\n", "PROGRAM_LIMIT"),
        (
            HEADER + "qubit q;\nfor uint i in [0:999] { for uint j in [0:999] { h q; } }\n",
            "PROGRAM_LIMIT",
        ),
        (HEADER + "qubit[1000000] q;\n", "PROGRAM_LIMIT"),
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1000000];\n', "PROGRAM_LIMIT"),
        ("QINIT 1000000\n", "PROGRAM_LIMIT"),
        (
            "OPENQASM 3.0;\nqubit q;\nx = " + "(" * 100_000 + "1" + ")" * 100_000 + ";\n",
            "PROGRAM_LIMIT",
        ),
        ('OPENQASM 3.0;\ninclude "../../etc/passwd";\n', "PROGRAM_UNSUPPORTED"),
        ('OPENQASM 2.0;\ninclude "/etc/passwd";\nqreg q[1];\n', "PROGRAM_SYNTAX"),
        ("OPENQASM 3.0;\nqubit q;\n\x00", "PROGRAM_SYNTAX"),
        ("OPENQASM 3.0;\nqubit q;\n\udc80", "PROGRAM_SYNTAX"),
        (nested_definitions(40), "PROGRAM_LIMIT"),
    ],
    ids=[
        "while-true",
        "for-1e9",
        "nested-for-1e6",
        "qubit-1e6",
        "qreg-1e6",
        "qinit-1e6",
        "parentheses-1e5",
        "include-relative",
        "include-absolute",
        "nul",
        "lone-surrogate",
        "definitions-2^40",
    ],
)
def test_hostile_text_is_refused_before_parsing(source: str, code: str) -> None:
    with pytest.raises(errors.ProgramError) as caught:
        check_text(source)
    assert caught.value.code == code


def test_the_size_limit_is_in_bytes() -> None:
    with pytest.raises(errors.ProgramLimit):
        check_text("é" * 600, Limits(max_bytes=1000))


@pytest.mark.parametrize("angle", ["1e999", "-1e999", "1e999 - 1e999"])
def test_non_finite_angles_are_refused(angle: str) -> None:
    with pytest.raises(errors.ProgramError) as caught:
        parse_program(HEADER + f"qubit q;\nrx({angle}) q;\n")
    assert caught.value.code in ("PROGRAM_PARAMETERS", "PROGRAM_SYNTAX")


@pytest.mark.parametrize(
    "source",
    [
        HEADER + "gate g a { g a; }\nqubit q;\ng q;\n",
        HEADER + "gate a x { b x; }\ngate b x { a x; }\nqubit q;\na q;\n",
    ],
    ids=["direct", "indirect"],
)
def test_gate_definition_cycles_are_refused(source: str) -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(source)
    assert "not defined" in caught.value.message


def test_loops_expanding_past_the_operation_bound_are_refused() -> None:
    body = " ".join("h q;" for _ in range(20))
    source = HEADER + f"qubit q;\nfor uint i in [0:99999] {{ {body} }}\n"
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(source)
    assert caught.value.detail["max_operations"] == DEFAULT_LIMITS.max_operations


def test_while_loops_are_bounded_and_still_run() -> None:
    source = HEADER + (
        "qubit q;\nbit c;\nc = measure q;\nwhile (c == false) { h q; c = measure q; }\n"
    )
    circuit = parse_program(source).circuit
    assert circuit.count_ops()["if_else"] == DEFAULT_LIMITS.max_while_iterations
    assert "while_loop" not in circuit.count_ops()


def test_the_sandbox_parses_and_returns_the_circuit(pool: ParserPool) -> None:
    source = HEADER + "gate g(t) a { rx(t) a; }\nqubit q;\nbit c;\ng(0.5) q;\nc = measure q;\n"
    program = parse_program(source, sandbox=pool)
    assert program.circuit.num_qubits == 1
    assert program.circuit.count_ops()["g"] == 1


def test_the_sandbox_reports_errors_with_their_codes(pool: ParserPool) -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(HEADER + "gate g a { h a; }\nqubit q;\ng q\nh q;\n", sandbox=pool)
    assert caught.value.detail["line"] in (5, 6)  # the missing ";" is seen at the next token


def test_a_call_past_the_time_limit_is_refused_and_the_parser_replaced(pool: ParserPool) -> None:
    first = pool._all[0].process
    started = time.monotonic()
    with pytest.raises(errors.ProgramLimit) as caught:
        pool.call(time.sleep, 30)
    assert time.monotonic() - started < 5
    assert "1.0 s" in caught.value.message
    assert first.poll() is not None  # killed and reaped: no zombie is left
    assert pool._all[0].process.pid != first.pid
    assert parse_program(HEADER + "gate g a { h a; }\nqubit q;\ng q;\n", sandbox=pool)

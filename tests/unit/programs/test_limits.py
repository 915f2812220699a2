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


# --- what a program means, bounded before the work is done ---------------------------

Q2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


@pytest.mark.parametrize(
    "source",
    [
        Q2 + "qreg q[1];\ncreg c[100000000];\n",
        Q2 + "qreg q[1];\n" + "".join(f"creg c{i}[1000];\n" for i in range(5)),
        HEADER + "qubit q;\nbit[5000] c;\n",
        HEADER + "qubit q;\nbit[10000*10000] c;\n",
        HEADER + "const uint n = 1 << 30;\nqubit q;\nbit[n] c;\n",
        "QINIT 1\nCREG 100000000\nH q[0]\n",
    ],
)
def test_classical_bits_are_bounded_all_registers_together(source: str) -> None:
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(source)
    assert caught.value.detail["max_clbits"] == DEFAULT_LIMITS.max_clbits
    assert caught.value.detail["clbits"] > DEFAULT_LIMITS.max_clbits


@pytest.mark.parametrize(
    "size", ["10000*10000", "2**40", "1 << 40", "1000+1000", "2**2**2**2**2", "n"]
)
def test_qubit_sizes_are_evaluated_with_their_arithmetic(size: str) -> None:
    source = HEADER + f"const int n = 1000 * 1000;\nqubit[{size}] q;\n"
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(source)
    assert caught.value.detail["max_qubits"] == DEFAULT_LIMITS.max_qubits


def test_a_size_within_the_limit_keeps_its_meaning() -> None:
    source = HEADER + "qubit[3 * 2 - 1] q;\nbit[2 * 4] c;\n"
    circuit = parse_program(source).circuit
    assert (circuit.num_qubits, circuit.num_clbits) == (5, 8)


def test_pow_of_a_small_controlled_gate_matches_the_matrix_power() -> None:
    from qiskit.circuit.library import XGate
    from qiskit.quantum_info import Operator

    source = HEADER + "qubit[3] q;\npow(0.5) @ ctrl(2) @ x q[0], q[1], q[2];\n"
    expected = Operator(XGate().control(2)).power(0.5)
    assert Operator(parse_program(source).circuit).equiv(expected)


def test_pow_of_a_wide_gate_is_refused_before_it_is_synthesised() -> None:
    source = HEADER + "qubit[8] q;\npow(0.5) @ ctrl(7) @ x q[0], q[1], q[2], q[3], q[4], "
    source += "q[5], q[6], q[7];\n"
    started = time.monotonic()
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(source)
    assert time.monotonic() - started < 1.0
    assert caught.value.detail == {"line": 4, "qubits": 8, "max_pow_qubits": 4}


@pytest.mark.parametrize(
    "source",
    [
        HEADER + "qubit[2] q;\nctrl(1000*1000) @ x q[0], q[1];\n",
        HEADER + "qubit[2] q;\n" + "ctrl @ " * 40 + "x q[0], q[1];\n",
        "QINIT 41\nCONTROL " + ",".join(f"q[{i}]" for i in range(40)) + "\nH q[40]\nENDCONTROL\n",
    ],
)
def test_control_counts_are_bounded(source: str) -> None:
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(source)
    assert caught.value.detail["max_controls"] == DEFAULT_LIMITS.max_controls


def _qwhile(depth: int) -> str:
    return (
        "QINIT 2\nCREG 2\nMEASURE q[0],c[0]\n"
        + "QWHILE c[0]==0\n" * depth
        + "H q[1]\n"
        + "QENDWHILE\n" * depth
    )


def test_one_while_loop_unrolls_and_nested_ones_are_refused_before_unrolling() -> None:
    assert parse_program(_qwhile(1)).circuit.count_ops()["if_else"] == 64
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(_qwhile(2))
    assert caught.value.detail["max_blocks"] == DEFAULT_LIMITS.max_blocks
    started = time.monotonic()
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(_qwhile(4))
    assert time.monotonic() - started < 0.5
    assert caught.value.detail["iterations"] == 64**3


def test_sequential_while_loops_count_their_unrolled_blocks() -> None:
    body = "QWHILE c[0]==0\nH q[1]\nMEASURE q[0],c[0]\nQENDWHILE\n"
    head = "QINIT 2\nCREG 2\nMEASURE q[0],c[0]\n"
    assert parse_program(head + body * 32).circuit.count_ops()["if_else"] == 32 * 64
    with pytest.raises(errors.ProgramLimit):
        parse_program(head + body * 33)


def test_calls_of_defined_gates_are_counted_through_definitions() -> None:
    calls = HEADER + "gate g a { h a; }\nqubit q;\n" + "g q;\n" * 1000
    assert parse_program(calls).circuit.size() == 1000
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program(calls + "g q;\n")
    assert caught.value.detail == {"gate_calls": 1001, "max_gate_calls": 1000}


def test_gate_words_without_bodies_are_read_in_one_pass() -> None:
    source = Q2 + "qreg q[1];\n" + "gate a ;" * 250_000
    started = time.monotonic()
    with pytest.raises(errors.ProgramLimit) as caught:
        check_text(source)
    assert time.monotonic() - started < 2.0
    assert caught.value.detail["max_definitions"] == DEFAULT_LIMITS.max_definitions


def test_the_parse_cache_is_bounded_in_bytes() -> None:
    from qharbor.programs import intake

    kept = intake._KeptParses(max_bytes=16 * 1024)
    for index in range(200):
        source = Q2 + f"qreg q[2];\ncreg c[2];\nh q[0];\n// {index}\n"
        parsed = intake.parse_to_qpy(source, "qasm2")
        kept.put((source, "qasm2", DEFAULT_LIMITS), (parsed.format, parsed.qpy, {}))
    assert 0 < kept.bytes <= kept.max_bytes
    assert len(kept._items) < 200


@pytest.mark.parametrize(
    ("source", "counted"),
    [
        ("xqreg q[9999];\nqreg q[2000];\n", 2000),  # a word inside another is not counted
        ("qreg a[600];\nqreg_c[1];\nxqreg b[5];\n qreg d[600];\n", 1200),
    ],
)
def test_declared_qubits_count_whole_words_only(source: str, counted: int) -> None:
    with pytest.raises(errors.ProgramLimit) as caught:
        check_text(source)
    assert caught.value.detail["qubits"] == counted


def test_a_word_inside_another_does_not_hide_an_include() -> None:
    with pytest.raises(errors.QHarborError) as caught:
        check_text('OPENQASM 3.0;\nxinclude "include "evil.inc";\n')
    assert caught.value.detail["include"] == "evil.inc"


@pytest.mark.parametrize(
    ("body", "limits", "code"),
    [
        ("rx(1e999) q[0];\n", DEFAULT_LIMITS, "PROGRAM_PARAMETERS"),
        ("u3(0, -1e999, 1) q[1];\n", DEFAULT_LIMITS, "PROGRAM_PARAMETERS"),
        ("h q[0];\n" * 30, Limits(max_operations=20), "PROGRAM_LIMIT"),
        ("h q[0];\n", Limits(max_qubits=2), "PROGRAM_LIMIT"),
        ("h q[0];\n", Limits(max_clbits=2), "PROGRAM_LIMIT"),
        ("ccx q[0], q[1], q[2];\n", Limits(max_controls=1), "PROGRAM_LIMIT"),
    ],
)
def test_plain_openqasm2_is_refused_as_its_circuit_is(body: str, limits: Limits, code: str) -> None:
    """A plain program is checked on its gate list; the refusal is the circuit's own."""
    from qharbor.engines.gatelist import GateList
    from qharbor.programs import qasm2
    from qharbor.programs.limits import check_circuit, check_gates

    source = Q2 + "qreg q[3];\ncreg c[3];\n" + body + "measure q -> c;\n"
    gates = qasm2.parse_plain(source)
    assert isinstance(gates, GateList)
    with pytest.raises(errors.QHarborError) as by_gates:
        check_gates(gates, limits)
    with pytest.raises(errors.QHarborError) as by_circuit:
        check_circuit(gates.to_circuit(), limits)
    assert by_gates.value.code == by_circuit.value.code == code
    assert by_gates.value.message == by_circuit.value.message
    assert by_gates.value.detail == by_circuit.value.detail
    with pytest.raises(errors.QHarborError) as admitted:
        parse_program(source, limits=limits)
    assert admitted.value.code == code

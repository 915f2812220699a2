"""OpenQASM 3 beyond straight-line circuits: control flow, modifiers, definitions, inputs."""

from __future__ import annotations

import pytest
from qiskit.quantum_info import Operator

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import Experiment, get_engine
from qharbor.programs import parse_program
from qharbor.workers.compiler import compile_for

HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def run(source: str, shots: int = 2000, parameters: list[list[float]] | None = None) -> dict:
    device = default_catalogue(100_000).get("statevector")
    program = parse_program(source, parameters=parameters)
    compiled = compile_for(device, program.circuit, 5)
    runs = get_engine("aer").run(
        [Experiment(compiled, program.bindings)], method="statevector", shots=shots, seed=5
    )
    return runs[0][0].counts


def test_if_else_on_a_measured_bit() -> None:
    counts = run(
        HEADER + "qubit[2] q;\nbit[2] c;\nx q[0];\nc[0] = measure q[0];\n"
        "if (c[0]) { x q[1]; } else { h q[1]; }\nc[1] = measure q[1];\n"
    )
    assert counts == {"11": 2000}


def test_for_loop_repeats_its_body() -> None:
    # Four X gates in a row leave the qubit in |0>, five in |1>.
    counts = run(HEADER + "qubit q;\nbit c;\nfor uint i in [0:4] { x q; }\nc = measure q;\n")
    assert counts == {"1": 2000}


def test_bounded_while_loop_runs_until_its_condition_fails() -> None:
    counts = run(
        HEADER + "qubit q;\nbit c;\nc = measure q;\nwhile (c == false) { h q; c = measure q; }\n"
    )
    assert counts == {"1": 2000}


def test_gate_modifiers() -> None:
    source = HEADER + (
        "qubit[3] q;\nh q[0];\nctrl @ x q[0], q[1];\nnegctrl @ x q[0], q[2];\n"
        "inv @ s q[1];\npow(2) @ t q[2];\n"
    )
    circuit = parse_program(source).circuit
    expected = Operator.from_label("III")
    reference = parse_program(
        HEADER + "qubit[3] q;\nh q[0];\ncx q[0], q[1];\nx q[0];\ncx q[0], q[2];\nx q[0];\n"
        "sdg q[1];\ns q[2];\n"
    ).circuit
    assert Operator(circuit).equiv(Operator(reference))
    assert not Operator(circuit).equiv(expected)


def test_gate_definitions_with_parameters() -> None:
    counts = run(
        HEADER + "gate flip(t) a, b { rx(t) a; cx a, b; }\nqubit[2] q;\nbit[2] c;\n"
        "flip(pi) q[0], q[1];\nc = measure q;\n"
    )
    assert counts == {"11": 2000}


def test_input_parameters_are_bound_per_run() -> None:
    source = HEADER + "input float[64] theta;\nqubit q;\nbit c;\nrx(theta) q;\nc = measure q;\n"
    program = parse_program(source, parameters=[[0.0], [3.141592653589793]])
    assert [b["theta"] for b in program.bindings] == [0.0, 3.141592653589793]


def test_subroutines_are_unsupported_with_their_line() -> None:
    with pytest.raises(errors.ProgramUnsupported) as caught:
        parse_program(HEADER + "def f(qubit a) { h a; }\nqubit q;\nf(q);\n")
    assert caught.value.detail["line"] == 3


def test_box_is_unwrapped() -> None:
    circuit = parse_program(HEADER + "qubit[2] q;\nbox { h q[0]; cx q[0], q[1]; }\n").circuit
    assert circuit.count_ops() == {"h": 1, "cx": 1}

"""Program intake: format detection, limits and parameter bindings."""

from __future__ import annotations

import math

import pytest

from qharbor import errors
from qharbor.programs import parse_program
from qharbor.programs.intake import detect_format
from tests.programs import BELL as BELL_QASM2
from tests.programs import BELL_QASM3

# Parameters are declared out of name order, so "sorted by name" is observable.
TWO_PARAMETERS = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] beta;
input float[64] alpha;
qubit q;
bit c;
rx(alpha) q;
ry(beta) q;
c = measure q;
"""


def test_openqasm2_parses_to_a_circuit() -> None:
    program = parse_program(BELL_QASM2)
    assert program.format == "qasm2"
    assert program.circuit.num_qubits == 2
    assert program.circuit.count_ops() == {"h": 1, "cx": 1, "measure": 2}
    assert program.bindings == ()
    assert program.num_experiments == 1


def test_openqasm3_parses_to_a_circuit() -> None:
    program = parse_program(BELL_QASM3)
    assert program.format == "qasm3"
    assert program.circuit.num_qubits == 2
    assert program.circuit.count_ops() == {"h": 1, "cx": 1, "measure": 2}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("OPENQASM 2.0;\nqreg q[1];\n", "qasm2"),
        ("OPENQASM 2;\nqreg q[1];\n", "qasm2"),
        ("OPENQASM 3.0;\nqubit q;\n", "qasm3"),
        ("OPENQASM 3;\nqubit q;\n", "qasm3"),
        ("OPENQASM 3.1;\nqubit q;\n", "qasm3"),
        ("  \n\n   OPENQASM   2.0 ;\nqreg q[1];\n", "qasm2"),
    ],
)
def test_format_is_detected_from_the_version_line(source: str, expected: str) -> None:
    assert detect_format(source) == expected


def test_comments_before_the_version_line_do_not_hide_it() -> None:
    source = "// a note\n// OPENQASM 3.0; in a comment\nOPENQASM 2.0;\nqreg q[1];\n"
    assert detect_format(source) == "qasm2"
    assert parse_program(source).format == "qasm2"


def test_version_line_inside_a_block_comment_is_ignored() -> None:
    source = "/* OPENQASM 2.0; */\nOPENQASM 3.0;\nqubit q;\n"
    assert detect_format(source) == "qasm3"
    assert parse_program(source).format == "qasm3"


def test_program_without_a_version_line_is_read_as_openqasm3() -> None:
    program = parse_program('include "stdgates.inc";\nqubit q;\nh q;\n')
    assert program.format == "qasm3"
    assert program.circuit.count_ops() == {"h": 1}


@pytest.mark.parametrize("version", ["1.0", "4", "4.0", "10.2"])
def test_unknown_openqasm_version_is_unsupported(version: str) -> None:
    with pytest.raises(errors.ProgramUnsupported) as caught:
        parse_program(f"OPENQASM {version};\nqubit q;\n")
    assert caught.value.code == "PROGRAM_UNSUPPORTED"
    assert f"OPENQASM {version.split('.')[0]}" in caught.value.message


def test_explicit_format_overrides_detection() -> None:
    # Read as OpenQASM 3, a qasm2 program fails on its qelib1 include.
    with pytest.raises(errors.ProgramError):
        parse_program(BELL_QASM2, "qasm3")


def test_unknown_format_name_is_unsupported_and_lists_the_accepted_ones() -> None:
    with pytest.raises(errors.ProgramUnsupported) as caught:
        parse_program(BELL_QASM3, "quil")
    assert caught.value.detail["accepted"] == ["originir", "qasm2", "qasm3", "qpy"]


@pytest.mark.parametrize("source", ["", "   ", "\n\t\n"])
def test_empty_program_is_a_syntax_error(source: str) -> None:
    with pytest.raises(errors.ProgramSyntax, match="empty"):
        parse_program(source)


def test_program_over_max_bytes_is_refused_before_parsing() -> None:
    with pytest.raises(errors.ProgramLimit) as caught:
        parse_program("this is not OpenQASM at all;" * 10, max_bytes=100)
    assert caught.value.code == "PROGRAM_LIMIT"
    assert caught.value.detail == {"limit_bytes": 100}


def test_max_bytes_counts_encoded_bytes_not_characters() -> None:
    source = "// ééééé\n" + BELL_QASM3  # five characters, ten bytes
    size = len(source.encode())
    assert parse_program(source, max_bytes=size).format == "qasm3"
    with pytest.raises(errors.ProgramLimit):
        parse_program(source, max_bytes=size - 1)


def test_list_bindings_follow_the_parameters_sorted_by_name() -> None:
    program = parse_program(TWO_PARAMETERS, parameters=[[0.1, 0.2], [1, 2]])
    assert program.parameter_names == ["alpha", "beta"]
    assert program.bindings == ({"alpha": 0.1, "beta": 0.2}, {"alpha": 1.0, "beta": 2.0})
    assert program.num_experiments == 2


def test_dict_bindings_are_matched_by_name() -> None:
    program = parse_program(TWO_PARAMETERS, parameters=[{"beta": 2.0, "alpha": 1.0}])
    assert program.bindings == ({"alpha": 1.0, "beta": 2.0},)


def test_bound_values_are_floats() -> None:
    program = parse_program(TWO_PARAMETERS, parameters=[[1, 2]])
    assert all(type(v) is float for v in program.bindings[0].values())


@pytest.mark.parametrize(
    "bindings",
    [
        pytest.param([[1.0]], id="too-few-values"),
        pytest.param([[1.0, 2.0, 3.0]], id="too-many-values"),
        pytest.param([[1.0, 2.0], [1.0]], id="second-binding-short"),
        pytest.param([{"alpha": 1.0}], id="missing-name"),
        pytest.param([{"alpha": 1.0, "beta": 2.0, "gamma": 3.0}], id="unknown-name"),
        pytest.param([{"alpha": 1.0, "gamma": 3.0}], id="missing-and-unknown"),
        pytest.param([[math.nan, 1.0]], id="nan"),
        pytest.param([[1.0, math.inf]], id="inf"),
        pytest.param([[-math.inf, 1.0]], id="minus-inf"),
        pytest.param([["1.0", 2.0]], id="string"),
        pytest.param([[None, 2.0]], id="none"),
        pytest.param([[True, 2.0]], id="bool"),
        pytest.param([{"alpha": math.nan, "beta": 1.0}], id="nan-by-name"),
    ],
)
def test_bad_bindings_are_parameter_errors(bindings: list) -> None:
    with pytest.raises(errors.ProgramParameters) as caught:
        parse_program(TWO_PARAMETERS, parameters=bindings)
    assert caught.value.code == "PROGRAM_PARAMETERS"


def test_binding_error_names_the_binding_and_the_parameters() -> None:
    with pytest.raises(errors.ProgramParameters) as caught:
        parse_program(TWO_PARAMETERS, parameters=[[1.0, 2.0], [3.0]])
    assert caught.value.detail == {"binding": 1, "parameters": ["alpha", "beta"]}


def test_parameterised_program_without_values_is_a_parameter_error() -> None:
    with pytest.raises(errors.ProgramParameters) as caught:
        parse_program(TWO_PARAMETERS)
    assert caught.value.detail["parameters"] == ["alpha", "beta"]


def test_values_for_a_program_without_parameters_are_a_parameter_error() -> None:
    with pytest.raises(errors.ProgramParameters):
        parse_program(BELL_QASM3, parameters=[[1.0]])


ANSATZ_QASM3 = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\nqubit[2] q;\n'
    "ry(theta) q[0];\ncx q[0], q[1];\n// parse cache test\n"
)


def test_a_program_sent_again_is_not_parsed_again() -> None:
    from qharbor.programs import intake

    first = intake.parse_circuit(ANSATZ_QASM3, "qasm3")
    hits = intake._kept.hits
    again = intake.parse_circuit(ANSATZ_QASM3, "qasm3")
    assert intake._kept.hits == hits + 1
    assert again.circuit == first.circuit
    assert again.format == "qasm3"


def test_a_kept_parse_is_a_copy_that_callers_cannot_change() -> None:
    from qharbor.programs import intake

    first = intake.parse_circuit(ANSATZ_QASM3, "qasm3")
    first.circuit.x(1)
    first.extras["changed"] = True
    again = intake.parse_circuit(ANSATZ_QASM3, "qasm3")
    assert [i.operation.name for i in again.circuit.data] == ["ry", "cx"]
    assert "changed" not in again.extras


def test_a_refused_program_is_refused_every_time() -> None:
    from qharbor.programs import intake

    broken = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nfoo q[0];\n'
    for _ in range(2):
        with pytest.raises(errors.ProgramError):
            intake.parse_circuit(broken, "qasm2")


def test_the_same_text_under_tighter_limits_is_checked_again() -> None:
    from qharbor.programs import intake
    from qharbor.programs.limits import DEFAULT_LIMITS, Limits

    intake.parse_circuit(ANSATZ_QASM3, "qasm3")  # kept under the default limits
    tight = Limits(**{**DEFAULT_LIMITS.__dict__, "max_operations": 1})
    with pytest.raises(errors.ProgramLimit):
        intake.parse_circuit(ANSATZ_QASM3, "qasm3", tight)

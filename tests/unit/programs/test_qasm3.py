"""OpenQASM 3: positions of errors, refused includes and unsupported constructs."""

from __future__ import annotations

from pathlib import Path

import pytest

from qharbor import errors
from qharbor.programs import parse_program, qasm3

HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\n'


def test_lexer_error_carries_its_line_and_column() -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        qasm3.parse(HEADER + "  h q[0] $;\n")
    assert caught.value.detail == {"line": 4, "column": 9}
    assert caught.value.message.startswith("line 4, column 9:")


def test_syntax_error_columns_agree_with_openqasm2() -> None:
    line = "  h q[0] $;\n"
    with pytest.raises(errors.ProgramSyntax) as from_qasm3:
        parse_program(HEADER + line)
    with pytest.raises(errors.ProgramSyntax) as from_qasm2:
        parse_program('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n' + line)
    assert from_qasm3.value.detail == from_qasm2.value.detail


def test_parser_error_carries_its_line() -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(HEADER + "h q[0]\nx q[1];\n")
    assert caught.value.detail["line"] == 5
    assert isinstance(caught.value.detail["column"], int)


def test_undefined_name_is_a_syntax_error_with_position() -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(HEADER + "  h r;\n")
    assert caught.value.detail == {"line": 4, "column": 4}
    assert "'r'" in caught.value.message


def test_undefined_gate_is_a_syntax_error_with_position() -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(HEADER + "  foo q[0];\n")
    assert caught.value.detail == {"line": 4, "column": 2}


@pytest.mark.parametrize(
    ("construct", "line"),
    [
        pytest.param("def f(qubit a) {\n  h a;\n}\nf(q[0]);\n", 4, id="def-subroutine"),
        pytest.param("extern f(int) -> int;\n", 4, id="extern"),
    ],
)
def test_unsupported_construct_is_refused_with_its_line(construct: str, line: int) -> None:
    with pytest.raises(errors.ProgramUnsupported) as caught:
        parse_program(HEADER + construct)
    assert caught.value.code == "PROGRAM_UNSUPPORTED"
    assert caught.value.detail["line"] == line


def test_custom_gate_definitions_are_accepted() -> None:
    program = parse_program(HEADER + "gate flip a { x a; }\nflip q[0];\n")
    assert program.circuit.count_ops()["flip"] == 1


def test_input_floats_become_the_circuit_parameters() -> None:
    program = parse_program(
        HEADER + "input float[64] theta;\nrx(theta) q[0];\n", parameters=[[0.5]]
    )
    assert program.parameter_names == ["theta"]
    assert program.bindings == ({"theta": 0.5},)


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd"])
def test_include_of_a_system_file_is_refused(path: str) -> None:
    with pytest.raises(errors.ProgramError) as caught:
        parse_program(f'OPENQASM 3.0;\ninclude "{path}";\nqubit q;\n')
    assert caught.value.detail["line"] == 2
    assert "root:" not in caught.value.message


@pytest.mark.parametrize("relative", [True, False], ids=["relative", "absolute"])
def test_include_of_a_readable_gate_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: bool
) -> None:
    # Were the file read, 'mine' would be defined and the program would parse.
    (tmp_path / "mine.inc").write_text("gate mine a { x a; }\n")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    path = "../../mine.inc" if relative else str(tmp_path / "mine.inc")
    with pytest.raises(errors.ProgramError) as caught:
        parse_program(
            f'OPENQASM 3.0;\ninclude "stdgates.inc";\ninclude "{path}";\nqubit q;\nmine q;\n'
        )
    assert caught.value.detail["line"] == 3


def test_qelib1_is_not_an_openqasm3_include() -> None:
    with pytest.raises(errors.ProgramError):
        parse_program('OPENQASM 3.0;\ninclude "qelib1.inc";\nqubit q;\n')

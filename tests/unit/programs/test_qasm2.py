"""OpenQASM 2: positions of syntax errors, and the include allow-list."""

from __future__ import annotations

from pathlib import Path

import pytest

from qharbor import errors
from qharbor.programs import parse_program, qasm2

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n'


def test_syntax_error_carries_its_line_and_column() -> None:
    # The stray '$' is on line 4, after nine characters.
    with pytest.raises(errors.ProgramSyntax) as caught:
        qasm2.parse(HEADER + "  h q[0] $;\n")
    assert caught.value.detail == {"line": 4, "column": 9}
    assert caught.value.message.startswith("line 4, column 9:")


def test_missing_semicolon_is_reported_where_the_parser_notices_it() -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(HEADER + "h q[0]\nx q[0];\n")
    assert caught.value.detail["line"] == 5


def test_undefined_gate_is_a_syntax_error_with_position() -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(HEADER + "  foo q[0];\n")
    assert caught.value.detail == {"line": 4, "column": 2}
    assert "foo" in caught.value.message


def test_gates_without_qelib1_are_undefined() -> None:
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program("OPENQASM 2.0;\nqreg q[1];\nh q[0];\n")
    assert caught.value.detail["line"] == 3


def test_custom_gate_definitions_are_accepted() -> None:
    program = parse_program(
        HEADER + "gate flip a { x a; }\ncreg c[1];\nflip q[0];\nmeasure q -> c;\n"
    )
    assert program.circuit.count_ops()["flip"] == 1


@pytest.fixture
def readable_include(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid gate file, reachable by a relative path from the working directory.

    Were the parser to read it, the program including it would parse, so a
    refusal shows it was never read.
    """
    (tmp_path / "mine.inc").write_text("gate mine a { x a; }\n")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return tmp_path / "mine.inc"


@pytest.mark.parametrize("path", ["../../mine.inc", "mine.inc", "ABSOLUTE"])
def test_include_of_any_file_but_qelib1_is_refused(readable_include: Path, path: str) -> None:
    if path == "ABSOLUTE":
        path = str(readable_include)
    elif path == "mine.inc":
        (Path.cwd() / "mine.inc").write_text(readable_include.read_text())
    source = f'OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "{path}";\nqreg q[1];\nmine q[0];\n'
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(source)
    assert caught.value.code == "PROGRAM_SYNTAX"
    assert caught.value.detail["line"] == 3
    assert "qelib1.inc" in caught.value.message


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd"])
def test_include_of_a_system_file_is_refused(path: str) -> None:
    source = f'OPENQASM 2.0;\ninclude "{path}";\nqreg q[1];\n'
    with pytest.raises(errors.ProgramSyntax) as caught:
        parse_program(source)
    assert caught.value.detail["line"] == 2
    assert "root:" not in caught.value.message

"""QPY: current versions are read in the sandbox; old ones are refused from the header."""

from __future__ import annotations

import base64
import io

import pytest
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import Parameter

from qharbor import errors
from qharbor.programs import parse_program
from qharbor.programs import qpy as qpy_format


def _encoded(circuit: QuantumCircuit, version: int | None = None) -> str:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=version or qpy.QPY_VERSION)
    return base64.b64encode(buffer.getvalue()).decode()


def _bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


@pytest.mark.parametrize("version", [qpy.QPY_COMPATIBILITY_VERSION, qpy.QPY_VERSION])
def test_current_qpy_versions_are_read(version: int) -> None:
    program = parse_program(_encoded(_bell(), version))
    assert program.format == "qpy"
    assert program.circuit.count_ops() == {"h": 1, "cx": 1, "measure": 2}


def test_qpy_parameters_are_bound_per_run() -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1)
    circuit.rx(theta, 0)
    circuit.measure(0, 0)
    program = parse_program(_encoded(circuit), parameters=[[0.5], [1.0]])
    assert program.parameter_names == ["theta"]
    assert [b["theta"] for b in program.bindings] == [0.5, 1.0]


@pytest.mark.parametrize("version", [1, 5, 10, qpy.QPY_COMPATIBILITY_VERSION - 1])
def test_old_qpy_versions_are_refused_with_the_reason(version: int) -> None:
    data = bytearray(base64.b64decode(_encoded(_bell())))
    data[6] = version  # the header's format version byte
    with pytest.raises(errors.ProgramUnsupported) as caught:
        parse_program(base64.b64encode(bytes(data)).decode(), "qpy")
    assert caught.value.detail["version"] == version
    assert "CVE-2025-2000" in caught.value.message
    assert caught.value.detail["min_version"] == qpy_format.MIN_VERSION


def test_newer_qpy_versions_are_refused() -> None:
    data = bytearray(base64.b64decode(_encoded(_bell())))
    data[6] = qpy.QPY_VERSION + 1
    with pytest.raises(errors.ProgramUnsupported):
        parse_program(base64.b64encode(bytes(data)).decode(), "qpy")


@pytest.mark.parametrize(
    "source", ["not base64 at all!", base64.b64encode(b"PNG....").decode(), "UUlTS0lU"]
)
def test_bad_qpy_payloads_are_syntax_errors(source: str) -> None:
    with pytest.raises(errors.ProgramSyntax):
        parse_program(source, "qpy")


def test_truncated_qpy_is_a_clean_error() -> None:
    encoded = base64.b64decode(_encoded(_bell()))
    with pytest.raises(errors.ProgramError):
        parse_program(base64.b64encode(encoded[:40]).decode(), "qpy")

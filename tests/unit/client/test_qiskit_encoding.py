"""Circuits travel as QPY in a version the centre reads, and load back unchanged."""

from __future__ import annotations

import base64
import io

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, qpy
from qiskit.circuit import Clbit
from qiskit.circuit.library import real_amplitudes

from qharbor.client.qiskit.encoding import circuit_source, qpy_version
from qharbor.programs import qpy as centre_qpy


def formats(*versions: int) -> dict[str, object]:
    listed = [str(v) for v in versions]
    return {
        "formats": [{"name": "qasm3", "versions": ["3.0"]}, {"name": "qpy", "versions": listed}]
    }


def test_the_newest_version_both_sides_know_is_chosen() -> None:
    newest = qpy.QPY_VERSION
    assert qpy_version(formats(*range(qpy.QPY_COMPATIBILITY_VERSION, newest + 3))) == newest
    assert qpy_version(formats(qpy.QPY_COMPATIBILITY_VERSION)) == qpy.QPY_COMPATIBILITY_VERSION
    assert qpy_version({}) is None and qpy_version(None) is None
    with pytest.raises(ValueError, match="install a Qiskit release"):
        qpy_version(formats(1, 2))


def test_a_composite_circuit_with_shared_registers_loads_back_equal() -> None:
    bits = [Clbit() for _ in range(3)]
    circuit = QuantumCircuit(2, name="mixed")
    circuit.add_bits(bits)
    circuit.add_register(ClassicalRegister(bits=bits[:2], name="a"))
    circuit.add_register(ClassicalRegister(bits=bits[1:], name="b"))
    circuit.append(real_amplitudes(2, reps=1).assign_parameters([0.1, 0.2, 0.3, 0.4]), [0, 1])
    circuit.measure([0, 1], bits[:2])
    version = qpy.QPY_COMPATIBILITY_VERSION
    text = circuit_source(circuit, version)
    assert centre_qpy.header_version(base64.b64decode(text)) == version
    [loaded] = qpy.load(io.BytesIO(base64.b64decode(text)))
    assert loaded == circuit
    assert centre_qpy.parse(text) == circuit

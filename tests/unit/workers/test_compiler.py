"""Compiling a parsed circuit into a device's native operations."""

from __future__ import annotations

import math

import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.devices.operations import STRUCTURAL
from qharbor.programs import parse_program
from qharbor.workers.compiler import compile_for, operation_names

DEVICES = default_catalogue()
STATEVECTOR = DEVICES.get("statevector")
STABILIZER = DEVICES.get("stabilizer")


def native(device) -> set[str]:
    return set(device.basis_gates) | STRUCTURAL


def test_circuit_already_native_is_returned_as_it_is() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    assert compile_for(STATEVECTOR, circuit) is circuit
    assert compile_for(STABILIZER, circuit) is circuit


@pytest.mark.parametrize(
    "source",
    [
        'OPENQASM 2.0;\ninclude "qelib1.inc";\ngate bell a, b { h a; cx a, b; }\n'
        "qreg q[2];\nbell q[0], q[1];\n",
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ngate bell a, b { h a; cx a, b; }\n'
        "qubit[2] q;\nbell q[0], q[1];\n",
    ],
    ids=["qasm2", "qasm3"],
)
def test_custom_gate_definitions_are_transpiled_away(source: str) -> None:
    circuit = parse_program(source).circuit
    assert "bell" in operation_names(circuit)
    compiled = compile_for(STATEVECTOR, circuit)
    assert operation_names(compiled) <= native(STATEVECTOR)
    assert Operator(compiled).equiv(Operator(circuit))


def test_gate_outside_a_smaller_basis_is_decomposed() -> None:
    device = DEVICES.get("density-matrix")
    circuit = QuantumCircuit(3)
    circuit.cswap(0, 1, 2)
    assert "cswap" not in device.basis_gates
    compiled = compile_for(device, circuit)
    assert operation_names(compiled) <= native(device)
    assert Operator(compiled).equiv(Operator(circuit))


def test_custom_gate_inside_control_flow_is_transpiled_away() -> None:
    circuit = parse_program(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ngate flip a { x a; }\n'
        "qubit q;\nbit c;\nc = measure q;\nif (c) { flip q; }\n"
    ).circuit
    assert "flip" in operation_names(circuit)
    compiled = compile_for(STATEVECTOR, circuit)
    assert "flip" not in operation_names(compiled)
    assert operation_names(compiled) <= native(STATEVECTOR)


def test_clifford_gates_are_synthesised_for_the_stabilizer_device() -> None:
    circuit = QuantumCircuit(2)
    circuit.rz(math.pi / 2, 0)
    circuit.u(math.pi / 2, 0, math.pi, 1)
    circuit.p(math.pi, 1)
    compiled = compile_for(STABILIZER, circuit)
    assert operation_names(compiled) <= native(STABILIZER)
    assert Operator(compiled).equiv(Operator(circuit))


def test_clifford_synthesis_reaches_inside_control_flow() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.rz(math.pi / 2, 0)
    compiled = compile_for(STABILIZER, circuit)
    assert operation_names(compiled) <= native(STABILIZER)
    assert "rz" not in operation_names(compiled)


@pytest.mark.parametrize("inside_if", [False, True])
def test_non_clifford_gate_is_a_compile_error_for_the_stabilizer_device(inside_if: bool) -> None:
    circuit = QuantumCircuit(1, 1)
    if inside_if:
        circuit.measure(0, 0)
        with circuit.if_test((circuit.clbits[0], 1)):
            circuit.t(0)
    else:
        circuit.t(0)
    with pytest.raises(errors.CompileError) as caught:
        compile_for(STABILIZER, circuit)
    assert caught.value.code == "COMPILE_ERROR"
    assert "'t'" in caught.value.message


def test_operation_names_include_those_inside_control_flow() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.t(0)
    assert operation_names(circuit) == {"measure", "if_else", "t"}

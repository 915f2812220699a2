"""Checking a circuit against a device before it is queued."""

from __future__ import annotations

import math

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import UGate

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.devices.operations import check_circuit, first_non_clifford

DEVICES = default_catalogue()
STABILIZER = DEVICES.get("stabilizer")


def test_circuit_wider_than_the_device_is_a_device_limit() -> None:
    device = DEVICES.get("density-matrix")
    with pytest.raises(errors.DeviceLimit) as caught:
        check_circuit(device, QuantumCircuit(device.max_qubits + 1), program=3)
    assert caught.value.code == "DEVICE_LIMIT"
    assert caught.value.detail == {
        "program": 3,
        "qubits": device.max_qubits + 1,
        "max_qubits": device.max_qubits,
        "device": "density-matrix",
    }


def test_circuit_exactly_as_wide_as_the_device_fits() -> None:
    device = DEVICES.get("density-matrix")
    check_circuit(device, QuantumCircuit(device.max_qubits))


def test_stabilizer_device_refuses_a_t_gate_by_name() -> None:
    circuit = QuantumCircuit(1)
    circuit.h(0)
    circuit.t(0)
    with pytest.raises(errors.DeviceUnsupportedOperation) as caught:
        check_circuit(STABILIZER, circuit)
    assert caught.value.code == "DEVICE_UNSUPPORTED_OPERATION"
    assert caught.value.detail["operation"] == "t"
    assert "'t'" in caught.value.message


def test_stabilizer_device_finds_a_t_gate_inside_an_if_block() -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)) as otherwise:
        circuit.x(0)
    with otherwise:
        circuit.t(0)
    with pytest.raises(errors.DeviceUnsupportedOperation) as caught:
        check_circuit(STABILIZER, circuit)
    assert caught.value.detail["operation"] == "t"


def test_stabilizer_device_finds_a_t_gate_inside_a_loop() -> None:
    circuit = QuantumCircuit(1)
    with circuit.for_loop(range(3)):
        circuit.t(0)
    assert first_non_clifford(circuit) == "t"


@pytest.mark.parametrize(
    "gate",
    [
        pytest.param(lambda c: c.rz(math.pi / 2, 0), id="rz(pi/2)"),
        pytest.param(lambda c: c.p(math.pi, 0), id="p(pi)"),
        pytest.param(lambda c: c.append(UGate(math.pi / 2, 0, math.pi), [0]), id="u=h"),
        pytest.param(lambda c: c.rx(math.pi, 0), id="rx(pi)"),
    ],
)
def test_stabilizer_device_accepts_clifford_gates_outside_its_basis(gate) -> None:
    circuit = QuantumCircuit(1, 1)
    gate(circuit)
    circuit.measure(0, 0)
    assert circuit.data[0].operation.name not in STABILIZER.basis_gates
    check_circuit(STABILIZER, circuit)


def test_stabilizer_device_refuses_a_non_clifford_angle() -> None:
    circuit = QuantumCircuit(1)
    circuit.rz(math.pi / 4, 0)
    with pytest.raises(errors.DeviceUnsupportedOperation) as caught:
        check_circuit(STABILIZER, circuit)
    assert caught.value.detail["operation"] == "rz"


def test_stabilizer_device_refuses_an_unbound_parameter() -> None:
    from qiskit.circuit import Parameter

    circuit = QuantumCircuit(1)
    circuit.rz(Parameter("theta"), 0)
    assert first_non_clifford(circuit) == "rz"


def test_structural_operations_are_always_allowed() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.barrier()
    circuit.reset(1)
    circuit.measure([0, 1], [0, 1])
    assert first_non_clifford(circuit) is None
    check_circuit(STABILIZER, circuit)


def test_non_clifford_devices_accept_t_gates() -> None:
    circuit = QuantumCircuit(1)
    circuit.t(0)
    for name in ("statevector", "density-matrix", "mps"):
        check_circuit(DEVICES.get(name), circuit)

"""Checks that a circuit's operations suit a device, before it is queued."""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp, Instruction
from qiskit.quantum_info import Clifford

from qharbor import errors
from qharbor.devices.device import Device

#: Instructions every device accepts besides its gates.
STRUCTURAL = frozenset(
    {
        "measure",
        "reset",
        "barrier",
        "delay",
        "if_else",
        "while_loop",
        "for_loop",
        "switch_case",
        "break_loop",
        "continue_loop",
        "box",
        "store",
    }
)


def check_circuit(device: Device, circuit: QuantumCircuit, program: int = 0) -> None:
    """Refuse a circuit the device cannot run.

    Raises:
        errors.DeviceLimit: the circuit is wider than the device, naming both widths.
        errors.DeviceUnsupportedOperation: for a Clifford-only device, the first
            non-Clifford operation, by name.
    """
    if circuit.num_qubits > device.max_qubits:
        raise errors.DeviceLimit(
            f"program {program} uses {circuit.num_qubits} qubits; device {device.name!r} "
            f"runs at most {device.max_qubits}",
            program=program,
            qubits=circuit.num_qubits,
            max_qubits=device.max_qubits,
            device=device.name,
        )
    if device.clifford_only:
        bad = first_non_clifford(circuit)
        if bad is not None:
            raise errors.DeviceUnsupportedOperation(
                f"program {program} uses {bad!r}, which is not a Clifford operation; device "
                f"{device.name!r} runs Clifford circuits only (try 'statevector' or 'mps')",
                program=program,
                operation=bad,
                device=device.name,
            )


def is_clifford_operation(op: Instruction, basis: frozenset[str]) -> bool:
    """Whether a gate is Clifford: in the basis, or with a Clifford matrix."""
    if op.name in basis:
        return True
    if op.is_parameterized():
        return False
    try:
        Clifford(op)
    except Exception:  # qiskit raises QiskitError or others for non-Clifford input
        return False
    return True


def first_non_clifford(circuit: QuantumCircuit, basis: frozenset[str] | None = None) -> str | None:
    """Name of the first operation that is not Clifford, or None."""
    from qharbor.devices.catalogue import stabilizer_basis

    allowed = basis if basis is not None else stabilizer_basis()
    for instruction in circuit.data:
        op = instruction.operation
        if isinstance(op, ControlFlowOp):
            for block in op.blocks:
                found = first_non_clifford(block, allowed)
                if found is not None:
                    return found
            continue
        if op.name in STRUCTURAL:
            continue
        if not is_clifford_operation(op, allowed):
            return op.name
    return None

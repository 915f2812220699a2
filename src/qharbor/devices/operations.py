"""Checks that a circuit's operations suit a device, before it is queued."""

from __future__ import annotations

import dataclasses

from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp, Instruction
from qiskit.quantum_info import Clifford

from qharbor import errors
from qharbor.devices.device import Device
from qharbor.devices.twins.spec import TwinSpec

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


def _qubit_index(circuit: QuantumCircuit, qubit: object, outer: QuantumCircuit) -> int:
    try:
        return outer.find_bit(qubit).index
    except Exception:  # a block's own qubit: fall back to its position there
        return circuit.find_bit(qubit).index


def used_qubits(circuit: QuantumCircuit, outer: QuantumCircuit | None = None) -> set[int]:
    """Indices of the qubits any operation other than a barrier acts on."""
    outer = outer or circuit
    used: set[int] = set()
    for instruction in circuit.data:
        op = instruction.operation
        if op.name == "barrier":
            continue
        used |= {_qubit_index(circuit, q, outer) for q in instruction.qubits}
        if isinstance(op, ControlFlowOp):
            for block in op.blocks:
                used |= used_qubits(block, outer)
    return used


#: Instructions that are not gates, for the average cost of a gate.
_NOT_GATES = frozenset({"barrier", "measure", "delay", "reset"})

#: Gates a compiled circuit has per submitted gate (native decompositions and
#: routing), for predicting a twin's time before compiling.
COMPILED_GATES_PER_GATE = 3


def check_twin_time(
    spec: TwinSpec,
    circuit: QuantumCircuit,
    shots: int,
    program: int = 0,
    *,
    compiled: bool = False,
    fold: float = 1.0,
    because: str | None = None,
) -> float:
    """Refuse, before queueing, a circuit the twin would take too long to simulate.

    The time is predicted on the Aer method the twin would choose
    (:mod:`qharbor.engines.twin_methods`), on the circuit's active qubits, with
    :data:`COMPILED_GATES_PER_GATE` gates per gate unless it is ``compiled``.

    Args:
        fold: how many times over its two-qubit gates run (zero-noise
            extrapolation folds them), each costing an average gate.
        because: what made the circuit this long, said in place of the usual
            hint (what to reduce) when it is refused.

    Returns:
        The predicted seconds.

    Raises:
        errors.DeviceLimit: the prediction exceeds the twin's ``max_run_s``, with
            the estimate and the shots that would fit.
    """
    from qharbor.engines import twin, twin_costs, twin_methods

    narrow, _qubits = twin.compact(circuit)
    shape = twin_methods.shape_of(narrow)
    if fold > 1.0 and shape.two_qubit:
        instructions = sum(1 for i in narrow.data if i.operation.name not in _NOT_GATES)
        per_gate = shape.gates / max(1, instructions)
        extra = round(shape.two_qubit * (fold - 1.0) * per_gate)
        shape = dataclasses.replace(shape, gates=shape.gates + extra)
    if not compiled:
        shape = dataclasses.replace(shape, gates=shape.gates * COMPILED_GATES_PER_GATE)
    try:
        coefficients = twin_costs.current()
        choice = twin_methods.choose(shape, shots, coefficients, limit_s=spec.max_run_s)
    except ValueError as exc:
        raise errors.DeviceLimit(
            f"program {program}: {exc}; use fewer qubits or no control flow",
            program=program,
            active_qubits=shape.qubits,
            device=spec.name,
        ) from None
    if choice.predicted_s <= spec.max_run_s:
        return choice.predicted_s
    fitting = shots

    def seconds(shots: int) -> float:
        return twin_methods.predict(choice.method, shape, shots, coefficients)

    while fitting > 1 and seconds(fitting) > spec.max_run_s:
        fitting //= 2
    hint = "use fewer qubits, fewer gates or a Clifford circuit"
    if seconds(fitting) <= spec.max_run_s and fitting < shots:
        hint = f"use at most about {fitting} shots, or fewer qubits or gates"
    if because is not None:
        hint = because
    raise errors.DeviceLimit(
        f"program {program} acts on {shape.qubits} qubits; the twin {spec.name!r} would "
        f"simulate it on {choice.method} in about {choice.predicted_s:.3g} s, more than "
        f"its limit of {spec.max_run_s:g} s; {hint}",
        program=program,
        active_qubits=shape.qubits,
        method=choice.method,
        predicted_s=round(choice.predicted_s, 3),
        max_run_s=spec.max_run_s,
        shots_that_fit=fitting if fitting < shots else None,
        device=spec.name,
    )


def check_isa(
    spec: TwinSpec, circuit: QuantumCircuit, program: int = 0, outer: QuantumCircuit | None = None
) -> None:
    """Refuse a circuit that is not in the device's native instructions on coupled qubits.

    Qubit ``i`` of the circuit is taken as physical qubit ``i``.

    Raises:
        errors.ProgramNotISA: naming the first offending instruction and its qubits.
    """
    outer = outer or circuit
    native = {g.name: g.num_qubits for g in spec.gates}
    coupled = set(spec.edges) | {(b, a) for a, b in spec.edges}
    for position, instruction in enumerate(circuit.data):
        op = instruction.operation
        qubits = [_qubit_index(circuit, q, outer) for q in instruction.qubits]
        if isinstance(op, ControlFlowOp):
            for block in op.blocks:
                check_isa(spec, block, program, outer)
            continue
        if op.name in STRUCTURAL:
            continue
        where = f"program {program}, instruction {position}: {op.name} on qubits {qubits}"
        if op.name not in native:
            raise errors.ProgramNotISA(
                f"{where} is not a native instruction of {spec.name!r} "
                f"(native: {', '.join(spec.native_gates)}); submit without skip_compilation "
                "to let the centre compile it",
                program=program,
                instruction=op.name,
                qubits=qubits,
                native_gates=list(spec.native_gates),
            )
        if len(qubits) == 2 and tuple(qubits) not in coupled:
            neighbours = sorted({b for a, b in coupled if a == qubits[0]})
            raise errors.ProgramNotISA(
                f"{where}: qubits {qubits[0]} and {qubits[1]} are not coupled on "
                f"{spec.name!r} (qubit {qubits[0]} couples to {neighbours}); route the circuit "
                "or submit without skip_compilation",
                program=program,
                instruction=op.name,
                qubits=qubits,
                coupled_to=neighbours,
            )

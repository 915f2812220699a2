"""A twin's Qiskit ``Target``: native gates with errors and durations, measure, delay.

What the centre transpiles a twin's jobs for, and what ``LocalTwin.target`` gives a
client to transpile for the same device.
"""

from __future__ import annotations

from typing import Any

from qiskit.circuit import (
    Delay,
    ForLoopOp,
    IfElseOp,
    Measure,
    Parameter,
    Reset,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.transpiler import InstructionProperties, Target

from qharbor.devices.twins import document as documents
from qharbor.devices.twins.calibration import QubitCalibration

_CONTROL_FLOW = {
    "if_else": IfElseOp,
    "while_loop": WhileLoopOp,
    "for_loop": ForLoopOp,
    "switch_case": SwitchCaseOp,
}


def _gate(name: str) -> Any:
    gate = get_standard_gate_name_mapping().get(name)
    if gate is None:
        raise ValueError(f"{name!r} is not a standard Qiskit gate name")
    if gate.params:
        # One free parameter per angle, so the target accepts any angle.
        gate = type(gate)(*[Parameter(f"{name}_{i}") for i in range(len(gate.params))])
    return gate


def target(document: documents.DocumentLike) -> Target:
    """The device's Qiskit ``Target``: native gates with errors and durations, measure, delay."""
    twin = documents.read(document)
    n = twin.num_qubits
    qubits = twin.calibration.qubits
    result = Target(description=twin.device, num_qubits=n)
    for name, entries in twin.gate_table().items():
        result.add_instruction(
            _gate(name),
            {q: InstructionProperties(duration=d, error=e) for q, (e, d) in entries.items()},
            name=name,
        )
    measure_s = twin.measure_duration_ns * 1e-9
    result.add_instruction(
        Measure(),
        {
            (q,): InstructionProperties(
                duration=measure_s, error=readout_error(qubits[q]) if q < len(qubits) else None
            )
            for q in range(n)
        },
    )
    result.add_instruction(
        Reset(), {(q,): InstructionProperties(duration=measure_s) for q in range(n)}
    )
    result.add_instruction(Delay(Parameter("t")), {(q,): None for q in range(n)})
    for name, klass in _CONTROL_FLOW.items():
        result.add_instruction(klass, name=name)
    return result


def readout_error(qubit: QubitCalibration) -> float:
    """A qubit's mean assignment error: the average of P(1|0) and P(0|1)."""
    return (qubit.readout_p01 + qubit.readout_p10) / 2

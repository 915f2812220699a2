"""A Qiskit ``Target`` from a device as ``GET /v1/devices/{name}`` describes it.

Every device has ``basis_gates`` and ``max_qubits``. A device that also has a
``coupling_map`` (pairs of physical qubits) gets two-qubit gates on those pairs
only; ``gate_errors`` and ``gate_durations`` (per gate, ``{"0,1": value}`` keyed
by comma-joined qubits, durations in seconds) and ``qubits`` (per qubit ``t1``,
``t2`` in seconds and ``frequency`` in Hz) fill in instruction and qubit
properties where the device publishes them. A device without a coupling map is
fully connected: its gates apply to any qubits, so the transpiler keeps a
circuit's width and leaves its layout alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from qiskit.circuit import (
    BreakLoopOp,
    ContinueLoopOp,
    ForLoopOp,
    IfElseOp,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers.backend import QubitProperties
from qiskit.transpiler import InstructionProperties, Target

_CONTROL_FLOW = {
    "if_else": IfElseOp,
    "while_loop": WhileLoopOp,
    "for_loop": ForLoopOp,
    "switch_case": SwitchCaseOp,
    "break_loop": BreakLoopOp,
    "continue_loop": ContinueLoopOp,
}
# Always available, whatever the device lists.
_ALWAYS = ("measure", "reset", "delay")


def build_target(device: Mapping[str, Any]) -> Target:
    """The device's target: native gates, connectivity, and errors and durations if known.

    Args:
        device: the device's JSON from the centre.
    """
    standard = get_standard_gate_name_mapping()
    num_qubits = int(device.get("num_qubits") or device.get("max_qubits") or 1)
    coupling = _pairs(device.get("coupling_map"))
    errors = device.get("gate_errors") or {}
    durations = device.get("gate_durations") or {}
    target = Target(
        description=f"qharbor device {device.get('name', '')}",
        num_qubits=num_qubits,
        dt=device.get("dt"),
        qubit_properties=_qubit_properties(device.get("qubits"), num_qubits),
    )
    names = [g for g in device.get("basis_gates") or () if g in standard and g not in _ALWAYS]
    for name in (*dict.fromkeys(names), *_ALWAYS):
        gate = standard[name]
        properties: dict[tuple[int, ...], InstructionProperties | None] | None
        if coupling is None:
            properties = None  # global: any qubits
        elif gate.num_qubits == 1:
            properties = {
                (q,): _properties(errors, durations, name, (q,)) for q in range(num_qubits)
            }
        elif gate.num_qubits == 2:
            properties = {pair: _properties(errors, durations, name, pair) for pair in coupling}
        else:
            continue  # wider gates are decomposed onto a coupled device
        target.add_instruction(gate, properties, name=name)
    for name, op in _CONTROL_FLOW.items():
        target.add_instruction(op, name=name)
    return target


def _pairs(value: Any) -> list[tuple[int, int]] | None:
    if not value:
        return None
    return [(int(a), int(b)) for a, b in value]


def _properties(
    errors: Mapping[str, Any], durations: Mapping[str, Any], name: str, qubits: tuple[int, ...]
) -> InstructionProperties | None:
    key = ",".join(str(q) for q in qubits)
    error = (errors.get(name) or {}).get(key)
    duration = (durations.get(name) or {}).get(key)
    if error is None and duration is None:
        return None
    return InstructionProperties(
        error=None if error is None else float(error),
        duration=None if duration is None else float(duration),
    )


def _qubit_properties(value: Any, num_qubits: int) -> list[QubitProperties] | None:
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        return None
    items = list(value)
    if len(items) != num_qubits:
        return None
    return [
        QubitProperties(t1=q.get("t1"), t2=q.get("t2"), frequency=q.get("frequency")) for q in items
    ]

"""A Qiskit ``Target`` from a device as ``GET /v1/devices/{name}`` describes it.

Every device has ``basis_gates`` and ``max_qubits``. A device twin also has a
``twin`` object: its ``num_qubits``, ``edges`` (coupled pairs, usable both
ways), and per gate a mean ``error`` and a ``duration_ns``; its calibration
snapshot (``GET /v1/devices/{name}/calibration``), when given, supplies the
error and duration of each gate on each qubit tuple and each qubit's ``t1_us``,
``t2_us`` and ``frequency_ghz`` instead. Two-qubit gates then apply to coupled
pairs only, so the transpiler lays out and routes circuits. A device with no
topology is fully connected: its gates apply to any qubits, so the transpiler
keeps a circuit's width and leaves its layout alone.
"""

from __future__ import annotations

from collections.abc import Mapping
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
_NS = 1e-9
_US = 1e-6

Properties = dict[tuple[int, ...], InstructionProperties | None]


def build_target(device: Mapping[str, Any], calibration: Mapping[str, Any] | None = None) -> Target:
    """The device's target: native gates, connectivity, and errors and durations if known.

    Args:
        device: the device's JSON from the centre.
        calibration: the device's current calibration snapshot, if it has one.
    """
    standard = get_standard_gate_name_mapping()
    twin = device.get("twin") or {}
    num_qubits = int(twin.get("num_qubits") or device.get("max_qubits") or 1)
    edges = twin.get("edges") or device.get("coupling_map")
    coupling = None
    if edges:
        coupling = sorted({pair for a, b in edges for pair in ((int(a), int(b)), (int(b), int(a)))})
    measured = _measured(twin, calibration)
    target = Target(
        description=f"qharbor device {device.get('name', '')}",
        num_qubits=num_qubits,
        qubit_properties=_qubit_properties(calibration, num_qubits),
    )
    native = twin.get("native_gates") or device.get("basis_gates") or ()
    names = [g for g in native if g in standard and g not in _ALWAYS]
    for name in (*dict.fromkeys(names), *_ALWAYS):
        gate = standard[name]
        properties: Properties | None
        if coupling is None:
            properties = None  # global: any qubits
        elif gate.num_qubits == 1 or name in _ALWAYS:
            properties = {(q,): measured(name, (q,)) for q in range(num_qubits)}
        elif gate.num_qubits == 2:
            properties = {pair: measured(name, pair) for pair in coupling}
        else:
            continue  # wider gates are decomposed onto a coupled device
        target.add_instruction(gate, properties, name=name)
    for name, op in _CONTROL_FLOW.items():
        target.add_instruction(op, name=name)
    return target


def _measured(twin: Mapping[str, Any], calibration: Mapping[str, Any] | None) -> Any:
    """A function giving a gate's properties on qubits: calibrated, else the twin's means."""
    exact: dict[tuple[str, tuple[int, ...]], tuple[float | None, float | None]] = {}
    for entry in (calibration or {}).get("gates") or ():
        key = (str(entry["gate"]), tuple(int(q) for q in entry["qubits"]))
        exact[key] = (entry.get("error"), entry.get("duration_ns"))
    means = twin.get("gates") or {}
    readout = {}
    for index, qubit in enumerate((calibration or {}).get("qubits") or ()):
        if "readout_p01" in qubit and "readout_p10" in qubit:
            readout[index] = (qubit["readout_p01"] + qubit["readout_p10"]) / 2

    def properties(name: str, qubits: tuple[int, ...]) -> InstructionProperties | None:
        error, duration = exact.get((name, qubits), (None, None))
        if error is None and duration is None and name in means:
            mean = means[name].get("error")
            error = mean.get("mean") if isinstance(mean, Mapping) else mean
            duration = means[name].get("duration_ns")
        if name == "measure":
            error = readout.get(qubits[0], error)
            duration = duration if duration is not None else twin.get("measure_duration_ns")
        if error is None and duration is None:
            return None
        return InstructionProperties(
            error=None if error is None else float(error),
            duration=None if duration is None else float(duration) * _NS,
        )

    return properties


def _qubit_properties(
    calibration: Mapping[str, Any] | None, num_qubits: int
) -> list[QubitProperties] | None:
    qubits = list((calibration or {}).get("qubits") or ())
    if len(qubits) != num_qubits:
        return None
    return [
        QubitProperties(
            t1=q["t1_us"] * _US if q.get("t1_us") is not None else None,
            t2=q["t2_us"] * _US if q.get("t2_us") is not None else None,
            frequency=q["frequency_ghz"] * 1e9 if q.get("frequency_ghz") is not None else None,
        )
        for q in qubits
    ]

"""Braket results from the centre's result documents, built by Braket's own code.

``build_result`` makes the ``GateModelTaskResult`` a Braket simulator would
return and hands it to ``GateModelQuantumTaskResult.from_object``, as Braket's
``LocalSimulator`` does, so the result's types and fields are Braket's: exact
result types for ``shots=0``; otherwise one row of bits per shot, from which
Braket estimates a circuit's result types itself.

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from braket.ir import jaqcd
from braket.ir.openqasm import Program as OpenQASMProgram
from braket.task_result import (
    AdditionalMetadata,
    GateModelTaskResult,
    ResultTypeValue,
    TaskMetadata,
)
from braket.tasks import GateModelQuantumTaskResult

_MEASURE = re.compile(r"(\w+)\s*\[\s*(\d+)\s*\]\s*=\s*measure\s+(?:\w+\s*\[\s*(\d+)\s*\]|\$(\d+))")


@dataclass(frozen=True)
class BraketProgram:
    """What a task sends to the centre, and what its result needs to be Braket's.

    Attributes:
        source: the OpenQASM 3 the centre runs.
        action_source: the program as the user's circuit writes it (the result's
            ``additional_metadata.action``).
        inputs: values for the program's ``input`` parameters.
        shots: shots as asked; 0 means exact result types only.
        specs: the circuit's result types (Braket IR), when it has any.
        sampled: whether result types are estimated from the shots by Braket's
            own code (the source then carries the measurement-basis rotations).
    """

    source: str
    action_source: str
    inputs: dict[str, float] = field(default_factory=dict)
    shots: int = 0
    specs: tuple[Any, ...] | None = None
    sampled: bool = False

    def centre_program(self) -> dict[str, Any]:
        """The program object for ``POST /v1/jobs``."""
        program: dict[str, Any] = {"source": self.source, "format": "qasm3"}
        if self.inputs:
            program["parameters"] = [dict(self.inputs)]
        return program


def build_result(
    task_id: str,
    device: str,
    program: BraketProgram,
    data: dict[str, Any],
    job: dict[str, Any],
) -> GateModelQuantumTaskResult:
    """A Braket result from the centre's result document, as Braket's simulators build it.

    Args:
        task_id: the job id.
        device: the device name.
        program: what was sent.
        data: the centre's result (``GET /v1/jobs/{id}/result``).
        job: the centre's job object (for its times).
    """
    row = data["experiments"][0]
    metadata = TaskMetadata(
        id=task_id,
        shots=program.shots,
        deviceId=device,
        createdAt=_braket_time(job.get("created_at")),
        endedAt=_braket_time(job.get("finished_at")),
    )
    additional = AdditionalMetadata(
        action=OpenQASMProgram(source=program.action_source, inputs=dict(program.inputs))
    )
    computed = row.get("result_types") or []
    if program.shots == 0:
        specs = program.specs or tuple(_spec(r) for r in computed)
        values = [
            ResultTypeValue.construct(type=spec, value=_value(r))
            for spec, r in zip(specs, computed, strict=True)
        ]
        result = GateModelTaskResult.construct(
            taskMetadata=metadata, additionalMetadata=additional, resultTypes=values
        )
        return GateModelQuantumTaskResult.from_object(result)
    measured, measurements = _measurements(program.source, row["counts"], row.get("seed"))
    if program.sampled:
        # Braket computes these from the shots, as it does for its own devices.
        types: list[Any] | None = list(program.specs or ())
    else:
        types = [ResultTypeValue.construct(type=_spec(r), value=_value(r)) for r in computed]
    result = GateModelTaskResult.construct(
        taskMetadata=metadata,
        additionalMetadata=additional,
        resultTypes=types or None,
        measurements=measurements,
        measuredQubits=measured,
    )
    return GateModelQuantumTaskResult.from_object(result)


def _braket_time(value: str | None) -> str | None:
    """RFC 3339 to the millisecond, as Braket writes times (``...T22:02:41.536Z``)."""
    if not value:
        return None
    head, _, fraction = value.rstrip("Z").partition(".")
    return f"{head}.{(fraction + '000')[:3]}Z"


def _measurements(
    source: str, counts: dict[str, int], seed: int | None
) -> tuple[list[int], list[list[int]]]:
    """The measured qubits, and one row of bits per shot in Braket's order.

    The centre's bit strings put classical bit 0 rightmost; Braket's rows put it
    first. Rows come in a random order, as a device's shots do, drawn from the
    job's seed so that a seeded run repeats them.
    """
    rows: list[list[int]] = []
    for bits, n in counts.items():
        row = [int(b) for b in bits.replace(" ", "")[::-1]]
        rows.extend([row] * n)
    width = len(rows[0]) if rows else 0
    qubit_of_bit: dict[int, int] = {}
    for match in _MEASURE.finditer(source):
        qubit_of_bit[int(match[2])] = int(match[3] if match[3] is not None else match[4])
    if sorted(qubit_of_bit) == list(range(width)):
        measured = [qubit_of_bit[b] for b in range(width)]
    else:
        measured = list(range(width))
    order = np.random.default_rng(seed).permutation(len(rows))
    return measured, [rows[i] for i in order]


def _spec(row: dict[str, Any]) -> Any:
    """Braket's IR object for a result type the centre computed."""
    kind = row["type"]
    if kind == "expectation":
        return jaqcd.Expectation(observable=row["observable"], targets=row["targets"])
    if kind == "variance":
        return jaqcd.Variance(observable=row["observable"], targets=row["targets"])
    if kind == "probability":
        return jaqcd.Probability(targets=row["targets"])
    if kind == "density_matrix":
        return jaqcd.DensityMatrix(targets=row["targets"])
    if kind == "amplitude":
        return jaqcd.Amplitude(states=list(row["states"]))
    return jaqcd.StateVector()


def _value(row: dict[str, Any]) -> Any:
    """A value in the NumPy types Braket's simulators give."""
    kind, value = row["type"], row["value"]
    if kind == "probability":
        return np.array(value, dtype=float)
    if kind == "state_vector":
        return np.array([complex(re, im) for re, im in value])
    if kind == "density_matrix":
        pairs = np.asarray(value, dtype=float)
        return pairs[..., 0] + 1j * pairs[..., 1]
    if kind == "amplitude":
        return {bits: complex(re, im) for bits, (re, im) in value.items()}
    return value

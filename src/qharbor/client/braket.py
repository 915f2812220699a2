"""A Braket-style device backed by a qharbor centre.

Braket users keep their circuits and their results: ``device.run(circuit,
shots=...)`` sends the circuit's OpenQASM 3 to the centre and returns a task
whose ``result()`` is a Braket ``GateModelQuantumTaskResult``, with
measurement counts and any result types the circuit asked for.

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).

Example:
    >>> from braket.circuits import Circuit
    >>> from qharbor.braket import QHarborDevice
    >>> device = QHarborDevice("statevector")        # QHARBOR_URL/QHARBOR_TOKEN
    >>> device.run(Circuit().h(0).cnot(0, 1), shots=1000).result().measurement_counts
    Counter({'00': 503, '11': 497})
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from braket.circuits import Circuit
from braket.circuits.serialization import IRType
from braket.ir import jaqcd
from braket.ir.openqasm import Program as OpenQASMProgram
from braket.task_result import AdditionalMetadata, ResultTypeValue, TaskMetadata
from braket.tasks import GateModelQuantumTaskResult

from qharbor.client.job import Job
from qharbor.client.service import HarborService


class QHarborDevice:
    """A centre's device, used the way Braket devices are.

    Args:
        device: the centre's device name (see ``qharbor devices``).
        service: a connected :class:`~qharbor.client.service.HarborService`;
            by default one from the environment or the saved account.
    """

    def __init__(self, device: str = "statevector", service: HarborService | None = None) -> None:
        self.name = device
        self._service = service or HarborService()

    def run(
        self,
        task_specification: Circuit | str,
        shots: int = 1000,
        inputs: dict[str, float] | None = None,
        seed: int | None = None,
    ) -> QHarborQuantumTask:
        """Run a Braket circuit (or OpenQASM 3 text) on the centre.

        Args:
            task_specification: a ``braket.circuits.Circuit`` or OpenQASM 3 source.
            shots: shots to run, at least 1.
            inputs: values for the program's ``input`` parameters.
            seed: sampling seed, for reproducible counts.
        """
        if isinstance(task_specification, Circuit):
            source = task_specification.to_ir(IRType.OPENQASM).source
            qubits = sorted(int(q) for q in task_specification.qubits)
        else:
            source, qubits = str(task_specification), None
        program: dict[str, Any] = {"source": source, "format": "qasm3"}
        if inputs:
            program["parameters"] = [dict(inputs)]
        job = self._service.run([program], device=self.name, shots=shots, seed=seed)
        return QHarborQuantumTask(job, source, shots, qubits)


class QHarborQuantumTask:
    """A submitted run; ``result()`` waits for it."""

    def __init__(self, job: Job, source: str, shots: int, qubits: list[int] | None) -> None:
        self._job = job
        self._source = source
        self._shots = shots
        self._qubits = qubits

    @property
    def id(self) -> str:
        return self._job.job_id

    def state(self) -> str:
        """Braket's name for the job's status."""
        return {"DONE": "COMPLETED", "QUEUED": "QUEUED", "RUNNING": "RUNNING"}.get(
            self._job.status(), self._job.status()
        )

    def cancel(self) -> None:
        self._job.cancel()

    def result(self, timeout: float | None = None) -> GateModelQuantumTaskResult:
        """The result as Braket builds it, waiting for the job if needed."""
        data = self._job.result(timeout).to_json()
        row = data["experiments"][0]
        counts: dict[str, int] = row["counts"]
        # The centre's bit strings put classical bit 0 rightmost; Braket's leftmost.
        braket_counts = Counter({bits.replace(" ", "")[::-1]: n for bits, n in counts.items()})
        measurements = [
            [int(b) for b in bits] for bits, n in sorted(braket_counts.items()) for _ in range(n)
        ]
        width = len(next(iter(braket_counts), ""))
        measured = self._qubits if self._qubits and len(self._qubits) == width else None
        types, values = _result_types(row.get("result_types") or [])
        return GateModelQuantumTaskResult(
            task_metadata=TaskMetadata(id=self.id, shots=self._shots, deviceId=data["device"]),
            additional_metadata=AdditionalMetadata(action=OpenQASMProgram(source=self._source)),
            result_types=types,
            values=values,
            measurements=np.array(measurements, dtype=int) if measurements else None,
            measured_qubits=measured or list(range(width)),
            measurement_counts=braket_counts,
            measurement_probabilities={
                k: v / max(1, sum(braket_counts.values())) for k, v in braket_counts.items()
            },
            measurements_copied_from_device=True,
            measurement_counts_copied_from_device=False,
            measurement_probabilities_copied_from_device=False,
        )


def _result_types(rows: list[dict[str, Any]]) -> tuple[list[ResultTypeValue], list[Any]]:
    types: list[ResultTypeValue] = []
    values: list[Any] = []
    for row in rows:
        kind, value = row["type"], row["value"]
        ir: Any
        if kind in ("expectation", "variance"):
            klass = jaqcd.Expectation if kind == "expectation" else jaqcd.Variance
            ir = klass(observable=row["observable"], targets=row["targets"])
        elif kind == "probability":
            ir = jaqcd.Probability(targets=row["targets"])
            value = np.array(value)
        elif kind == "amplitude":
            ir = jaqcd.Amplitude(states=list(value))
            value = {k: complex(re, im) for k, (re, im) in value.items()}
        else:
            ir = jaqcd.StateVector()
            value = np.array([complex(re, im) for re, im in value])
        # Braket's own results hold NumPy values, which its schema would not validate.
        types.append(ResultTypeValue.construct(type=ir, value=value))
        values.append(value)
    return types, values

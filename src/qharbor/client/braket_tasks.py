"""Braket quantum tasks and task batches backed by the centre's jobs.

A task is one centre job: its ``id`` is the job id, ``state()`` is the job's
status in Braket's names, and ``result()`` is a ``GateModelQuantumTaskResult``
built the way Braket's ``LocalSimulator`` builds it (through
``GateModelQuantumTaskResult.from_object``), so its types and fields are Braket's.

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
from braket.tasks import GateModelQuantumTaskResult, QuantumTask, QuantumTaskBatch

from qharbor import errors
from qharbor.client.job import Job

logger = logging.getLogger(__name__)

#: The centre's job statuses in Braket's task-state names.
BRAKET_STATES = {
    "QUEUED": "QUEUED",
    "RUNNING": "RUNNING",
    "DONE": "COMPLETED",
    "FAILED": "FAILED",
    "CANCELLED": "CANCELLED",
}
_NO_RESULT = ("FAILED", "CANCELLED")
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


class QHarborQuantumTask(QuantumTask):
    """A Braket quantum task that is a job on the centre.

    Args:
        job: the centre's job.
        program: what was sent, and how to build the result.
        device: the device's name (the result's ``deviceId``).
        poll_timeout_seconds: how long ``result()`` waits at most, in seconds.
    """

    def __init__(
        self,
        job: Job,
        program: BraketProgram,
        device: str,
        poll_timeout_seconds: float | None = None,
    ) -> None:
        self._job = job
        self._program = program
        self._device = device
        self._timeout = poll_timeout_seconds
        self._result: GateModelQuantumTaskResult | None = None

    @property
    def id(self) -> str:
        """The centre's job id."""
        return self._job.job_id

    @property
    def program(self) -> BraketProgram:
        """What the task sent to the centre."""
        return self._program

    def state(self, use_cached_value: bool = False) -> str:
        """The task's state in Braket's names.

        ``QUEUED``, ``RUNNING``, ``CANCELLING`` (a cancel was asked of a running
        job), ``COMPLETED``, ``FAILED`` or ``CANCELLED``.
        """
        data = self._job.data if use_cached_value else self._job.refresh().data
        return _state(data)

    def cancel(self) -> None:
        """Ask the centre to cancel the job; a task already final is left as it is."""
        try:
            self._job.cancel()
        except errors.JobAlreadyFinal:
            logger.warning("task %s is already final and cannot be cancelled", self.id)

    def metadata(self, use_cached_value: bool = False) -> dict[str, Any]:
        """The task's record with the keys Braket's ``GetQuantumTask`` uses.

        ``job`` holds the centre's own job object.
        """
        data = self._job.data if use_cached_value else self._job.refresh().data
        error = data.get("error") or {}
        record: dict[str, Any] = {
            "quantumTaskArn": self.id,
            "status": _state(data),
            "deviceArn": self._device,
            "shots": self._program.shots,
            "createdAt": data.get("created_at"),
            "endedAt": data.get("finished_at"),
            "tags": {tag: "" for tag in data.get("tags") or []},
            "job": data,
        }
        if error:
            record["failureReason"] = f"{error.get('code')}: {error.get('message')}"
        return record

    def result(self, timeout: float | None = None) -> GateModelQuantumTaskResult | None:
        """The result, waiting for the job if needed.

        As with Braket's ``AwsQuantumTask``, a task that failed or was cancelled
        has no result: ``None`` is returned and a warning logged, and
        ``metadata()["failureReason"]`` says why.

        Args:
            timeout: seconds to wait at most; by default the task's poll timeout.

        Raises:
            errors.JobTimeout: the job was not final within the timeout.
        """
        if self._result is not None:
            return self._result
        try:
            data = self._job.result(timeout if timeout is not None else self._timeout).to_json()
        except (errors.JobFailed, errors.JobCancelled) as exc:
            logger.warning("task %s has no result: %s", self.id, exc.message)
            return None
        if not self._job.data.get("finished_at"):
            self._job.refresh()  # for the result's times
        self._result = build_result(self.id, self._device, self._program, data, self._job.data)
        return self._result

    def async_result(self) -> asyncio.Task[GateModelQuantumTaskResult | None]:
        """The result as an ``asyncio.Task`` that waits in a worker thread.

        Call it inside a running event loop (``await task.async_result()``).
        """
        return asyncio.get_running_loop().create_task(asyncio.to_thread(self.result))

    def __repr__(self) -> str:
        return f"QHarborQuantumTask('id':{self.id})"


class QHarborQuantumTaskBatch(QuantumTaskBatch):
    """Tasks submitted together by ``QHarborDevice.run_batch``.

    Args:
        tasks: the tasks, in the order of the specifications.
        resubmit: submits a task's program again (for retries).
        max_workers: threads that wait for results together.
    """

    MAX_RETRIES = 3

    def __init__(
        self,
        tasks: list[QHarborQuantumTask],
        resubmit: Callable[[QHarborQuantumTask], QHarborQuantumTask],
        max_workers: int,
    ) -> None:
        self._tasks = list(tasks)
        self._resubmit = resubmit
        self._max_workers = max(1, max_workers)
        self._results: list[GateModelQuantumTaskResult | None] | None = None
        self._unsuccessful: set[str] = set()

    def results(
        self,
        fail_unsuccessful: bool = False,
        max_retries: int = MAX_RETRIES,
        use_cached_value: bool = True,
    ) -> list[GateModelQuantumTaskResult | None]:
        """Every task's result, in order; ``None`` for a task that failed or was cancelled.

        Args:
            fail_unsuccessful: raise if any task is still without a result after
                the retries.
            max_retries: how often tasks without a result are submitted again.
            use_cached_value: reuse the results of an earlier call.

        Raises:
            RuntimeError: ``fail_unsuccessful`` and some task has no result.
        """
        if self._results is None or not use_cached_value:
            self._results = self._collect(self._tasks)
            self._unsuccessful = {
                task.id
                for task, result in zip(self._tasks, self._results, strict=True)
                if result is None
            }
        retries = 0
        while self._unsuccessful and retries < max_retries:
            self.retry_unsuccessful_tasks()
            retries += 1
        if fail_unsuccessful and self._unsuccessful:
            raise RuntimeError(
                f"{len(self._unsuccessful)} quantum tasks failed to complete after "
                f"{max_retries} retries: {sorted(self._unsuccessful)}"
            )
        return list(self._results)

    def retry_unsuccessful_tasks(self) -> bool:
        """Submit the tasks without a result again, and wait for them.

        Call it after :meth:`results`. Returns whether every task now has a result.
        """
        if self._results is None:
            raise RuntimeError("call results() before retry_unsuccessful_tasks()")
        positions = [i for i, task in enumerate(self._tasks) if task.id in self._unsuccessful]
        fresh = [self._resubmit(self._tasks[i]) for i in positions]
        outcomes = self._collect(fresh)
        self._unsuccessful = set()
        for i, task, result in zip(positions, fresh, outcomes, strict=True):
            self._tasks[i] = task
            self._results[i] = result
            if result is None:
                self._unsuccessful.add(task.id)
        return not self._unsuccessful

    @property
    def tasks(self) -> list[QHarborQuantumTask]:
        """The batch's tasks, in the order of the specifications."""
        return list(self._tasks)

    @property
    def size(self) -> int:
        """How many tasks the batch holds."""
        return len(self._tasks)

    @property
    def unfinished(self) -> set[str]:
        """Ids of the tasks that are not yet final (queued, running or cancelling)."""
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            states = list(pool.map(lambda task: task.state(), self._tasks))
        final = ("COMPLETED", *_NO_RESULT)
        return {
            task.id for task, state in zip(self._tasks, states, strict=True) if state not in final
        }

    @property
    def unsuccessful(self) -> set[str]:
        """Ids of the tasks that failed or were cancelled, as of the last :meth:`results`."""
        return set(self._unsuccessful)

    def _collect(self, tasks: list[QHarborQuantumTask]) -> list[GateModelQuantumTaskResult | None]:
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            return list(pool.map(lambda task: task.result(), tasks))


def _state(data: dict[str, Any]) -> str:
    status = str(data.get("status", "QUEUED"))
    if status in ("QUEUED", "RUNNING") and data.get("cancel_requested"):
        return "CANCELLING"
    return BRAKET_STATES.get(status, status)


# --- results ------------------------------------------------------------------------------


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

"""Braket quantum tasks and task batches backed by the centre's jobs.

A task is one centre job: its ``id`` is the job id, ``state()`` is the job's
status in Braket's names, and ``result()`` is a ``GateModelQuantumTaskResult``
built as Braket's ``LocalSimulator`` builds it (see ``braket_results``).

Needs the ``braket`` extra (``pip install 'qharbor[braket]'``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from braket.tasks import GateModelQuantumTaskResult, QuantumTask, QuantumTaskBatch

from qharbor import errors
from qharbor.client.braket_results import BraketProgram, build_result
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

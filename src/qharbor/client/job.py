"""A handle on one job in the centre.

Waiting uses the centre's long poll (``?wait=``, at most 30 seconds per request),
so a waiting client sends one request per half minute instead of polling.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

from qharbor import errors
from qharbor.client.client import FINAL_STATUSES, HarborClient
from qharbor.client.results import JobResult

# Seconds per long-poll request; the centre allows up to 60.
LONG_POLL_S = 30.0
# How long a wait with no timeout rides out an unreachable centre, in seconds.
MAX_OUTAGE_S = 300.0


class Job:
    """A job submitted to a centre.

    Get one from :meth:`HarborService.run` or :meth:`HarborService.job`.

    Args:
        client: The client for the centre that holds the job.
        job_id: The job's id.
        data: The job object last read from the centre, if any.
        opener: Opens a result sealed to the user's key (given the document and
            the job id); without one, sealed results raise SealedPayloadInvalid.
    """

    def __init__(
        self,
        client: HarborClient,
        job_id: str,
        data: dict[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        opener: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
    ) -> None:
        self._client = client
        self._opener = opener
        self._job_id = job_id
        self._data: dict[str, Any] = dict(data or {"id": job_id})
        self._result: JobResult | None = None
        self._clock = clock

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._job_id

    @property
    def data(self) -> dict[str, Any]:
        """The job object as last read from the centre (see :meth:`refresh`)."""
        return dict(self._data)

    @property
    def device(self) -> str | None:
        """The device the job was submitted to."""
        return self._data.get("device")

    @property
    def tags(self) -> list[str]:
        """The job's tags."""
        return list(self._data.get("tags") or [])

    @property
    def error(self) -> dict[str, Any] | None:
        """``{"code", "message"}`` for a failed job, as last read; else None."""
        return self._data.get("error")

    def refresh(self) -> Job:
        """Read the job again from the centre; returns ``self``."""
        self._data = self._client.job_get(self._job_id)
        return self

    def status(self) -> str:
        """The job's status now: ``QUEUED``, ``RUNNING``, ``DONE``, ``FAILED`` or ``CANCELLED``."""
        return str(self.refresh()._data["status"])

    def done(self) -> bool:
        """Whether the job has reached a final state (done, failed or cancelled)."""
        return self.status() in FINAL_STATUSES

    def cancel(self) -> str:
        """Ask the centre to cancel the job.

        A queued job is cancelled at once; a running one within seconds.

        Returns:
            The job's status after the request (``CANCELLED``, or ``RUNNING``
            while a running job is being stopped).

        Raises:
            errors.JobAlreadyFinal: The job had already finished.
        """
        self._data = self._client.job_cancel(self._job_id)
        return str(self._data.get("status"))

    def wait(self, timeout: float | None = None) -> str:
        """Wait until the job reaches a final state, and return that state.

        Args:
            timeout: Seconds to wait at most; None waits as long as it takes.

        Raises:
            errors.JobTimeout: The job was not final within ``timeout``.
        """
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            chunk = self._chunk(deadline)
            self._data = self._call(
                functools.partial(self._client.job_get, self._job_id, wait=chunk), deadline
            )
            if self._data.get("status") in FINAL_STATUSES:
                return str(self._data["status"])
            self._check_deadline(deadline, timeout)

    def result(self, timeout: float | None = None) -> JobResult:
        """Wait for the job to finish and return its result.

        Args:
            timeout: Seconds to wait at most; None waits as long as it takes.

        Raises:
            errors.JobFailed: The job failed; ``detail`` holds the job's error.
            errors.JobCancelled: The job was cancelled.
            errors.JobTimeout: The job was not finished within ``timeout``.
        """
        if self._result is not None:
            return self._result
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            chunk = self._chunk(deadline)
            try:
                body = self._call(
                    functools.partial(self._client.job_result, self._job_id, wait=chunk), deadline
                )
            except errors.JobNotFinished as exc:
                self._data["status"] = exc.detail.get("status", self._data.get("status"))
            except errors.JobFailed as exc:
                self._data.update(status="FAILED", error=exc.detail.get("job_error", self.error))
                raise
            except errors.JobCancelled:
                self._data["status"] = "CANCELLED"
                raise
            else:
                self._result = self._parse(body)
                self._data["status"] = "DONE"
                return self._result
            self._check_deadline(deadline, timeout)

    def preload_result(self, body: dict[str, Any]) -> None:
        """Keep a result the centre sent with the job (``POST /v1/jobs?wait=``)."""
        self._result = self._parse(body)
        self._data["status"] = "DONE"

    def _parse(self, body: dict[str, Any]) -> JobResult:
        if "sealed" not in body:
            return JobResult.from_json(body)
        if self._opener is None:
            raise errors.SealedPayloadInvalid(
                "the result is sealed to your key; read it through HarborService, "
                "which opens it with the keys in your key folder",
                job_id=self._job_id,
            )
        return JobResult.from_json(self._opener(body, self._job_id), signed=body)

    def events(self) -> Iterator[dict[str, Any]]:
        """The job object each time its status changes, until it is final (server-sent events)."""
        for event in self._client.job_events(self._job_id):
            if event.event == "status" and isinstance(event.data, dict):
                self._data = event.data
                yield dict(event.data)

    def __repr__(self) -> str:
        status = self._data.get("status", "?")
        return f"<Job {self._job_id} {status} on {self.device or '?'}>"

    # --- waiting -----------------------------------------------------------------------

    def _chunk(self, deadline: float | None) -> float:
        if deadline is None:
            return LONG_POLL_S
        return max(0.0, min(LONG_POLL_S, deadline - self._clock()))

    def _call(
        self, request: Callable[[], dict[str, Any]], deadline: float | None
    ) -> dict[str, Any]:
        """Run ``request``, riding out an unreachable centre (a restart, a network blip).

        The session has already retried each request with backoff; this keeps
        trying until the caller's deadline, or for ``MAX_OUTAGE_S`` without one.
        """
        outage_deadline = self._clock() + MAX_OUTAGE_S if deadline is None else deadline
        failures = 0
        while True:
            try:
                return request()
            except errors.ConnectionFailed:
                if self._clock() >= outage_deadline:
                    raise
                self._client.session.pause(failures)
                failures += 1

    def _check_deadline(self, deadline: float | None, timeout: float | None) -> None:
        if deadline is not None and self._clock() >= deadline:
            status = self._data.get("status", "unknown")
            raise errors.JobTimeout(
                f"job {self._job_id} did not finish within {timeout:g} s (it is {status}); "
                "wait again with job.result() or check it later with job.status()",
                job_id=self._job_id,
                status=status,
            )

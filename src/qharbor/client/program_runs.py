"""Centre programs from the SDK: ``service.programs.run("vqe", ...)`` and its run handle."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from qharbor import errors
from qharbor.client.rest import RestSession
from qharbor.client.sse import parse_events

#: A run's statuses after which it changes no more.
FINAL = ("DONE", "FAILED", "CANCELLED")


def _segment(value: str) -> str:
    return quote(str(value), safe="")


class ProgramRun:
    """One run of a centre program: follow it, cancel it, read its signed result."""

    def __init__(self, session: RestSession, data: dict[str, Any]) -> None:
        self._session = session
        self.data = data

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def program(self) -> str:
        return str(self.data["program"])

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def progress(self) -> dict[str, Any] | None:
        progress: dict[str, Any] | None = self.data.get("progress")
        return progress

    def __repr__(self) -> str:
        return f"<ProgramRun {self.program} {self.id} {self.status}>"

    @property
    def _path(self) -> str:
        return f"/v1/programs/{_segment(self.program)}/runs/{_segment(self.id)}"

    def refresh(self) -> ProgramRun:
        """Read the run again."""
        self.data = dict(self._session.get(self._path))
        return self

    def events(self) -> Iterator[dict[str, Any]]:
        """The run at each change (progress: iteration, value, best), until it is final."""
        with self._session.stream(f"{self._path}/events", read_timeout=300) as response:
            for event in parse_events(response.iter_lines()):
                if event.event == "progress" and isinstance(event.data, dict):
                    self.data = event.data
                    yield event.data
                    if self.status in FINAL:
                        return

    def wait(self, timeout: float | None = None) -> ProgramRun:
        """Follow the run until it is final.

        Raises:
            errors.JobTimeout: it was not final after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.status not in FINAL:
            for _ in self.events():
                if deadline is not None and time.monotonic() > deadline:
                    break
            if self.status not in FINAL:
                self.refresh()
            if deadline is not None and time.monotonic() > deadline and self.status not in FINAL:
                raise errors.JobTimeout(f"program run {self.id} is still {self.status}")
        return self

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """The signed result once the run is DONE: ``output`` (the program's answer, with
        its reference and gap), ``inputs``, ``jobs`` (every job it ran) and ``signature``.

        Raises:
            errors.ProgramRunNotDone: it failed or was cancelled.
        """
        self.wait(timeout)
        return dict(self._session.get(f"{self._path}/result"))

    def cancel(self) -> ProgramRun:
        """Cancel the run (its running job is cancelled too).

        Raises:
            errors.ProgramRunFinal: it had already finished.
        """
        self.data = dict(self._session.post(f"{self._path}/cancel", idempotent=True))
        return self


class ProgramsClient:
    """The centre's programs: ``list``, ``get``, ``run``, ``runs``, ``run_of``."""

    def __init__(self, session: RestSession) -> None:
        self._session = session

    def list(self) -> list[dict[str, Any]]:
        """The programs this centre runs, each with its inputs' JSON schema."""
        return list(self._session.get("/v1/programs")["programs"])

    def get(self, name: str) -> dict[str, Any]:
        return dict(self._session.get(f"/v1/programs/{_segment(name)}"))

    def run(
        self, name: str, device: str = "statevector", inputs: dict[str, Any] | None = None
    ) -> ProgramRun:
        """Start a run of a program on the centre; returns at once (see ``ProgramRun.wait``).

        Raises:
            errors.CentreProgramNotFound: no such program.
            errors.ProgramInputsInvalid: the inputs do not match its schema.
        """
        body = {"device": device, "inputs": dict(inputs or {})}
        data = self._session.post(f"/v1/programs/{_segment(name)}/runs", json=body)
        return ProgramRun(self._session, dict(data))

    def run_of(self, name: str, run_id: str) -> ProgramRun:
        """A run by its id."""
        data = self._session.get(f"/v1/programs/{_segment(name)}/runs/{_segment(run_id)}")
        return ProgramRun(self._session, dict(data))

    def runs(self, name: str, limit: int = 50) -> builtins.list[ProgramRun]:
        """Your project's runs of the program, newest first."""
        found = self._session.get(f"/v1/programs/{_segment(name)}/runs", params={"limit": limit})
        return [ProgramRun(self._session, dict(run)) for run in found["runs"]]

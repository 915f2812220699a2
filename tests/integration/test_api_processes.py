"""Several API processes on one database: one runs the jobs, every one admits and answers."""

from __future__ import annotations

import socket
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from qharbor.api import processes
from tests.integration.conftest import RunningCentre, start_centre
from tests.programs import BELL


class ApiOnly:
    """An extra API process of the centre on a port of its own, so a test knows who answers."""

    def __init__(self, running: RunningCentre) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        [self.process] = processes.start(running.server.settings, self.listener, 1)
        port = self.listener.getsockname()[1]
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {running.token}"},
            timeout=120,
        )
        assert processes.wait_ready([self.process]), "the API process ended while starting"

    def close(self) -> None:
        self.http.close()
        processes.stop([self.process])
        self.listener.close()


@pytest.fixture(scope="module")
def centre() -> Iterator[tuple[RunningCentre, ApiOnly]]:
    """A centre serving its port from two processes, and one more API process beside it.

    On SQLite, whose processes wake each other with datagrams; on PostgreSQL they
    use ``NOTIFY``, as separate centres on one database do (``tests/unit/store/test_notices.py``).
    """
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre("sqlite", Path(tmp), api_processes=2)
        running = RunningCentre(server)
        api_only = ApiOnly(running)
        children: list[subprocess.Popen[bytes]] = list(server.api_processes)
        try:
            yield running, api_only
        finally:
            api_only.close()
            running.close()
            server.stop()
            if schema is not None:
                schema.drop()
        assert all(child.poll() is not None for child in children), "an API process outlived"


def bell(http: httpx.Client, shots: int = 100, wait: float | None = 30) -> dict:
    params = {"wait": wait} if wait is not None else {}
    body = {"device": "statevector", "programs": [BELL], "shots": shots}
    response = http.post("/v1/jobs", json=body, params=params)
    assert response.status_code == 201, response.text
    job: dict = response.json()
    return job


def assert_done_once(job: dict, shots: int = 100) -> None:
    """DONE on its first attempt, with a Bell pair's counts."""
    assert job["status"] == "DONE", job
    result = job["result"]
    counts = result["experiments"][0]["counts"]
    assert sum(counts.values()) == shots and set(counts) <= {"00", "11"}
    assert result["metadata"]["attempt"] == 1


def test_jobs_submitted_to_an_api_only_process_end_once_with_their_results(
    centre: tuple[RunningCentre, ApiOnly],
) -> None:
    running, api_only = centre
    for shots in (10, 20, 30):
        job = bell(api_only.http, shots)
        assert_done_once(job, shots)
        # The process that ran it answers the same.
        assert running.http.get(f"/v1/jobs/{job['id']}/result").json() == job["result"]


def test_a_job_queued_in_one_process_is_waited_for_in_the_other(
    centre: tuple[RunningCentre, ApiOnly],
) -> None:
    running, api_only = centre
    queued_there = bell(api_only.http, wait=None)
    assert_done_once(
        running.wait(queued_there["id"]) | {"result": running.result(queued_there["id"])}
    )
    queued_here = bell(running.http, wait=None)
    waited = api_only.http.get(f"/v1/jobs/{queued_here['id']}/result", params={"wait": 30})
    assert waited.status_code == 200
    assert waited.json() == running.result(queued_here["id"])


def test_every_process_on_the_shared_port_answers_with_finished_jobs(
    centre: tuple[RunningCentre, ApiOnly],
) -> None:
    running, _api_only = centre
    assert [child.poll() for child in running.server.api_processes] == [None]

    def one(_index: int) -> dict:
        # A fresh connection each time, so both processes accept some.
        with httpx.Client(base_url=running.url, headers=running.http.headers, timeout=120) as http:
            return bell(http)

    with ThreadPoolExecutor(4) as pool:
        jobs = list(pool.map(one, range(16)))
    for job in jobs:
        assert_done_once(job)
    assert len({job["id"] for job in jobs}) == 16

"""Memory admission through real HTTP: jobs that do not fit together run one after the other,
and a job that could never fit is refused at submission."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from qharbor.devices import default_catalogue
from qharbor.devices.catalogue import memory_need
from qharbor.engines.memory import Workload
from tests.integration.conftest import RunningCentre, start_centre
from tests.programs import ghz, slow

#: Jobs of this width fit one at a time in the centre's memory, not two.
WIDTH = 20


@pytest.fixture(scope="module")
def small(module_database_kind: str) -> Iterator[RunningCentre]:
    """A centre whose jobs may use one and a half times what a 20-qubit job needs."""
    with tempfile.TemporaryDirectory() as tmp:
        one = memory_need(default_catalogue().get("statevector"), [Workload(WIDTH)])
        server, schema = start_centre(
            module_database_kind, Path(tmp), memory_limit_bytes=one + one // 2
        )
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()
            if schema is not None:
                schema.drop()


def test_two_jobs_that_fit_only_one_at_a_time_do_not_overlap(small: RunningCentre) -> None:
    assert small.centre.settings.workers == 2  # both could start at once but for memory
    first = small.submit(programs=[slow(WIDTH, layers=20)], shots=100)
    second = small.submit(programs=[slow(WIDTH, layers=20)], shots=100)
    ended = [small.wait(job["id"]) for job in (first, second)]
    assert [job["status"] for job in ended] == ["DONE", "DONE"]
    spans = sorted(
        (dt.datetime.fromisoformat(j["started_at"]), dt.datetime.fromisoformat(j["finished_at"]))
        for j in ended
    )
    assert spans[0][1] <= spans[1][0], spans


def test_a_job_that_could_never_fit_is_refused_at_submission(small: RunningCentre) -> None:
    response = small.http.post(
        "/v1/jobs", json={"device": "statevector", "programs": [ghz(WIDTH + 2)], "shots": 10}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "DEVICE_LIMIT"
    capacity = small.centre.settings.memory_limit_bytes
    assert error["detail"]["capacity_bytes"] == capacity
    assert error["detail"]["memory_bytes"] > capacity
    assert "memory" in error["message"] and "MiB" in error["message"]


def test_the_device_limit_is_what_fits_in_the_memory_limit(small: RunningCentre) -> None:
    device = small.http.get("/v1/devices/statevector").json()
    capacity = small.centre.settings.memory_limit_bytes
    assert capacity is not None
    catalogued = small.centre.catalogue.get("statevector")
    assert memory_need(catalogued, [Workload(device["max_qubits"])]) <= capacity
    assert memory_need(catalogued, [Workload(device["max_qubits"] + 1)]) > capacity
    # The widest circuit the device lists is accepted and runs.
    job = small.submit(programs=[ghz(device["max_qubits"])], shots=10)
    assert small.wait(job["id"])["status"] == "DONE"

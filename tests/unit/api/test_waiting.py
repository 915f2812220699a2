"""How a waiting submission learns that its job ended: from memory where it can."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

from qharbor.api.routers.jobs import _wait_for
from qharbor.jobs.events import JobEvents


def _centre(events: JobEvents) -> Any:
    return SimpleNamespace(events=events, settings=SimpleNamespace(max_wait_seconds=30.0))


def test_a_job_completed_here_is_answered_from_memory_after_its_change() -> None:
    done: dict[str, Any] = {}

    def database_read() -> Any:
        raise AssertionError("the database was read for a job this process completed")

    async def scenario() -> Any:
        events = JobEvents(recheck_s=5.0)
        events.bind(asyncio.get_running_loop())
        events.publish("job")  # the store: the one change the waiter has seen

        def complete() -> None:  # the scheduler's thread ends the job a moment later
            done["job"] = ("job", {"counts": {"00": 1}})
            events.publish("job")

        threading.Timer(0.05, complete).start()
        return await _wait_for(
            _centre(events), "job", 10.0, database_read, quick=lambda: done.get("job")
        )

    assert asyncio.run(scenario()) == ("job", {"counts": {"00": 1}})


def test_a_job_ended_elsewhere_is_read_from_the_database() -> None:
    reads: list[int] = []

    def database_read() -> Any:
        reads.append(1)
        return ("job", {"counts": {}})

    async def scenario() -> Any:
        events = JobEvents(recheck_s=5.0)
        events.bind(asyncio.get_running_loop())
        events.publish("job")
        threading.Timer(0.05, events.publish, args=("job",)).start()
        return await _wait_for(_centre(events), "job", 10.0, database_read, quick=lambda: None)

    assert asyncio.run(scenario()) == ("job", {"counts": {}})
    assert reads == [1]

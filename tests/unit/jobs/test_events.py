"""Wake-ups for waiters: a change is never left to the timer, even one made before
the watch began."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from qharbor.jobs.events import JobEvents

#: A timer no test may wait for: a missed wake-up fails the test by its guard.
RECHECK_S = 60.0
GUARD_S = 10.0


T = TypeVar("T")


def _run(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run a scenario on a fresh loop; a wake-up left to the timer trips the guard."""

    async def main() -> T:
        return await asyncio.wait_for(scenario(), GUARD_S)

    return asyncio.run(main())


def test_a_change_published_between_the_store_and_the_watch_wakes_the_waiter() -> None:
    events = JobEvents(recheck_s=RECHECK_S)

    async def scenario() -> bool:
        events.bind(asyncio.get_running_loop())
        events.publish("j1")  # the job is stored: the one change its submitter saw
        events.publish("j1")  # it ends before the submitter begins to watch
        with events.watch("j1", after=1) as watch:
            return await watch.changed(RECHECK_S)

    assert _run(scenario) is True


def test_a_watch_after_only_the_store_waits_for_the_next_change() -> None:
    events = JobEvents(recheck_s=RECHECK_S)

    async def scenario() -> tuple[bool, bool]:
        events.bind(asyncio.get_running_loop())
        events.publish("j1")
        with events.watch("j1", after=1) as watch:
            before = await watch.changed(0)
            # The next change comes from another thread (the scheduler's).
            threading.Thread(target=events.publish, args=("j1",)).start()
            after = await watch.changed(RECHECK_S)
        return before, after

    assert _run(scenario) == (False, True)


def test_a_job_this_process_never_counted_is_read_at_once() -> None:
    """After the counts were trimmed (or for a job stored elsewhere) the waiter reads
    instead of trusting that nothing happened."""
    events = JobEvents(recheck_s=RECHECK_S)

    async def scenario() -> bool:
        events.bind(asyncio.get_running_loop())
        with events.watch("unknown", after=1) as watch:
            return await watch.changed(RECHECK_S)

    assert _run(scenario) is True


def test_a_plain_watch_ignores_changes_before_it() -> None:
    events = JobEvents(recheck_s=RECHECK_S)

    async def scenario() -> bool:
        events.bind(asyncio.get_running_loop())
        events.publish("j1")
        with events.watch("j1") as watch:
            return await watch.changed(0)

    assert _run(scenario) is False

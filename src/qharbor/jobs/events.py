"""Wakes those waiting on a job when it changes, without busy polling.

Changes are published from any thread (the scheduler's, a request's); waiters
are coroutines on the server's event loop. A change made by another centre
process sharing a PostgreSQL database is published here by the listener of
:mod:`qharbor.store.notices`; a waiter also wakes on a timer, in case a notice
was missed while that listener reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator


class Watch:
    """A subscription to one job's changes; made before reading, so none is missed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def _fire(self) -> None:
        self._event.set()

    async def changed(self, timeout: float) -> bool:
        """Wait for a change; True if one came within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        return True


class JobEvents:
    """Per-job wake-ups for coroutines on one event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: dict[str, set[Watch]] = {}
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop the waiters run on."""
        self._loop = loop

    def publish(self, job_id: str) -> None:
        """Wake every watch on this job. Safe from any thread."""
        with self._lock:
            watches = list(self._watches.get(job_id, ()))
        if not watches or self._loop is None:
            return
        for watch in watches:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(watch._fire)

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[Watch]:
        """Subscribe to a job's changes for the duration of the block."""
        watch = Watch()
        with self._lock:
            self._watches.setdefault(job_id, set()).add(watch)
        try:
            yield watch
        finally:
            with self._lock:
                watches = self._watches.get(job_id)
                if watches is not None:
                    watches.discard(watch)
                    if not watches:
                        del self._watches[job_id]

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


class Feed(Watch):
    """A subscription to every job's changes: wakes on each, and keeps the ids seen."""

    def __init__(self) -> None:
        super().__init__()
        self._ids: set[str] = set()

    def _add(self, job_id: str) -> None:
        self._ids.add(job_id)
        self._fire()

    def take(self) -> set[str]:
        """The ids of the jobs that changed since the last call."""
        ids, self._ids = self._ids, set()
        return ids


class JobEvents:
    """Per-job wake-ups for coroutines on one event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: dict[str, set[Watch]] = {}
        self._feeds: set[Feed] = set()
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop the waiters run on."""
        self._loop = loop

    def publish(self, job_id: str) -> None:
        """Wake every watch on this job. Safe from any thread."""
        with self._lock:
            watches = list(self._watches.get(job_id, ()))
            feeds = list(self._feeds)
        if self._loop is None:
            return
        for watch in watches:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(watch._fire)
        for feed in feeds:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(feed._add, job_id)

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

    @contextlib.contextmanager
    def feed(self) -> Iterator[Feed]:
        """Subscribe to every job's changes for the duration of the block."""
        feed = Feed()
        with self._lock:
            self._feeds.add(feed)
        try:
            yield feed
        finally:
            with self._lock:
                self._feeds.discard(feed)

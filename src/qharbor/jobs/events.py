"""Wakes those waiting on a job when it changes, without busy polling.

Changes are published from any thread (the scheduler's, a request's); waiters
are coroutines on the server's event loop. A change made by another centre
process sharing a PostgreSQL database is published here by the listener of
:mod:`qharbor.store.notices`; a waiter also wakes on a timer (``recheck_s``), in
case a notice was missed while that listener reconnected. No change made in this
process waits for that timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator

#: Seconds between a waiter's looks at the database when no change woke it.
RECHECK_S = 1.0
#: Jobs whose change counts are kept (the most recently changed).
_COUNTED = 4096


class Watch:
    """A subscription to one job's changes; made before reading, so none is missed."""

    def __init__(self, changed: bool = False) -> None:
        self._event = asyncio.Event()
        if changed:
            self._event.set()

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
    """Per-job wake-ups for coroutines on one event loop.

    Args:
        recheck_s: seconds a waiter waits for a change before it reads the
            database anyway (for changes made by other processes).
    """

    def __init__(self, recheck_s: float = RECHECK_S) -> None:
        self.recheck_s = recheck_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: dict[str, set[Watch]] = {}
        self._feeds: set[Feed] = set()
        self._lock = threading.Lock()
        # How many changes of each recently changed job were published here. A
        # watch made after some changes compares against it (``watch(after=)``),
        # so a change published between a read and the watch is not missed.
        self._counts: OrderedDict[str, int] = OrderedDict()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the loop the waiters run on."""
        self._loop = loop

    def publish(self, job_id: str) -> None:
        """Wake every watch on this job. Safe from any thread."""
        with self._lock:
            self._counts[job_id] = self._counts.pop(job_id, 0) + 1
            if len(self._counts) > _COUNTED:
                self._counts.popitem(last=False)
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
    def watch(self, job_id: str, after: int | None = None) -> Iterator[Watch]:
        """Subscribe to a job's changes for the duration of the block.

        Args:
            job_id: the job.
            after: how many of the job's changes the caller has seen (1 for a job
                it has just stored). If this process published any other number,
                the watch starts as changed: the change came before the watch,
                and waiting for the next one could wait for ever (or for the
                timer). None: only changes from now on count.
        """
        with self._lock:
            changed = after is not None and self._counts.get(job_id, 0) != after
            watch = Watch(changed)
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

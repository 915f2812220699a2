"""Change notices between the centre processes that share one PostgreSQL database.

Each process sends ``NOTIFY`` when it changes a job, and one thread per process
``LISTEN``\\s, so a long-poll or an event stream waiting in one process wakes as
soon as another process changes the job, and a scheduler wakes when another
process queues a job. SQLite has one process and needs none of this.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: The channel every centre process listens on; the payload is ``<sender>:<job id>``.
CHANNEL = "qharbor_jobs"
#: Seconds between attempts to listen again after the connection was lost.
RETRY_S = 1.0


def psycopg_url(sqlalchemy_url: str) -> str:
    """The libpq URL of a SQLAlchemy PostgreSQL URL."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if sqlalchemy_url.startswith(prefix):
            return "postgresql://" + sqlalchemy_url.removeprefix(prefix)
    return sqlalchemy_url


class Notices:
    """Sends and receives job-change notices on PostgreSQL.

    Args:
        url: the database's URL (SQLAlchemy or libpq form).
        on_notice: called with a job id another process changed, from the
            listening thread.
    """

    def __init__(self, url: str, on_notice: Callable[[str], None]) -> None:
        self._url = psycopg_url(url)
        self._on_notice = on_notice
        self._sender = uuid.uuid4().hex[:12]
        self._send_conn: Any = None
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="qharbor-notices", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """Whether the listener is subscribed, waiting at most ``timeout`` seconds."""
        return self._listening.wait(timeout)

    def notify(self, job_id: str) -> None:
        """Tell the other processes that a job changed (after its change was committed)."""
        import psycopg

        payload = f"{self._sender}:{job_id}"
        with self._send_lock:
            for _ in range(2):  # once more on a fresh connection if the old one broke
                try:
                    if self._send_conn is None or self._send_conn.closed:
                        self._send_conn = psycopg.connect(self._url, autocommit=True)
                    self._send_conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    return
                except psycopg.Error as exc:
                    log.debug("could not send a job notice: %s", exc)
                    with contextlib.suppress(Exception):
                        self._send_conn.close()
                    self._send_conn = None

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            sender, _, job_id = notice.payload.partition(":")
                            if sender != self._sender:
                                self._on_notice(job_id)
            except psycopg.Error as exc:
                self._listening.clear()
                log.warning("job notices stopped (%s); listening again in %s s", exc, RETRY_S)
                self._stop.wait(RETRY_S)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._send_lock:
            if self._send_conn is not None:
                with contextlib.suppress(Exception):
                    self._send_conn.close()
                self._send_conn = None

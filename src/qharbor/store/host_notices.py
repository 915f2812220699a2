"""Change notices between the centre processes of one host that share a SQLite database.

SQLite has no ``LISTEN``/``NOTIFY`` (:mod:`qharbor.store.notices` does this on
PostgreSQL). Several API processes on one host (``qharbor serve --api-processes``)
tell each other of job changes instead with datagrams: each process binds a Unix
socket named for its pid in one folder beside the database, and a change is sent
to every other socket there. A datagram to a process that ended fails at once,
and its socket file is removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: The longest job id a notice carries, in bytes.
_MOST_BYTES = 256


class HostNotices:
    """Sends and receives job-change notices between processes of this host.

    Args:
        folder: where every process of the centre binds its socket (made if missing).
        on_notice: called with a job id another process changed, from the
            listening thread.
    """

    def __init__(self, folder: Path, on_notice: Callable[[str], None]) -> None:
        self._folder = folder
        self._on_notice = on_notice
        self._path = folder / f"{os.getpid()}.sock"
        self._socket: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()  # left by an earlier process with our pid
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            listener.bind(str(self._path))
        except OSError as exc:  # e.g. a data folder whose path is too long for a socket
            listener.close()
            log.warning(
                "job notices between this host's processes are off (%s); a change made in "
                "another process is seen within a second",
                exc,
            )
            return
        listener.settimeout(1.0)
        self._socket = listener
        self._thread = threading.Thread(target=self._listen, name="qharbor-notices", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """Whether the listener is bound (it is once :meth:`start` returned)."""
        return self._socket is not None

    def notify(self, job_id: str) -> None:
        """Tell the other processes that a job changed (after its change was committed)."""
        if self._socket is None:
            return
        payload = job_id.encode()[:_MOST_BYTES]
        for peer in self._folder.glob("*.sock"):
            if peer == self._path:
                continue
            try:
                self._socket.sendto(payload, str(peer))
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    peer.unlink()  # its process ended
            except OSError as exc:  # a full queue: that process reads its database anyway
                log.debug("could not send a job notice to %s: %s", peer.name, exc)

    def _listen(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                payload = self._socket.recv(_MOST_BYTES)
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            if self._stop.is_set():
                return
            try:
                self._on_notice(payload.decode())
            except Exception:  # a waiter's failure must not end the listener
                log.exception("a job notice could not be handled")

    def close(self) -> None:
        self._stop.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.sendto(b"", str(self._path))  # wakes the listener now
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._socket.close()
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

"""Extra API processes: more interpreters serving the centre's port, while one runs the jobs.

One interpreter's lock bounds how many requests a process answers: a tiny job
costs its event loop about 1.5 ms of CPU (request parsing, validation, the
answer) and its submitting thread about 2 ms, besides what running the job
costs. With ``qharbor serve --api-processes N`` the centre's process starts N-1
more that accept connections on its listening socket (inherited: the kernel
hands each new connection to whichever process accepts it first), admit jobs
and answer every request; only the first runs the scheduler and the workers.
They wake each other on every job change: a job stored in one wakes the
scheduler, and a job that ends wakes the requests waiting on it in every
process (:class:`~qharbor.store.host_notices.HostNotices` on SQLite, ``NOTIFY``
on PostgreSQL). An extra process ends with the centre's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

from qharbor.settings import Settings

#: Seconds an extra process is given to stop after SIGTERM, before it is killed.
_STOP_S = 10.0
#: What an extra process writes on its standard output once it serves.
_READY = b"ready"


def _child_settings(settings: Settings) -> str:
    """The settings of an extra process, as JSON: the centre's, serving the API only.

    Sent on the child's standard input, so secrets never appear in its command
    line or environment.
    """
    data: dict[str, Any] = settings.model_dump(mode="json")
    for name in ("key_encryption_key", "oidc_client_secret"):
        secret = getattr(settings, name)
        data[name] = secret.get_secret_value() if secret is not None else None
    data.update(run_jobs=False, write_account_file=False, port=0)
    return json.dumps(data)


def start(settings: Settings, listener: socket.socket, count: int) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` processes that serve the API on ``listener`` as well.

    Call it once the centre's own process has started (its database migrated,
    its keys made), so the extra processes find both ready.
    """
    payload = _child_settings(settings).encode()
    fd = listener.fileno()
    children = []
    for _ in range(count):
        child = subprocess.Popen(
            [sys.executable, "-m", "qharbor.api.processes", str(fd), str(os.getpid())],
            pass_fds=[fd],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None
        child.stdin.write(payload)
        child.stdin.close()
        children.append(child)
    return children


def wait_ready(children: list[subprocess.Popen[bytes]]) -> bool:
    """Wait until every extra process serves (each says so on its standard output).

    Returns:
        False if one ended first.
    """
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != _READY:
            return False
    return True


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop the extra processes: SIGTERM (they finish their requests), then kill."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=_STOP_S)
        except subprocess.TimeoutExpired:
            child.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
        if child.stdout is not None:
            child.stdout.close()


def main(fd: int, parent_pid: int) -> None:
    """An extra process: serve the API on the inherited socket until told to stop."""
    from qharbor.api.server import CentreServer
    from qharbor.executors.local import die_with_parent

    die_with_parent(parent_pid)
    settings = Settings(**json.loads(sys.stdin.read()))
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server = CentreServer(settings, listener=socket.socket(fileno=fd))
    server.start()
    sys.stdout.buffer.write(_READY + b"\n")
    sys.stdout.flush()
    stopping.wait()
    server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

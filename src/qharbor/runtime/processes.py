"""The centre's loop processes: started on demand, kept warm between runs.

A fresh loop process imports the programs and the engines (seconds), far longer
than a small program's whole run, so a process whose attempt ended cleanly is
kept for the next one, as the local executor keeps its workers. Processes are
started by the runtime's loop threads, which live as long as the runtime:
``PR_SET_PDEATHSIG`` fires when the thread that started a child ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

from qharbor import errors
from qharbor.executors.local import worker_environment
from qharbor.runtime.channel import ChannelClosed, PipeChannel
from qharbor.runtime.loop import READY

log = logging.getLogger(__name__)

#: Seconds a new loop process may take to warm up (its imports, a Ray connection).
START_S = 180.0


class LoopProcess:
    """One loop process and the centre's end of its channel."""

    def __init__(self, process: subprocess.Popen[bytes], channel: PipeChannel) -> None:
        self.process = process
        self.channel = channel

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float) -> None:
        """Wait until the process has warmed up.

        Raises:
            errors.ProgramLoopLost: it ended, or said something else, or took too long.
        """
        try:
            message = self.channel.receive(timeout)
        except ChannelClosed:
            message = None
        if message != READY:
            why = message[1] if isinstance(message, tuple) and len(message) > 1 else None
            self.kill()
            raise errors.ProgramLoopLost(
                "the program's loop process did not start: "
                + (why or f"it {self.ended()} before it was ready")
            )

    def ended(self) -> str:
        """How the process ended, in words ("ended with exit code 1", "was killed by SIGSEGV")."""
        code = self.process.poll()
        if code is None:
            return "is still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"was killed by {signal_name(-code)}"
        return f"ended with exit code {code}"

    def kill(self) -> None:
        """End the process now (its attempt, if any, is abandoned)."""
        self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def signal_name(number: int) -> str:
    return signal.Signals(number).name


class LoopProcesses:
    """Loop processes of this centre: taken for an attempt, given back when it ends.

    Args:
        keep: the most idle processes kept warm.
        extra_env: variables the processes get on top of this process's environment.
        ray_address: run each attempt as a task on this Ray cluster; None runs it in
            the loop process itself.
    """

    def __init__(
        self, keep: int, extra_env: dict[str, str] | None = None, ray_address: str | None = None
    ) -> None:
        self._keep = keep
        self._extra_env = dict(extra_env or {})
        self._ray_address = ray_address
        self._idle: list[LoopProcess] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> LoopProcess:
        """A warm loop process of this centre's own, started if none is idle.

        Raises:
            errors.ProgramLoopLost: a new process did not start.
        """
        with self._lock:
            while self._idle:
                process = self._idle.pop()
                if process.process.poll() is None:
                    return process
                process.kill()
        process = self._start()
        process.wait_ready(START_S)
        return process

    def give_back(self, process: LoopProcess) -> None:
        """Keep a process whose attempt ended cleanly for the next one."""
        with self._lock:
            keep = not self._closed and len(self._idle) < self._keep
            if keep and process.process.poll() is None:
                self._idle.append(process)
                return
        process.kill()

    def close(self) -> None:
        """End the idle processes (those running an attempt are ended by their runs)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for process in idle:
            process.kill()

    def _start(self) -> LoopProcess:
        # A fresh interpreter running the loop's module: unlike multiprocessing's
        # spawn, it never re-imports the centre's __main__.
        ours, theirs = socket.socketpair()
        argv = [
            sys.executable,
            "-m",
            "qharbor.runtime.loop",
            str(theirs.fileno()),
            str(os.getpid()),
        ]
        if self._ray_address is not None:
            argv.append(self._ray_address)
        process = subprocess.Popen(
            argv,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={**worker_environment(), **self._extra_env},
        )
        theirs.close()
        return LoopProcess(process, PipeChannel(Connection(ours.detach())))

"""A pool of parser processes that read untrusted programs under resource limits.

Each parser is a fresh interpreter (``python -m qharbor.programs.sandbox``)
talking over a socket pair, started ahead of time so a request never waits for
imports. A parser runs under ``RLIMIT_AS`` (memory) and ``RLIMIT_CPU``, and the
pool gives each parse a wall-clock limit; a parser that runs past it, or dies,
is killed and replaced, and the request gets ``PROGRAM_LIMIT``. Parsed circuits
come back as QPY, which the pool's side loads with the current QPY reader.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import os
import queue
import resource
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from qharbor import errors
from qharbor.programs.limits import DEFAULT_LIMITS, Limits

log = logging.getLogger(__name__)

#: Memory a parser may add to what it holds after start-up, in bytes.
PARSER_MEMORY_BYTES = 1024 * 1024 * 1024
#: CPU seconds one parse may use.
PARSER_CPU_SECONDS = 2
#: Wall-clock seconds one parse may take.
PARSE_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Parsed:
    """A parser's answer: the circuit as QPY bytes and what else the format said."""

    format: str
    qpy: bytes
    extras: dict[str, Any]


class _Parser:
    """One parser process and our end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qharbor.programs.sandbox", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready and self.conn.poll(timeout):
            with contextlib.suppress(EOFError, OSError):
                self.ready = self.conn.recv() == ("ready",)
        return self.ready

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class ParserPool:
    """Parses programs in ``size`` sandboxed processes, replacing any that fail.

    Args:
        size: parser processes kept ready.
        timeout_s: wall-clock seconds one parse may take.
    """

    def __init__(self, size: int = 2, timeout_s: float = PARSE_TIMEOUT_SECONDS) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self._idle: queue.Queue[_Parser] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._all: list[_Parser] = []

    def start(self) -> None:
        """Start the parser processes (they warm up in the background)."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
            for _ in range(self.size):
                self._add()

    def _add(self) -> None:
        parser = _Parser()
        self._all.append(parser)
        self._idle.put(parser)

    def _replace(self, parser: _Parser) -> None:
        parser.kill()
        with self._lock:
            if parser in self._all:
                self._all.remove(parser)
            if not self._closed:
                self._add()

    def _take(self) -> _Parser:
        """An idle parser, preferring one that has finished starting."""
        waiting: list[_Parser] = []
        try:
            while True:
                try:
                    parser = self._idle.get_nowait()
                except queue.Empty:
                    break
                if parser.wait_ready(0):
                    return parser
                waiting.append(parser)
        finally:
            for other in waiting:
                self._idle.put(other)
        parser = self._idle.get()
        return parser

    def parse(self, source: str, fmt: str, limits: Limits = DEFAULT_LIMITS) -> Parsed:
        """Parse one program in a sandboxed process.

        Raises:
            errors.ProgramError: what the parser reported, or ``PROGRAM_LIMIT``
                when it ran out of time or memory.
        """
        self.start()
        parser = self._take()
        try:
            # A parser still importing gets a generous start; the parse itself is timed.
            if not parser.wait_ready(60.0):
                raise OSError("parser did not start")
            parser.conn.send((source, fmt, limits))
            started = time.monotonic()
            if not parser.conn.poll(self.timeout_s):
                log.warning(
                    "a program parse ran past %.1f s; its parser was replaced", self.timeout_s
                )
                self._replace(parser)
                parser = None  # type: ignore[assignment]
                raise errors.ProgramLimit(
                    f"the program took more than {self.timeout_s} s to parse; make it smaller",
                    timeout_s=self.timeout_s,
                )
            reply = parser.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            if parser is not None:
                self._replace(parser)
                parser = None  # type: ignore[assignment]
            raise errors.ProgramLimit(
                "the program exhausted the parser's memory or time; make it smaller",
                memory_bytes=PARSER_MEMORY_BYTES,
            ) from None
        finally:
            if parser is not None:
                self._idle.put(parser)
        log.debug("sandboxed parse took %.4f s", time.monotonic() - started)
        if reply[0] == "ok":
            return Parsed(format=reply[1], qpy=reply[2], extras=reply[3])
        _kind, code, message, detail = reply
        klass = errors.ERRORS_BY_CODE.get(code, errors.ProgramError)
        if not issubclass(klass, errors.ProgramError):
            klass = errors.ProgramError
        raise klass(message, **detail)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            parsers, self._all = self._all, []
        for parser in parsers:
            parser.kill()


_default: ParserPool | None = None
_default_lock = threading.Lock()


def default_pool() -> ParserPool:
    """The process's shared parser pool, created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ParserPool()
            atexit.register(_default.close)
        return _default


# --- the parser process ---------------------------------------------------------------


def _limit_resources() -> None:
    """Cap this process's address space at what it holds now plus the allowance."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    size = int(fields["VmSize"].split()[0]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size + PARSER_MEMORY_BYTES, resource.RLIM_INFINITY))


def _cpu_budget() -> None:
    """Let the next parse use ``PARSER_CPU_SECONDS`` more CPU; past it, SIGXCPU ends us."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    total = int(used.ru_utime + used.ru_stime) + 1 + PARSER_CPU_SECONDS
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (total, hard))


def parser_main(conn: Connection) -> None:
    """Warm up, then parse programs until the connection closes."""
    from qiskit import qpy

    from qharbor.programs import intake

    intake.warm_up()
    if sys.platform.startswith("linux"):
        _limit_resources()
    conn.send(("ready",))
    while True:
        try:
            source, fmt, limits = conn.recv()
        except (EOFError, OSError):
            return
        _cpu_budget()
        try:
            parsed = intake.parse_circuit(source, fmt, limits)
            buffer = io.BytesIO()
            qpy.dump(parsed.circuit, buffer)
            reply: tuple[Any, ...] = ("ok", parsed.format, buffer.getvalue(), parsed.extras)
        except errors.ProgramError as exc:
            reply = ("error", exc.code, exc.message, exc.detail)
        except (MemoryError, RecursionError):
            reply = (
                "error",
                errors.ProgramLimit.code,
                "the program exhausted the parser's memory or stack; make it smaller",
                {},
            )
        except Exception as exc:  # a parser bug must refuse the program, not crash us
            reply = (
                "error",
                errors.ProgramUnsupported.code,
                f"the program could not be read: {type(exc).__name__}",
                {},
            )
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser_main(Connection(int(sys.argv[1])))

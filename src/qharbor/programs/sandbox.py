"""A pool of parser processes that read untrusted programs under resource limits.

Each parser is a fresh interpreter (``python -m qharbor.programs.sandbox``)
talking over a socket pair, started ahead of time so a request never waits for
imports. A parser runs under ``RLIMIT_AS`` (memory) and ``RLIMIT_CPU``, and the
pool gives each call a wall-clock limit; a parser that runs past it, or dies,
is killed and replaced, and the request gets ``PROGRAM_LIMIT``. The API process
never reads program text itself: it hands the sandbox a module-level function
and its arguments (:meth:`ParserPool.call`), and only small, checked values come
back (QPY bytes, names, summaries).

A parser that cannot start (an operator's memory limit below what the
interpreter needs, say) is reaped, tried once more, and reported as
``PARSER_UNAVAILABLE``; :meth:`ParserPool.health` says so to ``/v1/health``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import queue
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
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
#: Characters of an error message a parser sends back; longer ones are cut.
MESSAGE_CHARS = 400
#: Wall-clock seconds a parser may take to start (imports and warm-up).
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Parsed:
    """A parser's answer: the circuit as QPY bytes and what else the format said."""

    format: str
    qpy: bytes
    extras: dict[str, Any]


class _Parser:
    """One parser process and our end of its socket."""

    def __init__(self, command: Sequence[str]) -> None:
        ours, theirs = socket.socketpair()
        # Its errors go to a file, read if it fails to start (a pipe could fill and
        # block a parser that warns a lot).
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        self.process = subprocess.Popen(
            [*command, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stderr=self.errors,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False
        #: Why it could not start, once it is known that it did not.
        self.failure: str | None = None

    def wait_ready(self, timeout: float) -> bool:
        if self.ready or self.failure is not None:
            return self.ready
        if self.conn.poll(timeout):
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = ("failed", self._exit_reason())
            self.ready = message == ("ready",)
            if not self.ready:
                self.failure = str(message[1]) if len(message) > 1 else repr(message)
        elif self.process.poll() is not None:
            self.failure = self._exit_reason()
        return self.ready

    def _exit_reason(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        reason = f"the parser process exited with status {self.process.returncode} while starting"
        last = self._last_error_line()
        return f"{reason}: {last}" if last else reason

    def _last_error_line(self) -> str:
        with contextlib.suppress(OSError):
            self.errors.seek(0, os.SEEK_END)
            self.errors.seek(max(0, self.errors.tell() - 4096))
            lines = self.errors.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1][:300] if lines else ""
        return ""

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(OSError):
            self.errors.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)  # reaped here, so no parser is left a zombie


class ParserPool:
    """Runs program checks in ``size`` sandboxed processes, replacing any that fail.

    Args:
        size: parser processes kept ready.
        timeout_s: wall-clock seconds one parse may take.
    """

    def __init__(self, size: int = 2, timeout_s: float = PARSE_TIMEOUT_SECONDS) -> None:
        self.size = size
        self.timeout_s = timeout_s
        #: How a parser is started; the socket's descriptor number is appended.
        self.command: list[str] = [sys.executable, "-m", "qharbor.programs.sandbox"]
        self._idle: queue.Queue[_Parser] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._all: list[_Parser] = []
        #: Why the last parser that failed to start did so; None once one starts.
        self.start_failure: str | None = None

    def start(self) -> None:
        """Start the parser processes (they warm up in the background)."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
            for _ in range(self.size):
                self._add()

    def _add(self) -> None:
        parser = _Parser(self.command)
        self._all.append(parser)
        self._idle.put(parser)

    def _replace(self, parser: _Parser) -> None:
        parser.kill()
        with self._lock:
            if parser not in self._all:
                return  # another thread replaced it already
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

    def _ready_parser(self) -> _Parser:
        """A started parser; one that fails to start is reaped and tried once more.

        Raises:
            errors.ParserUnavailable: two parsers in a row could not start.
        """
        for attempt in range(2):
            parser = self._take()
            if parser.wait_ready(START_TIMEOUT_SECONDS):
                self.start_failure = None
                return parser
            self.start_failure = parser.failure or "the parser did not start in time"
            log.error("a program parser could not start: %s", self.start_failure)
            self._replace(parser)
            if attempt == 0:
                continue
        raise errors.ParserUnavailable(
            f"the centre's program checker could not start ({self.start_failure}); try again "
            "shortly. An operator should check the memory limit of the centre's processes",
            reason=self.start_failure,
        )

    def health(self) -> str | None:
        """None when the pool can answer (or its parsers are still starting), else why not.

        Does not wait: a parser that failed to start is reaped and replaced here,
        so a pool that recovers (the operator raised a memory limit) reports so.
        """
        if self._closed:
            return "the parser pool is closed"
        self.start()
        with self._lock:
            parsers = list(self._all)
        failures = []
        for parser in parsers:
            if parser.wait_ready(0):
                self.start_failure = None
                return None
            if parser.failure is not None:
                failures.append(parser.failure)
                self._replace(parser)
        if failures:
            self.start_failure = failures[-1]
            return f"program parsers cannot start: {failures[-1]}"
        if self.start_failure is not None:
            return f"program parsers cannot start: {self.start_failure}"
        return None

    def parse(self, source: str, fmt: str, limits: Limits = DEFAULT_LIMITS) -> Parsed:
        """Parse one program in a sandboxed process.

        Raises:
            errors.ProgramError: what the parser reported, or ``PROGRAM_LIMIT``
                when it ran out of time or memory.
        """
        from qharbor.programs import intake

        parsed: Parsed = self.call(intake.parse_to_qpy, source, fmt, limits)
        return parsed

    def call(self, function: Callable[..., Any], *args: Any, timeout_s: float | None = None) -> Any:
        """Run ``function(*args)`` in a sandboxed process, under the time and memory bound.

        ``function`` must be a module-level function, and its arguments and result
        must pickle. Errors it raises come back as the same :class:`QHarborError`.

        Raises:
            errors.ProgramLimit: the call ran out of time or memory.
            errors.ParserUnavailable: no parser process could start.
        """
        timeout = self.timeout_s if timeout_s is None else timeout_s
        self.start()
        parser: _Parser | None = self._ready_parser()
        assert parser is not None
        started = time.monotonic()
        try:
            parser.conn.send((function, args, math.ceil(timeout) + PARSER_CPU_SECONDS - 1))
            if not parser.conn.poll(timeout):
                log.warning("a program check ran past %.1f s; its parser was replaced", timeout)
                self._replace(parser)
                parser = None
                raise errors.ProgramLimit(
                    f"checking the program took more than {timeout} s (the limit); make it "
                    "smaller, or split it into several programs",
                    timeout_s=timeout,
                )
            reply = parser.conn.recv()
        except (EOFError, OSError):
            if parser is not None:
                self._replace(parser)
                parser = None
            raise errors.ProgramLimit(
                "the program exhausted the parser's memory "
                f"({PARSER_MEMORY_BYTES >> 20} MiB) or time ({timeout} s); make it smaller",
                memory_bytes=PARSER_MEMORY_BYTES,
                timeout_s=timeout,
            ) from None
        finally:
            if parser is not None:
                self._idle.put(parser)
        log.debug("sandboxed call took %.4f s", time.monotonic() - started)
        if reply[0] == "ok":
            return reply[1]
        _kind, code, message, detail = reply
        klass = errors.ERRORS_BY_CODE.get(code, errors.ProgramError)
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
    """Cap this process's address space at what it holds now plus the allowance.

    A limit the operator already set (systemd ``LimitAS=``, ``ulimit -v``) is kept
    when it is lower: the hard limit is never raised.
    """
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    size = int(fields["VmSize"].split()[0]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = size + PARSER_MEMORY_BYTES
    if soft != resource.RLIM_INFINITY:
        wanted = min(wanted, soft)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _cpu_budget(seconds: int) -> None:
    """Let the next call use ``seconds`` more CPU; past it, SIGXCPU ends us."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    total = int(used.ru_utime + used.ru_stime) + 1 + seconds
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        total = min(total, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (total, hard))


def error_answer(exc: errors.QHarborError) -> tuple[str, str, str, dict[str, Any]]:
    """A refusal as a parser sends it back: ("error", code, message, detail)."""
    # A message may quote the program (a 1 MB identifier); the answer stays small.
    message = exc.message if len(exc.message) <= MESSAGE_CHARS else _shorten(exc.message)
    detail = {k: v for k, v in exc.detail.items() if len(repr(v)) <= MESSAGE_CHARS}
    return ("error", exc.code, message, detail)


def _answer(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, ...]:
    try:
        return ("ok", function(*args))
    except errors.QHarborError as exc:
        return error_answer(exc)
    except (MemoryError, RecursionError):
        return (
            "error",
            errors.ProgramLimit.code,
            "the program exhausted the parser's memory "
            f"({PARSER_MEMORY_BYTES >> 20} MiB) or stack; make it smaller",
            {"memory_bytes": PARSER_MEMORY_BYTES},
        )
    except Exception as exc:  # a parser bug must refuse the program, not crash us
        return (
            "error",
            errors.ProgramUnsupported.code,
            f"the program could not be read: {type(exc).__name__}",
            {},
        )


def _shorten(message: str) -> str:
    half = MESSAGE_CHARS // 2
    return f"{message[:half]} ... {message[-half:]}"


def parser_main(conn: Connection) -> None:
    """Warm up, then run calls until the connection closes."""
    try:
        # What the API asks of a parser is imported before the memory cap, so
        # the allowance is all the program's.
        import qharbor.engines.twin_methods  # a twin's device check estimates run time
        import qharbor.jobs.checks
        import qharbor.programs.batches  # noqa: F401
        from qharbor.programs import intake

        intake.warm_up()
        if sys.platform.startswith("linux"):
            _limit_resources()
    except BaseException as exc:  # the pool reports why, rather than seeing a dead socket
        with contextlib.suppress(OSError):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"[:300]))
        return
    conn.send(("ready",))
    while True:
        try:
            function, args, cpu_seconds = conn.recv()
        except (EOFError, OSError):
            return
        _cpu_budget(cpu_seconds)
        reply = _answer(function, args)
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # a reply that does not pickle is still an answer
            conn.send(("error", errors.ProgramUnsupported.code, f"unreadable: {exc}"[:200], {}))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser_main(Connection(int(sys.argv[1])))

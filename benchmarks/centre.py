"""A local centre for the benchmarks, in a process of its own.

``python -m benchmarks.centre`` starts a centre (SQLite in a temporary folder,
the operator's rate limit raised so a benchmark is never throttled), prints one
JSON line ``{"url", "token"}`` and serves until its standard input closes.
:class:`LocalCentre` does that from the benchmark process, outside the clock.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Requests per second per token, and burst: far above anything a benchmark sends.
RATE_LIMIT = 1_000_000


def serve(workers: int | None) -> None:
    from qharbor.api.server import CentreServer
    from qharbor.settings import Settings

    with tempfile.TemporaryDirectory(prefix="qharbor-bench-") as data:
        overrides: dict[str, Any] = {} if workers is None else {"workers": workers}
        settings = Settings(
            host="127.0.0.1",
            port=0,
            data_dir=data,
            rate_limit_per_second=RATE_LIMIT,
            rate_limit_burst=RATE_LIMIT,
            project_rate_limit_per_second=RATE_LIMIT,
            project_rate_limit_burst=RATE_LIMIT,
            log_level="warning",
            # `benchmarks.run` measures the engines on this host before any timing;
            # nothing benchmarks them in the background while cases are timed.
            engine_benchmark="off",
            # A throwaway key for a throwaway centre (else it makes one and says so).
            key_encryption_key=base64.b64encode(os.urandom(32)).decode(),
            **overrides,
        )
        with CentreServer(settings) as server:
            print(json.dumps({"url": server.url, "token": server.bootstrap_token}), flush=True)
            sys.stdin.read()  # until the benchmark closes our input


class LocalCentre:
    """A centre in a child process; a context manager that stops it on exit.

    Args:
        workers: the centre's worker processes; its default (one per core,
            at least two) when None.
    """

    def __init__(self, workers: int | None = None) -> None:
        command = [sys.executable, "-m", "benchmarks.centre"]
        if workers is not None:
            command += ["--workers", str(workers)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            raise RuntimeError(f"the local centre did not start (exit {self.process.returncode})")
        started = json.loads(line)
        self.url: str = started["url"]
        self.token: str = started["token"]

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                self.process.wait(timeout=10)

    def __enter__(self) -> LocalCentre:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def in_process(workers: int) -> Iterator[Any]:
    """A centre in this process (SQLite in a temporary folder) and a client of it.

    For benchmarks that time the centre's own work (its programs) beside the
    client's; yields a :class:`~qharbor.client.service.HarborService`.
    """
    from qharbor.api.server import CentreServer
    from qharbor.client.service import HarborService
    from qharbor.settings import Settings

    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            port=0,
            data_dir=data,
            workers=workers,
            log_level="warning",
            rate_limit_per_second=0,
            engine_benchmark="off",
        )
        with (
            CentreServer(settings) as server,
            HarborService(server.url, server.bootstrap_token) as service,
        ):
            yield service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None)
    serve(parser.parse_args().workers)


if __name__ == "__main__":
    main()

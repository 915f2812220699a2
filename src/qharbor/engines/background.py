"""Benchmarks the engines once, in a background process, when a centre starts on a new host.

The first centre on a host finds no cost fit for its fingerprint and starts
``python -m qharbor.engines.benchmarking --background`` at low priority. A lock
file next to the fits makes sure only one process on the host measures at a
time, so a test run that starts many centres benchmarks once at most; centres
use the shipped defaults meanwhile and pick up the fit when it is written.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

from qharbor.engines import costs, twin_costs

log = logging.getLogger(__name__)


class BackgroundBenchmark:
    """Starts, watches and, at shutdown, stops the background benchmark of one centre."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        """Look in a thread (the fingerprint loads the engines) and benchmark if needed."""
        self._thread = threading.Thread(
            target=self._run, name="qharbor-engine-benchmark", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            twins = self.path.with_name(twin_costs.FILE_NAME)
            if costs.host_fit_exists(self.path) and twin_costs.host_fit_exists(twins):
                return
        except Exception:  # never let a look at the cache file disturb the centre
            log.exception("could not read the engine cost fits at %s", self.path)
            return
        if self._stopping.is_set():
            return
        log.info(
            "no engine cost fit for this host in %s; measuring the engines in the background "
            "(shipped defaults are used until it is done)",
            self.path,
        )
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "qharbor.engines.benchmarking",
                "--background",
                "--path",
                str(self.path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _out, err = self._process.communicate()
        if self._stopping.is_set():
            return
        if self._process.returncode == 0:
            log.info("engine cost fit written to %s", self.path)
        elif self._process.returncode == 3:
            log.info("another process is benchmarking the engines; using its fit when written")
        else:
            log.warning(
                "background engine benchmark failed (exit %s): %s",
                self._process.returncode,
                err.decode(errors="replace")[-500:],
            )

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()

"""A real Ray cluster on this machine: a head and worker nodes, each its own `ray start`.

Each node has its own ``--temp-dir`` and runs in its own process group, so it
is stopped (or killed, as a node failure) by its group, never by ``ray stop``,
which would end every Ray cluster of the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))

#: Node failures are noticed within seconds, not Ray's default of about 15.
FAST_FAILURE = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_failure_threshold": "4",
    "RAY_health_check_timeout_ms": "1000",
}

#: Ray starts its workers at nice 15, below every ordinary process: on a host
#: shared with other programs a task then gets a small share of a CPU (a 1-CPU
#: node's chunk ran at half the local executor's speed on this loaded 2-core
#: host). The nodes here run their workers at the local executor's priority.
SAME_PRIORITY = {"RAY_worker_niceness": "0"}


class LocalCluster:
    """Ray nodes started by this process on this machine.

    Args:
        root: a folder for the nodes' temporary directories.
    """

    def __init__(self, root: Path) -> None:
        # Ray's sockets live under each node's temp dir, and a Unix socket path
        # holds at most 107 bytes: pytest's folders grow too long for them.
        self.root = root if len(str(root)) <= 24 else Path(tempfile.mkdtemp(prefix="qh-ray-"))
        self._made = self.root != root
        self.address: str | None = None
        self.groups: dict[str, int] = {}  # node label -> process group

    def _start(
        self,
        label: str,
        args: list[str],
        resources: dict[str, float],
        memory_bytes: int,
        cpus: int = 1,
    ) -> None:
        temp = self.root / label
        temp.mkdir(parents=True, exist_ok=True)
        command = [
            RAY,
            "start",
            "--num-cpus",
            str(cpus),
            "--object-store-memory",
            str(100 * 1024 * 1024),
            "--temp-dir",
            str(temp),
            "--memory",
            str(memory_bytes),
            "--disable-usage-stats",
            "--resources",
            json.dumps({f"node:{label}": 1, **resources}),
            *args,
        ]
        env = {**os.environ, **FAST_FAILURE, **SAME_PRIORITY, "RAY_USAGE_STATS_ENABLED": "0"}
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,  # the node's processes share this group
        )
        out, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            raise RuntimeError(f"ray start for {label} failed:\n{out}")
        self.groups[label] = process.pid
        found = re.search(r"ray start --address='([^']+)'", out)
        if found and self.address is None:
            self.address = found.group(1)

    def start_head(
        self, resources: dict[str, float] | None = None, memory_bytes: int = 2 << 30
    ) -> str:
        """Start the head node (1 CPU, ``memory_bytes`` for tasks); its address."""
        self._start(
            "head",
            ["--head", "--port", "0", "--include-dashboard", "false"],
            resources or {},
            memory_bytes,
        )
        assert self.address is not None
        return self.address

    def restart_head(self, resources: dict[str, float] | None = None) -> None:
        """Start the head again at the address it had (after :meth:`kill`)."""
        assert self.address is not None
        port = self.address.rpartition(":")[2]
        self._start(
            "head",
            ["--head", "--port", port, "--include-dashboard", "false"],
            resources or {},
            2 << 30,
        )

    def add_node(
        self,
        label: str,
        resources: dict[str, float] | None = None,
        memory_bytes: int = 1 << 30,
        cpus: int = 1,
    ) -> None:
        """Start a worker node (``cpus`` CPUs, ``memory_bytes`` for tasks) that joins the head."""
        assert self.address is not None
        self._start(label, ["--address", self.address], resources or {}, memory_bytes, cpus)

    def kill(self, label: str) -> None:
        """kill -9 every process of one node."""
        group = self.groups.pop(label)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)

    def stop(self) -> None:
        for label in list(self.groups):
            self.kill(label)
        if "head" not in self.groups:
            self.address = None
        if self._made:
            shutil.rmtree(self.root, ignore_errors=True)

    def wait_nodes(self, count: int, timeout: float = 60) -> None:
        """Wait until ``count`` nodes are alive (asked with ``ray status``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                [RAY, "status", "--address", str(self.address)],
                capture_output=True,
                text=True,
            ).stdout
            if len(re.findall(r"^\s*1 node_", out, re.MULTILINE)) >= count:
                return
            time.sleep(0.5)
        raise TimeoutError(f"fewer than {count} Ray nodes came up")

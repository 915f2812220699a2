"""A real single-node Slurm cluster (Debian's slurm-wlm with munge) in a temporary folder.

It runs as root, as a cluster's daemons do: munged on a private socket and key,
slurmctld and one slurmd, with its own slurm.conf (``SLURM_CONF``), ports and
state, so it never touches a Slurm the machine may already run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

#: What the cluster needs on this machine; ``scripts/slurm.sh`` installs them.
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "scancel", "squeue", "sinfo")


def need_slurm() -> None:
    """Skip without Slurm or root; under CI (CI=true) fail instead, never skip."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    why = None
    if missing:
        why = f"Slurm is not installed (missing {', '.join(missing)}); run scripts/slurm.sh"
    elif os.geteuid() != 0:
        why = "the Slurm daemons of the tests run as root; run the tests as root"
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlurmCluster:
    """One node, one partition, 4 CPUs; jobs run as the submitting user.

    Args:
        root: an empty folder for its configuration, state and logs.
        epilog: a script slurmd runs as each job ends (Slurm's ``Epilog=``).
    """

    NODE = "qhnode"
    NAME = "qhtest"

    def __init__(self, root: Path, epilog: Path | None = None) -> None:
        self.root = root
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._pids: list[Path] = []
        munge = root / "munge"
        munge.mkdir(mode=0o711)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.socket = munge / "munge.sock"
        for sub in ("state", "spool", "log"):
            (root / sub).mkdir()
        lines = [
            f"ClusterName={self.NAME}",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            f"AuthInfo=socket={self.socket}",
            "CredType=cred/munge",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
            # No cgroups in containers: processes are tracked by their ancestry.
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SlurmdParameters=config_overrides",
            "MpiDefault=none",
            "ReturnToService=2",
            # scancel's SIGTERM, then SIGKILL after this many seconds.
            "KillWait=10",
            "MinJobAge=600",
            f"NodeName={self.NODE} NodeAddr=127.0.0.1 NodeHostname={socket.gethostname()} "
            "CPUs=4 RealMemory=1000 State=UNKNOWN",
            f"PartitionName=debug Nodes={self.NODE} Default=YES MaxTime=INFINITE State=UP",
        ]
        if epilog is not None:
            lines.append(f"Epilog={epilog}")
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 60.0) -> None:
        munge = self.root / "munge"
        self._run(
            "munged",
            "--force",
            f"--socket={self.socket}",
            f"--key-file={munge / 'munge.key'}",
            f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={munge / 'munged.log'}",
            f"--seed-file={munge / 'munged.seed'}",
        )
        self._pids.append(munge / "munged.pid")
        self._run("slurmctld", "-i")
        self._pids.append(self.root / "slurmctld.pid")
        self._run("slurmd", "-N", self.NODE)
        self._pids.append(self.root / "slurmd.pid")
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self._run("sinfo", "-h", "-n", self.NODE, "-o", "%T", check=False).strip()
            if state == "idle":
                return
            time.sleep(0.3)
        raise RuntimeError(f"the Slurm node is {state!r}, not idle; see {self.root / 'log'}")

    def sbatch(self, script: Path, env: dict[str, str]) -> str:
        """Submit a batch script; its output goes to ``<script>.out``. Returns the job id."""
        out = subprocess.run(
            ["sbatch", "--parsable", f"--output={script}.out", f"--chdir={script.parent}", script],
            env={**self.env, **env},
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip().split(";")[0]

    def scancel(self, job_id: str) -> None:
        self._run("scancel", job_id)

    def state(self, job_id: str) -> str:
        """The job's state (RUNNING, COMPLETED, CANCELLED, ...), as squeue shows it."""
        return self._run("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T", check=False).strip()

    def wait_for(self, job_id: str, states: set[str], timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.state(job_id)
            if state in states:
                return state
            time.sleep(0.3)
        raise AssertionError(f"Slurm job {job_id} is {state!r}, not one of {sorted(states)}")

    def stop(self) -> None:
        for pid_file in reversed(self._pids):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)

    def _run(self, *command: str, check: bool = True) -> str:
        done = subprocess.run(
            command, env=self.env, check=check, capture_output=True, text=True, timeout=60
        )
        return done.stdout

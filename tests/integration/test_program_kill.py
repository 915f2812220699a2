"""A centre process killed (SIGKILL) in the middle of a program run: the restarted
centre takes the run over once its lease expires, resumes it from its checkpoint,
and the run ends once, with one job per iteration."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

import qharbor

QHARBOR = Path(sys.executable).parent / "qharbor"
ITERATIONS = 600
LEASE_S = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """``qharbor serve`` in a process group of its own, on a data directory that outlives it."""

    def __init__(self, root: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.account_file = root / "accounts.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("QHARBOR_")}
        env.update(
            PYTHONPATH=str(Path(qharbor.__file__).resolve().parents[1]),
            QHARBOR_ACCOUNT_FILE=str(self.account_file),
            QHARBOR_KEY_DIR=str(root / "keys"),
            QHARBOR_WORKERS="1",
            QHARBOR_ENGINE_BENCHMARK="off",
            QHARBOR_WARM_ENGINES="0",
            QHARBOR_LEASE_SECONDS=str(LEASE_S),
            QHARBOR_PROGRAM_CHECKPOINT_SECONDS="0",
        )
        self.log = (root / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [str(QHARBOR), "serve", "--port", str(port), "--data-dir", str(root / "data")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (root / "serve.log").read_text(errors="replace")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        pytest.fail("qharbor serve did not become healthy")

    def token(self) -> str:
        saved = json.loads(self.account_file.read_text())
        return str(saved["accounts"][saved["default"]]["token"])

    def kill(self) -> None:
        """kill -9 the centre and every process it started."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()


def _loop_processes(centre_pid: int) -> list[psutil.Process]:
    """The centre's program loop processes."""
    children = psutil.Process(centre_pid).children()
    return [c for c in children if "qharbor.runtime.loop" in " ".join(c.cmdline())]


def _wait(condition: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_run_killed_with_its_centre_resumes_from_its_checkpoint_and_ends_once(
    tmp_path: Path,
) -> None:
    port = _free_port()
    first = Serve(tmp_path, port)
    try:
        token = first.token()
        http = httpx.Client(
            base_url=first.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        run = http.post(
            "/v1/programs/vqe/runs",
            json={"device": "statevector", "inputs": {"iterations": ITERATIONS}},
        ).json()
        path = f"/v1/programs/vqe/runs/{run['id']}"

        def far_enough() -> dict[str, Any] | None:
            now = http.get(path).json()
            return now if (now["progress"] or {}).get("iteration", 0) >= 20 else None

        running = _wait(far_enough, 120)
        first_session = running["session_id"]
        loops = _loop_processes(first.process.pid)
        assert loops, "the run's loop runs in a process of its own"
        # Only the centre dies: its loop processes notice and end with it.
        os.kill(first.process.pid, signal.SIGKILL)
        _gone, alive = psutil.wait_procs(loops, timeout=30)
        assert not alive, f"loop processes outlived their centre: {alive}"
    finally:
        first.kill()
    assert running["status"] == "RUNNING"

    second = Serve(tmp_path, port)  # same data, same port: the token still works
    try:
        done = _wait(lambda: (r := http.get(path).json())["status"] == "DONE" and r, 300)
        result = http.get(f"{path}/result").json()
        tagged = http.get(
            "/v1/jobs", params={"tag": f"program-run:{run['id']}", "limit": 500}
        ).json()
        jobs = tagged["jobs"]
        while tagged.get("next_cursor"):
            tagged = http.get(
                "/v1/jobs",
                params={
                    "tag": f"program-run:{run['id']}",
                    "limit": 500,
                    "cursor": tagged["next_cursor"],
                },
            ).json()
            jobs += tagged["jobs"]
    finally:
        http.close()
        second.stop()
    assert done["attempt"] == 2 and result["attempts"] == 2
    first_attempt = [j for j in jobs if j["session_id"] == first_session]
    second_attempt = [j for j in jobs if j["session_id"] == done["session_id"]]
    # Resumed from the checkpoint (not from iteration 0): the jobs of the first attempt
    # and of the second are each iteration's once. The live progress is shown as an
    # iteration ends and its checkpoint is written just after, so a kill between the
    # two leaves the first attempt one job short of the progress it showed.
    assert len(first_attempt) >= 19
    assert len(first_attempt) + len(second_attempt) == ITERATIONS == len(jobs)
    assert len(result["output"]["history"]) == ITERATIONS
    assert sorted(result["jobs"]) == sorted(j["id"] for j in jobs)
    assert all(j["status"] == "DONE" for j in jobs)

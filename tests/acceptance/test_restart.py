"""Nothing accepted is lost: SIGKILL the centre with jobs queued and running, restart it,
and every job still finishes, with exactly one stored result each."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import sqlalchemy as sa

from tests.conftest import PostgresSchema, database_url_for
from tests.programs import BELL, slow

QHARBOR = Path(sys.executable).parent / "qharbor"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """``qharbor serve`` in its own process group."""

    def __init__(self, data_dir: Path, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [str(QHARBOR), "serve", "--port", str(self.port), "--data-dir", str(data_dir)],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"qharbor serve exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"qharbor serve did not answer: {self.log.read_text()}")

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log_file.close()

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log_file.close()


@pytest.fixture
def environment(tmp_path: Path, database_kind: str) -> Iterator[tuple[dict[str, str], str]]:
    url, schema = database_url_for(database_kind, tmp_path)
    env = {
        **os.environ,
        "QHARBOR_ACCOUNT_FILE": str(tmp_path / "accounts.json"),
        "QHARBOR_WORKERS": "2",
        "QHARBOR_LEASE_SECONDS": "3",
        "QHARBOR_HEARTBEAT_SECONDS": "0.5",
        "QHARBOR_LOG_LEVEL": "warning",
    }
    if url is not None:
        env["QHARBOR_DATABASE_URL"] = url
    database = url or f"sqlite:///{tmp_path / 'data' / 'qharbor.db'}"
    try:
        yield env, database
    finally:
        if isinstance(schema, PostgresSchema):
            schema.drop()


def test_killed_centre_finishes_every_accepted_job_after_restart(
    tmp_path: Path, environment: tuple[dict[str, str], str]
) -> None:
    env, database = environment
    data_dir = tmp_path / "data"
    first = ServeProcess(data_dir, env)
    try:
        account = json.loads(Path(env["QHARBOR_ACCOUNT_FILE"]).read_text())
        token = account["accounts"]["local"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=first.url, headers=headers, timeout=60) as http:
            running_ids = [
                http.post(
                    "/v1/jobs",
                    json={"device": "statevector", "programs": [slow(layers=20)], "shots": 10},
                ).json()["id"]
                for _ in range(2)
            ]
            queued_ids = [
                http.post(
                    "/v1/jobs",
                    json={"device": "statevector", "programs": [BELL], "shots": 50, "seed": n},
                ).json()["id"]
                for n in range(20)
            ]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                states = [http.get(f"/v1/jobs/{j}").json()["status"] for j in running_ids]
                if states == ["RUNNING", "RUNNING"]:
                    break
                time.sleep(0.05)
            assert states == ["RUNNING", "RUNNING"]
            queued_states = {http.get(f"/v1/jobs/{j}").json()["status"] for j in queued_ids}
            assert queued_states == {"QUEUED"}
        workers = first.workers()
        assert workers, "the centre should have worker processes"
        first.kill()
    except BaseException:
        first.terminate()
        raise
    # Workers die with the centre: no orphan keeps computing.
    _gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"orphaned workers: {alive}"

    second = ServeProcess(data_dir, env)
    try:
        assert "Admin token" not in second.log.read_text()
        with httpx.Client(base_url=second.url, headers=headers, timeout=60) as http:
            finals: dict[str, dict[str, Any]] = {}
            for job_id in running_ids + queued_ids:
                for _ in range(10):
                    job = http.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
                    if job["status"] in ("DONE", "FAILED", "CANCELLED"):
                        break
                finals[job_id] = job
            assert {j["status"] for j in finals.values()} == {"DONE"}, finals
            # The jobs killed mid-run were run again: a second attempt.
            assert all(finals[j]["attempt"] == 2 for j in running_ids)
            assert all(finals[j]["attempt"] == 1 for j in queued_ids)
            for job_id in queued_ids:
                counts = http.get(f"/v1/jobs/{job_id}/result").json()["experiments"][0]["counts"]
                assert sum(counts.values()) == 50
            for job_id in running_ids:
                result = http.get(f"/v1/jobs/{job_id}/result").json()
                assert result["metadata"]["attempt"] == 2
    finally:
        second.terminate()

    engine = sa.create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT job_id, attempt FROM results")).all()
    finally:
        engine.dispose()
    stored = [r.job_id for r in rows]
    assert sorted(stored) == sorted(running_ids + queued_ids)
    assert len(stored) == len(set(stored))

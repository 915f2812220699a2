"""Programs that once took the whole centre down, sent to a real ``qharbor serve``
under a 3 GiB address-space limit (as systemd's ``LimitAS=`` sets it).

Each must be refused with a 4xx within 2 s, and the centre must stay up: healthy,
and running a normal job afterwards. Under the limit the parser sandbox must
also start at all (it once tried to raise the hard limit and died at start-up).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

QHARBOR = Path(sys.executable).parent / "qharbor"
ADDRESS_SPACE_BYTES = 3 * 1024**3
ANSWER_WITHIN_S = 2.0
Q2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
Q3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'

#: The programs that grew the API past 10 GiB, or held it for tens of seconds.
CRASHERS = {
    "originir-qwhile-nested-4": "QINIT 2\nCREG 2\nMEASURE q[0],c[0]\n"
    + "QWHILE c[0]==0\n" * 4
    + "H q[1]\n"
    + "QENDWHILE\n" * 4,
    "originir-qwhile-nested-3": "QINIT 2\nCREG 2\nMEASURE q[0],c[0]\n"
    + "QWHILE c[0]==0\n" * 3
    + "H q[1]\n"
    + "QENDWHILE\n" * 3,
    "qasm2-creg-1e8": "qreg q[1]; creg c[100000000];",
    "qasm3-qubit-product": "OPENQASM 3.0;\nqubit[10000*10000] q;\n",
    "qasm3-pow-ctrl-7": Q3
    + "qubit[8] q;\npow(0.5) @ ctrl(7) @ x q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7];\n",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cap_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


class CappedCentre:
    def __init__(self, root: Path) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.account_file = root / "accounts.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("QHARBOR_")}
        env.update(
            QHARBOR_ACCOUNT_FILE=str(self.account_file),
            QHARBOR_KEY_DIR=str(root / "keys"),
            QHARBOR_WORKERS="1",
            QHARBOR_ENGINE_BENCHMARK="off",
            QHARBOR_WARM_ENGINES="0",
        )
        self._log = (root / "serve.log").open("wb")
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [str(QHARBOR), "serve", "--port", port, "--data-dir", str(root / "data")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_cap_address_space,
        )
        self.log = root / "serve.log"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            pytest.fail("qharbor serve did not become healthy under the memory limit")
        saved = json.loads(self.account_file.read_text())
        token = saved["accounts"][saved["default"]]["token"]
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log.close()


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CappedCentre]:
    centre = CappedCentre(tmp_path_factory.mktemp("capped"))
    try:
        yield centre
    finally:
        centre.http.close()
        centre.stop()


def _post(centre: CappedCentre, path: str, source: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = centre.http.post(path, json={"device": "statevector", "programs": [source]})
    return response, time.monotonic() - started


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/jobs:dry-run"])
@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_a_crashing_program_is_refused_fast_and_the_centre_stays_up(
    capped: CappedCentre, name: str, path: str
) -> None:
    response, elapsed = _post(capped, path, CRASHERS[name])
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == "PROGRAM_LIMIT", error
    assert any(key.startswith("max_") for key in error["detail"]), error  # names the limit
    assert elapsed < ANSWER_WITHIN_S, f"{name} took {elapsed:.2f} s"
    assert capped.process.poll() is None
    assert capped.http.get("/v1/health").json()["status"] == "ok"


def test_concurrent_distinct_large_registers_neither_hold_memory_nor_stall_health(
    capped: CappedCentre,
) -> None:
    api = psutil.Process(capped.process.pid)
    before = api.memory_info().rss
    sources = [f"{Q2}qreg q[1];\ncreg c{i}[1000000];\n" for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda s: _post(capped, "/v1/jobs", s), sources))
        started = time.monotonic()
        health = capped.http.get("/v1/health")
        health_s = time.monotonic() - started
    assert health.status_code == 200
    assert health_s < 1.0
    for response, elapsed in answers:
        assert response.status_code == 400, response.text[:300]
        assert response.json()["error"]["detail"]["max_clbits"] == 4096
        assert elapsed < ANSWER_WITHIN_S
    assert api.memory_info().rss - before < 100 * 1024 * 1024


def test_after_the_crashers_a_normal_job_still_runs(capped: CappedCentre) -> None:
    for source in CRASHERS.values():
        _post(capped, "/v1/jobs", source)
    response = capped.http.post(
        "/v1/jobs",
        json={
            "device": "statevector",
            "shots": 64,
            "programs": ["QINIT 1\nCREG 1\nX q[0]\nMEASURE q[0],c[0]\n"],
        },
        params={"wait": 60},
    )
    assert response.status_code == 201, response.text[:300]
    job = response.json()
    assert job["status"] == "DONE", job
    result = capped.http.get(f"/v1/jobs/{job['id']}/result").json()
    assert result["experiments"][0]["counts"] == {"1": 64}
    assert capped.process.poll() is None

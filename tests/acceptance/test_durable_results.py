"""``job.result()`` of a Qiskit primitive job outlives a killed and restarted centre."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qharbor.qiskit import EstimatorV2, QHarborProvider
from tests.acceptance.test_restart import ServeProcess
from tests.programs import slow


def test_a_waiting_result_rides_out_a_centre_restart(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QHARBOR_ACCOUNT_FILE": str(tmp_path / "accounts.json"),
        "QHARBOR_WORKERS": "1",
        "QHARBOR_LOG_LEVEL": "warning",
    }
    data_dir = tmp_path / "data"
    first = ServeProcess(data_dir, env)
    try:
        account = json.loads(Path(env["QHARBOR_ACCOUNT_FILE"]).read_text())
        token = account["accounts"]["local"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=first.url, headers=headers, timeout=60) as http:
            blocker = http.post(
                "/v1/jobs",
                json={"device": "statevector", "programs": [slow(n=20, layers=12)], "shots": 10},
            ).json()["id"]
            provider = QHarborProvider(first.url, token)
            circuit = QuantumCircuit(2)
            circuit.h(0)
            circuit.cx(0, 1)
            job = EstimatorV2(mode=provider.backend("statevector")).run(
                [(circuit, [SparsePauliOp("ZZ"), SparsePauliOp("XI")])]
            )
            outcome: dict[str, Any] = {}

            def wait() -> None:
                try:
                    outcome["result"] = job.result()
                except Exception as exc:  # reported by the assertions below
                    outcome["error"] = exc
                outcome["at"] = time.monotonic()

            waiter = threading.Thread(target=wait, daemon=True)
            waiter.start()
            assert http.get(f"/v1/jobs/{blocker}").json()["status"] in ("QUEUED", "RUNNING")
            assert http.get(f"/v1/jobs/{job.job_id()}").json()["status"] == "QUEUED"
        first.kill()
        killed_at = time.monotonic()
    except BaseException:
        first.terminate()
        raise
    second = ServeProcess(data_dir, env, port=first.port)
    try:
        waiter.join(timeout=240)
        assert not waiter.is_alive(), "result() did not return after the restart"
        assert "error" not in outcome, outcome.get("error")
        assert outcome["at"] > killed_at
        np.testing.assert_allclose(outcome["result"][0].data.evs, [1.0, 0.0], atol=1e-12)
        assert job.status().name == "DONE"
    finally:
        provider.close()
        second.terminate()

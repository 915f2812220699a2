"""Two centre processes on one PostgreSQL database, in front of one real Ray cluster.

The cluster is a head and a second node on this machine, each its own
``ray start`` with 1 CPU; the centres are two ``qharbor serve`` processes with
``--executor ray``. Every accepted job must end exactly once, with the result a
single worker would have produced.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from qharbor.devices import default_catalogue
from qharbor.jobs.claims import Claim
from qharbor.jobs.options import JobOptions
from qharbor.jobs.result import Result
from qharbor.workers.execution import execute
from tests.acceptance.test_restart import ServeProcess
from tests.conftest import PostgresSchema, need_postgres
from tests.programs import BELL, stored
from tests.ray_cluster import LocalCluster

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

SWEEP = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[{n}] q;
bit[{n}] c;
h q;
rx(theta) q[0];
{chain}
c = measure q;
"""


def sweep(n: int, points: int) -> dict[str, Any]:
    return {
        "source": SWEEP.format(
            n=n, chain="\n".join(f"cx q[{i}], q[{i + 1}];" for i in range(n - 1))
        ),
        "parameters": [{"theta": 0.01 * i} for i in range(points)],
    }


class Centres:
    def __init__(self, cluster: LocalCluster, a: ServeProcess, b: ServeProcess, token: str):
        self.cluster = cluster
        self.a = httpx.Client(base_url=a.url, headers={"Authorization": f"Bearer {token}"})
        self.b = httpx.Client(base_url=b.url, headers={"Authorization": f"Bearer {token}"})
        self.processes = (a, b)
        self.accepted: list[str] = []

    def submit(self, client: httpx.Client, **body: Any) -> dict[str, Any]:
        body.setdefault("device", "statevector")
        response = client.post("/v1/jobs", json=body)
        assert response.status_code == 201, response.text
        job: dict[str, Any] = response.json()
        self.accepted.append(job["id"])
        return job

    def wait(self, client: httpx.Client, job_id: str) -> dict[str, Any]:
        for _ in range(12):
            job: dict[str, Any] = client.get(
                f"/v1/jobs/{job_id}", params={"wait": 20}, timeout=60
            ).json()
            if job["status"] in ("DONE", "FAILED", "CANCELLED"):
                return job
        raise AssertionError(f"job {job_id} did not finish: {job}")


@pytest.fixture(scope="module")
def centres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Centres]:
    need_postgres()
    root = tmp_path_factory.mktemp("ray")
    cluster = LocalCluster(root / "nodes")
    schema = PostgresSchema()
    processes: list[ServeProcess] = []
    try:
        address = cluster.start_head({"device:statevector": 4})
        cluster.add_node("w1", {"device:statevector": 4})
        env = {
            **os.environ,
            "QHARBOR_DATABASE_URL": schema.url,
            "QHARBOR_EXECUTOR": "ray",
            "QHARBOR_RAY_ADDRESS": address,
            "QHARBOR_ACCOUNT_FILE": str(root / "accounts.json"),
            "QHARBOR_LEASE_SECONDS": "6",
            "QHARBOR_HEARTBEAT_SECONDS": "1",
            "QHARBOR_LOG_LEVEL": "warning",
            "QHARBOR_WARM_ENGINES": "0",
            "QHARBOR_ENGINE_BENCHMARK": "off",
            "QHARBOR_PARSER_PROCESSES": "1",
        }
        data = root / "data"  # shared: one key-encryption key for both processes
        processes.append(ServeProcess(data, env))
        token = json.loads((root / "accounts.json").read_text())["accounts"]["local"]["token"]
        processes.append(ServeProcess(data, env))
        made = Centres(cluster, processes[0], processes[1], token)
        yield made
    finally:
        if len(processes) == 2 and "made" in locals():
            made.a.close()
            made.b.close()
        for process in processes:
            process.terminate()
        cluster.stop()
        schema.drop()


def reference(
    job: dict[str, Any], programs: list[dict[str, Any]], options: dict[str, Any] | None = None
) -> Result:
    """The result one worker on this host gives for the same programs and seed."""
    device = default_catalogue().get(job["device"])
    specs = [stored(p["source"], p.get("parameters")) for p in programs]
    result = execute(
        Claim(
            job["id"],
            1,
            job["device"],
            job["shots"],
            job["seed"],
            specs,
            target=device,
            options=JobOptions.from_json(options),
        )
    )
    assert isinstance(result, Result)
    return result


def check_rows(result: dict[str, Any], expected: Result) -> None:
    got = [(e["program"], e["counts"], e["seed"], e["num_clbits"]) for e in result["experiments"]]
    want = [(e.program, e.counts, e.seed, e.num_clbits) for e in expected.experiments]
    assert got == want


def test_either_process_accepts_one_runs_and_both_read_the_result(centres: Centres) -> None:
    programs = [sweep(6, 200), {"source": BELL}]
    fanned = centres.submit(centres.a, programs=programs, shots=200, seed=7)
    small = centres.submit(centres.b, programs=[BELL], shots=100)
    # Long-polls on the other process wake when the job ends.
    done = centres.wait(centres.b, fanned["id"])
    assert done["status"] == "DONE", done
    assert done["progress"] == {"done": 201, "total": 201}
    assert done["attempt"] == 1
    assert centres.wait(centres.a, small["id"])["status"] == "DONE"
    from_a = centres.a.get(f"/v1/jobs/{fanned['id']}/result").json()
    from_b = centres.b.get(f"/v1/jobs/{fanned['id']}/result").json()
    assert from_a == from_b
    assert from_a["metadata"]["chunks"] >= 2
    check_rows(from_a, reference(done, programs))


def test_operators_see_the_cluster_nodes_and_the_running_tasks(centres: Centres) -> None:
    job = centres.submit(centres.a, programs=[sweep(6, 1200)], shots=100, seed=5)
    running: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not running:
        # Either API process's scheduler may have handed the job to the cluster.
        seen = [c.get("/v1/admin/executor").json() for c in (centres.a, centres.b)]
        running = [w for report in seen for w in report["workers"]]
        time.sleep(0.05)
    for report in seen:
        assert report["kind"] == "ray" and report["health"] is None, report
        assert report["address"] == centres.cluster.address
        alive = [n for n in report["nodes"] if n["alive"]]
        assert len(alive) == 2 and all(n["resources"]["CPU"] >= 1 for n in alive)
    assert [w["job_id"] for w in running] == [job["id"]]
    assert centres.wait(centres.a, job["id"])["status"] == "DONE"
    member = centres.a.get("/v1/admin/executor", headers={"Authorization": "Bearer qh_x"})
    assert member.status_code == 401


def test_a_job_no_node_can_hold_is_refused_naming_the_largest_node(centres: Centres) -> None:
    wide = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[29];\ncreg c[29];\nh q;\nmeasure q -> c;\n'
    response = centres.a.post("/v1/jobs", json={"device": "statevector", "programs": [wide]})
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["code"] == "DEVICE_LIMIT"
    assert "largest node" in error["message"]
    assert error["detail"]["node"] in error["message"]


def test_a_killed_node_leaves_simulator_jobs_to_finish_on_the_other(centres: Centres) -> None:
    programs = [sweep(6, 1200)]
    # Pinned: the reference below runs the whole sweep on one engine too.
    job = centres.submit(centres.a, programs=programs, shots=100, seed=3, options={"engine": "aer"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = centres.a.get(f"/v1/jobs/{job['id']}").json()
        if now["status"] == "RUNNING":
            break
        time.sleep(0.05)
    assert now["status"] == "RUNNING", now
    centres.cluster.kill("w1")  # its chunks were handed to both nodes at once
    done = centres.wait(centres.b, job["id"])
    assert done["status"] == "DONE", done
    result = centres.b.get(f"/v1/jobs/{job['id']}/result").json()
    # Aer chooses its own seeds past the first bindings of a long sweep (see
    # tests/unit/executors/test_ray_chunks.py), so the rows' layout is compared.
    expected = reference(done, programs, {"engine": "aer"})
    layout = [
        (e["program"], e["parameters"], e["num_clbits"], sum(e["counts"].values()))
        for e in result["experiments"]
    ]
    assert layout == [
        (e.program, e.parameters, e.num_clbits, sum(e.counts.values()))
        for e in expected.experiments
    ]


def test_a_lost_head_holds_jobs_queued_until_it_returns(centres: Centres) -> None:
    centres.cluster.kill("head")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = centres.a.get("/v1/health")
        if health.status_code == 503:
            break
        time.sleep(0.5)
    assert health.status_code == 503
    assert "executor" in health.json()["problems"]
    held = centres.submit(centres.b, programs=[BELL], shots=50, seed=1)
    time.sleep(2)
    assert centres.a.get(f"/v1/jobs/{held['id']}").json()["status"] == "QUEUED"
    centres.cluster.restart_head({"device:statevector": 4})
    done = centres.wait(centres.a, held["id"])
    assert done["status"] == "DONE", done
    assert centres.a.get("/v1/health").status_code == 200
    # Every job this module accepted ended exactly once.
    for job_id in centres.accepted:
        assert centres.a.get(f"/v1/jobs/{job_id}").json()["status"] == "DONE"

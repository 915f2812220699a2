"""Two centre processes on one PostgreSQL database, in front of one real Ray cluster.

The cluster is a head (1 CPU) and a second node (2 CPUs) on this machine, each its
own ``ray start``; the centres are two ``qharbor serve`` processes with
``--executor ray``. Every accepted job must end exactly once, with the result a
single worker would have produced: the module ends by counting the result and
usage rows in the database.

``fakeqpu`` stands in for a real processor: a device file of kind ``qpu`` whose
driver is the twin engine, hosted only by the second node.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import sqlalchemy as sa

from qharbor.client.service import HarborService
from qharbor.devices import default_catalogue
from qharbor.devices.twins import spec as twin_specs
from qharbor.jobs import leases
from qharbor.jobs.claims import Claim
from qharbor.jobs.options import JobOptions
from qharbor.jobs.result import Result
from qharbor.runtime import registry
from qharbor.store import tables
from qharbor.workers.execution import execute
from tests import loop_programs
from tests.acceptance.test_restart import ServeProcess
from tests.conftest import PostgresSchema, need_postgres
from tests.programs import BELL, stored
from tests.ray_cluster import LocalCluster

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]

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
    def __init__(
        self,
        cluster: LocalCluster,
        processes: list[ServeProcess],
        token: str,
        database_url: str,
        start: Any,
    ):
        self.cluster = cluster
        a, b = processes
        self.a = httpx.Client(base_url=a.url, headers={"Authorization": f"Bearer {token}"})
        self.b = httpx.Client(base_url=b.url, headers={"Authorization": f"Bearer {token}"})
        self.processes = processes
        self.database_url = database_url
        self.start = start  # port -> a new ServeProcess on it
        self.accepted: list[str] = []

    def restart(self) -> None:
        """kill -9 both centre processes, then start them again on their ports."""
        ports = [process.port for process in self.processes]
        for process in self.processes:
            process.kill()
        self.processes[:] = [self.start(port) for port in ports]

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


def _installed_where(root: Path) -> Path:
    """A folder holding a distribution that registers the test program ``where``."""
    site = root / "site"
    info = site / "qharbor_test_programs-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: qharbor-test-programs\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(f"[{registry.GROUP}]\n{loop_programs.ENTRY}\n")
    return site


@pytest.fixture(scope="module")
def centres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Centres]:
    need_postgres()
    root = tmp_path_factory.mktemp("ray")
    cluster = LocalCluster(root / "nodes")
    schema = PostgresSchema()
    processes: list[ServeProcess] = []
    devices = root / "devices"
    devices.mkdir()
    nmr3 = (twin_specs.BUILTIN_DIR / "nmr3.toml").read_text()
    (devices / "fakeqpu.toml").write_text(
        nmr3.replace('name = "nmr3"', 'name = "fakeqpu"\nkind = "qpu"').replace(
            "max_shots = 2000", "max_shots = 100000"
        )
    )
    try:
        address = cluster.start_head({"device:statevector": 4})
        # Two CPUs: the processor's run and a chunk of a sweep fit side by side.
        cluster.add_node("w1", {"device:statevector": 4, "device:fakeqpu": 1}, cpus=2)
        env = {
            **os.environ,
            # The centres also run the test program ``where``, installed as an operator would.
            "PYTHONPATH": os.pathsep.join(
                [os.environ.get("PYTHONPATH", ""), str(_installed_where(root)), str(REPO)]
            ),
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
            "QHARBOR_DEVICES_DIR": str(devices),
        }
        data = root / "data"  # shared: one key-encryption key for both processes
        processes.append(ServeProcess(data, env))
        token = json.loads((root / "accounts.json").read_text())["accounts"]["local"]["token"]
        processes.append(ServeProcess(data, env))
        made = Centres(
            cluster, processes, token, schema.url, lambda port: ServeProcess(data, env, port)
        )
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
    specs = [stored(p["source"], p.get("parameters", [])) for p in programs]
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
    # Wide enough to run for seconds: the report is read while it runs.
    job = centres.submit(centres.a, programs=[sweep(16, 1200)], shots=100, seed=5)
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
    # A node large enough joins: the same job is admitted; once it leaves, refused again.
    dry_run = {"device": "statevector", "programs": [wide]}
    centres.cluster.add_node("big", {}, memory_bytes=64 << 30)
    deadline = time.monotonic() + 60
    while centres.b.post("/v1/jobs:dry-run", json=dry_run).status_code != 200:
        assert time.monotonic() < deadline, "the large node was never taken into account"
        time.sleep(0.2)
    centres.cluster.kill("big")
    while (response := centres.b.post("/v1/jobs:dry-run", json=dry_run)).status_code == 200:
        assert time.monotonic() < deadline + 30, "the large node was never seen to leave"
        time.sleep(0.2)
    assert response.json()["error"]["detail"]["node"] == error["detail"]["node"]


def wait_status(client: httpx.Client, job_id: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = client.get(f"/v1/jobs/{job_id}").json()
        if now["status"] == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} is {now['status']}, not {status}")


#: A 3-qubit circuit in the fake processor's native gates, with a few layers.
QPU_CIRCUIT = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
    + "rx(0.3) q[0];\nry(0.2) q[1];\ncz q[0],q[1];\ncz q[1],q[2];\n" * 4
    + "measure q -> c;\n"
)


def ray_tasks() -> list[psutil.Process]:
    """This machine's Ray workers running a qharbor task now (Ray titles them by task name)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(part.startswith("ray::qharbor:") for part in process.info["cmdline"] or ()):
                found.append(process)
    return found


def wait_task(title: str, timeout: float = 60) -> None:
    """Wait until a Ray worker runs the task of this title."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(title in p.info["cmdline"] for p in ray_tasks()):
            return
        time.sleep(0.05)
    raise AssertionError(f"no Ray worker runs {title}")


def _run_ends(client: httpx.Client, path: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(path).json()
        if run["status"] in ("DONE", "FAILED", "CANCELLED"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"program run {path} did not end")


def _tagged(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    params = {"tag": f"program-run:{run_id}", "limit": 500}
    jobs: list[dict[str, Any]] = client.get("/v1/jobs", params=params).json()["jobs"]
    return jobs


def test_a_program_run_loops_as_a_ray_task_with_its_jobs_recorded_and_signed(
    centres: Centres,
) -> None:
    started = centres.a.post(
        "/v1/programs/where/runs", json={"device": "statevector", "inputs": {"calls": 3}}
    )
    assert started.status_code == 201, started.text
    path = f"/v1/programs/where/runs/{started.json()['id']}"
    run = _run_ends(centres.a, path)
    assert run["status"] == "DONE", run
    result = centres.b.get(f"{path}/result").json()
    output = result["output"]
    assert output["ray_task"] is not None  # the loop ran as a Ray task ...
    centre_pids = {p.process.pid for p in centres.processes}
    centre_pids |= {c.pid for p in centres.processes for c in p.workers()}
    assert output["pid"] not in centre_pids  # ... in a Ray worker, not in a centre's tree
    jobs = _tagged(centres.b, run["id"])
    assert sorted(result["jobs"]) == sorted(j["id"] for j in jobs) and len(jobs) == 3
    assert all(j["status"] == "DONE" and j["session_id"] == run["session_id"] for j in jobs)
    centres.accepted += result["jobs"]
    service = HarborService(centres.processes[1].url, centres.b.headers["Authorization"][7:])
    with service:
        assert service.verify(result).job_id == run["id"]
        for job_id in result["jobs"]:
            assert service.verify(job_id).device == "statevector"


def test_a_crashed_program_task_on_ray_fails_its_run(centres: Centres) -> None:
    started = centres.a.post(
        "/v1/programs/where/runs",
        json={"device": "statevector", "inputs": {"calls": 1, "end": "segfault"}},
    )
    assert started.status_code == 201, started.text
    run = _run_ends(centres.a, f"/v1/programs/where/runs/{started.json()['id']}")
    assert run["status"] == "FAILED", run
    assert run["error"]["code"] == "PROGRAM_LOOP_LOST"
    assert "Ray task" in run["error"]["message"]
    jobs = _tagged(centres.a, run["id"])
    assert [j["status"] for j in jobs] == ["DONE"]  # the job it sent before it crashed
    centres.accepted += [j["id"] for j in jobs]


def test_a_program_loop_on_ray_dies_with_its_centre_and_the_run_is_taken_over(
    centres: Centres,
) -> None:
    started = centres.b.post(
        "/v1/programs/vqe/runs", json={"device": "statevector", "inputs": {"iterations": 10_000}}
    ).json()
    path = f"/v1/programs/vqe/runs/{started['id']}"
    title = f"ray::qharbor:program:{started['id']}"
    wait_task(title)
    holder = 1  # the centre a run is started on runs its first attempt
    serve = centres.processes[holder]
    port = serve.port
    # Only the centre process dies: its loop relays (the Ray drivers) die with it,
    # and Ray ends the task they owned.
    os.kill(serve.process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while ours := [p for p in ray_tasks() if title in " ".join(p.info["cmdline"])]:
        assert time.monotonic() < deadline, ours
        time.sleep(0.2)
    serve.kill()  # what else it started
    centres.processes[holder] = centres.start(port)
    # The other centre takes the run over once its lease expires; cancelling it stops
    # the new attempt's task.
    survivor = centres.a
    wait_task(title, timeout=90)
    assert survivor.post(f"{path}/cancel").status_code == 200
    run = _run_ends(survivor, path)
    assert run["status"] == "CANCELLED" and run["attempt"] == 2
    deadline = time.monotonic() + 30
    while [p for p in ray_tasks() if title in " ".join(p.info["cmdline"])]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    centres.accepted += [j["id"] for j in _tagged(survivor, run["id"])]


def test_a_killed_node_leaves_simulator_jobs_to_finish_and_fails_real_device_jobs(
    centres: Centres,
) -> None:
    # Only the second node hosts the processor, so its run is there.
    qpu = centres.submit(
        centres.b, device="fakeqpu", programs=[QPU_CIRCUIT] * 300, shots=100_000, seed=2
    )
    wait_task(f"ray::qharbor:{qpu['id']}:1")
    programs = [sweep(6, 1200)]
    # Pinned: the reference below runs the whole sweep on one engine too.
    job = centres.submit(centres.a, programs=programs, shots=100, seed=3, options={"engine": "aer"})
    wait_task(f"ray::qharbor:{job['id']}:1")
    assert centres.a.get(f"/v1/jobs/{qpu['id']}").json()["status"] == "RUNNING"
    centres.cluster.kill("w1")  # with the run on the processor and a chunk of the sweep
    lost = centres.wait(centres.a, qpu["id"])
    assert (lost["status"], lost["error"]["code"]) == ("FAILED", "WORKER_LOST"), lost
    assert lost["attempt"] == 1  # never run again behind its owner's back
    done = centres.wait(centres.b, job["id"])
    assert done["status"] == "DONE", done
    result = centres.b.get(f"/v1/jobs/{job['id']}/result").json()
    # Chunks run again elsewhere sample from their own seeds: the counts are one worker's.
    check_rows(result, reference(done, programs, {"engine": "aer"}))


def lease_owner(database_url: str, job_id: str) -> str | None:
    """The centre that holds a running job's lease, as its row names it."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(tables.jobs.c.lease_owner).where(tables.jobs.c.id == job_id)
            ).scalar_one()
    finally:
        engine.dispose()


def stored_rows(database_url: str, job_id: str) -> tuple[list[int], int]:
    """A job's result rows (their attempts) and how many usage charges it has."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            attempts = conn.execute(
                sa.select(tables.results.c.attempt).where(tables.results.c.job_id == job_id)
            ).scalars()
            charges = conn.execute(
                sa.select(sa.func.count()).where(tables.usage.c.job_id == job_id)
            ).scalar_one()
            return list(attempts), charges
    finally:
        engine.dispose()


def test_one_killed_centre_leaves_its_job_to_the_other_which_runs_it_once(
    centres: Centres,
) -> None:
    programs = [sweep(12, 2400)]  # still running when its centre is killed
    job = centres.submit(centres.b, programs=programs, shots=100, seed=8, options={"engine": "aer"})
    title = f"ray::qharbor:{job['id']}:1"
    wait_task(title)
    found = leases.owner_process(lease_owner(centres.database_url, job["id"]))
    assert found is not None and found[0] == socket.gethostname()[:32]
    pids = [process.process.pid for process in centres.processes]
    assert found[1] in pids, (found, pids)
    holder = pids.index(found[1])
    survivor = (centres.a, centres.b)[1 - holder]
    port = centres.processes[holder].port
    centres.processes[holder].kill()  # kill -9: no goodbye, its lease just stops being renewed
    # Its driver died with it, and Ray ended the attempt's tasks.
    deadline = time.monotonic() + 30
    while ours := [p for p in ray_tasks() if title in p.info["cmdline"]]:
        assert time.monotonic() < deadline, ours
        time.sleep(0.2)
    done = centres.wait(survivor, job["id"])
    assert done["status"] == "DONE", done
    assert done["attempt"] == 2  # the survivor's attempt; the dead one's is fenced out
    check_rows(
        survivor.get(f"/v1/jobs/{job['id']}/result").json(),
        reference(done, programs, {"engine": "aer"}),
    )
    assert stored_rows(centres.database_url, job["id"]) == ([2], 1)  # one result, one charge
    # The killed centre comes back for the tests after this one.
    centres.processes[holder] = centres.start(port)


def test_a_killed_centre_leaves_no_ray_work_and_its_jobs_end_once_after_restart(
    centres: Centres,
) -> None:
    programs = [sweep(12, 2400)]  # still running when the centres are killed
    running = centres.submit(
        centres.a, programs=programs, shots=100, seed=5, options={"engine": "aer"}
    )
    wait_status(centres.a, running["id"], "RUNNING")
    queued = [centres.submit(centres.b, programs=[BELL], shots=10, seed=s) for s in range(3)]
    deadline = time.monotonic() + 30
    while not ray_tasks() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ray_tasks(), "the sweep never started on the cluster"
    centres.restart()
    # The drivers died with the centres, and Ray ended the tasks they owned.
    deadline = time.monotonic() + 30
    while ray_tasks() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray_tasks() == []
    done = centres.wait(centres.b, running["id"])
    assert done["status"] == "DONE", done
    assert done["attempt"] == 2  # the dead centre's attempt was fenced out
    result = centres.b.get(f"/v1/jobs/{running['id']}/result").json()
    check_rows(result, reference(done, programs, {"engine": "aer"}))
    for job in queued:
        assert centres.wait(centres.a, job["id"])["status"] == "DONE"


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
    # Every job this module accepted ended exactly once: one status, one result
    # row of the attempt that ended it, one usage charge.
    statuses = {job_id: centres.a.get(f"/v1/jobs/{job_id}").json() for job_id in centres.accepted}
    failed = {job_id for job_id, job in statuses.items() if job["status"] == "FAILED"}
    assert all(job["status"] in ("DONE", "FAILED") for job in statuses.values()), statuses
    assert [statuses[j]["device"] for j in failed] == ["fakeqpu"]
    engine = sa.create_engine(centres.database_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.select(tables.results.c.job_id, tables.results.c.attempt))
            results = [tuple(row) for row in stored]
            charged = [row[0] for row in conn.execute(sa.select(tables.usage.c.job_id))]
    finally:
        engine.dispose()
    done = set(centres.accepted) - failed
    assert sorted(j for j, _ in results) == sorted(done)
    assert all(attempt == statuses[j]["attempt"] for j, attempt in results)
    assert sorted(j for j in charged if j in done) == sorted(done)

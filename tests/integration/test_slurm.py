"""Sessions opened by real Slurm batch jobs: a VQE loop, scancel, the epilog, accounting.

One single-node Slurm cluster and one centre (SQLite) serve the whole module; the
batch scripts reach the centre over HTTP with a project member's token, as a
cluster user's would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RunningCentre, start_centre
from tests.integration.slurm import SlurmCluster, need_slurm

SRC = Path(__file__).resolve().parents[2] / "src"

#: A VQE-like loop: minimise <Z0 + Z1> = 2 cos(theta) of ry(theta) q0; cx q0,q1.
VQE = """#!{python}
import json
from qharbor import HarborService

def energy(service, session, theta):
    qasm = (
        'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; '
        f'ry({{theta}}) q[0]; cx q[0],q[1]; measure q -> c;'
    )
    counts = service.run(qasm, shots=400, seed=11, session=session.id).result().get_counts()
    z = sum(n * sum(1 if bit == "0" else -1 for bit in k) for k, n in counts.items())
    return z / 400

service = HarborService()
with service.slurm_session("statevector") as session:
    theta, step, trace = 1.0, 0.8, []
    for _ in range(4):
        here, there = energy(service, session, theta), energy(service, session, theta + step)
        trace.append(min(here, there))
        theta, step = (theta + step, step) if there < here else (theta, -step / 2)
    print(json.dumps({{"session": session.id, "energies": trace}}))
"""

#: Opens a session from bash, runs one job in it, then waits to be cancelled.
CANCELLED = """#!/bin/bash
eval "$(qharbor session open statevector --slurm --shell)"
qharbor submit --wait --json {bell} > /dev/null
echo "$QHARBOR_SESSION" > {marker}.tmp && mv {marker}.tmp {marker}
sleep 600
"""

#: Opens a session and forgets it: no trap, no watcher. Only the epilog closes it.
FORGOTTEN = """#!/bin/bash
qharbor session open statevector --slurm --no-watch --json > {marker}.tmp
mv {marker}.tmp {marker}
"""

#: The cluster's epilog: closes every session of the ended job, in every project.
EPILOG = """#!/bin/sh
export QHARBOR_URL={url} QHARBOR_TOKEN={token} QHARBOR_ACCOUNT_FILE={accounts}
export PYTHONPATH={src}
exec {python} -c 'from qharbor.cli import main; main()' \\
    session close --slurm-job "$SLURM_JOB_ID" --all-projects >> {log} 2>&1
"""

BELL = """OPENQASM 2.0; include "qelib1.inc";
qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;
"""


class Site:
    """The centre, the cluster, and what a cluster user's job environment holds."""

    def __init__(self, running: RunningCentre, cluster: SlurmCluster, root: Path) -> None:
        self.running = running
        self.cluster = cluster
        self.root = root
        _user, token = running.centre.identity.create_user("slurm-user", "hpc-physics")
        self.user = running.client_for(token)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        qharbor = bin_dir / "qharbor"
        qharbor.write_text(
            f"#!/bin/sh\nexec {sys.executable} -c 'from qharbor.cli import main; main()' \"$@\"\n"
        )
        qharbor.chmod(0o755)
        self.env = {
            "QHARBOR_URL": running.url,
            "QHARBOR_TOKEN": token,
            "QHARBOR_ACCOUNT_FILE": str(root / "accounts.json"),
            "PYTHONPATH": str(SRC),
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        }

    def submit(self, name: str, text: str) -> str:
        script = self.root / name
        script.write_text(text)
        script.chmod(0o755)
        return self.cluster.sbatch(script, self.env)

    def session_of(self, slurm_job_id: str) -> dict[str, Any]:
        sessions = self.user.get("/v1/sessions").json()["sessions"]
        [found] = [s for s in sessions if s["slurm_job_id"] == slurm_job_id]
        return found

    def output(self, name: str) -> str:
        return (self.root / f"{name}.out").read_text()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    need_slurm()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        server, _schema = start_centre("sqlite", root / "centre")
        running = RunningCentre(server)
        epilog = root / "epilog.sh"
        epilog.write_text(
            EPILOG.format(
                url=running.url,
                token=running.token,
                accounts=root / "epilog-accounts.json",
                src=SRC,
                python=sys.executable,
                log=root / "epilog.log",
            )
        )
        epilog.chmod(0o755)
        (root / "slurm").mkdir()
        cluster = SlurmCluster(root / "slurm", epilog=epilog)
        try:
            cluster.start()
            yield Site(running, cluster, root)
        finally:
            cluster.stop()
            running.close()
            server.stop()


@pytest.fixture(scope="module")
def jobs(site: Site) -> dict[str, str]:
    """The three batch jobs, run at once: a VQE, one to be cancelled, one forgotten."""
    (site.root / "bell.qasm").write_text(BELL)
    vqe = site.submit("vqe.py", VQE.format(python=sys.executable))
    cancelled = site.submit(
        "cancelled.sh", CANCELLED.format(bell=site.root / "bell.qasm", marker=site.root / "b-ready")
    )
    forgotten = site.submit("forgotten.sh", FORGOTTEN.format(marker=site.root / "c-opened"))
    return {"vqe": vqe, "cancelled": cancelled, "forgotten": forgotten}


def _eventually(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_an_sbatch_job_runs_a_vqe_loop_in_its_session_which_closes_as_it_ends(
    site: Site, jobs: dict[str, str]
) -> None:
    state = site.cluster.wait_for(jobs["vqe"], {"COMPLETED", "FAILED", "CANCELLED"})

    assert state == "COMPLETED", site.output("vqe.py")
    session = site.session_of(jobs["vqe"])
    assert session["slurm_cluster"] == SlurmCluster.NAME
    assert session["status"] == "CLOSED"
    assert session["jobs"]["DONE"] == 8
    assert sum(session["jobs"].values()) == 8
    # The loop descended from 2 cos(1.0) = 1.08 towards the minimum, -2.
    report = json.loads(site.output("vqe.py").strip().splitlines()[-1])
    assert report["session"] == session["id"]
    assert min(report["energies"]) < -1.8


def test_scancel_of_a_job_closes_its_session(site: Site, jobs: dict[str, str]) -> None:
    marker = site.root / "b-ready"
    _eventually(lambda: assert_exists(marker), timeout=120)
    session = site.session_of(jobs["cancelled"])
    assert session["status"] == "OPEN"
    assert session["id"] == marker.read_text().strip()

    site.cluster.scancel(jobs["cancelled"])

    def closed() -> dict[str, Any]:
        found = site.session_of(jobs["cancelled"])
        assert found["status"] == "CLOSED", found
        return found

    found = _eventually(closed)
    assert found["jobs"]["DONE"] == 1
    assert site.cluster.wait_for(jobs["cancelled"], {"CANCELLED"}) == "CANCELLED"


def test_the_epilog_closes_a_session_its_job_forgot(site: Site, jobs: dict[str, str]) -> None:
    site.cluster.wait_for(jobs["forgotten"], {"COMPLETED"})

    def closed() -> dict[str, Any]:
        found = site.session_of(jobs["forgotten"])
        assert found["status"] == "CLOSED", found
        return found

    assert _eventually(closed)["close_reason"] == "slurm_job_ended"


def test_the_accounting_export_lists_each_slurm_job_with_its_usage(
    site: Site, jobs: dict[str, str]
) -> None:
    site.cluster.wait_for(jobs["vqe"], {"COMPLETED"})
    _eventually(lambda: assert_exists(site.root / "b-ready"), timeout=120)

    response = site.user.get("/v1/usage/accounting", params={"format": "csv"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = {r["slurm_job_id"]: r for r in csv.DictReader(io.StringIO(response.text))}
    for name, count in (("vqe", 8), ("cancelled", 1)):
        row = rows[jobs[name]]
        assert row["project"] == "hpc-physics"
        assert row["user"] == "slurm-user"
        assert row["slurm_cluster"] == SlurmCluster.NAME
        assert row["device"] == "statevector"
        assert int(row["jobs"]) == count
        assert float(row["device_s"]) > 0
    # The same figures as JSON, through the SDK's route.
    as_json = site.user.get("/v1/usage/accounting").json()["rows"]
    assert {r["slurm_job_id"]: r["jobs"] for r in as_json if r["slurm_job_id"]} == {
        jobs["vqe"]: 8,
        jobs["cancelled"]: 1,
    }


def assert_exists(path: Path) -> None:
    assert path.exists(), f"{path} is not there yet"


def test_a_slurm_session_outside_slurm_is_refused_with_a_clear_error(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qharbor import HarborService, errors

    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    service = HarborService(site.running.url, site.env["QHARBOR_TOKEN"])
    with pytest.raises(errors.NotInSlurmJob, match="SLURM_JOB_ID"):
        service.slurm_session("statevector")
    service.close()

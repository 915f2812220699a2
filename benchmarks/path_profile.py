"""Where a tiny job's time goes inside the centre: a per-stage breakdown.

Run: .venv/bin/python benchmarks/path_profile.py [--jobs 200] [--programs 1]
     .venv/bin/python benchmarks/path_profile.py --case batch5u3 --jobs 3

With ``--case``, the client is the benchmark's own (``benchmarks.systems.qharbor``:
fresh program text, the SDK, the counts read back), sending the case's circuits as
one job, and its stages are timed in the client process too.

Starts a local centre (SQLite, temporary data folder) in this process, wraps the
path's stages with timers, and sends jobs from a client in another process, so
the client's work does not share the centre's interpreter lock. Prints the median
of each stage. The timers cost a few microseconds each; the figures are for
finding what to cut, not for quoting.
"""

from __future__ import annotations

import argparse
import collections
import functools
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

_spent: dict[str, list[float]] = collections.defaultdict(list)
_marks: dict[str, dict[str, float]] = collections.defaultdict(dict)


def _timed(owner: Any, name: str, stage: str) -> None:
    """Replace ``owner.name`` with a wrapper that records its duration under ``stage``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _spent[stage].append(time.perf_counter() - start)

    setattr(owner, name, wrapper)


def _timed_async(owner: Any, name: str, stage: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            _spent[stage].append(time.perf_counter() - start)

    setattr(owner, name, wrapper)


def _mark(owner: Any, name: str, event: str, job_of: Callable[..., str | list[str]]) -> None:
    """Record when ``owner.name`` returns, per job, as ``event``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        now = time.perf_counter()
        ids = job_of(args, kwargs, value)
        for job_id in [ids] if isinstance(ids, str) else ids:
            _marks[job_id].setdefault(event, now)
        return value

    setattr(owner, name, wrapper)


def instrument() -> None:
    """Wrap the centre's stages with timers (before the app is built)."""
    from starlette.responses import JSONResponse

    from qharbor.api import auditing
    from qharbor.api.routers import jobs as jobs_router
    from qharbor.executors import local
    from qharbor.jobs import manager, request, scheduler, submission
    from qharbor.programs import intake
    from qharbor.security import audit, identity, quotas, signing

    _timed(JSONResponse, "render", "api: encode answer (JSON)")
    _timed(identity.Identity, "authenticate", "auth: token lookup")
    _timed(submission.Submission, "_prepare", "submit: parse + check")
    _timed(intake, "parse_circuit", "submit: parse_circuit (each)")
    _timed(quotas.Quotas, "admit", "submit: quota check")
    _timed(manager.JobManager, "create", "submit: insert (+quota) + reload")
    _timed(manager.JobManager, "_load", "submit/read: load job row")
    _timed(manager, "_row", "submit: job row")
    _timed(request.JobRequest, "fingerprint", "submit: request fingerprint")
    _timed(jobs_router, "job_json", "submit/read: job_json")
    _timed(audit.AuditLog, "record", "audit: record (write txn)")
    _timed_async(auditing, "_record", "audit: middleware await")
    _timed_claim = manager.JobManager.claim

    def claim(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        value = _timed_claim(self, *args, **kwargs)
        stage = "sched: claim (got a job)" if value else "sched: claim (none)"
        _spent[stage].append(time.perf_counter() - start)
        return value

    manager.JobManager.claim = claim
    _timed(manager.JobManager, "cancel_requests", "sched: cancel check")
    _timed(scheduler.Scheduler, "_prepare", "sched: build task")
    _timed(local.LocalExecutor, "submit", "sched: send task to worker")
    _timed(manager.JobManager, "complete", "complete: total")
    _timed(signing.Signer, "sign", "complete: ML-DSA sign")
    _timed(manager.JobManager, "result_and_submitter", "result: read")
    _timed(manager.JobManager, "get", "read: job")
    _mark(manager.JobManager, "create", "created", lambda a, k, v: v[0].id)
    _mark(manager.JobManager, "claim", "claimed", lambda a, k, v: [c.job_id for c in v])
    _mark(local.LocalExecutor, "submit", "sent", lambda a, k, v: a[1].job_id)
    _mark(
        local.LocalExecutor,
        "poll",
        "outcome",
        lambda a, k, v: [o.job_id for o in v],
    )
    _mark(manager.JobManager, "complete", "completed", lambda a, k, v: a[1])
    _mark(manager.JobManager, "result_and_submitter", "result read", lambda a, k, v: a[2])


_CLIENT = """
import sys, time, json, httpx
url, token, jobs, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[5] == "1"
body = {"device": "statevector", "programs": json.load(sys.stdin), "shots": 100}
out = []
with httpx.Client(base_url=url, headers={"Authorization": "Bearer " + token}, timeout=60) as h:
    for i in range(jobs + 2):
        t0 = time.perf_counter()
        r = h.post("/v1/jobs", json=body, params={"wait": 30} if wait else None)
        r.raise_for_status()
        t1 = time.perf_counter()
        if not wait:
            r = h.get("/v1/jobs/" + r.json()["id"] + "/result", params={"wait": 30})
            r.raise_for_status()
        else:
            assert r.json()["result"]["signature"]
        t2 = time.perf_counter()
        if i >= 2:
            out.append((t1 - t0, t2 - t1, t2 - t0))
print(json.dumps(out))
"""


_CASE_CLIENT = """
import functools, json, sys, time
import httpx
from benchmarks import cases
from benchmarks.systems import qharbor as system
from qharbor import HarborService
from qharbor.client import rest, results, service as sdk

url, token, jobs, case = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
spent = {}

def timed(owner, name, stage):
    original = getattr(owner, name)
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.setdefault(stage, []).append(time.perf_counter() - start)
    setattr(owner, name, wrapper)

timed(sdk, "build_programs", "client: build program objects")
timed(httpx.Client, "build_request", "client: encode request (JSON)")
_send = httpx.Client.send
def send(self, request, **kwargs):
    start = time.perf_counter()
    try:
        return _send(self, request, **kwargs)
    finally:
        stage = f"client: HTTP {request.method} (upload, centre, download)"
        spent.setdefault(stage, []).append(time.perf_counter() - start)
httpx.Client.send = send
timed(rest, "decode", "client: decode answer (JSON)")
timed(results.JobResult, "from_json", "client: result objects")
work = cases.CASES[case].work(False)
out = []
with HarborService(url, token, timeout=600) as harbor:
    for i in range(jobs + 1):
        if i == 1:
            spent.clear()
        t0 = time.perf_counter()
        if work.kind == "estimate":
            runner = object.__new__(system.Runner)
            runner.precision, runner.options, runner.notes = "double", {"precision": "double"}, []
            runner.service = harbor
            t1 = t2 = time.perf_counter()
            runner.estimate(work.circuit, work.values)
            t3 = time.perf_counter()
        else:
            programs = [system.qasm2(c) for c in work.circuits]
            t1 = time.perf_counter()
            job = harbor.run(programs, device="statevector", shots=work.shots, seed=work.seed,
                             options={"precision": "double"}, wait=60)
            t2 = time.perf_counter()
            counts = [system._counts(e.counts) for e in job.result().experiments]
            t3 = time.perf_counter()
        if i >= 1:
            out.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
print(json.dumps({"rows": out, "stages": spent}))
"""


def _case(server: Any, args: argparse.Namespace) -> None:
    """Send ``args.case``'s circuits as one job through the benchmark's own client."""
    import json

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    _spent.clear()
    _marks.clear()
    client = subprocess.run(
        [
            sys.executable,
            "-c",
            _CASE_CLIENT,
            server.url,
            str(server.bootstrap_token),
            str(args.jobs),
            args.case,
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
    )
    answer = json.loads(client.stdout)
    rows, ms = answer["rows"], 1000.0
    print(f"{args.jobs} sequential {args.case} jobs, the benchmark's client in a process")
    labels = ("client: program text", "client: service.run", "client: counts", "client: total")
    for column, label in enumerate(labels):
        values = [r[column] for r in rows]
        print(f"  {label:38s} p50 {statistics.median(values) * ms:7.2f} ms")
    for stage, values in answer["stages"].items():
        print(f"  {stage:38s} {statistics.median(values) * ms:7.2f} ms  x{len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--programs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--two-requests", action="store_true", help="submit, then GET the result (no ?wait=)"
    )
    parser.add_argument("--switch-interval", type=float, default=None)
    parser.add_argument(
        "--case", default=None, help="a batch case (batch5u3, jobs5x1000) or ansatz12"
    )
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    os.environ["QHARBOR_RATE_LIMIT_PER_SECOND"] = "0"
    instrument()
    import json

    sys.path.insert(0, os.path.dirname(__file__))
    from load import BELL, small_circuits

    programs = [BELL] if args.programs == 1 else small_circuits(args.programs)

    from qharbor.api.server import CentreServer
    from qharbor.settings import Settings

    with tempfile.TemporaryDirectory() as data:
        settings = Settings(port=0, data_dir=data, workers=args.workers, log_level="warning")
        with CentreServer(settings) as server:
            if args.case:
                _case(server, args)
                _report()
                return
            _spent.clear()
            _marks.clear()
            client = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CLIENT,
                    server.url,
                    str(server.bootstrap_token),
                    str(args.jobs),
                    "-",
                    "0" if args.two_requests else "1",
                ],
                check=True,
                capture_output=True,
                input=json.dumps(programs),
                text=True,
            )
    rows = json.loads(client.stdout)
    ms = 1000.0
    what = "a Bell program" if args.programs == 1 else f"{args.programs} 5-qubit programs"
    print(f"{args.jobs} sequential jobs of {what}, client in a process")
    for label, column in (("client: POST", 0), ("client: GET result", 1), ("client: total", 2)):
        values = [r[column] for r in rows]
        print(f"  {label:38s} p50 {statistics.median(values) * ms:7.2f} ms")
    _report()


def _report() -> None:
    """Print the centre's stages and the gaps between a job's events (medians)."""
    ms = 1000.0
    print("stages (median per call, calls):")
    for stage, values in _spent.items():
        print(f"  {stage:38s} {statistics.median(values) * ms:7.2f} ms  x{len(values)}")
    gaps = collections.defaultdict(list)
    order = ["created", "claimed", "sent", "outcome", "completed", "result read"]
    for marks in _marks.values():
        for before, after in itertools.pairwise(order):
            if before in marks and after in marks:
                gaps[f"{before} -> {after}"].append(marks[after] - marks[before])
    print("gaps between events (median):")
    for gap, values in gaps.items():
        print(f"  {gap:38s} {statistics.median(values) * ms:7.2f} ms")


if __name__ == "__main__":
    main()

"""Load on the path: tiny-job latency, 8-client throughput, and one batch of 1000 circuits.

Run: .venv/bin/python benchmarks/load.py [--jobs 300] [--clients 8] [--batch 1000] [--json F]

Starts a local centre (SQLite, temporary data folder) in this process and runs
every client in processes of its own, so the clients' work never shares the
centre's interpreter lock. Each job is submitted with ``POST /v1/jobs?wait=30``,
which answers with the result once the job is DONE: one request per job, as the
SDK's ``run(..., wait=...)`` sends it. The rate limit is turned off here (the
operator's setting ``QHARBOR_RATE_LIMIT_PER_SECOND=0``); with the default
(20 requests per second per token) the clients would measure the limiter.

The functions are importable (``benchmarks/run.py`` reuses them):
:func:`centre`, :func:`tiny_latency`, :func:`throughput`, :func:`batch`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from typing import Any

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)


@contextlib.contextmanager
def centre(workers: int = 2, **settings: Any) -> Iterator[tuple[str, str]]:
    """A local centre for the duration of the block: its URL and an admin token."""
    from qharbor.api.server import CentreServer
    from qharbor.settings import Settings

    settings.setdefault("rate_limit_per_second", 0)
    with tempfile.TemporaryDirectory() as data:
        config = Settings(port=0, data_dir=data, workers=workers, log_level="warning", **settings)
        with CentreServer(config) as server:
            assert server.bootstrap_token is not None
            yield server.url, server.bootstrap_token


def _tiny_client(
    url: str, token: str, jobs: int, warm_up: int, one_request: bool = True
) -> list[float]:
    """One client: submit-and-wait ``jobs`` Bell jobs one after another; their seconds.

    With ``one_request`` False, each job is a submission and a long poll for its
    result (two requests, as before ``POST /v1/jobs?wait=`` existed).
    """
    import httpx

    body = {"device": "statevector", "programs": [BELL], "shots": 100}
    seconds: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for index in range(warm_up + jobs):
            start = time.perf_counter()
            if one_request:
                response = http.post("/v1/jobs", json=body, params={"wait": 30})
            else:
                submitted = http.post("/v1/jobs", json=body)
                submitted.raise_for_status()
                job_id = submitted.json()["id"]
                response = http.get(f"/v1/jobs/{job_id}/result", params={"wait": 30})
            response.raise_for_status()
            data = response.json()
            if (data.get("result") if one_request else data) is None:
                raise RuntimeError(f"job not DONE in time: {data}")
            if index >= warm_up:
                seconds.append(time.perf_counter() - start)
    return seconds


class CentreCpu:
    """CPU seconds used by this process (the centre) and its children (workers, parsers,
    extra API processes), and apart from them by the client processes.

    Other programs on a shared machine stretch wall-clock figures; the CPU a job
    costs the centre is what bounds its throughput, and it is what they leave alone.
    The clients are this process's children too (a multiprocessing pool), so they
    are counted apart: they share the host's cores with the centre.
    """

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.start, self.clients_start = self._totals()

    def _totals(self) -> tuple[float, float]:
        clients = {child.pid for child in multiprocessing.active_children()}
        centre = theirs = 0.0
        for process in [self._me, *self._me.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except Exception:  # a child ended meanwhile
                continue
            if process.pid in clients:
                theirs += times.user + times.system
            else:
                centre += times.user + times.system
        return centre, theirs

    def used(self) -> float:
        """The centre's CPU seconds since this was made."""
        return self._totals()[0] - self.start

    def used_by_clients(self) -> float:
        """The client processes' CPU seconds since this was made."""
        return self._totals()[1] - self.clients_start


def _context() -> Any:
    # A fresh interpreter per client: no copy of the centre's threads or sockets.
    return multiprocessing.get_context("spawn")


def tiny_latency(
    url: str, token: str, jobs: int = 300, one_request: bool = True
) -> dict[str, float]:
    """p50 and p99 round trip (seconds) of a tiny job from one client process.

    ``centre_cpu_ms_per_job`` is the CPU the centre (with its workers) spent per
    job, if the centre runs in this process.
    """
    with _context().Pool(1) as pool:
        pool.apply(_tiny_client, (url, token, 10, 0, one_request))  # warm up
        cpu = CentreCpu()
        seconds = pool.apply(_tiny_client, (url, token, jobs, 0, one_request))
        used, clients = cpu.used(), cpu.used_by_clients()
    cuts = statistics.quantiles(seconds, n=100)
    return {
        "jobs": jobs,
        "p50_s": cuts[49],
        "p99_s": cuts[98],
        "mean_s": statistics.mean(seconds),
        "centre_cpu_ms_per_job": used / jobs * 1000,
        "client_cpu_ms_per_job": clients / jobs * 1000,
    }


def throughput(
    url: str, token: str, clients: int = 8, jobs_per_client: int = 100, one_request: bool = True
) -> dict[str, float]:
    """Tiny jobs per second, each client process submitting and waiting one at a time."""
    with _context().Pool(clients) as pool:
        warm = (url, token, 5, 0, one_request)
        pool.starmap(_tiny_client, [warm] * clients)  # start and warm every client
        cpu = CentreCpu()
        start = time.perf_counter()
        work = (url, token, jobs_per_client, 0, one_request)
        results = pool.starmap(_tiny_client, [work] * clients)
        elapsed = time.perf_counter() - start
        used, clients_used = cpu.used(), cpu.used_by_clients()
    total = sum(len(r) for r in results)
    every = sorted(s for r in results for s in r)
    return {
        "clients": clients,
        "jobs": total,
        "seconds": elapsed,
        "jobs_per_s": total / elapsed,
        "p50_s": every[len(every) // 2],
        "centre_cpu_ms_per_job": used / total * 1000,
        "client_cpu_ms_per_job": clients_used / total * 1000,
        # Cores the clients kept busy on average over the run.
        "client_cores": clients_used / elapsed,
        "centre_cores": used / elapsed,
    }


def small_circuits(count: int, qubits: int = 5, depth: int = 5, seed: int = 11) -> list[str]:
    """``count`` random OpenQASM 2 circuits on ``qubits`` qubits, the same for a seed."""
    rng = random.Random(seed)
    programs = []
    for _ in range(count):
        lines = [
            'OPENQASM 2.0;\ninclude "qelib1.inc";',
            f"qreg q[{qubits}];\ncreg c[{qubits}];",
        ]
        for _layer in range(depth):
            for q in range(qubits):
                lines.append(
                    f"{rng.choice(('rx', 'ry', 'rz'))}({rng.uniform(0, 3.14):.6f}) q[{q}];"
                )
            for q in range(rng.randrange(2), qubits - 1, 2):
                lines.append(f"cx q[{q}],q[{q + 1}];")
        lines.append("measure q -> c;")
        programs.append("\n".join(lines) + "\n")
    return programs


def _batch_client(url: str, token: str, programs: list[str], shots: int) -> dict[str, Any]:
    import httpx

    body = {"device": "statevector", "programs": programs, "shots": shots, "seed": 5}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        http.post("/v1/jobs", json={**body, "programs": programs[:2]}, params={"wait": 30})
        start = time.perf_counter()
        response = http.post("/v1/jobs", json=body, params={"wait": 120})
        response.raise_for_status()
        data = response.json()
        elapsed = time.perf_counter() - start
    result = data.get("result")
    if result is None or len(result["experiments"]) != len(programs):
        raise RuntimeError(f"batch job did not finish: {data.get('status')} {data.get('error')}")
    return {
        "seconds": elapsed,
        "response_bytes": len(response.content),
        "timings": result["timings"],
    }


def batch(url: str, token: str, circuits: int = 1000, shots: int = 100) -> dict[str, Any]:
    """One job of ``circuits`` small 5-qubit circuits, submitted and waited for in one request."""
    programs = small_circuits(circuits)
    with _context().Pool(1) as pool:
        out: dict[str, Any] = pool.apply(_batch_client, (url, token, programs, shots))
    out["circuits"] = circuits
    out["request_bytes"] = len(json.dumps({"programs": programs}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="tiny jobs for the latency")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000, help="circuits in the batch job")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--api-processes", type=int, default=1, help="processes serving the centre's API"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--two-requests",
        action="store_true",
        help="also time the two-request path (submit, then GET the result)",
    )
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with centre(args.workers, api_processes=args.api_processes) as (url, token):
        modes = [("tiny", True)] + ([("tiny_two_requests", False)] if args.two_requests else [])
        for name, one_request in modes:
            figures[name] = t = tiny_latency(url, token, args.jobs, one_request)
            print(
                f"{name}, 1 client: p50 {t['p50_s'] * 1e3:.1f} ms  p99 {t['p99_s'] * 1e3:.1f} ms"
                f"  (centre CPU {t['centre_cpu_ms_per_job']:.2f} ms per job, "
                f"client {t['client_cpu_ms_per_job']:.2f} ms)"
            )
        if args.clients:
            figures["throughput"] = r = throughput(url, token, args.clients, args.per_client)
            print(
                f"tiny jobs, {r['clients']} clients: {r['jobs_per_s']:.0f} jobs/s "
                f"({r['jobs']} in {r['seconds']:.2f} s, p50 {r['p50_s'] * 1e3:.1f} ms, "
                f"centre CPU {r['centre_cpu_ms_per_job']:.2f} ms per job on "
                f"{r['centre_cores']:.2f} cores; clients {r['client_cpu_ms_per_job']:.2f} ms "
                f"per job on {r['client_cores']:.2f} cores)"
            )
        if args.batch:
            figures["batch"] = batch(url, token, args.batch)
            b = figures["batch"]
            print(
                f"batch of {b['circuits']} 5-qubit circuits: {b['seconds']:.3f} s end to end "
                f"(centre: compile {b['timings']['compile_s']:.3f} s, "
                f"run {b['timings']['run_s']:.3f} s, queued {b['timings']['queued_s']:.3f} s)"
            )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()

"""The two load cases: a tiny job's round trip, and tiny jobs from 8 client processes.

- ``roundtrip``: one client submits a tiny job (a Bell pair, 100 shots) and
  waits for its result, a few hundred times in a row; p50 and p99 in ms.
- ``throughput8``: 8 client processes each do the same in a closed loop (one
  job in flight per client), all released at once; jobs per second over the
  time from release to the last result. The clients run on the centre's host
  and share its cores: ``client_cores`` is how many of the host's
  ``host_cores`` they kept busy on average, as for the one client of ``roundtrip``.
- ``memory29``: the peak resident memory of a worker running one 29-qubit
  double-precision job, over the state's size.

Both use a local centre started outside the clock, as for the timed cases.
Each job is submitted with ``wait``, so one request carries the job and its
result. ``benchmarks/load.py`` has the same measurements as a stand-alone script,
with the centre's CPU per job, and ``benchmarks/path_profile.py`` a per-stage
breakdown.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import sys
import time
from typing import Any

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
SHOTS = 100
CLIENTS = 8
#: (full, quick) sizes: round trips per run; jobs per client per run.
ROUND_TRIPS = (300, 20)
JOBS_PER_CLIENT = (100, 5)
WARM_UP_JOBS = 20


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _tiny_job(service: Any) -> bool:
    """One tiny job, submitted and waited for; whether its counts are right."""
    counts = service.run(BELL, shots=SHOTS, wait=30).result().experiments[0].counts
    return set(counts) <= {"00", "11"} and sum(counts.values()) == SHOTS


def _client(url: str, token: str, jobs: int, ready: Any, go: Any, done: Any) -> None:
    from qharbor import HarborService

    with HarborService(url, token, timeout=120) as service:
        service.health()  # connect before the start
        ready.put(True)
        go.wait()
        cpu = time.process_time()
        ok = all([_tiny_job(service) for _ in range(jobs)])
        done.put((time.perf_counter(), ok, time.process_time() - cpu))


#: The memory case: (full, quick) widths of its double-precision state vector.
MEMORY_QUBITS = (29, 20)
#: Memory the host must have available, as a multiple of the state, to run it.
MEMORY_HEADROOM = 1.6


def memory(quick: bool) -> dict[str, Any]:
    """Peak resident memory of a worker running one wide double-precision job.

    The job goes through the worker's own ``execute`` in a fresh interpreter
    (``benchmarks.memory``): a three-layer entangling circuit, measured, 1000
    shots, on the engine automatic selection picks. The figure is the worker's
    whole peak resident memory (imports included) over the state vector's 16
    bytes per amplitude.
    """
    import psutil

    from benchmarks.memory import in_subprocess

    qubits = MEMORY_QUBITS[quick]
    state = 16 << qubits
    available = psutil.virtual_memory().available
    out: dict[str, Any] = {"system": "qharbor", "case": "memory29", "qubits": qubits}
    out.update({"state_bytes": state, "available_bytes": available, "error": None})
    if available < MEMORY_HEADROOM * state:
        out["error"] = (
            f"not run: the host has {available / 2**30:.1f} GiB available, and a "
            f"{qubits}-qubit state needs {state / 2**30:.0f} GiB plus headroom"
        )
        out["ok"] = False
        return out
    started = time.perf_counter()
    row = in_subprocess([("auto", "double", "sample", qubits)])[0]
    out.update(
        seconds=time.perf_counter() - started,
        engine=row["ran_on"],
        peak_bytes=row["peak_bytes"],
        job_bytes=row["job_bytes"],
        peak_over_state=row["peak_bytes"] / state,
        ok=True,
    )
    return out


def measure(case: str, runs: int, quick: bool) -> dict[str, Any]:
    if case == "memory29":
        return memory(quick)
    from benchmarks.centre import LocalCentre
    from qharbor import HarborService

    out: dict[str, Any] = {
        "system": "qharbor",
        "case": case,
        "runs": [],
        "error": None,
        "notes": [],
    }
    try:
        with (
            LocalCentre() as centre,
            HarborService(centre.url, centre.token, timeout=120) as service,
        ):
            ok = all([_tiny_job(service) for _ in range(WARM_UP_JOBS)])
            for run in range(runs):
                if case == "roundtrip":
                    figures = _roundtrip(service, ROUND_TRIPS[quick])
                else:
                    figures = _throughput(centre.url, centre.token, JOBS_PER_CLIENT[quick])
                ok = ok and figures.pop("ok")
                out["runs"].append(figures)
                _say(f"  run {run + 1}/{runs}: {figures}")
        out["ok"] = ok
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["ok"] = False
    for key in ("p50_ms", "p99_ms", "jobs_per_s"):
        values = [r[key] for r in out["runs"] if key in r]
        if values:
            out[key] = statistics.median(values)
    return out


def _roundtrip(service: Any, jobs: int) -> dict[str, Any]:
    seconds = []
    ok = True
    cpu = time.process_time()
    for _ in range(jobs):
        started = time.perf_counter()
        ok = _tiny_job(service) and ok
        seconds.append(time.perf_counter() - started)
    client_cpu = time.process_time() - cpu
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "jobs": jobs,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        # The client runs on the centre's host: cores it kept busy, of the host's.
        "client_cores": client_cpu / sum(seconds),
        "host_cores": os.cpu_count(),
        "ok": ok,
    }


def _throughput(url: str, token: str, jobs: int) -> dict[str, Any]:
    context = mp.get_context("spawn")
    go = context.Event()
    ready = context.Queue()
    done = context.Queue()
    clients = [
        context.Process(target=_client, args=(url, token, jobs, ready, go, done))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    for _ in clients:  # every client has imported and connected before the start
        ready.get(timeout=300)
    started = time.perf_counter()
    go.set()
    ends = [done.get(timeout=600) for _ in clients]
    for client in clients:
        client.join(timeout=30)
    elapsed = max(end for end, _, _ in ends) - started
    total = jobs * CLIENTS
    return {
        "jobs": total,
        "clients": CLIENTS,
        # The clients share this host, and its cores, with the centre: the cores
        # they kept busy on average, of the host's.
        "client_cores": sum(cpu for _, _, cpu in ends) / elapsed,
        "host_cores": os.cpu_count(),
        "seconds": elapsed,
        "jobs_per_s": total / elapsed,
        "ok": all(ok for _, ok, _ in ends),
    }

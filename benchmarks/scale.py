"""Scale: the Ray executor against the local one, fan-out on two nodes, and a model of more.

Run: python -m benchmarks.scale [--quick] [--tiny 40] [--batch 1000] [--points 200]
                                [--qubits 20] [--json benchmarks/results/scale.json]

Everything runs on this host, through a real centre (SQLite, temporary data
folder) in this process and a real Ray cluster of ``ray start`` nodes:

1. **Overhead.** The same jobs on the local executor (one worker process of one
   thread: ``OMP_NUM_THREADS=1``, as every 1-CPU Ray task has) and on
   a Ray cluster of one node with 1 CPU: tiny Bell jobs one after another (p50
   of submit-and-wait, ``POST /v1/jobs?wait=``), one batch of 1000 small
   circuits, and one sweep of a 20-qubit circuit over 200 parameter values.
   Target: Ray at most 1.2x the local executor for the batch and the sweep.
2. **Fan-out.** A second node of 1 CPU joins, and the sweep runs again. Target:
   at least 1.6x faster than on the one node. The rows must equal the one-node
   rows (counts and seeds), or the run is marked wrong. Each chunk's node and
   its start and end are printed and written: they show whether the nodes ran at once.
3. **A model of larger clusters.** From the one-node sweep: each chunk's cost in
   its worker (the result's ``chunk_s`` and ``chunk_runs``) gives a cost per run
   ``b`` and per chunk ``a``; the rest of the wall time is the job's fixed cost
   ``F`` (claim, hand-over, gather, store). A job of N runs on n one-CPU nodes is
   cut as the executor cuts it (:func:`qharbor.executors.ray_chunks.plan`) and
   predicted as ``F + rounds x (a + b x chunk size)``. The two-node prediction is
   checked against step 2 (met within 25%); 64 nodes are a prediction.

It prints a table of ratios with met/missed and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
#: Overhead target: Ray's time over the local executor's, for the batch and the sweep.
OVERHEAD_TARGET = 1.2
#: Fan-out target: one node's time over two nodes'.
FAN_OUT_TARGET = 1.6
#: How far the model's two-node prediction may be from the measurement.
MODEL_TOLERANCE = 0.25
#: Runs of the large sweep the 64-node prediction is also made for.
LARGE_SWEEP = 10_000

console = Console(stderr=True)
#: What a fanned-out result says of its chunks: cost, runs, node, and start and end.
CHUNK_FIGURES = ("chunks", "chunk_s", "chunk_runs", "chunk_nodes", "chunk_window")


def sweep_source(qubits: int) -> str:
    """A circuit of ``qubits`` qubits with one parameter: H on all, RX(theta), a CX chain."""
    chain = "\n".join(f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1))
    return (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float theta;\n'
        f"qubit[{qubits}] q;\nbit[{qubits}] c;\nh q;\nrx(theta) q[0];\n{chain}\nc = measure q;\n"
    )


def small_circuit(index: int) -> str:
    """The index-th of the batch's 5-qubit circuits: rotations and a CX ladder."""
    lines = [f"ry({0.1 + 0.037 * ((index * 7 + q) % 80)}) q[{q}];" for q in range(5)]
    lines += [f"cx q[{q}],q[{q + 1}];" for q in range(4)]
    return (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[5];\ncreg c[5];\n'
        + "\n".join(lines)
        + "\nmeasure q -> c;\n"
    )


@contextlib.contextmanager
def centre(**settings: Any) -> Iterator[httpx.Client]:
    """A centre for the duration of the block, and an admin client of it."""
    from qharbor.api.server import CentreServer
    from qharbor.settings import Settings

    with tempfile.TemporaryDirectory() as data:
        config = Settings(
            port=0,
            data_dir=data,
            log_level="warning",
            rate_limit_per_second=0,
            write_account_file=False,
            # One cost table for both executors: no engine benchmark running beside them.
            engine_benchmark="off",
            **settings,
        )
        with CentreServer(config) as server:
            headers = {"Authorization": f"Bearer {server.bootstrap_token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=120) as http:
                yield http


def run_job(http: httpx.Client, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Submit a job and wait for its result: the seconds from submission to result, and it."""
    started = time.perf_counter()
    response = http.post("/v1/jobs", params={"wait": 60}, json=body)
    response.raise_for_status()
    job = response.json()
    job_id = job["id"]
    while job.get("status") not in ("DONE", "FAILED", "CANCELLED"):
        job = http.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
    seconds = time.perf_counter() - started
    if job["status"] != "DONE":
        raise RuntimeError(f"job {job_id} ended {job['status']}: {job.get('error')}")
    result = job.get("result") or http.get(f"/v1/jobs/{job_id}/result").json()
    return seconds, result


@dataclass
class Jobs:
    """The measured jobs' bodies."""

    tiny: int
    batch: dict[str, Any]
    sweep: dict[str, Any]


def make_jobs(args: argparse.Namespace) -> Jobs:
    batch = {
        "device": "statevector",
        "programs": [small_circuit(i) for i in range(args.batch)],
        "shots": 100,
        "seed": 5,
    }
    points = [{"theta": 3.0 * i / args.points} for i in range(args.points)]
    sweep = {
        "device": "statevector",
        "programs": [{"source": sweep_source(args.qubits), "parameters": points}],
        "shots": 100,
        "seed": 9,
    }
    return Jobs(args.tiny, batch, sweep)


def tiny_p50(http: httpx.Client, jobs: int) -> float:
    """The median seconds of ``jobs`` tiny jobs, each submitted once the last has ended."""
    body = {"device": "statevector", "programs": [BELL], "shots": 100}
    for _ in range(3):  # warm-up: workers import their engines
        run_job(http, body)
    return statistics.median(run_job(http, body)[0] for _ in range(jobs))


def measure(http: httpx.Client, jobs: Jobs, label: str) -> dict[str, Any]:
    """Tiny p50, the batch and the sweep on one centre."""
    console.print(f"[bold]{label}[/]: {jobs.tiny} tiny jobs")
    figures: dict[str, Any] = {"tiny_p50_s": tiny_p50(http, jobs.tiny)}
    console.print(f"[bold]{label}[/]: batch of {len(jobs.batch['programs'])} circuits")
    figures["batch_s"], batch = run_job(http, jobs.batch)
    console.print(f"[bold]{label}[/]: sweep")
    figures["sweep_s"], sweep = run_job(http, jobs.sweep)
    figures["sweep_meta"] = {k: sweep["metadata"].get(k) for k in (*CHUNK_FIGURES, "engine")}
    figures["batch_rows"] = rows(batch)
    figures["sweep_rows"] = rows(sweep)
    for key in ("tiny_p50_s", "batch_s", "sweep_s"):
        console.print(f"  {key} = {figures[key]:.3f}")
    return figures


def print_chunks(metadata: dict[str, Any]) -> None:
    """Each chunk's runs, cost, node and window: whether the nodes really ran at once."""
    windows = metadata.get("chunk_window") or []
    nodes = metadata.get("chunk_nodes") or [""] * len(windows)
    for runs, cost, node, window in zip(
        metadata.get("chunk_runs") or [],
        metadata.get("chunk_s") or [],
        nodes,
        windows,
        strict=False,
    ):
        console.print(
            f"    chunk of {runs} runs on node {node}: {cost:.2f} s in the engine, "
            f"ran {window[0]:.2f} to {window[1]:.2f} s"
        )


@contextlib.contextmanager
def thread_budget(threads: int) -> Iterator[None]:
    """Workers started in the block run their engines on ``threads`` threads.

    The local executor's worker would otherwise use every core of the host for a
    20-qubit state, against one CPU for each Ray task: not the same job.
    """
    from qharbor.engines.threads import BUDGET_ENV

    before = os.environ.get(BUDGET_ENV)
    os.environ[BUDGET_ENV] = str(threads)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(BUDGET_ENV, None)
        else:
            os.environ[BUDGET_ENV] = before


def warm_up_nodes(http: httpx.Client, jobs: Jobs, nodes: int, tries: int = 5) -> None:
    """Run a small sweep until its chunks have run on ``nodes`` different nodes.

    A node's first worker imports the engines (about 1.5 s here): not what is
    measured. A sweep too short for its chunks to overlap may run both on the
    first node, so the chunks' nodes are checked, not assumed.
    """
    warm = {**jobs.sweep, "programs": [{**jobs.sweep["programs"][0]}]}
    warm["programs"][0]["source"] = sweep_source(16)
    warm["programs"][0]["parameters"] = jobs.sweep["programs"][0]["parameters"][:128]
    for _ in range(tries):
        _, result = run_job(http, warm)
        if len(set(result["metadata"].get("chunk_nodes") or ())) >= nodes:
            return
    console.print(f"[yellow]warm-up chunks never ran on {nodes} nodes[/]")


def rows(result: dict[str, Any]) -> list[Any]:
    return [(e["program"], e["counts"], e["seed"]) for e in result["experiments"]]


@dataclass(frozen=True)
class Model:
    """Wall time of a sweep on n one-CPU nodes: ``fixed_s + rounds x (chunk_s + run_s x size)``."""

    fixed_s: float
    chunk_s: float
    run_s: float

    @classmethod
    def fit(cls, wall_s: float, chunk_s: list[float], chunk_runs: list[int]) -> Model:
        """Fit to one node's run: its wall time, and each chunk's cost and runs."""
        runs = sum(chunk_runs)
        if len(chunk_s) >= 2 and len(set(chunk_runs)) > 1:
            slope, intercept = statistics.linear_regression(chunk_runs, chunk_s)
        else:
            # Chunks of one size: a chunk's own cost is what a run costs over the
            # runs' share; the intercept is bounded below by zero.
            slope, intercept = sum(chunk_s) / runs, 0.0
        intercept = max(0.0, intercept)
        return cls(fixed_s=max(0.0, wall_s - sum(chunk_s)), chunk_s=intercept, run_s=slope)

    def predict(self, runs: int, nodes: int, chunk_runs: int = 64) -> tuple[float, int]:
        """Seconds for a job of ``runs`` runs on ``nodes`` one-CPU nodes, and its chunks."""
        from qharbor.executors.ray_chunks import MIN_CHUNK_RUNS

        count = max(1, min(2 * nodes, runs // max(chunk_runs, MIN_CHUNK_RUNS)))
        if nodes > 1 and count > nodes:
            count -= count % nodes
        size = math.ceil(runs / count)
        rounds = math.ceil(count / nodes)
        return self.fixed_s + rounds * (self.chunk_s + self.run_s * size), count


def mark(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]missed[/]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--tiny", type=int, default=40, help="tiny jobs for the p50")
    parser.add_argument("--batch", type=int, default=1000, help="circuits in the batch")
    parser.add_argument("--points", type=int, default=200, help="parameter values of the sweep")
    parser.add_argument("--qubits", type=int, default=20, help="qubits of the sweep's circuit")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/scale.json"))
    args = parser.parse_args()
    if args.quick:
        args.tiny, args.batch, args.points, args.qubits = 10, 200, 200, 12
    jobs = make_jobs(args)
    # Other programs on a shared host stretch every figure: the load is recorded.
    load_at_start = os.getloadavg()

    from tests.ray_cluster import LocalCluster

    local = None
    with thread_budget(1), centre(workers=1) as http:
        local = measure(http, jobs, "local executor, 1 worker of 1 thread")
    with tempfile.TemporaryDirectory() as root:
        cluster = LocalCluster(Path(root))
        try:
            address = cluster.start_head({"device:statevector": 4})
            with centre(executor="ray", ray_address=address) as http:
                one = measure(http, jobs, "Ray, 1 node of 1 CPU")
                print_chunks(one["sweep_meta"])
                console.print("[bold]Ray[/]: a second node of 1 CPU joins")
                cluster.add_node("w1", {"device:statevector": 4})
                cluster.wait_nodes(2)
                time.sleep(3)  # the centre sees the cluster every second
                warm_up_nodes(http, jobs, nodes=2)
                two_s, two = run_job(http, jobs.sweep)
                console.print(f"  sweep on 2 nodes = {two_s:.3f}")
                print_chunks(two["metadata"])
        finally:
            cluster.stop()

    same_rows = rows(two) == one["sweep_rows"] == local["sweep_rows"]
    batch_same = one["batch_rows"] == local["batch_rows"]
    meta = one["sweep_meta"]
    model = Model.fit(one["sweep_s"], meta["chunk_s"] or [], meta["chunk_runs"] or [])
    predicted_two, _ = model.predict(args.points, 2)
    predicted_64, chunks_64 = model.predict(args.points, 64)
    large_one, _ = model.predict(LARGE_SWEEP, 1)
    large_64, large_chunks = model.predict(LARGE_SWEEP, 64)

    title = f"Ray executor on this host ({args.points}-point {args.qubits}-qubit sweep)"
    table = Table(title=title)
    for column in ("figure", "local / 1 node", "Ray / 2 nodes", "ratio", "target", "verdict"):
        table.add_column(column)
    ratio = one["tiny_p50_s"] / local["tiny_p50_s"]
    table.add_row(
        "tiny job p50 (ms)",
        f"{local['tiny_p50_s'] * 1e3:.1f}",
        f"{one['tiny_p50_s'] * 1e3:.1f}",
        f"{ratio:.2f}x",
        "-",
        "reported",
    )
    verdicts = {}
    for key, name in (("batch_s", f"batch of {args.batch} (s)"), ("sweep_s", "sweep (s)")):
        ratio = one[key] / local[key]
        verdicts[key] = ratio <= OVERHEAD_TARGET
        table.add_row(
            name,
            f"{local[key]:.2f}",
            f"{one[key]:.2f}",
            f"{ratio:.2f}x",
            f"<= {OVERHEAD_TARGET}x",
            mark(verdicts[key]),
        )
    speedup = one["sweep_s"] / two_s
    verdicts["fan_out"] = speedup >= FAN_OUT_TARGET and same_rows
    table.add_row(
        "fan-out: sweep, 1 node vs 2 (s)",
        f"{one['sweep_s']:.2f}",
        f"{two_s:.2f}",
        f"{speedup:.2f}x faster",
        f">= {FAN_OUT_TARGET}x",
        mark(verdicts["fan_out"]) if same_rows else "[red]wrong rows[/]",
    )
    error = predicted_two / two_s
    verdicts["model"] = abs(error - 1) <= MODEL_TOLERANCE
    table.add_row(
        "model: 2 nodes, predicted vs measured (s)",
        f"{predicted_two:.2f}",
        f"{two_s:.2f}",
        f"{error:.2f}x",
        f"within {MODEL_TOLERANCE:.0%}",
        mark(verdicts["model"]),
    )
    table.add_row(
        f"model: 64 nodes, {args.points} points ({chunks_64} chunks)",
        f"{one['sweep_s']:.2f}",
        f"{predicted_64:.2f}",
        f"{one['sweep_s'] / predicted_64:.2f}x faster",
        "-",
        "prediction",
    )
    table.add_row(
        f"model: 64 nodes, {LARGE_SWEEP} points ({large_chunks} chunks)",
        f"{large_one:.1f}",
        f"{large_64:.1f}",
        f"{large_one / large_64:.1f}x faster",
        "-",
        "prediction",
    )
    Console(width=160).print(table)
    Console(width=160).print(
        f"model: fixed {model.fixed_s:.2f} s per job, {model.chunk_s * 1e3:.0f} ms per chunk, "
        f"{model.run_s * 1e3:.1f} ms per run; rows equal local = 1 node = 2 nodes: {same_rows}; "
        f"batch rows equal: {batch_same}; load average {load_at_start[0]:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end, on {os.cpu_count()} CPUs"
    )
    if not batch_same:
        verdicts["batch_rows"] = False
    args.json.parent.mkdir(parents=True, exist_ok=True)
    drop = ("batch_rows", "sweep_rows")
    args.json.write_text(
        json.dumps(
            {
                "command": "python -m benchmarks.scale" + (" --quick" if args.quick else ""),
                "sizes": {
                    "tiny": args.tiny,
                    "batch": args.batch,
                    "points": args.points,
                    "qubits": args.qubits,
                },
                "local": {k: v for k, v in local.items() if k not in drop},
                "ray_one_node": {k: v for k, v in one.items() if k not in drop},
                "ray_two_nodes": {
                    "sweep_s": two_s,
                    "sweep_meta": {k: two["metadata"].get(k) for k in CHUNK_FIGURES},
                },
                "load_average": {"start": load_at_start, "end": os.getloadavg()},
                "model": {
                    **model.__dict__,
                    "two_nodes_s": predicted_two,
                    "nodes64_s": predicted_64,
                    f"nodes64_{LARGE_SWEEP}_s": large_64,
                    f"one_node_{LARGE_SWEEP}_s": large_one,
                },
                "same_rows": same_rows,
                "verdicts": verdicts,
            },
            indent=2,
        )
    )
    console.print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()

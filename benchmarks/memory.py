"""Peak memory of one job per engine, precision, path and width: the figures behind
:mod:`qharbor.engines.memory`.

Each case runs in a fresh worker-like subprocess that loads the engines, runs a
small warm-up job, notes its resident memory, then runs one job through the
worker's own ``execute`` and reads its peak resident memory (the kernel's
high-water mark, with psutil). The difference is what the job added to an
idle worker: state, scratch and fusion buffers, copies made while sampling.

Run it, then compare the fitted bytes per amplitude with the table in
``src/qharbor/engines/memory.py``::

    python -m benchmarks.memory --widths 18 20 22 24
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

#: (engine, precision, path): the ways a state-vector job uses memory.
CASES = (
    ("aer", "double", "sample"),
    ("aer", "single", "sample"),
    ("qulacs", "double", "sample"),
    ("qsim", "single", "sample"),
    ("aer", "double", "states"),
    ("aer", "double", "density"),
)


def program(width: int, result_types: bool) -> str:
    """An entangling circuit of ``width`` qubits, three layers deep, measured at the end."""
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";', f"qubit[{width}] q;", f"bit[{width}] b;"]
    for layer in range(3):
        lines += [f"rx({0.1 + 0.2 * layer + 0.01 * q}) q[{q}];" for q in range(width)]
        lines += [f"cx q[{q}], q[{q + 1}];" for q in range(layer % 2, width - 1, 2)]
    if result_types:
        lines.append("#pragma braket result expectation z(q[0])")
    lines.append("b = measure q;")
    return "\n".join(lines) + "\n"


def child(cases: list[tuple[str, str, str, int]]) -> list[dict[str, Any]]:
    """Run one job per case in this process; each one's peak memory above the idle worker's.

    The kernel's high-water mark is reset before each job (``/proc/self/clear_refs``),
    so one process measures several cases; states this wide are allocated with
    ``mmap`` and go back to the system when freed, so one case does not hide the
    next. ``width`` counts amplitudes as a state vector's qubits: the ``density``
    path runs half as many qubits, whose density matrix has as many entries.
    """
    import gc

    import psutil

    from qharbor.devices import default_catalogue
    from qharbor.engines import loading
    from qharbor.jobs.claims import Claim
    from qharbor.jobs.options import JobOptions
    from qharbor.jobs.preparation import parse_here
    from qharbor.jobs.result import Result
    from qharbor.workers.execution import execute

    loading.warm_up()
    devices = default_catalogue()

    def run(engine: str, precision: str, path: str, qubits: int) -> str:
        """Run one job; the engine that ran it (``engine``, or what ``auto`` chose)."""
        device = devices.get("density-matrix" if path == "density" else "statevector")
        source = program(qubits, result_types=path == "states")
        result = execute(
            Claim(
                job_id="memory",
                attempt=1,
                device=device.name,
                target=device,
                shots=1000,
                seed=1,
                programs=[parse_here(source, "qasm3").to_json()],
                options=JobOptions(engine=engine, precision=precision),
            )
        )
        assert isinstance(result, Result)  # not sealed: no key was given
        return result.metadata.engine

    process = psutil.Process()
    rows = []
    for engine, precision, path, width in cases:
        qubits = width // 2 if path == "density" else width
        run(engine, precision, path, 4)  # imports, caches and compiled code of a first job
        gc.collect()
        _reset_peak()
        idle = process.memory_info().rss
        ran = run(engine, precision, path, qubits)
        peak = _peak_rss(process)
        rows.append(
            {
                "engine": engine,
                "ran_on": ran,
                "precision": precision,
                "path": path,
                "width": qubits,
                "idle_bytes": idle,
                "peak_bytes": peak,
                "job_bytes": peak - idle,
            }
        )
    return rows


def _reset_peak() -> None:
    """Reset this process's resident-memory high-water mark to its current size (Linux)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def in_subprocess(cases: list[tuple[str, str, str, int]]) -> list[dict[str, Any]]:
    """:func:`child` of the cases, in a fresh interpreter (as a worker process is)."""
    names = [f"{e}:{p}:{path}:{w}" for e, p, path, w in cases]
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--child", *names],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows: list[dict[str, Any]] = json.loads(out.strip().splitlines()[-1])
    return rows


def _peak_rss(process: Any) -> int:
    """The process's resident-memory high-water mark, in bytes (Linux: VmHWM)."""
    info = process.memory_full_info()
    peak = getattr(info, "peak_rss", None)  # psutil >= 7 on Linux
    if peak:
        return int(peak)
    with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("this platform reports no peak resident memory")


def measure(widths: list[int]) -> list[dict[str, Any]]:
    """Every case at every width, each case in its own subprocess."""
    rows = []
    for engine, precision, path in CASES:
        found = in_subprocess([(engine, precision, path, w) for w in widths])
        for row in found:
            print(json.dumps(row), file=sys.stderr, flush=True)
        rows += found
    return rows


def fit(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per case, bytes per amplitude and fixed bytes, by least squares over the widths."""
    import numpy as np

    fits: dict[str, dict[str, float]] = {}
    for engine, precision, path in CASES:
        mine = [
            r for r in rows if (r["engine"], r["precision"], r["path"]) == (engine, precision, path)
        ]
        if len(mine) < 2:
            continue
        power = 4.0 if path == "density" else 2.0
        amplitudes = np.array([power ** r["width"] for r in mine])
        used = np.array([float(r["job_bytes"]) for r in mine])
        slope, fixed = np.polyfit(amplitudes, used, 1)
        fits[f"{engine}:{precision}:{path}"] = {
            "bytes_per_amplitude": round(float(slope), 2),
            "fixed_bytes": round(float(fixed)),
        }
    return fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[18, 20, 22, 24])
    parser.add_argument("--child", nargs="+", metavar="ENGINE:PRECISION:PATH:WIDTH")
    args = parser.parse_args()
    if args.child:
        cases = []
        for name in args.child:
            engine, precision, path, width = name.split(":")
            cases.append((engine, precision, path, int(width)))
        print(json.dumps(child(cases)))
        return
    rows = measure(args.widths)
    print(json.dumps({"rows": rows, "fits": fit(rows)}, indent=1))


if __name__ == "__main__":
    main()

"""A tiny claim handed to a worker process, against the same claim run in the scheduler's thread.

Run: .venv/bin/python benchmarks/handoff.py [--claims 300] [--rounds 2]

Drives the local executor directly, as the scheduler does (``submit``, then
``poll`` until the outcome is back), with a Bell pair of 100 shots; the
in-process run includes deciding that the claim may run there. Prints, per
round and path, the median wall time per claim and the CPU it cost this process
and the worker together. The two paths alternate, so a loaded host stretches both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)


def _cpu_s() -> float:
    """CPU seconds of this process and its children (the worker)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


def measure(inline_max_s: float, claims: int) -> tuple[float, float]:
    """Median wall seconds and mean CPU seconds per claim, with one worker process."""
    from qharbor.devices import default_catalogue
    from qharbor.executors.local import LocalExecutor
    from qharbor.jobs.claims import Claim
    from qharbor.jobs.preparation import parse_here

    device = default_catalogue().get("statevector")
    program = parse_here(BELL, "auto", None, None).to_json()
    executor = LocalExecutor(1, inline_max_s=inline_max_s)
    try:
        if inline_max_s > 0 and not executor.inline.wait_loaded(60):
            raise RuntimeError("the engines did not load in this process")
        while executor.free_slots() < 1:
            executor.poll(0.2)

        def one(index: int) -> float:
            started = time.perf_counter()
            claim = Claim(f"j{index}", 1, device.name, 100, index, [program], target=device)
            executor.submit(claim)
            outcomes = []
            while not outcomes:
                outcomes = executor.poll(1.0)
            if outcomes[0].result is None:
                raise RuntimeError(f"the claim failed: {outcomes[0]}")
            return time.perf_counter() - started

        for index in range(20):  # warm up
            one(-1 - index)
        before = _cpu_s()
        walls = [one(index) for index in range(claims)]
        return statistics.median(walls), (_cpu_s() - before) / claims
    finally:
        executor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for _round in range(args.rounds):
        for name, inline_max_s in (("worker process", 0.0), ("in-process", 1e-3)):
            wall, cpu = measure(inline_max_s, args.claims)
            print(f"{name:14}: {wall * 1e3:.3f} ms wall (median), {cpu * 1e3:.3f} ms CPU per claim")


if __name__ == "__main__":
    main()

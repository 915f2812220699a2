"""One system on one case, in a process of its own.

``python -m benchmarks.worker SYSTEM CASE --runs N [--quick] [--reference FILE]``
makes the system's runner (untimed), does one untimed warm-up run, then N timed
runs; every run, the warm-up included, is checked. Progress goes to standard
error; the last line on standard output is ``RESULT <json>`` for the parent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from typing import Any

import numpy as np

#: The prefix of the result line on standard output.
MARKER = "RESULT "


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def measure(
    system_name: str, case_name: str, runs: int, quick: bool, reference: str | None
) -> dict[str, Any]:
    from benchmarks import cases
    from benchmarks.systems import SYSTEMS

    system = SYSTEMS[system_name]
    case = cases.CASES[case_name]
    work = case.work(quick)
    ref: dict[str, np.ndarray] = {}
    if reference:
        with np.load(reference) as data:
            ref = {k: data[k] for k in data.files}
    out: dict[str, Any] = {
        "system": system_name,
        "case": case_name,
        "precision": system.precision,
        "times_s": [],
        "checks": [],
        "notes": [],
        "error": None,
    }
    runner = None
    try:
        out["versions"] = system.versions()
        started = time.perf_counter()
        runner = system.runner()
        out["setup_s"] = time.perf_counter() - started
        started = time.perf_counter()
        result = cases.execute(runner, work)
        out["warmup_s"] = time.perf_counter() - started
        verdict = cases.check(work, result, ref, system.precision)
        out["warmup_check"] = verdict.to_json()
        _say(f"  warm-up {out['warmup_s']:.3f} s: {verdict.detail}")
        for run in range(runs):
            del result  # free the last state before the next run allocates one
            started = time.perf_counter()
            result = cases.execute(runner, work)
            seconds = time.perf_counter() - started
            verdict = cases.check(work, result, ref, system.precision)
            out["times_s"].append(seconds)
            out["checks"].append(verdict.to_json())
            mark = "ok" if verdict.ok else "WRONG"
            _say(f"  run {run + 1}/{runs}: {seconds:.3f} s, {mark}: {verdict.detail}")
    except Exception as exc:  # reported to the parent, which carries on with the others
        out["error"] = f"{type(exc).__name__}: {exc}"
        _say(traceback.format_exc())
    finally:
        if runner is not None:
            out["notes"] = list(getattr(runner, "notes", []))
            close = getattr(runner, "close", None)
            if close is not None:
                close()
    out["ok"] = (
        out["error"] is None
        and bool(out["checks"])
        and all(c["ok"] for c in out["checks"])
        and bool(out.get("warmup_check", {}).get("ok"))
    )
    out["median_s"] = float(np.median(out["times_s"])) if out["times_s"] else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system")
    parser.add_argument("case")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reference", default=None)
    args = parser.parse_args()
    if args.case in ("roundtrip", "throughput8", "memory29"):
        from benchmarks import load_cases as load

        result = load.measure(args.case, args.runs, args.quick)
    else:
        result = measure(args.system, args.case, args.runs, args.quick, args.reference)
    print(MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""Run the benchmark suite: every system on every case, each in its own process.

Usage (``bash scripts/bench.sh`` sets up ``.venv`` and passes its arguments here)::

    python -m benchmarks.run [--runs 3] [--cases ghz25,qft22] [--systems qharbor,aer]
                             [--quick] [--out benchmarks/results/latest.json]

It prints progress as it goes, one table at the end, and writes every run's
times, the medians, the ratios, the machine and the command line as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.text import Text

from benchmarks import cases, machine, report
from benchmarks.systems import SYSTEMS
from benchmarks.worker import MARKER

LOAD_CASES = ("roundtrip", "throughput8", "memory29")
DEFAULT_OUT = Path("benchmarks/results/latest.json")
#: Seconds one system may take on one case, warm-up and runs together.
WORKER_TIMEOUT_S = 3600

console = Console(stderr=True)


def _names(text: str | None, known: list[str], what: str) -> list[str]:
    if not text:
        return known
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)}; choose from {', '.join(known)}")
    return names


def _worker(arguments: list[str], label: str) -> dict[str, Any]:
    """Run ``benchmarks.worker`` in a child process, echoing its progress."""
    command = [sys.executable, "-m", "benchmarks.worker", *arguments]
    with tempfile.TemporaryFile(mode="w+") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        for line in process.stderr:
            console.print(Text.assemble((f"{label} │ ", "dim"), line.rstrip()), highlight=False)
        try:
            process.wait(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stdout.seek(0)
        for line in reversed(stdout.read().splitlines()):
            if line.startswith(MARKER):
                return dict(json.loads(line[len(MARKER) :]))
    return {"error": f"the worker exited with {process.returncode} and no result", "ok": False}


def _ensure_engine_costs(document: dict[str, Any]) -> None:
    """Measure the engines on this host first if it has no cost fit yet.

    qharbor picks an engine per circuit from cost models fitted on the host
    (`qharbor engines benchmark`). Doing it here, untimed, means no centre
    benchmarks its engines in the background while a case is being timed.
    """
    from qharbor.engines import costs

    if costs.host_fit_exists():
        document["notes"].append(f"engine costs: this host's fit in {costs.default_path()}")
        return
    console.print("[bold]engine costs[/]: no fit for this host yet; measuring the engines once")
    qharbor = Path(sys.executable).with_name("qharbor")
    subprocess.run([str(qharbor), "engines", "benchmark"], check=True)
    document["notes"].append("engine costs: measured on this host before the cases ran")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per system and case")
    parser.add_argument(
        "--cases", help=f"comma-separated, from {', '.join([*cases.CASES, *LOAD_CASES])}"
    )
    parser.add_argument("--systems", help=f"comma-separated, from {', '.join(SYSTEMS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON results file")
    args = parser.parse_args(argv)
    chosen = _names(args.cases, [*cases.CASES, *LOAD_CASES], "cases")
    systems = _names(args.systems, list(SYSTEMS), "systems")
    timed = [c for c in chosen if c in cases.CASES]
    loads = [c for c in chosen if c in LOAD_CASES and "qharbor" in systems]

    document: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join([sys.executable, "-m", "benchmarks.run", *(argv or sys.argv[1:])]),
        "quick": args.quick,
        "runs": args.runs,
        "machine": machine.describe(),
        "cases": {},
        "load": {},
        "notes": [],
    }
    if any(s.startswith("qharbor") for s in systems):
        _ensure_engine_costs(document)
    jobs = [
        (c, s)
        for c in timed
        for s in systems
        if SYSTEMS[s].kinds & {cases.CASES[c].kind}
        # 1000 separate jobs are measured once, on the suite's own batch.
        and (s != "qharbor-jobs" or c == "jobs5x1000")
    ]
    total = len(jobs) + len(loads)
    done = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qharbor-bench-refs-") as folder:
        for name in timed:
            case = cases.CASES[name]
            console.print(f"[bold]{name}[/]: {case.title}; computing the reference (untimed)")
            work = case.work(args.quick)
            ref_path = Path(folder) / f"{name}.npz"
            np.savez(ref_path, **cases.reference(work))
            results: dict[str, Any] = {}
            for system in systems:
                if (name, system) not in jobs:
                    continue
                done += 1
                label = f"[{done}/{total}] {name} · {system}"
                console.print(f"{label}: starting")
                arguments = [system, name, "--runs", str(args.runs), "--reference", str(ref_path)]
                result = _worker(arguments + (["--quick"] if args.quick else []), label)
                results[system] = result
                _summarise(label, result, started)
                for note in result.get("notes", []):
                    if note not in document["notes"]:
                        document["notes"].append(note)
            document["cases"][name] = {
                "title": case.title,
                "kind": case.kind,
                "results": results,
                "ratios": report.ratios(name, results),
            }
    for name in loads:
        done += 1
        label = f"[{done}/{total}] {name} · qharbor"
        console.print(f"{label}: starting")
        result = _worker(
            ["qharbor", name, "--runs", str(args.runs)] + (["--quick"] if args.quick else []), label
        )
        document["load"][name] = result
        _summarise(label, result, started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    report.show(document)
    console.print(f"Results written to {args.out}")
    return document


def _summarise(label: str, result: dict[str, Any], started: float) -> None:
    elapsed = time.perf_counter() - started
    if result.get("error"):
        console.print(f"{label}: [red]error[/]: {result['error']}  [dim]({elapsed:.0f} s in)[/]")
        return
    figure = result.get("median_s")
    text = f"median {figure:.3f} s" if figure is not None else ""
    for key, unit in (("p50_ms", "ms p50"), ("jobs_per_s", "jobs/s"), ("peak_over_state", "×")):
        if key in result:
            text = f"{result[key]:.1f} {unit}"
    verdict = "[green]correct[/]" if result.get("ok") else "[red]WRONG[/]"
    console.print(f"{label}: {text}, {verdict}  [dim]({elapsed:.0f} s in)[/]")


if __name__ == "__main__":
    main()

"""The benchmark suite runs end to end at its quick sizes: every case, checked.

It runs ``python -m benchmarks.run --quick --runs 1`` on qharbor, Aer and qulacs
(each system on each case in its own process, qharbor through a local centre)
and reads the JSON it writes. Figures are not asserted, only that every run
was checked correct and that the ratios and load figures were computed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.cases import CASES

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = ("qharbor", "aer", "qulacs")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--quick",
        "--runs",
        "1",
        "--systems",
        ",".join(SYSTEMS),
        "--out",
        str(out),
    ]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert finished.returncode == 0, finished.stderr[-4000:]
    data: dict = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_every_case_ran_on_every_system_and_every_run_was_correct(document: dict) -> None:
    assert set(document["cases"]) == set(CASES)
    for name, case in document["cases"].items():
        assert set(case["results"]) == set(SYSTEMS), name
        for system, result in case["results"].items():
            assert result["error"] is None, (name, system, result["error"])
            assert result["ok"], (name, system, result["checks"])
            assert len(result["times_s"]) == 1
            assert result["median_s"] > 0


def test_ratios_to_the_fastest_double_peer_are_computed(document: dict) -> None:
    for name, case in document["cases"].items():
        double = case["ratios"]["double"]
        assert double["fastest_peer"] in ("aer", "qulacs"), name
        assert double["value"] > 0
        assert double["target"] in (1.0, 1.5)
        # No single-precision system took part, so there is nothing to compare.
        assert case["ratios"]["single"] is None
    assert document["cases"]["jobs5x1000"]["ratios"]["batch_vs_qulacs"]["value"] > 0


def test_load_cases_and_the_machine_are_recorded(document: dict) -> None:
    trip = document["load"]["roundtrip"]
    assert trip["ok"] and 0 < trip["p50_ms"] <= trip["p99_ms"]
    assert document["load"]["throughput8"]["ok"]
    assert document["load"]["throughput8"]["jobs_per_s"] > 0
    # The load cases say how many of the host's cores their clients kept busy.
    for case in ("roundtrip", "throughput8"):
        for run in document["load"][case]["runs"]:
            assert 0 < run["client_cores"] <= run["host_cores"], (case, run)
    machine = document["machine"]
    assert machine["cores"] >= 1 and machine["versions"]["qiskit-aer"]
    assert "--quick" in document["command"]

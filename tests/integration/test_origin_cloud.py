"""A pyqpanda3 cloud script runs against a centre with only its import and service lines changed."""

from __future__ import annotations

import difflib
import math
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyqpanda3 import core

import qharbor
from qharbor import errors
from qharbor.origin import JobStatus, QCloudService
from tests.integration.conftest import RunningCentre
from tests.unit.programs import origin_reference

SCRIPTS = Path(__file__).parent / "origin_scripts"
ORIGINAL = SCRIPTS / "pyqpanda3_cloud.py"
CHANGED = SCRIPTS / "qharbor_cloud.py"


def _tvd(a: dict[str, int], b: dict[str, int]) -> float:
    total_a, total_b = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / total_a - b.get(k, 0) / total_b) for k in set(a) | set(b))


def test_the_script_changes_only_its_import_and_service_lines() -> None:
    before = ORIGINAL.read_text().splitlines()
    after = CHANGED.read_text().splitlines()
    diff = [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == [
        "-from pyqpanda3.qcloud import DataBase, JobStatus, QCloudOptions, QCloudService",
        "+from qharbor.origin import DataBase, JobStatus, QCloudOptions, QCloudService",
        '-service = QCloudService(api_key="YOUR_API_KEY")',
        "+service = QCloudService()  # the centre: QHARBOR_URL and QHARBOR_TOKEN",
    ]


@pytest.fixture(scope="module")
def script(running: RunningCentre) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QHARBOR_URL", running.url)
        patch.setenv("QHARBOR_TOKEN", running.token)
        globals_ = runpy.run_path(str(CHANGED), run_name="origin_script")
    yield globals_
    globals_["service"].close()


def test_the_changed_script_samples_what_pyqpanda3_samples(script: dict[str, Any]) -> None:
    counts = script["counts"]
    assert sum(counts.values()) == 1000
    assert all(len(key) == 3 and set(key) <= {"0", "1"} for key in counts)
    reference = origin_reference.qprog_counts(script["prog"], 20_000)
    assert _tvd(counts, reference) < 0.08, (counts, reference)
    assert script["probs"] == {k: v / 1000 for k, v in counts.items()}
    assert script["hex_counts"] == {hex(int(k, 2)): v for k, v in counts.items()}
    first, second = script["batch_counts"]
    assert sum(first.values()) == 500 and set(first) == {"0", "1"}
    assert second.get("1", 0) / 500 > 0.95  # RX(3.0): sin(1.5)^2 = 0.995


def test_the_changed_script_reads_the_twins_chip_and_runs_on_it(
    script: dict[str, Any], running: RunningCentre
) -> None:
    info = script["info"]
    device = running.http.get("/v1/devices/sc72").json()
    calibration = running.http.get("/v1/devices/sc72/calibration").json()
    assert info.chip_id() == "sc72" and info.qubits_num() == 72
    assert script["available"] == list(range(72))
    edges = {tuple(sorted(e)) for e in device["twin"]["edges"]}
    assert {tuple(e) for e in script["topology"]} == edges
    assert "CZ" in info.get_basic_gates() or "CNOT" in info.get_basic_gates()
    single = script["single"]
    assert len(single) == 72
    q0 = calibration["qubits"][0]
    assert math.isclose(
        single[0].get_readout_fidelity(), 1 - (q0["readout_p01"] + q0["readout_p10"]) / 2
    )
    assert single[0].get_frequency() == pytest.approx(q0["frequency_ghz"] * 1e9)
    assert all(0.9 < q.get_single_gate_fidelity() <= 1 for q in single)
    assert {tuple(p.get_qubits()) for p in script["double"]} == edges
    assert all(0.8 < p.get_fidelity() < 1 for p in script["double"])
    assert script["chip_result"].job_status() == JobStatus.FINISHED
    chip_counts = script["chip_counts"]
    assert sum(chip_counts.values()) == 1000
    # A noisy twin: near the ideal distribution, not equal to it.
    assert _tvd(chip_counts, script["counts"]) < 0.2


def test_every_gate_pyqpanda3_writes_runs_through_http(running: RunningCentre) -> None:
    program = core.QProg()
    (
        program
        << core.H(0)
        << core.ECHO(1, 0.3)
        << core.IDLE(2, 40.0)
        << core.U4(1, 0.1, 0.2, 0.3, 0.4)
    )
    program << core.CU(0, 2, 0.5, 0.6, 0.7, 0.8).control(1).dagger() << core.RPHI(2, 0.3, 0.2)
    program << core.TOFFOLI(0, 1, 2) << core.SQISWAP(1, 2) << core.RZX(0, 2, 0.9)
    program << core.measure([0, 1, 2], [2, 0, 1])
    with QCloudService(api_key=running.token, url=running.url) as service:
        result = service.backend("statevector").run(program, 4000, seed=5).result()
    assert result.job_status() == JobStatus.FINISHED
    reference = origin_reference.qprog_counts(program, 40_000)
    assert _tvd(result.get_counts(), reference) < 0.05, (result.get_counts(), reference)


def test_bad_originir_is_refused_with_its_line(running: RunningCentre) -> None:
    with QCloudService(api_key=running.token, url=running.url) as service:
        backend = service.backend("statevector")
        with pytest.raises(errors.ProgramSyntax) as caught:
            backend.run("QINIT 1\nCREG 1\nRX q[0],(1.0,2.0)\nMEASURE q[0],c[0]\n", 10)
        with pytest.raises(errors.DeviceNotFound):
            service.backend("no_such_chip")
    assert caught.value.detail.get("line") == 3


def test_the_migration_guide_example_runs(running: RunningCentre, tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "migrating-from-origin.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.DOTALL)
    assert blocks
    script = tmp_path / "migrate.py"
    script.write_text("\n".join(blocks))
    env = {"QHARBOR_URL": running.url, "QHARBOR_TOKEN": running.token, "PATH": "/usr/bin:/bin"}
    env["QHARBOR_ACCOUNT_FILE"] = str(tmp_path / "accounts.json")
    # This checkout's qharbor, not whichever one the interpreter has installed.
    env["PYTHONPATH"] = str(Path(qharbor.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "'00'" in done.stdout and "sc72 72" in done.stdout, done.stdout

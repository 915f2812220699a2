"""``qharbor demo``: a throwaway centre runs five kinds of job and shows real results."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

QHARBOR = Path(sys.executable).parent / "qharbor"

# The start of each example's heading, in the order the demo shows them.
TITLES = {
    "bell": "Bell pair",
    "ghz": "GHZ state on 20 qubits",
    "qft": "QFT on 12 qubits",
    "feed_forward": "Mid-circuit measurement",
    "sweep": "Parameter sweep, 50 angles",
}
COUNT_ROW = re.compile(r"^\s*([01]+)\s+(\d+)\s+[\d.]+%", re.MULTILINE)
SWEEP_ROW = re.compile(r"^\s*(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)", re.MULTILINE)
TIMING = r"\b{}\s+\d+(?:\.\d+)?\s*(?:µs|ms|s)\b"


@dataclass
class DemoRun:
    pid: int
    returncode: int
    output: str
    errors: str
    account_file: Path

    def section(self, key: str) -> str:
        """The output of one example: from its heading to the next one (or the docs line)."""
        starts = [self.output.index(title) for title in TITLES.values()]
        starts.append(self.output.index("API docs"))
        index = list(TITLES).index(key)
        return self.output[starts[index] : starts[index + 1]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    account_file = tmp_path_factory.mktemp("demo") / "accounts.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QHARBOR_")}
    env.update(COLUMNS="200", QHARBOR_ACCOUNT_FILE=str(account_file))
    with subprocess.Popen(
        [str(QHARBOR), "demo", "--no-keep"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            output, errors = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            process.kill()
            output, errors = process.communicate()
            pytest.fail(f"qharbor demo did not finish within 240 s:\n{output}\n{errors}")
    return DemoRun(process.pid, process.returncode, output, errors, account_file)


def counts(section: str) -> dict[str, int]:
    return {outcome: int(count) for outcome, count in COUNT_ROW.findall(section)}


def centre_url(demo: DemoRun) -> str:
    found = re.search(r"Centre up at (http://\S+)", demo.output)
    assert found, demo.output
    return found[1]


def test_demo_exits_0_and_shows_all_five_examples(demo: DemoRun) -> None:
    assert demo.returncode == 0, f"{demo.output}\n{demo.errors}"
    assert "Traceback" not in demo.errors
    for title in TITLES.values():
        assert demo.output.count(title) == 1, f"{title!r} not shown once:\n{demo.output}"
    positions = [demo.output.index(title) for title in TITLES.values()]
    assert positions == sorted(positions)


def test_demo_shows_where_the_api_docs_are(demo: DemoRun) -> None:
    assert f"API docs: {centre_url(demo)}/docs" in demo.output


def test_every_example_shows_its_queue_compile_and_run_times(demo: DemoRun) -> None:
    for key in TITLES:
        section = demo.section(key)
        for word in ("queue", "compile", "run"):
            assert re.search(TIMING.format(word), section), f"no {word} time for {key}:\n{section}"


def test_bell_pair_gives_only_00_and_11(demo: DemoRun) -> None:
    found = counts(demo.section("bell"))
    assert set(found) == {"00", "11"}, demo.section("bell")
    assert sum(found.values()) == 1000


def test_ghz_on_20_qubits_gives_all_zeros_or_all_ones(demo: DemoRun) -> None:
    found = counts(demo.section("ghz"))
    assert set(found) == {"0" * 20, "1" * 20}, demo.section("ghz")
    assert sum(found.values()) == 1000


def test_qft_on_12_qubits_reads_back_the_encoded_value_every_shot(demo: DemoRun) -> None:
    # The demo encodes 1234 in phases; the inverse QFT must return it on every shot.
    assert counts(demo.section("qft")) == {format(1234, "012b"): 1000}, demo.section("qft")


def test_mid_circuit_measurement_conditions_the_later_gate(demo: DemoRun) -> None:
    section = demo.section("feed_forward")
    assert "if (c[0])" in section
    found = counts(section)
    assert set(found) == {"00", "11"}, section  # never 01 or 10
    assert sum(found.values()) == 1000


def test_sweep_covers_50_angles_from_0_to_2pi_and_follows_sin_squared(demo: DemoRun) -> None:
    section = demo.section("sweep")
    rows = [(float(t), float(p), float(e)) for t, p, e in SWEEP_ROW.findall(section)]
    assert len(rows) >= 5, section
    step = 2 * math.pi / 49  # 50 evenly spaced angles, 0 and 2π included
    thetas = [theta for theta, _, _ in rows]
    assert thetas[0] == pytest.approx(0, abs=1e-3)
    assert thetas[-1] == pytest.approx(2 * math.pi, abs=1e-3)
    for theta, p1, shown_exact in rows:
        assert theta / step == pytest.approx(round(theta / step), abs=0.02), theta
        exact = math.sin(theta / 2) ** 2
        assert shown_exact == pytest.approx(exact, abs=2e-3)
        # 2000 shots: the standard error is at most 0.011, so 0.08 is far outside noise.
        assert p1 == pytest.approx(exact, abs=0.08), section


def test_demo_removes_its_centre_and_data_and_leaves_the_account_file_alone(
    demo: DemoRun,
) -> None:
    found = re.search(r"\(data in ([^)]+)\)", demo.output)
    assert found, demo.output
    assert not Path(found[1]).exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{centre_url(demo)}/v1/health", timeout=5)
    assert not demo.account_file.exists()


def test_demo_leaves_no_worker_processes_behind(demo: DemoRun) -> None:
    # Workers are started as "python -m qharbor.executors.local SLOT PARENT_PID".
    demo_pid = str(demo.pid)
    deadline = time.monotonic() + 30
    while True:
        left = [p for p in _workers() if p.info["cmdline"][-1:] == [demo_pid]]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == []


def _workers() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "qharbor.executors.local" in cmdline:
            found.append(process)
    return found

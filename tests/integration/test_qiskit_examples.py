"""The examples run against a real centre: the tutorial script unmodified, VQE and QAOA."""

from __future__ import annotations

import ast
import difflib
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from examples import qaoa_maxcut, vqe_h2
from qiskit.circuit.library import real_amplitudes
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

from qharbor.qiskit import QHarborProvider
from tests.integration.conftest import RunningCentre

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def provider(running: RunningCentre) -> Iterator[QHarborProvider]:
    provider = QHarborProvider(running.url, running.token)
    yield provider
    provider.service.close()


def test_the_tutorial_script_runs_with_only_its_imports_and_backend_changed(
    running: RunningCentre, tmp_path: Path
) -> None:
    env = {**os.environ, "QHARBOR_URL": running.url, "QHARBOR_TOKEN": running.token}
    env["QHARBOR_ACCOUNT_FILE"] = str(tmp_path / "none.json")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "sampler_tutorial.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    counts = ast.literal_eval(re.search(r">>> Counts: (\{.*\})", done.stdout)[1])
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 1000
    assert min(counts.values()) > 400
    assert ">>> <ZZ> = +1.0000 ± 0.0000" in done.stdout
    assert ">>> <XX> = +1.0000 ± 0.0000" in done.stdout
    assert ">>> <IZ> = +0.0000 ± 0.0000" in done.stdout


def test_vqe_for_h2_is_within_two_millihartree_on_statevector(
    provider: QHarborProvider,
) -> None:
    before = {s["id"] for s in provider.service.sessions()}
    outcome = vqe_h2.run_vqe(provider.backend("statevector"))
    assert abs(outcome["energy"] - (-1.137)) < 2e-3
    assert outcome["error"] < 2e-3
    [session] = [s for s in provider.service.sessions() if s["id"] not in before]
    assert session["mode"] == "session" and session["status"] == "CLOSED"
    assert session["jobs"]["DONE"] == outcome["evaluations"]


def brute_force_maximum_cut(edges: list[tuple[int, int]], nodes: int) -> int:
    best = 0
    for sides in itertools.product((0, 1), repeat=nodes):
        best = max(best, sum(sides[a] != sides[b] for a, b in edges))
    return best


def test_qaoa_finds_a_maximum_cut_of_a_3_regular_graph_in_a_session(
    provider: QHarborProvider,
) -> None:
    edges, nodes = qaoa_maxcut.EDGES, qaoa_maxcut.NODES
    degrees = [sum(node in edge for edge in edges) for node in range(nodes)]
    assert nodes == 8 and degrees == [3] * nodes
    before = {s["id"] for s in provider.service.sessions()}
    outcome = qaoa_maxcut.run_qaoa(provider.backend("statevector"))
    maximum = brute_force_maximum_cut(edges, nodes)
    assert outcome["best_cut"] == maximum
    bits = str(outcome["best_bits"])[::-1]
    assert sum(bits[a] != bits[b] for a, b in edges) == maximum
    # p = 2 does much better than a random assignment (half the edges on average).
    assert float(outcome["expected_cut"]) > 0.75 * maximum
    [session] = [s for s in provider.service.sessions() if s["id"] not in before]
    assert session["jobs"]["DONE"] >= 2 and session["status"] == "CLOSED"


IBM = EXAMPLES / "ibm_runtime"
CHANGED = "# qharbor: changed"


def test_the_ibm_runtime_script_differs_from_its_original_only_in_marked_lines() -> None:
    original = (IBM / "original.py").read_text().splitlines()
    ours = (IBM / "primitives_with_options.py").read_text().splitlines()
    matcher = difflib.SequenceMatcher(a=original, b=ours, autojunk=False)
    changed_ours: list[str] = []
    changed_original: list[str] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag != "equal":
            changed_original.extend(original[a0:a1])
            changed_ours.extend(ours[b0:b1])
    marked = [line for line in ours if line.endswith(CHANGED)]
    assert changed_ours == marked and len(marked) == 3
    # The lines that changed are the import and the two service lines, nothing else.
    assert changed_original == [
        "from qiskit_ibm_runtime import EstimatorV2 as Estimator, QiskitRuntimeService, "
        "SamplerV2 as Sampler, Session",
        "service = QiskitRuntimeService()",
        "backend = service.least_busy(operational=True, simulator=False)",
    ]


def test_the_ibm_runtime_script_runs_and_matches_the_reference(
    running: RunningCentre, tmp_path: Path
) -> None:
    env = {**os.environ, "QHARBOR_URL": running.url, "QHARBOR_TOKEN": running.token}
    env["QHARBOR_ACCOUNT_FILE"] = str(tmp_path / "none.json")
    done = subprocess.run(
        [sys.executable, str(IBM / "primitives_with_options.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    counts = ast.literal_eval(re.search(r">>> Counts: (\{.*\})", done.stdout)[1])
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 1000
    assert min(counts.values()) > 400
    # The script's energy is exact on statevector: compare with Qiskit's reference.
    ansatz = real_amplitudes(2, reps=1)
    hamiltonian = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5), ("IY", -0.25)])
    params = np.linspace(0.1, 0.8, ansatz.num_parameters)
    [reference] = StatevectorEstimator().run([(ansatz, hamiltonian, params)]).result()
    energy = float(re.search(r">>> Energy: (\S+)", done.stdout)[1])
    assert energy == pytest.approx(float(reference.data.evs), abs=1e-6)
    assert ">>> Standard error: 0.000000" in done.stdout
    job_id = re.search(r">>> Job ID: (\S+)", done.stdout)[1]
    tagged = running.http.get("/v1/jobs", params={"tag": "bell-with-options"}).json()["jobs"]
    assert [job["id"] for job in tagged] == [job_id]

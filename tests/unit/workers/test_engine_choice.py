"""The worker chooses an engine per circuit, runs each engine's share in one call, and says so."""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import base, costs
from qharbor.jobs.checks import parse_pub
from qharbor.jobs.claims import Claim
from qharbor.jobs.options import JobOptions
from qharbor.workers.execution import execute
from tests.programs import BELL, ROTATION, stored
from tests.unit.engines.fakes import FakeEngine, model

DEVICES = default_catalogue()
T_GATE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nt q[0];\nmeasure q -> c;\n'


def result_json(task: Claim) -> dict:
    """The task's result as the JSON the centre stores and serves."""
    return execute(task).to_json()


@pytest.fixture
def stim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    """A fake Clifford engine registered as ``stim``, with a host fit that makes it cheapest."""
    base.registered()
    fake = FakeEngine("stim", ("double", "single"), clifford_only=True)
    monkeypatch.setitem(base._FACTORIES, "stim", lambda: fake)
    monkeypatch.setitem(base._INSTANCES, "stim", fake)
    path = tmp_path / "costs.json"
    models = {
        "stim:tableau:double": model(call=1e-9),
        "aer:dense:double": model(call=1e-3, gate=1e-5),
        "aer:dense:single": model(call=1e-3, gate=1e-5),
    }
    for other in set(base.registered()) - {"aer", "stim"}:  # real engines, made slow here
        for precision in ("double", "single"):
            models[f"{other}:dense:{precision}"] = model(call=10.0)
    fit = costs.HostFit(costs.current_fingerprint(), {"cpu": "test"}, models)
    costs.save_fit(fit, path)
    monkeypatch.setenv(costs.PATH_ENV, str(path))
    yield fake


spec = stored


def task(*programs: dict, options: dict | None = None, device: str = "statevector") -> Claim:
    return Claim(
        job_id="job-1",
        attempt=1,
        device=device,
        target=DEVICES.get(device),
        shots=50,
        seed=3,
        programs=list(programs),
        options=JobOptions.from_json(options),
    )


def test_circuits_go_to_different_engines_and_keep_their_order(stim: FakeEngine) -> None:
    document = result_json(
        task(spec(ROTATION, [{"theta": math.pi}]), spec(BELL), spec(ROTATION, [{"theta": 0.0}]))
    )
    rows = document["experiments"]
    assert [r["engine"] for r in rows] == ["aer", "stim", "aer"]
    assert [r["counts"] for r in rows] == [{"1": 50}, {"00": 50}, {"0": 50}]
    assert [r["program"] for r in rows] == [0, 1, 2]
    assert rows[1]["engine_reason"].startswith("stim: predicted ")
    meta = document["metadata"]
    assert meta["engines"] == ["aer", "stim"]
    assert meta["engine"] == "aer"  # the engine that ran most experiments
    assert "2 on aer, 1 on stim" in meta["engine_reason"]
    assert "stim-lib" in meta["versions"] and "qiskit-aer" in meta["versions"]
    # Each run samples with the seed of its place in the job, whichever engine runs it.
    assert stim.calls == [{"count": 1, "seed": 4, "precision": "double", "method": "statevector"}]
    assert [r["seed"] for r in rows] == [3, 4, 5]


def test_a_chunk_of_a_job_on_several_engines_samples_as_the_whole_job(stim: FakeEngine) -> None:
    from qharbor.executors import ray_chunks

    rng = random.Random(4)
    programs = [
        spec(BELL) if rng.random() < 0.4 else spec(ROTATION, [{"theta": rng.uniform(0, 3)}] * 2)
        for _ in range(90)
    ]
    whole = execute(task(*programs))
    assert {r.extra.get("engine") for r in whole.experiments} == {"aer", "stim"}
    chunks = ray_chunks.plan(task(*programs), 64, 2)
    assert len(chunks) == 2
    parts = [ray_chunks.run_chunk(task(*programs), chunk) for chunk in chunks]
    gathered = ray_chunks.gather(task(*programs), chunks, parts)
    assert [(r.program, r.counts, r.seed) for r in gathered.experiments] == [
        (r.program, r.counts, r.seed) for r in whole.experiments
    ]


def test_one_engine_for_all_circuits_runs_them_in_one_call(stim: FakeEngine) -> None:
    document = result_json(task(spec(BELL), spec(BELL), spec(BELL)))
    meta = document["metadata"]
    assert meta["engine"] == "stim" and "engines" not in meta
    assert meta["engine_reason"].startswith("stim: predicted ")
    assert meta["precision"] == "double"
    assert all("engine" not in r for r in document["experiments"])
    assert [c["count"] for c in stim.calls] == [3]
    assert stim.calls[0]["seed"] == 3  # the job's seed, as if stim ran alone


def test_a_pinned_engine_runs_everything_at_the_precision_asked(stim: FakeEngine) -> None:
    document = result_json(task(spec(BELL), options={"engine": "aer", "precision": "single"}))
    meta = document["metadata"]
    assert (meta["engine"], meta["engine_reason"], meta["precision"]) == (
        "aer",
        "pinned by the job",
        "single",
    )
    assert stim.calls == []
    assert sum(document["experiments"][0]["counts"].values()) == 50


def test_a_pinned_engine_that_cannot_run_a_circuit_fails_the_job_with_its_reason(
    stim: FakeEngine,
) -> None:
    with pytest.raises(errors.EngineCannotRun, match="runs only Clifford circuits"):
        result_json(task(spec(T_GATE), options={"engine": "stim"}))


def test_the_density_matrix_device_stays_on_aer(stim: FakeEngine) -> None:
    document = result_json(task(spec(BELL), device="density-matrix"))
    assert document["metadata"]["engine"] == "aer"
    assert "density-matrix" in document["metadata"]["engine_reason"]
    assert stim.calls == []


def test_sampler_results_name_their_engine(stim: FakeEngine) -> None:
    from qharbor.primitives import prepare_pubs

    pubs = prepare_pubs(
        "sampler",
        [{"circuit": BELL, "format": "auto", "shots": 20}],
        DEVICES.get("statevector"),
        shots=20,
        precision=None,
        max_program_bytes=10_000,
        max_experiments=100,
        parse=parse_pub,
    )
    document = result_json(
        Claim(
            job_id="job-2",
            attempt=1,
            device="statevector",
            target=DEVICES.get("statevector"),
            shots=20,
            seed=1,
            programs=[],
            kind="sampler",
            primitive=pubs.payload,
        )
    )
    assert document["pubs"][0]["engine"] == "stim"
    assert document["metadata"]["engine"] == "stim"


def test_the_exact_estimator_uses_an_engine_that_computes_expectations(
    stim: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qharbor.primitives import prepare_pubs
    from tests.unit.engines.fakes import FakeExpectationEngine

    fast = FakeExpectationEngine("qulacs", 0.25)
    monkeypatch.setitem(base._FACTORIES, "qulacs", lambda: fast)
    monkeypatch.setitem(base._INSTANCES, "qulacs", fast)
    path = Path(os.environ[costs.PATH_ENV])
    # Another engine registered makes another fingerprint: the fit is stored again under it.
    [stored] = json.loads(path.read_text())["hosts"].values()
    models = costs.HostFit.from_json(stored).models
    models["qulacs:dense:double"] = model(call=1e-9)  # the cheapest here
    costs.save_fit(costs.HostFit(costs.current_fingerprint(), {}, models), path)
    pubs = prepare_pubs(
        "estimator",
        [
            {
                "circuit": ROTATION,
                "format": "auto",
                "parameter_values": [0.1, 0.2, 0.3],
                "shape": [3, 1],
                "observables": [{"Z": 1.0}, {"X": 1.0}],
                "observables_shape": [2],
            }
        ],
        DEVICES.get("statevector"),
        shots=100,
        precision=None,
        max_program_bytes=10_000,
        max_experiments=100,
        parse=parse_pub,
    )
    document = result_json(
        Claim(
            job_id="job-3",
            attempt=1,
            device="statevector",
            target=DEVICES.get("statevector"),
            shots=100,
            seed=1,
            programs=[],
            kind="estimator",
            primitive=pubs.payload,
        )
    )
    [pub] = document["pubs"]
    assert pub["engine"] == "qulacs" and pub["exact"] is True
    assert fast.asked == [(3, 2, "double")]
    assert pub["evs"] == [[0.25, 0.25], [0.25, 0.25], [0.25, 0.25]]
    assert document["metadata"]["mode"] == "exact"

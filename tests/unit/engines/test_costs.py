"""Cost models: fitted from measurements, stored per host, defaults until then."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from qiskit import QuantumCircuit

from qharbor.engines import benchmarking, costs
from qharbor.engines.base import get_engine
from qharbor.engines.benchmarking import Measurement, Probe
from qharbor.engines.features import features_of
from qharbor.engines.qulacs_circuits import FUSE_QUBITS, translate


def test_the_fit_recovers_the_coefficients_that_made_the_timings() -> None:
    truth = {"call": 2e-4, "gate": 3e-6, "work": 1e-9, "shot": 5e-7}
    coefficients = [truth.get(t, 0.0) for t in costs.TERMS]
    measurements = []
    for n, g, s, r in [(3, 5, 1, 1), (10, 100, 1000, 1), (16, 300, 10, 1), (18, 50, 1, 4),
                       (8, 40, 50_000, 1), (12, 200, 100, 8), (5, 30, 100, 1)]:  # fmt: skip
        terms = (1.0, *costs.term_values("dense", qubits=n, gates=g, runs=r, shots=s)[1:])
        seconds = sum(c * x for c, x in zip(coefficients, terms, strict=True))
        measurements.append(Measurement(Probe("p", n, 1, s), seconds, terms))
    fitted = benchmarking.fit(measurements)
    assert fitted.rel_error < 1e-3
    got = dict(zip(costs.TERMS, fitted.coefficients, strict=True))
    for term, value in truth.items():
        assert got[term] == pytest.approx(value, rel=1e-2)
    assert all(c >= 0 for c in fitted.coefficients)


def test_probes_are_measured_on_the_real_engine_through_run() -> None:
    probes = (Probe("tiny", 3, 2, 10), Probe("small", 5, 3, 100), Probe("batch", 4, 2, 10, count=5))
    found = benchmarking.measure(get_engine("aer"), "dense", "double", probes)
    assert [m.probe.label for m in found] == ["tiny", "small", "batch"]
    assert all(m.seconds > 0 for m in found)
    # A batch of five circuits counts five circuits' terms and one call.
    assert found[2].terms[0] == 1.0 and found[2].terms[1] == 5.0


def test_a_stabilizer_engine_is_probed_only_with_circuits_it_can_run() -> None:
    found = benchmarking.measure(
        get_engine("aer"), "tableau", "double", (Probe("clifford", 20, 3, 10),)
    )
    assert len(found) == 1


def fit_of(fingerprint: str, call: float) -> costs.HostFit:
    model = costs.CostModel(tuple(call if t == "call" else 0.0 for t in costs.TERMS))
    return costs.HostFit(fingerprint, {"cpu": "test"}, {"aer:dense:double": model}, "now")


def test_fits_are_kept_per_host_and_read_back_for_this_host(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    here = costs.current_fingerprint()
    costs.save_fit(fit_of("another-host", 9.0), path)
    assert not costs.host_fit_exists(path)
    assert costs.current(path).model("aer", "statevector", "double") is not None  # defaults
    costs.save_fit(fit_of(here, 0.5), path)
    assert costs.host_fit_exists(path)
    table = costs.current(path)
    assert table.model("aer", "statevector", "double").coefficients[0] == 0.5
    assert table.source["aer:dense:double"] == "host"
    assert set(json.loads(path.read_text())["hosts"]) == {"another-host", here}


def test_a_partial_benchmark_keeps_the_other_models(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    first = fit_of("h", 1.0)
    costs.save_fit(first, path)
    other = costs.HostFit("h", {}, {"stim:tableau:double": first.models["aer:dense:double"]})
    costs.save_fit(other, path)
    assert set(json.loads(path.read_text())["hosts"]["h"]["models"]) == {
        "aer:dense:double",
        "stim:tableau:double",
    }


def test_the_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(costs.PATH_ENV, str(tmp_path / "x.json"))
    assert costs.default_path() == tmp_path / "x.json"
    monkeypatch.delenv(costs.PATH_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert costs.default_path() == tmp_path / "qharbor" / "engine-costs.json"


def test_shipped_defaults_cover_aer_on_both_forms() -> None:
    shipped = costs.defaults()
    assert shipped is not None
    assert {"aer:dense:double", "aer:dense:single", "aer:tableau:double"} <= set(shipped.models)


def test_a_single_job_on_an_engine_fitted_only_in_double_uses_that_model() -> None:
    model = costs.CostModel(tuple(1.0 for _ in costs.TERMS))
    table = costs.CostTable(models={"stim:tableau:double": model})
    assert table.model("stim", "statevector", "single") is model


def test_only_one_process_benchmarks_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    lock = path.with_name(path.name + ".lock")
    lock.write_text("12345")
    assert benchmarking.benchmark_locked(path) == 3
    assert lock.exists() and not path.exists()


def _qft(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    for target in reversed(range(n)):
        circuit.h(target)
        for control in reversed(range(target)):
            circuit.cp(math.pi / 2 ** (target - control), control, target)
    for q in range(n // 2):
        circuit.swap(q, n - 1 - q)
    circuit.measure(range(n), range(n))
    return circuit


def test_qulacs_is_priced_on_the_passes_left_after_merging_a_wide_qft_s_phases() -> None:
    qulacs = get_engine("qulacs")
    wide = features_of(_qft(20))
    passes = costs.gate_passes(qulacs, wide)
    assert passes == 2 * (wide.size - wide.diagonal) + 1 < wide.size / 3
    # What the engine really applies is no more than that.
    assert translate(_qft(20)).circuit.get_gate_count() <= passes
    narrow = features_of(_qft(FUSE_QUBITS - 1))
    assert costs.gate_passes(qulacs, narrow) == narrow.size
    # An engine that does not say counts every gate.
    assert costs.gate_passes(get_engine("aer"), wide) == wide.size

"""The twins' method costs: fitted from timings, stored per host, loaded at selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qharbor.devices.twins import document as documents
from qharbor.engines import twin_benchmarking, twin_costs, twin_methods
from tests.unit.devices.twins.documents import document


@pytest.fixture
def costs_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QHARBOR_ENGINE_COSTS_PATH", str(tmp_path / "engine-costs.json"))
    twin_costs._CURRENT.pop("table", None)
    return tmp_path / "twin-costs.json"


def test_the_file_lies_beside_the_engines_fits(costs_path: Path) -> None:
    assert twin_costs.default_path() == costs_path


def test_without_a_host_fit_the_shipped_coefficients_apply(costs_path: Path) -> None:
    assert twin_costs.current() == twin_methods.DEFAULT_COEFFICIENTS


def test_a_stored_host_fit_is_loaded_and_changes_the_choice(costs_path: Path) -> None:
    shape = twin_methods.TwinShape(8, 200, 20, 10, 16.0, False, False)
    assert twin_methods.choose(shape, 1000, twin_costs.current()).method == "density_matrix"
    slow_density = {**twin_methods.DEFAULT_COEFFICIENTS}
    slow_density["density_matrix"] = {"call": 0.0, "work": 1.0}  # a second per unit
    fit = twin_costs.TwinFit(twin_costs.fingerprint(), slow_density, host=twin_costs.host())
    twin_costs.save(fit, costs_path)
    loaded = twin_costs.current()
    assert loaded["density_matrix"] == {"call": 0.0, "work": 1.0}
    assert twin_methods.choose(shape, 1000, loaded).method != "density_matrix"
    stored = json.loads(costs_path.read_text())
    assert list(stored["hosts"]) == [twin_costs.fingerprint()]


def test_another_hosts_fit_is_not_used(costs_path: Path) -> None:
    other = twin_costs.TwinFit("0" * 16, {"density_matrix": {"call": 9.0, "work": 9.0}})
    twin_costs.save(other, costs_path)
    assert twin_costs.current() == twin_methods.DEFAULT_COEFFICIENTS


def test_a_fit_recovers_coefficients_from_timings() -> None:
    truth = {"call": 0.2, "work": 3e-9}
    shapes = [twin_methods.TwinShape(n, 100 * n, n, n, 2.0, False, False) for n in (8, 11, 14, 17)]
    timings = []
    for i, shape in enumerate(shapes):
        terms = twin_methods.term_values("statevector", shape, 50 * (i + 1))
        seconds = sum(truth[k] * v for k, v in terms.items())
        timings.append(
            twin_costs.ProbeTiming(str(i), "statevector", shape.qubits, 50, seconds, terms=terms)
        )
    fitted, error = twin_benchmarking.fit_method("statevector", timings)
    assert fitted["call"] == pytest.approx(0.2, rel=1e-3)
    assert fitted["work"] == pytest.approx(3e-9, rel=1e-3)
    assert error < 1e-3


def test_a_probe_is_timed_on_its_method_with_its_terms() -> None:
    probe = twin_benchmarking.Probe("density_matrix", "sc25", 3, 2, 100)
    timing = twin_benchmarking.time_probe(probe, {"sc25": documents.read(document("sc25"))})
    assert timing.method == "density_matrix" and timing.measured_s > 0
    assert set(timing.terms) == set(twin_methods.TERMS["density_matrix"])

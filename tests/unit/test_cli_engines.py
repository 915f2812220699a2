"""``qharbor engines benchmark``, and ``calibrate``, its former name, kept as a hidden alias."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qharbor import cli
from qharbor.engines import benchmarking, costs

runner = CliRunner()


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The benchmark's calls, answered with one fitted model instead of timing the engines."""
    calls: list[dict[str, Any]] = []

    def benchmark(names: Any, on_probe: Any = None, *, passes: int = 1) -> costs.HostFit:
        calls.append({"names": names, "passes": passes})
        model = costs.CostModel(tuple(1e-3 if t == "call" else 0.0 for t in costs.TERMS))
        host = {"cpu": "test cpu", "cores": 2}
        return costs.HostFit("f" * 12, host, {"stim:tableau:double": model}, took_s=0.5)

    monkeypatch.setattr(benchmarking, "benchmark", benchmark)
    monkeypatch.setattr(benchmarking, "probe_count", lambda names: 3)
    return calls


@pytest.mark.parametrize("command", ["benchmark", "calibrate"])
def test_benchmark_fits_and_stores_the_engines_cost_models(
    command: str, tmp_path: Path, measured: list[dict[str, Any]]
) -> None:
    path = tmp_path / "fits.json"
    done = runner.invoke(
        cli.app,
        ["engines", command, "--engine", "stim", "--passes", "2", "--path", str(path), "--json"],
    )
    assert done.exit_code == 0, done.output
    assert measured == [{"names": ["stim"], "passes": 2}]
    report = json.loads(done.stdout)
    assert report["path"] == str(path)
    assert "stim:tableau:double" in costs.read_file(path)["hosts"]["f" * 12]["models"]


def test_only_the_new_name_is_listed_in_the_help() -> None:
    done = runner.invoke(cli.app, ["engines", "--help"])
    assert done.exit_code == 0
    assert "benchmark" in done.stdout
    assert "calibrate" not in done.stdout

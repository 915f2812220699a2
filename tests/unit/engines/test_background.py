"""The engines' background benchmark at centre start: only on a host without a fit, once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from qharbor.engines import costs, twin_costs, twin_methods
from qharbor.engines.background import BackgroundBenchmark


def wait(benchmark: BackgroundBenchmark) -> None:
    assert benchmark._thread is not None
    benchmark._thread.join(timeout=120)
    assert not benchmark._thread.is_alive()


def test_a_host_with_a_fit_starts_no_benchmark(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    model = costs.CostModel(tuple(0.0 for _ in costs.TERMS))
    costs.save_fit(
        costs.HostFit(costs.current_fingerprint(), {}, {"aer:dense:double": model}), path
    )
    # The twins' methods are fitted beside the engines; a host needs both.
    twin_fit = twin_costs.TwinFit(twin_costs.fingerprint(), twin_methods.DEFAULT_COEFFICIENTS)
    twin_costs.save(twin_fit, path.with_name(twin_costs.FILE_NAME))
    benchmark = BackgroundBenchmark(path)
    benchmark.start()
    wait(benchmark)
    assert benchmark._process is None


def test_a_second_process_leaves_the_benchmark_to_the_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "costs.json"
    path.with_name(path.name + ".lock").write_text("1")  # another process is measuring
    benchmark = BackgroundBenchmark(path)
    with caplog.at_level(logging.INFO, logger="qharbor.engines.background"):
        benchmark.start()
        wait(benchmark)
    assert benchmark._process is not None and benchmark._process.returncode == 3
    assert "another process is benchmarking" in caplog.text
    assert not path.exists()

"""The background calibration at centre start: only when this host has no fit, one at a time."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from qharbor.engines import costs
from qharbor.engines.background import BackgroundCalibration


def wait(calibration: BackgroundCalibration) -> None:
    assert calibration._thread is not None
    calibration._thread.join(timeout=120)
    assert not calibration._thread.is_alive()


def test_a_host_with_a_fit_starts_no_calibration(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    model = costs.CostModel(tuple(0.0 for _ in costs.TERMS))
    costs.save_fit(
        costs.HostFit(costs.current_fingerprint(), {}, {"aer:dense:double": model}), path
    )
    calibration = BackgroundCalibration(path)
    calibration.start()
    wait(calibration)
    assert calibration._process is None


def test_a_second_process_leaves_the_calibration_to_the_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "costs.json"
    path.with_name(path.name + ".lock").write_text("1")  # another process is measuring
    calibration = BackgroundCalibration(path)
    with caplog.at_level(logging.INFO, logger="qharbor.engines.background"):
        calibration.start()
        wait(calibration)
    assert calibration._process is not None and calibration._process.returncode == 3
    assert "another process is calibrating" in caplog.text
    assert not path.exists()

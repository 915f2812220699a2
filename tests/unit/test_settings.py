"""Settings: the engines' benchmark setting and its former name."""

from __future__ import annotations

import logging

import pydantic
import pytest

from qharbor.settings import Settings


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QHARBOR_ENGINE_BENCHMARK", "QHARBOR_ENGINE_CALIBRATION"):
        monkeypatch.delenv(name, raising=False)


def test_the_engine_benchmark_runs_in_the_background_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().engine_benchmark == "background"
    monkeypatch.setenv("QHARBOR_ENGINE_BENCHMARK", "off")
    assert Settings().engine_benchmark == "off"
    assert Settings(engine_benchmark="background").engine_benchmark == "background"


def test_the_former_name_engine_calibration_is_still_read_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="qharbor.settings"):
        assert Settings(engine_calibration="off").engine_benchmark == "off"
        monkeypatch.setenv("QHARBOR_ENGINE_CALIBRATION", "off")
        assert Settings().engine_benchmark == "off"
    assert "use engine_benchmark (QHARBOR_ENGINE_BENCHMARK)" in caplog.text
    # The new name wins where both are set.
    monkeypatch.setenv("QHARBOR_ENGINE_BENCHMARK", "background")
    assert Settings().engine_benchmark == "background"
    assert Settings(engine_benchmark="background").engine_benchmark == "background"


def test_a_wrong_value_under_either_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(pydantic.ValidationError, match="engine_benchmark"):
        Settings(engine_calibration="sometimes")
    monkeypatch.setenv("QHARBOR_ENGINE_CALIBRATION", "sometimes")
    with pytest.raises(pydantic.ValidationError, match="engine_benchmark"):
        Settings()

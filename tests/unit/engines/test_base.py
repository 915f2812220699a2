"""The engine registry."""

from __future__ import annotations

import pytest

from qharbor import errors
from qharbor.engines import base, get_engine
from qharbor.engines.aer import AerEngine


def test_aer_is_registered_by_name() -> None:
    assert isinstance(get_engine("aer"), AerEngine)


def test_an_engine_is_created_once_per_process() -> None:
    assert get_engine("aer") is get_engine("aer")


def test_unknown_engine_is_an_execution_error_naming_the_registered_ones() -> None:
    with pytest.raises(errors.ExecutionError) as caught:
        get_engine("no-such-engine")
    assert caught.value.code == "ENGINE_ERROR"
    assert "no-such-engine" in caught.value.message
    assert "aer" in caught.value.message


def test_registered_engine_is_returned_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeEngine:
        name = "fake"

    monkeypatch.setattr(base, "_INSTANCES", {})
    monkeypatch.setattr(base, "_FACTORIES", dict(base._FACTORIES))
    base.register("fake", FakeEngine)
    engine = get_engine("fake")
    assert isinstance(engine, FakeEngine)
    assert get_engine("fake") is engine


def test_the_four_built_in_engines_are_registered_and_say_their_precisions() -> None:
    assert {"aer", "qulacs", "qsim", "stim"} <= set(base.registered())
    precisions = {name: get_engine(name).precisions for name in ("aer", "qulacs", "qsim", "stim")}
    assert precisions == {
        "aer": {"double", "single"},
        "qulacs": {"double"},
        "qsim": {"single"},
        "stim": {"double", "single"},
    }

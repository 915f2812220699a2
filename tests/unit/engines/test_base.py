"""The engine registry: built-in engines and plugins found through entry points."""

from __future__ import annotations

import logging
import sys
import tomllib
from pathlib import Path

import pytest
from qiskit import QuantumCircuit

from qharbor import errors
from qharbor.engines import Experiment, base, capabilities, get_engine
from qharbor.engines.aer import AerEngine
from tests.unit.engines import plugin


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


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry that reads the entry points again, and forgets what it read afterwards."""
    monkeypatch.setattr(base, "_discovered", False)
    monkeypatch.setattr(base, "_FACTORIES", {})
    monkeypatch.setattr(base, "_INSTANCES", {})


def test_the_entry_points_pyproject_declares_are_the_built_in_engines() -> None:
    pyproject = Path(__file__).parents[3] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["entry-points"]
    assert declared[base.ENTRY_POINT_GROUP] == base.BUILTIN


def test_without_the_entry_point_group_the_built_in_engines_are_still_registered(
    monkeypatch: pytest.MonkeyPatch, fresh_registry: None
) -> None:
    # An install whose metadata predates the group declares no engines at all.
    monkeypatch.setattr(base.metadata, "entry_points", lambda **_: [])
    assert base.registered() == sorted(base.BUILTIN)
    assert isinstance(get_engine("aer"), AerEngine)
    assert base.plugins() == []


def test_a_plugin_engine_is_found_through_its_entry_point_and_imported_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None
) -> None:
    monkeypatch.syspath_prepend(str(plugin.install(tmp_path, {"toy": "toy_engine:ToyEngine"})))
    monkeypatch.delitem(sys.modules, "toy_engine", raising=False)
    assert "toy" in base.registered()
    assert base.plugins() == ["toy"]
    assert "toy_engine" not in sys.modules
    engine = get_engine("toy")
    assert engine.name == "toy" and "toy_engine" in sys.modules
    assert isinstance(engine, capabilities.ComputesStatevectors)
    assert not isinstance(engine, capabilities.EmulatesDevices)
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    (runs,) = engine.run([Experiment(bell)], method="statevector", shots=400, seed=3)
    assert set(runs[0].counts) == {"00", "11"} and sum(runs[0].counts.values()) == 400


def test_broken_plugins_are_skipped_or_refused_with_the_reason_and_the_rest_still_load(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_registry: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entries = {
        "toy": "toy_engine:ToyEngine",
        "gone": "no_such_module_here:Engine",
        "typo": "toy_engine:TyoEngine",
        "half": "toy_engine:NotAnEngine",
        "renamed": "toy_engine:ToyEngine",
        "novalue": "toy_engine",
        "aer": "toy_engine:ToyEngine",
    }
    monkeypatch.syspath_prepend(str(plugin.install(tmp_path, entries)))
    monkeypatch.delitem(sys.modules, "toy_engine", raising=False)
    with caplog.at_level(logging.ERROR, logger="qharbor.engines.base"):
        names = base.registered()
    # A value that names no class, or a built-in's name, is skipped at once and logged.
    assert "novalue" not in names
    assert "'aer' is taken by 'qharbor.engines.aer:AerEngine'" in caplog.text
    assert "'module:Class'" in caplog.text
    assert isinstance(get_engine("aer"), AerEngine)
    # The others are refused when used, each saying why and what to do.
    why = {
        "gone": "does not import (No module named 'no_such_module_here')",
        "typo": "does not import (AttributeError",
        "half": "lacks the interface of qharbor.engines.Engine",
        "renamed": "its engine calls itself 'toy'",
    }
    for name, reason in why.items():
        with pytest.raises(errors.ExecutionError) as caught:
            get_engine(name)
        assert f"engine plugin {name!r}" in caught.value.message
        assert reason in caught.value.message
        assert "fix or uninstall the distribution" in caught.value.message
        assert reason in caplog.text
    assert get_engine("toy").name == "toy"


def test_unreadable_metadata_leaves_the_built_in_engines(
    monkeypatch: pytest.MonkeyPatch, fresh_registry: None, caplog: pytest.LogCaptureFixture
) -> None:
    def unreadable(**_: object) -> list[object]:
        raise ValueError("bad metadata")

    monkeypatch.setattr(base.metadata, "entry_points", unreadable)
    with caplog.at_level(logging.ERROR, logger="qharbor.engines.base"):
        assert base.registered() == sorted(base.BUILTIN)
    assert "built-in engines only" in caplog.text


def test_the_built_in_engines_have_the_capabilities_they_implement() -> None:
    states = {
        n for n in base.BUILTIN if isinstance(get_engine(n), capabilities.ComputesStatevectors)
    }
    values = {
        n for n in base.BUILTIN if isinstance(get_engine(n), capabilities.ComputesExpectationValues)
    }
    twins = {n for n in base.BUILTIN if isinstance(get_engine(n), capabilities.EmulatesDevices)}
    assert (states, values, twins) == ({"aer", "qulacs", "qsim"}, {"qulacs", "qsim"}, {"aer"})

"""What an engine may run: the engine and precision a job pins are checked at submission."""

from __future__ import annotations

import pytest

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import base
from qharbor.engines.eligibility import check_pinned
from tests.unit.engines.fakes import FakeEngine

DEVICES = default_catalogue()
STATEVECTOR = DEVICES.get("statevector")


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeEngine]:
    """The fakes registered (and created) in this process's registry, for this test only."""
    base.registered()  # the built-in engines first, so they do not replace the fakes
    added = {
        "qsim": FakeEngine("qsim", ("single",)),
        "elsewhere": FakeEngine("elsewhere", ("double",)),
    }
    for name, engine in added.items():
        monkeypatch.setitem(base._FACTORIES, name, lambda engine=engine: engine)
        monkeypatch.setitem(base._INSTANCES, name, engine)
    return added


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(errors.PrecisionInvalid, match="one of: double, single"):
        check_pinned(STATEVECTOR, "auto", "half")


def test_an_unknown_engine_is_refused_with_the_names_to_use() -> None:
    with pytest.raises(errors.EngineNotFound) as caught:
        check_pinned(STATEVECTOR, "quokka", "double")
    assert "aer" in caught.value.detail["available"]
    assert "use 'auto'" in caught.value.message


def test_an_engine_the_device_does_not_run_on_is_refused(registry: dict) -> None:
    with pytest.raises(errors.EngineNotOnDevice) as caught:
        check_pinned(DEVICES.get("density-matrix"), "qsim", "single")
    assert caught.value.detail["engines"] == ["aer"]
    with pytest.raises(errors.EngineNotOnDevice):
        check_pinned(STATEVECTOR, "elsewhere", "double")


def test_a_single_precision_engine_pinned_in_a_double_job_is_refused(registry: dict) -> None:
    with pytest.raises(errors.EngineCannotRun, match="set precision 'single'"):
        check_pinned(STATEVECTOR, "qsim", "double")
    assert check_pinned(STATEVECTOR, "qsim", "single") is registry["qsim"]
    assert check_pinned(STATEVECTOR, "auto", "double") is None

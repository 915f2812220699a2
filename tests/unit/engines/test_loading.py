"""Engines are loaded once per process, and a worker can load them ahead of its first task."""

from __future__ import annotations

from qharbor.devices import default_catalogue
from qharbor.engines import base
from qharbor.engines.loading import warm_up

STATEVECTOR = default_catalogue().get("statevector")


def test_warm_up_loads_every_engine_selection_may_use() -> None:
    warm_up([STATEVECTOR])
    assert set(STATEVECTOR.candidate_engines) & set(base.registered()) <= set(base._INSTANCES)

"""An engine plugin installed through the qharbor.engines entry-point group, over real HTTP.

The plugin is installed as pip installs one (a module and a dist-info directory)
before the centre starts; the centre and its worker processes find it through
``importlib.metadata``, list it, and run the jobs that pin it. A broken plugin
beside it is listed as unavailable and refused when pinned, and the centre runs on.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from qharbor.engines import base
from tests.integration.conftest import RunningCentre, start_centre
from tests.programs import BELL
from tests.unit.engines import plugin

#: One qubit turned by ry(1.1): P(1) = sin²(0.55).
TURNED = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nbit c;\nry(1.1) q;\nc = measure q;\n'


@pytest.fixture(scope="module")
def centre_with_plugins() -> Iterator[RunningCentre]:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        where = plugin.install(
            Path(tmp) / "site", {"toy": "toy_engine:ToyEngine", "gone": "no_such_module:Engine"}
        )
        patch.syspath_prepend(str(where))
        # Worker processes are fresh interpreters: they find the plugin on PYTHONPATH.
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(where), os.environ.get("PYTHONPATH")]))
        )
        patch.setattr(base, "_discovered", False)
        patch.setattr(base, "_FACTORIES", {})
        patch.setattr(base, "_INSTANCES", {})
        server, _schema = start_centre("sqlite", Path(tmp), workers=1)
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()
            sys.modules.pop("toy_engine", None)


def test_the_centre_lists_a_plugin_engine_and_a_broken_one_as_unavailable(
    centre_with_plugins: RunningCentre,
) -> None:
    engines = {e["name"]: e for e in centre_with_plugins.http.get("/v1/engines").json()["engines"]}
    assert {"aer", "qulacs", "qsim", "stim", "toy", "gone"} <= set(engines)
    assert engines["toy"]["available"] is True
    assert engines["toy"]["versions"] == {"toy": "1.0"}
    assert engines["toy"]["precisions"] == ["double"]
    assert engines["gone"]["available"] is False
    assert "engine plugin 'gone' (no_such_module:Engine) cannot be used" in engines["gone"]["why"]
    assert engines["aer"]["available"] is True
    devices = {d["name"]: d for d in centre_with_plugins.http.get("/v1/devices").json()["devices"]}
    assert devices["statevector"]["engines"] == ["aer", "qulacs", "qsim", "stim", "gone", "toy"]


def test_a_job_pinned_to_the_plugin_engine_runs_on_it_in_a_worker(
    centre_with_plugins: RunningCentre,
) -> None:
    running = centre_with_plugins
    shots = 4000
    job = running.submit(programs=[BELL, TURNED], shots=shots, seed=11, options={"engine": "toy"})
    result = running.result(job["id"])
    assert result["metadata"]["engine"] == "toy"
    assert result["metadata"]["engine_reason"] == "pinned by the job"
    assert result["metadata"]["versions"]["toy"] == "1.0"
    bell, turned = (e["counts"] for e in result["experiments"])
    assert set(bell) <= {"00", "11"} and sum(bell.values()) == shots
    p1 = math.sin(0.55) ** 2
    sigma = math.sqrt(p1 * (1 - p1) / shots)
    assert abs(turned.get("1", 0) / shots - p1) < 5 * sigma


def test_pinning_a_broken_plugin_is_refused_and_automatic_jobs_do_not_choose_it(
    centre_with_plugins: RunningCentre,
) -> None:
    running = centre_with_plugins
    response = running.http.post(
        "/v1/jobs",
        json={"device": "statevector", "programs": [BELL], "options": {"engine": "gone"}},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "ENGINE_NOT_ON_DEVICE"
    assert "not installed on this centre" in error["message"]
    # Without a cost fit on this host, a plugin runs only when pinned.
    job = running.submit(programs=[BELL], shots=10)
    assert running.result(job["id"])["metadata"]["engine"] in base.BUILTIN

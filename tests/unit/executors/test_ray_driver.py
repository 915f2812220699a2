"""The Ray driver: tasks no live node can hold, and the threads each task may run."""

from __future__ import annotations

import os

import pytest

from qharbor.engines import threads
from qharbor.executors.ray_cluster import Node, Placement
from qharbor.executors.ray_driver import _run, task_threads, unplaceable
from qharbor.jobs.result import Result
from tests.programs import BELL
from tests.unit.executors.test_ray_chunks import claim, spec


def test_a_task_no_live_node_can_hold_is_named_unplaceable() -> None:
    head = Node("h" * 16, "10.0.0.1", True, {"CPU": 1, "memory": 2 << 30})
    qpu_node = Node("q" * 16, "10.0.0.2", True, {"CPU": 2, "memory": 1 << 30, "device:q": 1})
    task = {"num_cpus": 1, "num_gpus": 0, "memory": 1 << 29, "resources": {"device:q": 0.001}}
    assert unplaceable(task, [head, qpu_node]) is None
    why = unplaceable(task, [head])  # the processor's node died
    assert why is not None and "device:q=0.001" in why
    assert unplaceable({**task, "memory": 3 << 30}, [head, qpu_node]) is not None
    assert unplaceable({**task, "resources": {}}, [head]) is None


def test_a_task_runs_its_engine_on_the_cpus_it_asked_for() -> None:
    assert task_threads(Placement(num_cpus=1.0)) == 1
    assert task_threads(Placement(num_cpus=4.0)) == 4
    assert task_threads(Placement(num_cpus=0.5)) == 1


def test_a_task_sets_its_thread_budget_over_the_workers_and_keeps_the_nodes_other_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker that last ran a task of 2 CPUs, on a node started with its own OpenMP policy.
    monkeypatch.setenv(threads.BUDGET_ENV, "2")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    task = claim(spec(BELL))
    result = _run(task, None, {threads.BUDGET_ENV: "1", "OMP_WAIT_POLICY": "PASSIVE"})
    assert isinstance(result, Result), result
    assert os.environ[threads.BUDGET_ENV] == "1"
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"

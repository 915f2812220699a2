"""The Ray driver gives up on a task no live node can hold, rather than wait for ever."""

from __future__ import annotations

from qharbor.executors.ray_cluster import Node, Placement
from qharbor.executors.ray_driver import task_threads, unplaceable


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

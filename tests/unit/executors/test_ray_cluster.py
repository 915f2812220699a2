"""What a claim asks of the cluster: chunks only for the CPUs that can run them."""

from __future__ import annotations

from qharbor.executors.ray_cluster import Cluster, Node, placement
from tests.unit.executors.test_ray_chunks import SWEEP, claim, spec

STATEVECTOR = "device:statevector"


def node(name: str, cpus: float, alive: bool = True, **resources: float) -> Node:
    return Node(name * 4, "10.0.0.1", alive, {"CPU": cpus, "memory": 2 << 30, **resources})


def chunks_for(cluster: Cluster) -> tuple[int, int]:
    asked = placement(claim(spec(SWEEP, [{"theta": 0.1}])), cluster, chunk_runs=64, max_retries=3)
    return asked.max_chunks, asked.slots


def test_only_nodes_hosting_the_device_count_towards_its_chunks() -> None:
    cluster = Cluster(
        (
            node("a", 2, **{STATEVECTOR: 4}),
            node("b", 8),  # hosts no statevector device: its CPUs can take no chunk
            node("c", 1, **{STATEVECTOR: 4, "device:fakeqpu": 1}),
            node("d", 4, alive=False, **{STATEVECTOR: 4}),  # dead
        )
    )
    assert cluster.cpus == 11
    assert cluster.cpus_for(STATEVECTOR) == 3
    assert chunks_for(cluster) == (6, 3)


def test_when_no_node_names_the_device_every_live_node_counts() -> None:
    # The driver then asks for no device resource, so any node runs the chunks.
    cluster = Cluster((node("a", 2), node("b", 1), node("c", 4, alive=False)))
    assert chunks_for(cluster) == (6, 3)

"""What a Ray cluster holds, and what a job asks of it.

:class:`Cluster` is a snapshot of the nodes and their resources (Ray's own
names: ``CPU``, ``GPU``, ``memory`` in bytes, and custom resources such as
``device:<name>`` for a node that hosts a device twin or a QPU driver).
:func:`placement` is what one claim asks for. Plain values, no Ray import: the
centre, the driver process and ``qharbor ray status`` share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qharbor.jobs.claims import Claim

#: The custom resource a node advertises for a device it hosts: ``device:<name>``.
DEVICE_RESOURCE = "device:{}"
#: How much of a device resource one job takes: many jobs may share a node's device.
DEVICE_SHARE = 0.001


@dataclass(frozen=True)
class Node:
    """One node of the cluster.

    Attributes:
        node_id: Ray's node id.
        address: the node's IP address.
        alive: whether the head hears from it.
        resources: its total resources (``memory`` in bytes).
    """

    node_id: str
    address: str
    alive: bool
    resources: dict[str, float]

    @property
    def name(self) -> str:
        """A short name: the address and the id's first eight characters."""
        return f"{self.address}/{self.node_id[:8]}"

    @property
    def memory_bytes(self) -> int:
        return int(self.resources.get("memory", 0))

    @property
    def cpus(self) -> float:
        return float(self.resources.get("CPU", 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "address": self.address,
            "alive": self.alive,
            "resources": dict(self.resources),
        }


@dataclass(frozen=True)
class Cluster:
    """The cluster's nodes, and the resources free now."""

    nodes: tuple[Node, ...]
    available: dict[str, float] = field(default_factory=dict)

    @property
    def alive(self) -> list[Node]:
        return [n for n in self.nodes if n.alive]

    @property
    def cpus(self) -> int:
        """CPUs of the live nodes together."""
        return int(sum(n.cpus for n in self.alive))

    def cpus_for(self, resource: str) -> int:
        """CPUs of the live nodes a task asking for ``resource`` can run on.

        Only the nodes that advertise it; every live node when none does (the
        driver then does not ask for it: a resource no node has never schedules).
        """
        hosts = [n for n in self.alive if n.resources.get(resource, 0) > 0]
        return int(sum(n.cpus for n in hosts)) if hosts else self.cpus

    def largest(self) -> Node | None:
        """The live node with the most memory."""
        return max(self.alive, key=lambda n: n.memory_bytes, default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [n.to_json() for n in self.nodes],
            "available": dict(self.available),
        }


@dataclass(frozen=True)
class Placement:
    """What one claim asks the cluster for, per task.

    Attributes:
        num_cpus: CPUs per task.
        num_gpus: GPUs per task (1 for a GPU engine).
        memory_bytes: memory per task (bytes): the claim's estimated need.
        resources: custom resources (``device:<name>``), asked for only where a
            node advertises them.
        max_retries: how often Ray runs a task again after its node died.
        chunk_runs: the fewest runs a fanned-out chunk holds.
        max_chunks: the most chunks one job is split into.
        slots: tasks the cluster runs at once (its live CPUs).
    """

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_bytes: int = 0
    resources: dict[str, float] = field(default_factory=dict)
    max_retries: int = 3
    chunk_runs: int = 64
    max_chunks: int = 1
    slots: int = 1


def is_real_device(claim: Claim) -> bool:
    """Whether the claim runs on a real QPU, whose runs are never repeated unasked."""
    return claim.target is not None and claim.target.kind == "qpu"


def uses_gpu(claim: Claim) -> bool:
    """Whether the claim's device runs on a GPU engine (Aer's ``device="GPU"``)."""
    target = claim.target
    if target is None:
        return False
    return str(target.options.get("device", "")).upper() == "GPU" or "gpu" in target.engine


def placement(claim: Claim, cluster: Cluster, *, chunk_runs: int, max_retries: int) -> Placement:
    """What a claim asks of the cluster: memory, a GPU, its device's resource, chunks."""
    real = is_real_device(claim)
    device = DEVICE_RESOURCE.format(claim.device)
    # Only the CPUs of nodes that host the device can take its chunks.
    cpus = cluster.cpus_for(device)
    return Placement(
        num_cpus=1.0,
        num_gpus=1.0 if uses_gpu(claim) else 0.0,
        memory_bytes=claim.memory_bytes,
        resources={device: DEVICE_SHARE},
        max_retries=0 if real else max_retries,
        chunk_runs=chunk_runs,
        # Chunks for every CPU: a node that finishes early takes the next chunk.
        max_chunks=1 if real else max(1, 2 * cpus),
        slots=max(1, cpus),
    )

"""The Ray driver: a child process of the centre that submits its claims to a Ray cluster.

Ray ends a driver whose cluster head is gone, so the driver is not the centre
itself: the :class:`qharbor.executors.ray.RayExecutor` starts this process,
talks to it over a socket, and starts it again when the head returns. The driver
dies with the centre (``PR_SET_PDEATHSIG``), and Ray then ends the tasks it
owned: a killed centre leaves no work whose results anyone would store.

Messages to the driver: ``("submit", claim, plan)``, ``("cancel", job_id)``.
Messages from it: ``("cluster", Cluster)`` (at start and every second),
``("progress", job_id, attempt, done, total)``, ``("done", job_id, attempt, result)``,
``("failed", job_id, attempt, code, message)``, ``("lost", job_id, attempt, why)``,
and ``("unavailable", why)`` just before it ends for want of a cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from qharbor import errors
from qharbor.engines import costs, threads
from qharbor.executors import ray_chunks
from qharbor.executors.local import die_with_parent
from qharbor.executors.ray_cluster import Cluster, Node, Placement
from qharbor.jobs.claims import Claim

log = logging.getLogger(__name__)

#: Seconds between looks at the cluster's nodes.
CLUSTER_EVERY_S = 1.0


def _run(claim: Claim, chunk: ray_chunks.Chunk | None, env: dict[str, str]) -> Any:
    """A Ray task: one chunk of a claim, or the whole claim; errors as values.

    ``env`` (:func:`task_environment`) is set before the engines are first
    imported in this worker, which is when OpenMP reads it. The thread budget
    (:data:`qharbor.engines.threads.BUDGET_ENV`) is set for every task: the
    engines read it before each run, and one worker may run tasks of different sizes.
    """
    for name, value in env.items():
        if name == threads.BUDGET_ENV:
            os.environ[name] = value
        else:
            os.environ.setdefault(name, value)
    try:
        if chunk is None:
            from qharbor.workers.execution import execute

            return execute(claim)
        import ray

        return ray_chunks.run_chunk(claim, chunk, ray.get_runtime_context().get_node_id())
    except errors.QHarborError as exc:
        return ("failed", exc.code, exc.message)
    except Exception as exc:  # an engine bug must fail the job, not the task
        return ("failed", "ENGINE_ERROR", repr(exc))


@dataclass
class _Job:
    claim: Claim
    total: int
    chunk_runs: dict[Any, int] = field(default_factory=dict)  # pending chunk ref -> runs
    done: int = 0
    final: Any = None  # the ref whose value is the job's result (a job run whole)
    chunks: list[ray_chunks.Chunk] = field(default_factory=list)
    refs: list[Any] = field(default_factory=list)  # the chunks' refs, in order
    options: dict[str, Any] = field(default_factory=dict)  # what each of its tasks asks for


class Driver:
    """Submits claims as Ray tasks and reports how they end."""

    def __init__(self, conn: Connection, ray: Any) -> None:
        self._conn = conn
        self._ray = ray
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._jobs: dict[str, _Job] = {}
        self._closed = threading.Event()
        self._run_task = ray.remote(_run)
        self._env = task_environment()
        self._advertised: set[str] = set()

    def _read(self) -> None:
        while True:
            try:
                self._inbox.put(self._conn.recv())
            except (EOFError, OSError):
                self._closed.set()
                self._inbox.put(None)
                return

    def _send(self, *message: Any) -> None:
        try:
            self._conn.send(message)
        except (BrokenPipeError, OSError):
            self._closed.set()

    def cluster(self) -> Cluster:
        """The cluster's nodes now (raises when the head cannot be reached)."""
        nodes = [
            Node(
                node_id=n["NodeID"],
                address=n["NodeManagerAddress"],
                alive=bool(n["Alive"]),
                resources=dict(n.get("Resources") or {}),
            )
            for n in self._ray.nodes()
        ]
        available = self._ray.available_resources()
        cluster = Cluster(nodes=tuple(nodes), available=dict(available))
        self._advertised = {k for n in nodes if n.alive for k in n.resources}
        return cluster

    def run(self) -> None:
        threading.Thread(target=self._read, name="qharbor-ray-inbox", daemon=True).start()
        self._send("cluster", self.cluster())
        last_cluster = time.monotonic()
        while not self._closed.is_set():
            self._drain()
            self._collect()
            if time.monotonic() - last_cluster >= CLUSTER_EVERY_S:
                cluster = self.cluster()
                self._send("cluster", cluster)
                self._give_up_unplaceable(cluster)
                last_cluster = time.monotonic()

    def _drain(self) -> None:
        while True:
            try:
                message = self._inbox.get_nowait() if self._jobs else self._inbox.get(timeout=0.2)
            except queue.Empty:
                return
            if message is None:
                return
            if message[0] == "submit":
                self._submit(message[1], message[2])
            elif message[0] == "cancel":
                self._cancel(message[1])

    def _options(self, claim: Claim, placement: Placement) -> dict[str, Any]:
        resources = {
            name: amount
            for name, amount in placement.resources.items()
            if name in self._advertised  # a custom resource no node has would never schedule
        }
        return {
            "num_cpus": placement.num_cpus,
            "num_gpus": placement.num_gpus,
            "memory": placement.memory_bytes or None,
            "resources": resources,
            # A simulator's chunk runs again on another node if its node dies; a
            # real device's run is never repeated behind its owner's back.
            "max_retries": placement.max_retries,
            "retry_exceptions": False,
            "name": f"qharbor:{claim.job_id}:{claim.attempt}",
        }

    def _submit(self, claim: Claim, placement: Placement) -> None:
        options = self._options(claim, placement)
        env = {**self._env, threads.BUDGET_ENV: str(task_threads(placement))}
        chunks = ray_chunks.plan(claim, placement.chunk_runs, placement.max_chunks, placement.slots)
        job = _Job(claim, total=sum(c.runs for c in chunks), options=options)
        if len(chunks) == 1:
            job.final = self._run_task.options(**options).remote(claim, None, env)
        else:
            # Gathered here once every chunk is in, not in a task of its own: a
            # gathering task would wait for a worker process of its own.
            job.chunks = chunks
            job.refs = [self._run_task.options(**options).remote(claim, c, env) for c in chunks]
            job.chunk_runs = {ref: c.runs for ref, c in zip(job.refs, chunks, strict=True)}
            self._send("progress", claim.job_id, claim.attempt, 0, job.total)
        self._jobs[claim.job_id] = job

    def _give_up_unplaceable(self, cluster: Cluster) -> None:
        """Report lost the jobs no live node can hold any more.

        Ray keeps a task that no node can place waiting, silently and for ever: a
        processor's run whose only node died, or a job whose memory no node hosting
        its device has. Its job is lost instead (a real device's job fails).
        """
        for job_id, job in list(self._jobs.items()):
            why = unplaceable(job.options, cluster.alive)
            if why is None:
                continue
            del self._jobs[job_id]
            self._cancel_refs(job)
            self._send("lost", job_id, job.claim.attempt, why)

    def _cancel(self, job_id: str) -> None:
        job = self._jobs.pop(job_id, None)
        if job is not None:
            self._cancel_refs(job)

    def _cancel_refs(self, job: _Job) -> None:
        for ref in [*job.chunk_runs, *([job.final] if job.final is not None else [])]:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)

    def _collect(self) -> None:
        owners: dict[Any, tuple[str, bool]] = {}
        for job_id, job in self._jobs.items():
            if job.final is not None:
                owners[job.final] = (job_id, True)
            for ref in job.chunk_runs:
                owners[ref] = (job_id, False)
        if not owners:
            return
        pending = list(owners)
        ready, _ = self._ray.wait(pending, num_returns=1, timeout=0.05)
        if ready:
            ready, _ = self._ray.wait(pending, num_returns=len(pending), timeout=0)
        for ref in ready:
            job_id, final = owners[ref]
            found = self._jobs.get(job_id)
            if found is None:
                continue
            job = found
            if not final:
                job.done += job.chunk_runs.pop(ref)
                self._send("progress", job_id, job.claim.attempt, job.done, job.total)
                if job.chunk_runs:
                    continue
            del self._jobs[job_id]
            self._finish(job, [ref] if final else job.refs)

    def _finish(self, job: _Job, refs: list[Any]) -> None:
        """Report a job whose task, or every chunk, has ended."""
        ray = self._ray
        claim = job.claim
        try:
            values = ray.get(refs)
        except ray.exceptions.TaskCancelledError:
            return
        except ray.exceptions.RayError as exc:
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self._send("lost", claim.job_id, claim.attempt, why)
            return
        failed = next((v for v in values if isinstance(v, tuple)), None)
        if failed is not None:
            self._send("failed", claim.job_id, claim.attempt, failed[1], failed[2])
            return
        if not job.chunks:
            self._send("done", claim.job_id, claim.attempt, values[0])
            return
        try:
            result = ray_chunks.gather(claim, job.chunks, values)
        except errors.QHarborError as exc:
            self._send("failed", claim.job_id, claim.attempt, exc.code, exc.message)
            return
        self._send("done", claim.job_id, claim.attempt, result)


def unplaceable(options: dict[str, Any], nodes: list[Node]) -> str | None:
    """Why no live node can run a task with these options; None when one can."""
    wanted = {name: amount for name, amount in options.get("resources", {}).items()}
    if options.get("num_cpus"):
        wanted["CPU"] = options["num_cpus"]
    if options.get("num_gpus"):
        wanted["GPU"] = options["num_gpus"]
    memory = options.get("memory") or 0
    for node in nodes:
        if node.memory_bytes >= memory and all(
            node.resources.get(name, 0) >= amount for name, amount in wanted.items()
        ):
            return None
    asked = ", ".join(f"{name}={amount:g}" for name, amount in sorted(wanted.items()))
    memory_text = f"{memory / 2**30:.1f} GiB of memory" if memory else "no memory"
    return f"no live node of the cluster has {memory_text} and {asked or 'a CPU'}"


def task_environment() -> dict[str, str]:
    """Variables the Ray workers that run this centre's tasks get, on every node.

    Ray starts its workers with the environment of ``ray start``, not the
    driver's, so each task sets these before it imports an engine (a
    ``runtime_env`` would do it too, but only in workers Ray starts for it, not
    in the ones each node keeps ready). Without ``OMP_WAIT_POLICY=PASSIVE`` (see
    :func:`qharbor.executors.local.worker_environment`) an idle worker's OpenMP
    threads spin and take the CPU a busy worker on the same host needs (measured
    here: a chunk on the second of two 1-CPU nodes took 4 to 5 times as long).
    """
    names = ("OMP_WAIT_POLICY", costs.PATH_ENV)
    return {name: os.environ[name] for name in names if name in os.environ}


def task_threads(placement: Placement) -> int:
    """The threads one task's engine may run: the CPUs it asked Ray for, at least one.

    Ray counts a task's CPUs but does not stop it using more: an engine left to
    its default takes every core of the host, and two 1-CPU chunks on a 2-core
    host each ran at half speed.
    """
    return max(1, int(placement.num_cpus))


def connect(address: str) -> None:
    """Join the cluster at ``address`` as a driver of the centre's namespace, quietly.

    Raises:
        Exception: whatever Ray raises when the cluster cannot be reached.
    """
    import ray

    ray.init(
        address=address,
        namespace="qharbor",
        logging_level=logging.WARNING,
        log_to_driver=False,
        configure_logging=False,
    )


def driver_main(fd: int, parent_pid: int, address: str) -> None:
    """The driver process: connect to the cluster at ``address``, then serve the centre."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(fd)
    if os.getppid() != parent_pid:
        return
    import ray

    try:
        connect(address)
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("unavailable", f"cannot reach the Ray cluster at {address}: {exc}"))
        return
    try:
        Driver(conn, ray).run()
    except Exception as exc:  # the head went away mid-call
        with contextlib.suppress(OSError):
            conn.send(("unavailable", f"lost the Ray cluster at {address}: {exc}"))
    finally:
        # Ray may wait on a head that is gone; the centre starts a new driver anyway.
        os._exit(0)


if __name__ == "__main__":
    driver_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])

"""Qiskit job handles over qharbor jobs: ``QHarborJob`` for ``backend.run`` and
``QHarborPrimitiveJob`` for the primitives.

Both wait through the SDK's :class:`qharbor.client.Job`, so ``result()`` rides
out dropped connections and a restart of the centre, retrying transparently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.primitives import BasePrimitiveJob, PrimitiveResult
from qiskit.primitives.containers import BitArray, DataBin, PubResult, SamplerPubResult
from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result

from qharbor.client.job import Job

if TYPE_CHECKING:
    from qharbor.client.qiskit.backend import QHarborBackend

_STATUS = {
    "QUEUED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "DONE": JobStatus.DONE,
    "FAILED": JobStatus.ERROR,
    "CANCELLED": JobStatus.CANCELLED,
}


def job_status(status: str) -> JobStatus:
    """The Qiskit status of a qharbor status."""
    return _STATUS.get(status, JobStatus.INITIALIZING)


class QHarborJob(JobV1):
    """A ``backend.run`` job; ``result()`` gives a standard Qiskit ``Result``.

    Args:
        backend: the backend it ran on.
        job: the SDK's job handle.
        circuits: the circuits submitted, for names and register layouts; a job
            read back by id has none and names registers ``c0``, ``c1``, ...
    """

    def __init__(
        self,
        backend: QHarborBackend,
        job: Job,
        circuits: Sequence[QuantumCircuit] | None = None,
    ) -> None:
        super().__init__(backend, job.job_id)
        self._job = job
        self._circuits = list(circuits) if circuits is not None else None

    @property
    def harbor_job(self) -> Job:
        """The SDK's job handle (tags, events, raw result)."""
        return self._job

    def submit(self) -> None:
        raise NotImplementedError("qharbor jobs are submitted by backend.run()")

    def status(self) -> JobStatus:
        return job_status(self._job.status())

    def cancel(self) -> bool:
        return self._job.cancel() in ("CANCELLED", "RUNNING")

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the job and return its counts as a Qiskit ``Result``.

        Raises:
            qharbor.errors.JobFailed: the job failed; ``detail`` holds its error.
        """
        data = self._job.result(timeout=timeout)
        results = []
        for index, experiment in enumerate(data.experiments):
            circuit = self._circuits[experiment.program] if self._circuits else None
            # As in Aer, a circuit that measures nothing has no counts: get_counts raises.
            data_of = {"counts": _hex_counts(experiment.counts)} if experiment.counts else {}
            results.append(
                {
                    "shots": experiment.shots,
                    "success": True,
                    "data": data_of,
                    "header": _header(circuit, experiment.counts, index, experiment.name),
                    "seed_simulator": experiment.seed,
                }
            )
        return Result.from_dict(
            {
                "backend_name": data.device,
                "backend_version": str(data.metadata.get("versions", {}).get("qharbor", "")),
                "job_id": data.job_id,
                "success": True,
                "results": results,
                "date": dt.datetime.now(dt.UTC).isoformat(),
            }
        )


def _hex_counts(counts: dict[str, int]) -> dict[str, int]:
    """Counts keyed by the classical state as hex, as Aer reports them.

    The centre's keys hold every classical bit once (split by register only when
    the registers are the bits in order), so Qiskit's formatting with the
    circuit's header gives Aer's keys, register layout included.
    """
    return {hex(int(key.replace(" ", ""), 2)): value for key, value in counts.items() if key}


def _header(
    circuit: QuantumCircuit | None, counts: dict[str, int], index: int, name: str | None
) -> dict[str, Any]:
    if circuit is not None:
        registers = [[r.name, r.size] for r in circuit.cregs]
        return {
            "name": circuit.name,
            "creg_sizes": registers,
            "memory_slots": circuit.num_clbits,
            "metadata": circuit.metadata,
        }
    key = next(iter(counts), "")
    sizes = [len(part) for part in reversed(key.split(" "))] if key else []
    return {
        "name": name or f"circuit-{index}",
        "creg_sizes": [[f"c{i}", size] for i, size in enumerate(sizes)],
        "memory_slots": sum(sizes),
    }


class QHarborPrimitiveJob(BasePrimitiveJob[PrimitiveResult[Any], JobStatus]):
    """A sampler or estimator job; ``result()`` gives a ``PrimitiveResult``.

    Args:
        job: the SDK's job handle.
        kind: ``sampler`` or ``estimator``.
        circuits: the PUBs' circuits, for register names and metadata (None
            for a job read back by id: the centre's register names are used).
        callback: called once with the job id and the result when it arrives
            (``options.environment.callback``).
    """

    def __init__(
        self,
        job: Job,
        kind: str,
        circuits: Sequence[QuantumCircuit] | None = None,
        callback: Callable[[str, PrimitiveResult[Any]], Any] | None = None,
    ) -> None:
        super().__init__(job.job_id)
        self._job = job
        self._kind = kind
        self._callback = callback
        self._circuits = list(circuits) if circuits is not None else None
        self._result: PrimitiveResult[Any] | None = None

    @property
    def harbor_job(self) -> Job:
        """The SDK's job handle (tags, events, raw result)."""
        return self._job

    def result(self, timeout: float | None = None) -> PrimitiveResult[Any]:
        """Wait for the job and return its ``PrimitiveResult``.

        Connection errors while waiting (a dropped connection, a restart of the
        centre) are retried transparently.

        Raises:
            qharbor.errors.JobFailed: the job failed; ``detail`` holds its error,
                e.g. ``SESSION_CLOSED``.
        """
        if self._result is None:
            data = self._job.result(timeout=timeout)
            pubs = data.extra.get("pubs") or []
            if self._kind == "sampler":
                results: list[Any] = [
                    _sampler_result(pub, self._circuit(i)) for i, pub in enumerate(pubs)
                ]
            else:
                results = [_estimator_result(pub, self._circuit(i)) for i, pub in enumerate(pubs)]
            self._result = PrimitiveResult(
                results, metadata={"version": 2, "job_id": data.job_id, **data.metadata}
            )
            if self._callback is not None:
                self._callback(data.job_id, self._result)
        return self._result

    def _circuit(self, index: int) -> QuantumCircuit | None:
        return self._circuits[index] if self._circuits else None

    def status(self) -> JobStatus:
        return job_status(self._job.status())

    def done(self) -> bool:
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        return self.status() in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)

    def cancel(self) -> None:
        self._job.cancel()


def _sampler_result(pub: dict[str, Any], circuit: QuantumCircuit | None) -> SamplerPubResult:
    shape = tuple(pub["shape"])
    shots = int(pub["shots"])
    registers = [(r["name"], int(r["num_bits"])) for r in pub["registers"]]
    if circuit is not None and len(circuit.cregs) == len(registers):
        registers = [(r.name, r.size) for r in circuit.cregs]
    arrays: dict[str, list[np.ndarray]] = {name: [] for name, _ in registers}
    for counts in pub["counts"]:
        samples = [key for key, n in counts.items() for _ in range(int(n))]
        # Keys hold the registers last-first, separated by spaces.
        split = [key.split(" ")[::-1] for key in samples]
        for position, (name, size) in enumerate(registers):
            if size == 0:  # a register of no bits: no bytes per shot
                arrays[name].append(np.zeros((len(split), 0), np.uint8))
                continue
            bits = BitArray.from_samples([parts[position] for parts in split], size)
            arrays[name].append(bits.array)
    fields = {}
    for name, size in registers:
        stacked = np.stack(arrays[name]) if arrays[name] else np.zeros((0, shots, 0), np.uint8)
        fields[name] = BitArray(stacked.reshape(*shape, shots, stacked.shape[-1]), size)
    metadata = {"shots": shots, "circuit_metadata": circuit.metadata if circuit else {}}
    metadata.update(_simulated(pub))
    metadata.update(_mitigation(pub))
    return SamplerPubResult(DataBin(**fields, shape=shape), metadata=metadata)


def _estimator_result(pub: dict[str, Any], circuit: QuantumCircuit | None) -> PubResult:
    shape = tuple(pub["shape"])
    evs = np.asarray(pub["evs"], dtype=float).reshape(shape)
    stds = np.asarray(pub["stds"], dtype=float).reshape(shape)
    exact = bool(pub.get("exact", False))
    precision = pub.get("precision")
    metadata = {
        # Qiskit reports the precision aimed at, 0 for exact values.
        "target_precision": float(precision) if precision is not None else 0.0 if exact else None,
        "shots": pub.get("shots"),
        "exact": exact,
        "circuit_metadata": circuit.metadata if circuit else {},
        **_simulated(pub),
        **_mitigation(pub),
    }
    return PubResult(DataBin(evs=evs, stds=stds, shape=shape), metadata=metadata)


def _mitigation(pub: dict[str, Any]) -> dict[str, Any]:
    """What the centre's error mitigation did (``resilience``, as IBM's metadata names
    it) and, for a sampler with readout mitigation, its ``quasi_dists``."""
    out: dict[str, Any] = {}
    if "mitigation" in pub:
        out["resilience"] = pub["mitigation"]
    if "quasi_dists" in pub:
        out["quasi_dists"] = pub["quasi_dists"]
    return out


def _simulated(pub: dict[str, Any]) -> dict[str, int]:
    """``simulated_qubits`` where the centre dropped idle qubits: how many it simulated."""
    simulated = pub.get("simulated_qubits")
    return {"simulated_qubits": int(simulated)} if simulated is not None else {}

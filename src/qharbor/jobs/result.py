"""The result of a job: frozen values, their JSON, their signature context and storage.

Workers build a :class:`Result` (or, for a user with a registered key, a
:class:`SealedResult`); the manager adds the queue timings, signs its
``to_json()`` and stores it. ``to_json`` gives the document users read, and
``from_json`` reads it back: ``Result.from_json(r.to_json()) == r``. A signed
result is stored as canonical JSON, so reading it back checks that the text the
database holds is still what was signed. Results this process stored in the
last few seconds are kept in memory, so the request waiting for one is answered
without reading back what was just written.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from qharbor import errors, result_schema, wire
from qharbor.jobs.job import Job
from qharbor.store.tables import results


@dataclass(frozen=True)
class Timings:
    """Seconds spent on a job.

    Attributes:
        compile_s: parsing and compiling, in the worker (seconds).
        run_s: running on the engines (seconds).
        qpu_s: the device time a twin's timing model stands for (seconds), if any.
        queued_s: from submission to the start of the attempt (seconds), once stored.
        total_s: from submission to the stored result (seconds), once stored.
    """

    compile_s: float
    run_s: float
    qpu_s: float | None = None
    queued_s: float | None = None
    total_s: float | None = None

    def stored(self, queued_s: float, total_s: float) -> Timings:
        """These timings with the times the store measures (seconds)."""
        return dataclasses.replace(self, queued_s=queued_s, total_s=total_s)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"compile_s": self.compile_s, "run_s": self.run_s}
        for name in ("qpu_s", "queued_s", "total_s"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Timings:
        return cls(
            compile_s=data["compile_s"],
            run_s=data["run_s"],
            qpu_s=data.get("qpu_s"),
            queued_s=data.get("queued_s"),
            total_s=data.get("total_s"),
        )


@dataclass(frozen=True)
class Record:
    """The reproducibility record of a result (its ``metadata``).

    Attributes:
        engine: the engine that ran most experiments.
        engine_reason: why it was chosen.
        precision: ``"double"`` or ``"single"``.
        method: the engine's method, or ``"twin"`` for a device twin.
        seed: the job's seed.
        attempt: the attempt that produced the result.
        options: the job's options as stored.
        versions: software versions, by package.
        extra: what the job's kind adds (``engines``, ``selection_s``, ``mode``,
            ``calibration_snapshot_id``, ``calibration``, ``optimization_level``).
    """

    engine: str
    engine_reason: str
    precision: str
    method: str
    seed: int
    attempt: int
    options: dict[str, Any]
    versions: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def calibration_snapshot_id(self) -> str | None:
        """The calibration snapshot a device twin ran with; None elsewhere."""
        return self.extra.get("calibration_snapshot_id")

    def adding(self, **extra: Any) -> Record:
        """This record with more (or replaced) kind-specific fields."""
        return dataclasses.replace(self, extra={**self.extra, **extra})

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in result_schema.RECORD_FIELDS}
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        known = {name: data[name] for name in result_schema.RECORD_FIELDS}
        return cls(**known, extra=result_schema.extra(data, result_schema.RECORD_FIELDS))


@dataclass(frozen=True)
class ExperimentResult:
    """One circuit run: one program, or one binding of its parameters.

    Attributes:
        extra: what the run adds: ``result_types``, ``engine`` when engines were
            mixed, a twin's compiled circuit and physical qubits, mitigation.
    """

    program: int
    name: str | None
    parameters: dict[str, float] | None
    counts: dict[str, int]
    shots: int
    seed: int
    num_qubits: int
    num_clbits: int
    depth: int
    run_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in result_schema.EXPERIMENT_FIELDS}
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExperimentResult:
        known = {name: data[name] for name in result_schema.EXPERIMENT_FIELDS}
        return cls(**known, extra=result_schema.extra(data, result_schema.EXPERIMENT_FIELDS))


@dataclass(frozen=True)
class Result:
    """What a job produced: one row per circuit run (or one result per PUB), how and when.

    Attributes:
        kind: None for circuits; ``"sampler"`` or ``"estimator"`` for primitives.
        pubs: a primitive job's results, one per PUB, as JSON.
    """

    job_id: str
    device: str
    shots: int
    experiments: tuple[ExperimentResult, ...]
    timings: Timings
    metadata: Record
    kind: str | None = None
    pubs: tuple[dict[str, Any], ...] | None = None

    def with_queue_times(self, queued_s: float, total_s: float) -> Result:
        """This result with the times the store measures (seconds)."""
        return dataclasses.replace(self, timings=self.timings.stored(queued_s, total_s))

    def sealed_to(self, key_id: str, public_key: bytes) -> SealedResult:
        """This result sealed to a user's ML-KEM-768 key; only its timings stay readable."""
        return SealedResult(
            self.job_id,
            self.device,
            wire.seal(public_key, key_id, self.to_json(), wire.result_aad(self.job_id)),
            self.timings,
            self.metadata.calibration_snapshot_id,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"job_id": self.job_id, "device": self.device}
        if self.kind is not None:
            data["kind"] = self.kind
        data["shots"] = self.shots
        data["experiments"] = [e.to_json() for e in self.experiments]
        if self.pubs is not None:
            data["pubs"] = list(self.pubs)
        data["timings"] = self.timings.to_json()
        data["metadata"] = self.metadata.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        pubs = data.get("pubs")
        return cls(
            job_id=data["job_id"],
            device=data["device"],
            shots=data["shots"],
            experiments=tuple(ExperimentResult.from_json(e) for e in data["experiments"]),
            timings=Timings.from_json(data["timings"]),
            metadata=Record.from_json(data["metadata"]),
            kind=data.get("kind"),
            pubs=tuple(pubs) if pubs is not None else None,
        )


@dataclass(frozen=True)
class SealedResult:
    """A result sealed to its submitter's key: the envelope, and what stays readable.

    Attributes:
        sealed: the envelope (see :func:`qharbor.wire.seal`) of the result's JSON.
        calibration_snapshot_id: kept readable, as the signature binds it.
    """

    job_id: str
    device: str
    sealed: dict[str, Any]
    timings: Timings
    calibration_snapshot_id: str | None = None

    def with_queue_times(self, queued_s: float, total_s: float) -> SealedResult:
        """This result with the times the store measures (seconds)."""
        return dataclasses.replace(self, timings=self.timings.stored(queued_s, total_s))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "job_id": self.job_id,
            "device": self.device,
            "sealed": self.sealed,
            "timings": self.timings.to_json(),
        }
        if self.calibration_snapshot_id is not None:
            data["metadata"] = {"calibration_snapshot_id": self.calibration_snapshot_id}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SealedResult:
        metadata = data.get("metadata") or {}
        return cls(
            data["job_id"],
            data["device"],
            data["sealed"],
            Timings.from_json(data["timings"]),
            metadata.get("calibration_snapshot_id"),
        )


def from_json(data: dict[str, Any]) -> Result | SealedResult:
    """A stored result document (without its signature) as its value."""
    if "sealed" in data:
        return SealedResult.from_json(data)
    return Result.from_json(data)


#: How long a stored result is remembered (seconds). Short, so a deletion by
#: another centre sharing the database is seen within seconds.
_RECENT_S = 5.0
_RECENT_MAX = 1024


def read_result(conn: Any, job_id: str) -> dict[str, Any]:
    """A DONE job's stored result, read as the text the database holds and checked."""
    row = conn.execute(
        sa.select(
            sa.cast(results.c.data, sa.Text).label("data"),
            sa.cast(results.c.signature, sa.Text).label("signature"),
        ).where(results.c.job_id == job_id)
    ).one()
    return stored_result(job_id, row.data, row.signature)


def stored_result(job_id: str, data_text: str, signature_text: str | None) -> dict[str, Any]:
    """A stored result from its column texts; a signed one must be exactly as written.

    Signed results are stored as canonical JSON, so any changed byte either changes
    a value (and the signature no longer verifies) or leaves text that is no longer
    canonical, caught here.

    Raises:
        errors.ResultCorrupt: the stored text was altered.
    """
    try:
        data = json.loads(data_text)
        if signature_text is None:
            return dict(data)
        signature = json.loads(signature_text)
    except ValueError:
        raise errors.ResultCorrupt(job_id=job_id) from None
    if wire.canonical_json(data) != data_text or wire.canonical_json(signature) != signature_text:
        raise errors.ResultCorrupt(job_id=job_id)
    return {**data, "signature": signature}


def signature_context(job_row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """What a result's signature binds it to, besides the result itself.

    The calibration snapshot id is read from the result's metadata, where devices
    with a calibration record it; it is None for devices without one.
    """
    metadata = data.get("metadata") or {}
    return {
        "job_id": job_row.id,
        "project": job_row.project_name,
        "device": job_row.device,
        "calibration_snapshot_id": metadata.get("calibration_snapshot_id"),
        "input_hash": job_row.request_hash,
    }


class RecentResults:
    """The DONE jobs this process stored in the last few seconds, with their results.

    Safe from any thread.
    """

    def __init__(self) -> None:
        # job id -> (monotonic time stored, the DONE job, its result with signature)
        self._entries: OrderedDict[str, tuple[float, Job, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, job: Job, data: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            self._entries[job.id] = (now, job, data)
            while self._entries and (
                len(self._entries) > _RECENT_MAX
                or now - next(iter(self._entries.values()))[0] > _RECENT_S
            ):
                self._entries.popitem(last=False)

    def get(self, project_id: str, job_id: str) -> tuple[Job, dict[str, Any]] | None:
        """The job and its result, if stored moments ago and in the project."""
        with self._lock:
            entry = self._entries.get(job_id)
        if entry is None:
            return None
        stored_at, job, data = entry
        if job.project_id != project_id or time.monotonic() - stored_at > _RECENT_S:
            return None
        return job, data

    def forget(self, job_ids: Iterable[str]) -> None:
        with self._lock:
            for job_id in job_ids:
                self._entries.pop(job_id, None)

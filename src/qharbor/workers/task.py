"""The task: one attempt of one job as handed to a worker, and its reproducibility record."""

from __future__ import annotations

import platform
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from qharbor.devices import Device
from qharbor.engines.selection import Picker, Selector
from qharbor.jobs.options import JobOptions
from qharbor.jobs.result import Record


@dataclass(frozen=True)
class Task:
    """One attempt of one job, as handed to a worker."""

    job_id: str
    attempt: int
    device: Device
    shots: int
    seed: int
    programs: list[dict[str, Any]]
    kind: str = "circuits"
    primitive: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    twin: dict[str, Any] | None = None  # the twin document, with the calibration in force
    #: For a sealed job, the AES key of its one programs envelope.
    program_key: bytes | None = None
    #: The (key id, raw ML-KEM-768 public key) to seal the result to, if any.
    result_key: tuple[str, bytes] | None = None
    #: The memory it needs (bytes), reserved on the host while it runs.
    memory_bytes: int = 0


def picker_for(task: Task) -> Picker:
    """The engine picker of a task: automatic, pinned, or the device's own engine."""
    options = JobOptions.from_json(task.options)
    selector = Selector(task.device, precision=options.precision, pinned=options.engine)
    return Picker(selector)


#: Software versions per engine name. They cannot change while a worker process
#: lives, and reading them from package metadata costs more than running a small
#: circuit, so each engine's are read once.
_VERSIONS: dict[tuple[str, type], dict[str, str]] = {}


def _versions(engine: Any) -> dict[str, str]:
    key = (engine.name, type(engine))
    known = _VERSIONS.get(key)
    if known is None:
        known = _VERSIONS[key] = {
            "qharbor": metadata.version("qharbor"),
            **engine.versions(),
            "python": platform.python_version(),
        }
    return dict(known)


def record(task: Task, picker: Picker) -> Record:
    """Reproducibility record: which engines ran, why, at what precision, with what versions."""
    choices = picker.used
    counts = Counter(c.engine for c in choices)
    names = [name for name, _n in counts.most_common()] or [task.device.engine]
    engines = [picker.engine(name) for name in names]
    versions: dict[str, str] = {}
    for engine in engines:
        versions.update(_versions(engine))
    precisions = {c.precision for c in choices}
    job_precision = JobOptions.from_json(task.options).precision
    extra: dict[str, Any] = {}
    reason = choices[0].reason if choices else ""
    if len(names) > 1:
        extra["engines"] = sorted(names)
        reason = (
            "chosen per circuit by predicted time: "
            + ", ".join(f"{counts[n]} on {n}" for n in names)
            + "; each experiment names its engine"
        )
    return Record(
        engine=names[0],
        engine_reason=reason,
        precision=precisions.pop() if len(precisions) == 1 else job_precision,
        method=task.device.method,
        seed=task.seed,
        attempt=task.attempt,
        options=dict(task.options),
        versions=versions,
        extra=extra,
    )

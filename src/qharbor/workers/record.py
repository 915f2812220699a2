"""What a worker decides and notes about a claim: its engine picker, its reproducibility record."""

from __future__ import annotations

import platform
from collections import Counter
from importlib import metadata
from typing import Any

from qharbor.engines.selection import Picker, Selector
from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Record


def picker_for(claim: Claim) -> Picker:
    """The engine picker of a claim: automatic, pinned, or the device's own engine."""
    options = claim.options
    selector = Selector(claim.runs_on, precision=options.precision, pinned=options.engine)
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


def record(claim: Claim, picker: Picker) -> Record:
    """Reproducibility record: which engines ran, why, at what precision, with what versions."""
    choices = picker.used
    counts = Counter(c.engine for c in choices)
    names = [name for name, _n in counts.most_common()] or [claim.runs_on.engine]
    engines = [picker.engine(name) for name in names]
    versions: dict[str, str] = {}
    for engine in engines:
        versions.update(_versions(engine))
    precisions = {c.precision for c in choices}
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
        precision=precisions.pop() if len(precisions) == 1 else claim.options.precision,
        method=claim.runs_on.method,
        seed=claim.seed,
        attempt=claim.attempt,
        options=claim.options.to_json(),
        versions=versions,
        extra=extra,
    )

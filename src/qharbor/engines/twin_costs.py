"""The twins' method cost coefficients fitted on this host, stored beside the engines' fits.

:mod:`qharbor.engines.twin_methods` predicts each Aer method's time for a twin
circuit from a few coefficients per method. They are fitted on each host by
:mod:`qharbor.engines.twin_benchmarking` and stored in ``twin-costs.json``, in
the directory of the engines' fits (:func:`qharbor.engines.costs.default_path`),
keyed by a fingerprint of the host (CPU, cores, Aer's version). Until this host
has a fit, the coefficients shipped in ``default_twin_costs.json`` apply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qharbor.engines import costs, twin_methods

#: The file's name, beside the engines' cost fits; it has their format
#: (:func:`qharbor.engines.costs.read_file`).
FILE_NAME = "twin-costs.json"
#: How often (seconds) a process looks whether the stored fit changed.
_RELOAD_S = 2.0


@dataclass(frozen=True)
class ProbeTiming:
    """One timed probe: what ran, how long it took, and what the fit predicts."""

    label: str
    method: str
    qubits: int
    shots: int
    measured_s: float
    predicted_s: float = 0.0
    terms: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "method": self.method,
            "qubits": self.qubits,
            "shots": self.shots,
            "measured_s": round(self.measured_s, 4),
            "predicted_s": round(self.predicted_s, 4),
        }


@dataclass(frozen=True)
class TwinFit:
    """The methods' coefficients fitted on one host.

    Attributes:
        fingerprint: the host's (:func:`fingerprint`).
        coefficients: per method, seconds per unit of each of its terms.
        rel_error: per method, the relative root-mean-square error on its probes.
        probes: the timings the fit was made from.
    """

    fingerprint: str
    coefficients: Mapping[str, Mapping[str, float]]
    rel_error: Mapping[str, float] = field(default_factory=dict)
    probes: tuple[ProbeTiming, ...] = ()
    host: Mapping[str, Any] = field(default_factory=dict)
    fitted_at: str = ""
    took_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "host": dict(self.host),
            "fitted_at": self.fitted_at,
            "took_s": round(self.took_s, 2),
            "methods": {
                method: {
                    "coefficients": dict(values),
                    "rel_error": round(self.rel_error.get(method, 0.0), 4),
                }
                for method, values in sorted(self.coefficients.items())
            },
            "probes": [p.to_json() for p in self.probes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TwinFit:
        methods = data["methods"]
        return cls(
            fingerprint=str(data.get("fingerprint", "")),
            coefficients={
                m: {t: float(v) for t, v in entry["coefficients"].items()}
                for m, entry in methods.items()
            },
            rel_error={m: float(entry.get("rel_error", 0.0)) for m, entry in methods.items()},
            probes=tuple(
                ProbeTiming(
                    str(p["label"]),
                    str(p["method"]),
                    int(p["qubits"]),
                    int(p["shots"]),
                    float(p["measured_s"]),
                    float(p.get("predicted_s", 0.0)),
                )
                for p in data.get("probes", ())
            ),
            host=dict(data.get("host") or {}),
            fitted_at=str(data.get("fitted_at", "")),
            took_s=float(data.get("took_s", 0.0)),
        )


def default_path() -> Path:
    """``twin-costs.json`` in the directory of the engines' cost fits."""
    return costs.default_path().with_name(FILE_NAME)


def host() -> dict[str, Any]:
    """What identifies this host for the twins' timing: CPU, cores, and the versions of
    Aer and of stim (which samples the stabilizer method)."""
    return costs.host_info(costs.engine_versions(["aer", "stim"]))


def fingerprint() -> str:
    """This host's fingerprint for the twins' timing (computed once per process)."""
    if "fingerprint" not in _CURRENT:
        _CURRENT["fingerprint"] = costs.fingerprint_of(host())
    return str(_CURRENT["fingerprint"])


def save(fit: TwinFit, path: Path | None = None) -> Path:
    """Store a host's fit in the file, next to other hosts' fits, atomically."""
    target = path or default_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = costs.read_file(target)
    data["hosts"][fit.fingerprint] = fit.to_json()
    costs.write_file(target, data)
    _CURRENT.pop("table", None)
    return target


def stored(path: Path | None = None) -> TwinFit | None:
    """This host's stored fit, if it has one."""
    found = costs.read_file(path or default_path())["hosts"].get(fingerprint())
    return TwinFit.from_json(found) if found else None


def host_fit_exists(path: Path | None = None) -> bool:
    """Whether the file holds a fit for this host."""
    return fingerprint() in costs.read_file(path or default_path())["hosts"]


_CURRENT: dict[str, Any] = {}
_LOCK = threading.Lock()


def current(path: Path | None = None) -> Mapping[str, Mapping[str, float]]:
    """The coefficients in force: this host's fit over the shipped ones (re-read every 2 s).

    A method the host's fit lacks keeps its shipped coefficients.
    """
    target = path or default_path()
    now = time.monotonic()
    cached = _CURRENT.get("table")
    if cached is not None and _CURRENT.get("path") == target and now - _CURRENT["at"] < _RELOAD_S:
        return cached
    with _LOCK:
        try:
            stamp: int | None = target.stat().st_mtime_ns
        except OSError:
            stamp = None
        if cached is not None and _CURRENT.get("path") == target and _CURRENT["stamp"] == stamp:
            _CURRENT["at"] = now
            return cached
        table = {m: dict(c) for m, c in twin_methods.DEFAULT_COEFFICIENTS.items()}
        if stamp is not None:
            fit = stored(target)
            if fit is not None:
                for method, values in fit.coefficients.items():
                    if method in table:
                        table[method] = dict(values)
        _CURRENT.update(table=table, path=target, stamp=stamp, at=now)
        return table

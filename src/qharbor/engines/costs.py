"""How long each engine takes on this host: a small linear model per engine, fitted by measurement.

Automatic selection compares engines by predicted run time. The prediction for
one circuit of ``n`` qubits and ``g`` gates, run ``r`` times (bindings) with
``s`` shots, is a sum of non-negative terms, each a cost the engines really pay:

============  =============================  ==========================================
term          dense form (state vectors)     tableau form (Clifford, stim and stabilizer)
============  =============================  ==========================================
``call``      once per ``run(...)`` call     same
``circuit``   once per circuit               same
``gate``      ``g`` (translating the gates)  same
``run``       ``r`` (binding, a new state)   same
``work``      ``r·g·2^n`` (applying gates)   ``r·g·n``
``amplitude`` ``r·2^n`` (allocating, reading) ``r·n²``
``shot``      ``r·s`` (drawing samples)      ``r·s·n``
``frame``     (unused, 0)                    ``r·s·g`` (per-shot Pauli frames)
``bind``      ``r·g`` (binding each gate)    same
============  =============================  ==========================================

The coefficients (seconds per unit) are fitted by non-negative least squares,
weighted by relative error, to timings of probe circuits (:mod:`qharbor.engines.benchmarking`)
on this host. Fits are stored in one JSON file keyed by a host fingerprint (CPU
model, core count, engine versions); until this host has one, the defaults
shipped with the package (measured on a quiet 2-core reference host) are used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qharbor import wire

if TYPE_CHECKING:
    from qharbor.engines.features import CircuitFeatures

#: Version of the file format; a file of another version is ignored.
FORMAT = 1
#: The model's terms, in the order of a coefficient vector.
TERMS = ("call", "circuit", "gate", "run", "work", "amplitude", "shot", "frame", "bind")
#: Environment variable that overrides where fits are stored.
PATH_ENV = "QHARBOR_ENGINE_COSTS_PATH"
#: Engines whose natural representation is a stabilizer tableau.
TABLEAU_ENGINES = frozenset({"stim"})
#: Device methods whose engines keep a tableau.
TABLEAU_METHODS = frozenset({"stabilizer"})
#: How often (seconds) a process looks whether the stored fits changed.
_RELOAD_S = 2.0


def form_for(engine: str, method: str) -> str:
    """``tableau`` for stabilizer simulation, ``dense`` for state vectors."""
    return "tableau" if engine in TABLEAU_ENGINES or method in TABLEAU_METHODS else "dense"


def model_key(engine: str, form: str, precision: str) -> str:
    """The key of one fitted model: ``aer:dense:double``."""
    return f"{engine}:{form}:{precision}"


def gate_passes(engine: Any, features: CircuitFeatures) -> int:
    """The gates ``engine`` applies for a circuit with these features: the ``g`` of its terms.

    An engine that merges gates in a way the probes do not show (qulacs merges
    the runs of diagonal gates of a wide phase-heavy circuit) says how many it
    applies (:class:`~qharbor.engines.capabilities.CountsGatePasses`);
    otherwise every gate counts.
    """
    from qharbor.engines import capabilities  # imports Qiskit, which this module does not need

    if isinstance(engine, capabilities.CountsGatePasses):
        return int(engine.passes(features))
    return features.size


def term_values(form: str, *, qubits: int, gates: int, runs: int, shots: int) -> tuple[float, ...]:
    """The per-circuit terms (all but ``call``) of a circuit, in :data:`TERMS` order."""
    r = max(1, runs)
    if form == "tableau":
        return (0.0, 1.0, gates, r, r * gates * qubits, r * qubits * qubits, r * shots * qubits,
                r * shots * gates, r * gates)  # fmt: skip
    size = float(1 << qubits) if qubits < 1024 else float("inf")
    return (0.0, 1.0, gates, r, r * gates * size, r * size, r * shots, 0.0, r * gates)


@dataclass(frozen=True)
class CostModel:
    """Seconds per unit of each term, for one engine, form and precision."""

    coefficients: tuple[float, ...]
    #: Relative root-mean-square error of the fit on its own probes.
    rel_error: float = 0.0
    probes: int = 0

    def predict(self, terms: Sequence[float], batch: int = 1) -> float:
        """Predicted seconds for one circuit with ``terms``, sharing a call with ``batch - 1``."""
        c = self.coefficients
        total = c[0] / max(1, batch)
        for i in range(1, len(TERMS)):
            if terms[i]:
                total += c[i] * terms[i]
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "coefficients": dict(zip(TERMS, self.coefficients, strict=True)),
            "rel_error": round(self.rel_error, 4),
            "probes": self.probes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CostModel:
        coefficients = data["coefficients"]
        return cls(
            coefficients=tuple(float(coefficients.get(t, 0.0)) for t in TERMS),
            rel_error=float(data.get("rel_error", 0.0)),
            probes=int(data.get("probes", 0)),
        )


@dataclass(frozen=True)
class HostFit:
    """The models fitted on one host, with what identifies the host."""

    fingerprint: str
    host: dict[str, Any]
    models: dict[str, CostModel]
    fitted_at: str = ""
    took_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "host": self.host,
            "fitted_at": self.fitted_at,
            "took_s": round(self.took_s, 3),
            "models": {k: m.to_json() for k, m in sorted(self.models.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HostFit:
        return cls(
            fingerprint=str(data["fingerprint"]),
            host=dict(data.get("host") or {}),
            models={k: CostModel.from_json(v) for k, v in (data.get("models") or {}).items()},
            fitted_at=str(data.get("fitted_at", "")),
            took_s=float(data.get("took_s", 0.0)),
        )


@dataclass(frozen=True)
class CostTable:
    """The models in force in this process: this host's fit over the shipped defaults.

    Attributes:
        models: by :func:`model_key`.
        calibrated: the model keys that come from a fit on this host.
        fingerprint: this host's fingerprint.
    """

    models: dict[str, CostModel]
    calibrated: frozenset[str] = frozenset()
    fingerprint: str = ""
    fitted_at: str | None = None
    source: dict[str, str] = field(default_factory=dict)

    def model(self, engine: str, method: str, precision: str) -> CostModel | None:
        """The model for an engine on a method at a precision, if one is known.

        An engine fitted at only one precision (stim's tableau is exact) stands
        for both.
        """
        form = form_for(engine, method)
        found = self.models.get(model_key(engine, form, precision))
        if found is None:
            other = "single" if precision == "double" else "double"
            found = self.models.get(model_key(engine, form, other))
        return found


_PATHS: dict[tuple[str | None, str | None, str | None], Path] = {}


def default_path() -> Path:
    """Where fits are stored: ``$QHARBOR_ENGINE_COSTS_PATH``, else the user's cache dir."""
    environ = os.environ
    key = (environ.get(PATH_ENV), environ.get("XDG_CACHE_HOME"), environ.get("HOME"))
    found = _PATHS.get(key)
    if found is None:  # asked once per task: building the path once per environment
        if key[0]:
            found = Path(key[0]).expanduser()
        else:
            cache = key[1] or str(Path.home() / ".cache")
            found = Path(cache) / "qharbor" / "engine-costs.json"
        _PATHS[key] = found
    return found


_HOST_CACHE: dict[str, Any] = {}


def host_info(versions: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """What identifies a host for timing purposes: CPU, cores, and every engine's versions."""
    if "cpu" not in _HOST_CACHE:
        _HOST_CACHE["cpu"] = _cpu_model()
    return {
        "cpu": _HOST_CACHE["cpu"],
        "cores": os.cpu_count() or 1,
        "machine": platform.machine(),
        "engines": {name: dict(v) for name, v in sorted(versions.items())},
    }


def fingerprint_of(host: Mapping[str, Any]) -> str:
    """A short hash of :func:`host_info`."""
    return hashlib.sha256(wire.canonical(host)).hexdigest()[:16]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def engine_versions(names: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """Versions of each available engine (those that fail to load are left out)."""
    from qharbor.engines import base

    found: dict[str, dict[str, str]] = {}
    for name in names if names is not None else base.registered():
        try:
            found[name] = dict(base.get_engine(name).versions())
        except Exception:  # an engine whose library is missing is simply not here
            continue
    return found


def current_fingerprint() -> str:
    """This host's fingerprint, computed once per set of registered engines."""
    from qharbor.engines import base

    names = base.registered()
    stamp = tuple((name, id(base._FACTORIES.get(name))) for name in names)
    if _HOST_CACHE.get("stamp") != stamp:
        _HOST_CACHE["fingerprint"] = fingerprint_of(host_info(engine_versions(names)))
        _HOST_CACHE["stamp"] = stamp
    return str(_HOST_CACHE["fingerprint"])


def read_file(path: Path) -> dict[str, Any]:
    """The stored fits, ``{"format": 1, "hosts": {fingerprint: fit}}``; empty if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"format": FORMAT, "hosts": {}}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {"format": FORMAT, "hosts": {}}
    data.setdefault("hosts", {})
    return data


def save_fit(fit: HostFit, path: Path | None = None) -> Path:
    """Store a host's fit in the file, next to other hosts' fits, atomically."""
    target = path or default_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = read_file(target)
    entry = fit.to_json()
    earlier = data["hosts"].get(fit.fingerprint)
    if earlier:  # a partial benchmark keeps the other engines' models
        entry["models"] = {**earlier.get("models", {}), **entry["models"]}
    data["hosts"][fit.fingerprint] = entry
    write_file(target, data)
    _CURRENT.clear()
    return target


def write_file(target: Path, data: dict[str, Any]) -> None:
    """Write a fits file atomically, so a reader never sees half of it."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def defaults() -> HostFit | None:
    """The fit shipped with the package, measured on a quiet 2-core reference host."""
    try:
        text = resources.files("qharbor.engines").joinpath("default_costs.json").read_text()
    except (OSError, FileNotFoundError):
        return None
    return HostFit.from_json(json.loads(text))


def table_from(host: HostFit | None, shipped: HostFit | None, fingerprint: str = "") -> CostTable:
    """This host's models over the shipped defaults."""
    models: dict[str, CostModel] = {}
    source: dict[str, str] = {}
    if shipped is not None:
        models.update(shipped.models)
        source.update(dict.fromkeys(shipped.models, "default"))
    calibrated: frozenset[str] = frozenset()
    if host is not None:
        models.update(host.models)
        source.update(dict.fromkeys(host.models, "host"))
        calibrated = frozenset(host.models)
    return CostTable(
        models=models,
        calibrated=calibrated,
        fingerprint=fingerprint,
        fitted_at=host.fitted_at if host is not None else None,
        source=source,
    )


_CURRENT: dict[str, Any] = {}
_LOCK = threading.Lock()


def current(path: Path | None = None) -> CostTable:
    """The cost table in force, re-read when the stored file changes (checked every 2 s)."""
    target = path or default_path()
    now = time.monotonic()
    cached = _CURRENT.get("table")
    if cached is not None and _CURRENT.get("path") == target and now - _CURRENT["at"] < _RELOAD_S:
        return cached
    with _LOCK:
        try:
            stamp = target.stat().st_mtime_ns
        except OSError:
            stamp = None
        if cached is not None and _CURRENT.get("path") == target and _CURRENT["stamp"] == stamp:
            _CURRENT["at"] = now
            return cached
        fingerprint = current_fingerprint()
        stored = read_file(target)["hosts"].get(fingerprint) if stamp is not None else None
        host = HostFit.from_json(stored) if stored else None
        table = table_from(host, defaults(), fingerprint)
        _CURRENT.update(table=table, path=target, stamp=stamp, at=now)
        return table


def host_fit_exists(path: Path | None = None) -> bool:
    """Whether the file holds a fit for this host."""
    return current_fingerprint() in read_file(path or default_path())["hosts"]


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def describe(path: Path | None = None) -> dict[str, Any]:
    """Every registered engine: precisions, versions and cost models, as the API shows them."""
    from qharbor.engines import base

    target = path or default_path()
    table = current(target)
    engines = []
    for name in base.registered():
        entry: dict[str, Any] = {"name": name}
        try:
            engine = base.get_engine(name)
        except Exception as exc:  # registered, but its library is missing here
            entry.update(available=False, why=str(exc), precisions=[], versions={})
            entry.update(calibrated=False, models={})
            engines.append(entry)
            continue
        models = {
            key: {**model.to_json(), "source": table.source.get(key, "default")}
            for key, model in sorted(table.models.items())
            if key.split(":", 1)[0] == name
        }
        entry.update(
            available=True,
            precisions=sorted(getattr(engine, "precisions", {"double"})),
            versions=dict(engine.versions()),
            calibrated=any(m["source"] == "host" for m in models.values()),
            models=models,
        )
        engines.append(entry)
    return {
        "fingerprint": table.fingerprint,
        "calibrated": bool(table.calibrated),
        "fitted_at": table.fitted_at,
        "terms": list(TERMS),
        "engines": engines,
    }

"""The engines loaded in this process, looked up once and remembered."""

from __future__ import annotations

from typing import Any

from qharbor.engines import base, costs


def warm_up(devices: Any = None) -> None:
    """Load every engine automatic selection may use, and the cost table, in this process.

    The first task that selects in a fresh worker otherwise pays for importing
    qulacs, cirq and stim (1.3 to 1.6 s measured on a 2-core host); a
    worker can call this in a background thread once it is ready.

    Args:
        devices: the devices whose engines to load; every registered engine when omitted.
    """
    names = {n for d in devices for n in d.candidate_engines} if devices else set(base.registered())
    loaded(tuple(sorted(names)))
    costs.current()


#: Engines whose creation failed in this process, with the factory that failed.
_FAILED: dict[str, Any] = {}
#: Per list of names, the engines that loaded, and the factories they came from.
_LOADED: dict[tuple[str, ...], tuple[tuple[Any, ...], list[Any]]] = {}


def loaded(names: tuple[str, ...]) -> list[Any]:
    """The engines of ``names`` that load here; remembered while the registry is unchanged."""
    factories = base._FACTORIES
    stamp = tuple(factories.get(n) for n in names)
    cached = _LOADED.get(names)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    engines = [e for e in map(_load, names) if e is not None]
    _LOADED[names] = (tuple(factories.get(n) for n in names), engines)
    return engines


def _load(name: str) -> Any | None:
    """The engine, or None where it is not registered or its library is missing.

    A failed creation is not retried with the same factory: a missing library
    would otherwise cost an import attempt per task.
    """
    if name not in base.registered():
        return None
    factory = base._FACTORIES.get(name)
    if factory is not None and _FAILED.get(name) is factory:
        return None
    try:
        return base.get_engine(name)
    except Exception:
        _FAILED[name] = factory
        return None

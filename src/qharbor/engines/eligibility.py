"""What an engine may run: the precision it computes in, the exact results it gives,
which devices keep their own engine, and the engine a job pins.
"""

from __future__ import annotations

from typing import Any

from qharbor import errors
from qharbor.engines import base, capabilities, costs

#: Methods whose state has a single-precision form (stabilizer tableaux and MPS do not).
SINGLE_PRECISION_METHODS = frozenset({"statevector", "density_matrix"})


def run_precision(engine: Any, precision: str, method: str = "statevector") -> str:
    """The precision an engine computes a job in: the job's, or double where it lacks single.

    A ``single`` job on a method without a single-precision state, or on a
    tableau engine (stim is exact), runs in double: more precise, never less.
    """
    precisions = getattr(engine, "precisions", frozenset({"double"}))
    tableau = costs.form_for(getattr(engine, "name", ""), method) == "tableau"
    if (
        precision == "single"
        and "double" in precisions
        and (tableau or method not in SINGLE_PRECISION_METHODS)
    ):
        return "double"
    if precision in precisions:
        return precision
    return "double" if "double" in precisions else next(iter(sorted(precisions)))


def precision_refusal(engine: Any, precision: str) -> str | None:
    """Why a job of ``precision`` may not use this engine (a double job on a single-only engine)."""
    precisions = getattr(engine, "precisions", frozenset({"double"}))
    if precision == "double" and "double" not in precisions:
        return f"{engine.name} computes in single precision only; the job asks for double"
    return None


def exact_refusal(engine: Any, exact: str | None) -> str | None:
    """Why an engine cannot give the exact states or expectation values a job needs."""
    if exact is None:
        return None
    if isinstance(engine, capabilities.ComputesStatevectors):
        return None
    if exact == "expectations" and isinstance(engine, capabilities.ComputesExpectationValues):
        return None
    return f"{engine.name} returns no exact {'states' if exact == 'states' else 'expectations'}"


def fixed_reason(device: Any) -> str | None:
    """Why a device always runs on its own engine, or None if it chooses among several."""
    if device.twin is not None or device.kind == "twin":
        return f"{device.engine}: device twins run on {device.engine}'s noise models"
    if device.noisy:
        return f"{device.engine}: the noisy device {device.name!r} runs only on {device.engine}"
    if device.kind != "simulator":
        return f"{device.engine}: the driver of {device.name!r}"
    if len(device.candidate_engines) < 2:
        return f"{device.engine}: the only engine of device {device.name!r}"
    return None


def check_pinned(device: Any, engine: str, precision: str) -> Any | None:
    """Refuse a job's ``engine`` and ``precision`` options that cannot work on ``device``.

    Returns:
        The pinned engine object, or None for ``auto``.

    Raises:
        errors.PrecisionInvalid: an unknown precision.
        errors.EngineNotFound: no engine of that name.
        errors.EngineNotOnDevice: the device does not run on that engine.
        errors.EngineCannotRun: the engine cannot compute at that precision.
    """
    if precision not in base.PRECISIONS:
        raise errors.PrecisionInvalid(
            f"precision {precision!r} is not one of: {', '.join(base.PRECISIONS)}; "
            "'double' is the default, 'single' also allows single-precision engines",
            field="options.precision",
            allowed=list(base.PRECISIONS),
        )
    if engine == "auto":
        return None
    names = base.registered()
    if engine not in names:
        raise errors.EngineNotFound(
            f"no engine named {engine!r}; use 'auto' or one of: {', '.join(names)}",
            field="options.engine",
            available=names,
        )
    allowed = [device.engine] if fixed_reason(device) else list(device.candidate_engines)
    if engine not in allowed:
        raise errors.EngineNotOnDevice(
            f"device {device.name!r} does not run on engine {engine!r}; use 'auto' or "
            f"one of: {', '.join(allowed)}",
            field="options.engine",
            device=device.name,
            engines=allowed,
        )
    try:
        pinned = base.get_engine(engine)
    except Exception as exc:  # registered, but its library or plugin does not load here
        raise errors.EngineNotOnDevice(
            f"engine {engine!r} is not installed on this centre ({exc}); use 'auto'",
            field="options.engine",
            device=device.name,
            engines=allowed,
        ) from None
    why = precision_refusal(pinned, precision)
    if why is not None:
        raise errors.EngineCannotRun(
            f"{why}: set precision 'single', or use engine 'auto'",
            field="options.precision",
            engine=engine,
            reason=why,
        )
    return pinned

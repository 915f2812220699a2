"""Primitive options with the names and tree of qiskit-ibm-runtime's ``SamplerOptions``
and ``EstimatorOptions``, so code written for IBM's runtime sets them unchanged.

Every group refuses unknown names and checks each value as it is set, whether by
attribute (``sampler.options.default_shots = 1000``), by the ``options=`` dict
of the constructor, or by :meth:`update`. Options that change results but that a
centre cannot honour are refused when a job is sent (:func:`unsupported`), with
what to do instead; none is silently ignored.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

Check = Callable[[str, Any], Any]


def _any(_name: str, value: Any) -> Any:
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"option {name!r} must be True or False, not {value!r}")
    return value


def _optional_bool(name: str, value: Any) -> bool | None:
    """True, False, or None: left to ``resilience_level``, as IBM's ``Unset``."""
    return None if value is None else _bool(name, value)


#: ``resilience.zne`` keys, as in qiskit-ibm-runtime's ``ZneOptions``.
_ZNE_KEYS = ("noise_factors", "extrapolator", "amplifier")


def _zne(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"option {name!r} must be a dict, not {value!r}")
    unknown = sorted(set(value) - set(_ZNE_KEYS))
    if unknown:
        raise ValueError(f"option {name!r} has no {unknown}; its options are {list(_ZNE_KEYS)}")
    factors = value.get("noise_factors")
    if factors is not None and (
        not isinstance(factors, list | tuple)
        or not all(isinstance(f, int | float) and not isinstance(f, bool) for f in factors)
    ):
        raise ValueError(f"option {name}.noise_factors must be a list of numbers >= 1")
    return dict(value)


def _int(low: int, *, optional: bool = False, auto: bool = False) -> Check:
    def check(name: str, value: Any) -> Any:
        if (value is None and optional) or (value == "auto" and auto):
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"option {name!r} must be an integer >= {low}, not {value!r}")
        return value

    return check


def _number(low: float, *, optional: bool = False, strict: bool = False) -> Check:
    def check(name: str, value: Any) -> Any:
        if value is None and optional:
            return value
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if bad or value < low or (strict and value == low):
            bound = f"> {low}" if strict else f">= {low}"
            raise ValueError(f"option {name!r} must be a number {bound}, not {value!r}")
        return float(value)

    return check


def _choice(*allowed: Any) -> Check:
    def check(name: str, value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"option {name!r} must be one of {list(allowed)}, not {value!r}")
        return value

    return check


def _strings(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"option {name!r} must be a list of strings, not {value!r}")
    return list(value)


class _Group:
    """A group of options: unknown names refused, values checked when set."""

    _checks: ClassVar[dict[str, Check]] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        known = {f.name: f for f in fields(self)}  # type: ignore[arg-type]
        if name not in known:
            raise AttributeError(
                f"{type(self).__name__} has no option {name!r}; options are {sorted(known)}"
            )
        current = self.__dict__.get(name)
        if isinstance(current, _Group):
            if isinstance(value, dict):
                current.update(**value)
                return
            if type(value) is not type(current):
                raise ValueError(
                    f"option {name!r} takes a {type(current).__name__} or a dict of its "
                    f"options, not {value!r}"
                )
        else:
            value = self._checks.get(name, _any)(name, value)
        object.__setattr__(self, name, value)

    def __post_init__(self) -> None:
        # The dataclass __init__ stored dicts for nested groups as given; build them.
        for f in fields(self):  # type: ignore[arg-type]
            value = self.__dict__[f.name]
            default = f.default_factory() if callable(f.default_factory) else None
            if isinstance(default, _Group) and not isinstance(value, _Group):
                object.__setattr__(self, f.name, default)
                setattr(self, f.name, value if value is not None else {})

    def update(self, **kwargs: Any) -> None:
        """Set several options at once; nested groups take dicts.

        As in qiskit-ibm-runtime, the name of an option inside a group (``log_level``
        for ``environment.log_level``) is still found there, with a
        ``DeprecationWarning`` asking for the full structure.
        """
        known = {f.name for f in fields(self)}  # type: ignore[arg-type]
        for name, value in kwargs.items():
            group = None if name in known else self._group_holding(name)
            if group is None:
                setattr(self, name, value)
                continue
            warnings.warn(
                "options without the full dictionary structure are deprecated; use "
                f"{{{group!r}: {{{name!r}: ...}}}} instead of {{{name!r}: ...}}",
                DeprecationWarning,
                stacklevel=2,
            )
            setattr(getattr(self, group), name, value)

    def _group_holding(self, name: str) -> str | None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, _Group) and name in {g.name for g in fields(value)}:  # type: ignore[arg-type]
                return f.name
        return None

    def to_dict(self) -> dict[str, Any]:
        """The options as nested dicts."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, _Group) else value
        return out


@dataclass(repr=True)
class SimulatorOptions(_Group):
    """``simulator``: the seed is honoured; a centre's device brings its own noise,
    coupling map and basis gates, so those three may not be set."""

    noise_model: Any = None
    seed_simulator: int | None = None
    coupling_map: Any = None
    basis_gates: list[str] | None = None

    _checks: ClassVar[dict[str, Check]] = {"seed_simulator": _int(0, optional=True)}


@dataclass(repr=True)
class ExecutionOptions(_Group):
    """``execution``: qubits start in 0 and measurements are classified (0 or 1)."""

    init_qubits: bool = True
    rep_delay: float | None = None
    meas_type: str = "classified"

    _checks: ClassVar[dict[str, Check]] = {
        "init_qubits": _bool,
        "rep_delay": _number(0, optional=True),
        "meas_type": _choice("classified", "kerneled", "avg_kerneled"),
    }


@dataclass(repr=True)
class DynamicalDecouplingOptions(_Group):
    """``dynamical_decoupling``: pulse sequences in idle periods, on device twins
    (noiseless devices have nothing to decouple)."""

    enable: bool = False
    sequence_type: str = "XX"
    extra_slack_distribution: str = "middle"
    scheduling_method: str = "alap"
    skip_reset_qubits: bool = False

    _checks: ClassVar[dict[str, Check]] = {
        "enable": _bool,
        "sequence_type": _choice("XX", "XpXm", "XY4"),
        "extra_slack_distribution": _choice("middle", "edges"),
        "scheduling_method": _choice("alap", "asap"),
        "skip_reset_qubits": _bool,
    }


@dataclass(repr=True)
class TwirlingOptions(_Group):
    """``twirling``: Pauli twirling of two-qubit gates and measurements; None leaves
    them to ``resilience_level`` (off for the sampler), as in qiskit-ibm-runtime."""

    enable_gates: bool | None = None
    enable_measure: bool | None = None
    num_randomizations: int | str = "auto"
    shots_per_randomization: int | str = "auto"
    strategy: str = "active-accum"

    _checks: ClassVar[dict[str, Check]] = {
        "enable_gates": _optional_bool,
        "enable_measure": _optional_bool,
        "num_randomizations": _int(1, auto=True),
        "shots_per_randomization": _int(1, auto=True),
        "strategy": _choice("active", "active-accum", "active-circuit", "all"),
    }


@dataclass(repr=True)
class EnvironmentOptions(_Group):
    """``environment``: ``job_tags`` become the job's tags (find them with
    ``provider.jobs(tag=...)``); ``callback(job_id, result)`` is called when the
    result arrives; the rest changes no result."""

    log_level: str = "WARNING"
    callback: Callable[..., Any] | None = None
    job_tags: list[str] = field(default_factory=list)
    private: bool = False

    _checks: ClassVar[dict[str, Check]] = {
        "log_level": _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        "job_tags": _strings,
        "private": _bool,
    }


@dataclass(repr=True)
class ResilienceOptions(_Group):
    """``resilience`` (estimator): TREX (``measure_mitigation``) and zero-noise
    extrapolation (``zne_mitigation``, ``zne``), applied by the centre on device
    twins; None leaves a switch to ``resilience_level``, as IBM's ``Unset``."""

    measure_mitigation: bool | None = None
    measure_noise_learning: dict[str, Any] = field(default_factory=dict)
    zne_mitigation: bool | None = None
    zne: dict[str, Any] = field(default_factory=dict)
    pec_mitigation: bool = False
    pec: dict[str, Any] = field(default_factory=dict)
    layer_noise_learning: dict[str, Any] = field(default_factory=dict)
    layer_noise_model: Any = None

    _checks: ClassVar[dict[str, Check]] = {
        "measure_mitigation": _optional_bool,
        "zne_mitigation": _optional_bool,
        "pec_mitigation": _bool,
        "zne": _zne,
    }


@dataclass(repr=True)
class _Common(_Group):
    max_execution_time: int | None = None
    seed: int | None = None
    tags: list[str] = field(default_factory=list)
    experimental: dict[str, Any] | None = None
    dynamical_decoupling: DynamicalDecouplingOptions = field(
        default_factory=DynamicalDecouplingOptions
    )
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    twirling: TwirlingOptions = field(default_factory=TwirlingOptions)
    environment: EnvironmentOptions = field(default_factory=EnvironmentOptions)
    simulator: SimulatorOptions = field(default_factory=SimulatorOptions)


_COMMON_CHECKS: dict[str, Check] = {
    "max_execution_time": _int(1, optional=True),
    "seed": _int(0, optional=True),
    "tags": _strings,
}


@dataclass(repr=True)
class SamplerOptions(_Common):
    """Sampler options, named as in qiskit-ibm-runtime's ``SamplerOptions``.

    Attributes:
        default_shots: shots for PUBs that name none (1024).
        seed: sampling seed (``simulator.seed_simulator`` is the same).
        tags: labels to find the jobs by later (``environment.job_tags`` adds to them).
        max_execution_time: accepted for compatibility; a centre does not stop
            jobs by it.
        experimental: must stay empty: no experimental option is honoured.
        measure_mitigation: a qharbor addition: on device twins, M3
            readout-mitigated quasi-probabilities with their uncertainty, per
            binding, in each PUB result's ``metadata["quasi_dists"]``.
        dynamical_decoupling, execution, twirling, environment, simulator: the
            groups of qiskit-ibm-runtime; see :func:`unsupported` for which
            values a device can honour.
    """

    default_shots: int = 1024
    measure_mitigation: bool = False

    _checks: ClassVar[dict[str, Check]] = {
        **_COMMON_CHECKS,
        "default_shots": _int(1),
        "measure_mitigation": _bool,
    }


@dataclass(repr=True)
class EstimatorOptions(_Common):
    """Estimator options, named as in qiskit-ibm-runtime's ``EstimatorOptions``.

    Attributes:
        default_precision: target standard error for PUBs that name none. When
            None, noiseless state-vector devices compute exact values and other
            devices aim at 1/64 (4096 shots per basis).
        default_shots: when set, shots per measurement basis on sampled devices
            (it overrides ``default_precision``, as in qiskit-ibm-runtime).
        seed_estimator: seed for sampling or for the noise added at a precision.
        resilience_level: 0 (none, the default here; IBM's is 1), 1 (TREX) or 2
            (TREX, ZNE and gate twirling), applied by the centre on device twins;
            noiseless devices compute values with nothing to mitigate.
        resilience: the detailed mitigation switches (docs/mitigation.md).
        seed, tags: as for the sampler.
    """

    default_precision: float | None = None
    default_shots: int | None = None
    seed_estimator: int | None = None
    resilience_level: int = 0
    resilience: ResilienceOptions = field(default_factory=ResilienceOptions)

    _checks: ClassVar[dict[str, Check]] = {
        **_COMMON_CHECKS,
        "default_precision": _number(0, optional=True),
        "default_shots": _int(1, optional=True),
        "seed_estimator": _int(0, optional=True),
        "resilience_level": _choice(0, 1, 2),
    }


def seed_of(options: SamplerOptions | EstimatorOptions) -> int | None:
    """The seed a job runs with: ``seed_estimator``, else ``seed``, else the simulator's."""
    chosen = getattr(options, "seed_estimator", None)
    for candidate in (chosen, options.seed, options.simulator.seed_simulator):
        if candidate is not None:
            return int(candidate)
    return None


def tags_of(options: SamplerOptions | EstimatorOptions) -> list[str]:
    """The job's tags: ``tags`` then ``environment.job_tags``, without repeats."""
    return list(dict.fromkeys([*options.tags, *options.environment.job_tags]))


def unsupported(options: SamplerOptions | EstimatorOptions, *, noisy: bool) -> list[str]:
    """The options set to values this device cannot honour, each with what to do.

    Error mitigation, twirling and dynamical decoupling are applied by the
    centre on device twins, for the sampler as for the estimator; on a
    noiseless device they change no result, so they are honoured by doing
    nothing, as Qiskit's local mode does. ``noisy`` is kept for callers that
    pass it.
    """
    del noisy
    problems: list[str] = []
    sim = options.simulator
    for name in ("noise_model", "coupling_map", "basis_gates"):
        if getattr(sim, name) is not None:
            problems.append(
                f"simulator.{name}: a centre's device brings its own; pick the device "
                "instead (provider.backends() lists them)"
            )
    if not options.execution.init_qubits:
        problems.append("execution.init_qubits=False: every job starts from |0...0>")
    if options.execution.meas_type != "classified":
        problems.append(
            f"execution.meas_type={options.execution.meas_type!r}: only classified (0/1) "
            "measurements are returned"
        )
    if options.experimental:
        problems.append(f"experimental={options.experimental!r}: no experimental option exists")
    res = getattr(options, "resilience", None)
    if res is not None:
        if res.pec_mitigation:
            problems.append(
                "resilience.pec_mitigation=True: PEC is not offered; use zero-noise "
                "extrapolation (resilience_level=2)"
            )
        if res.measure_noise_learning or res.layer_noise_learning or res.pec:
            problems.append(
                "resilience.measure_noise_learning/layer_noise_learning/pec: the centre "
                "learns readout noise itself and offers no PEC; leave them empty"
            )
        if res.layer_noise_model is not None:
            problems.append("resilience.layer_noise_model: not offered; leave it None")
        amplifier = res.zne.get("amplifier", "gate_folding")
        if amplifier != "gate_folding":
            problems.append(
                f"resilience.zne.amplifier={amplifier!r}: only 'gate_folding' is offered"
            )
    dd = options.dynamical_decoupling
    if dd.enable and (dd.extra_slack_distribution != "middle" or dd.scheduling_method != "alap"):
        problems.append(
            "dynamical_decoupling: sequences are placed as late as possible with the slack "
            "spread evenly; leave extra_slack_distribution='middle', scheduling_method='alap'"
        )
    twirling = options.twirling
    if twirling.strategy != "active-accum":
        problems.append(
            f"twirling.strategy={twirling.strategy!r}: every two-qubit gate is twirled, as "
            "'active-accum' does here; leave the default"
        )
    return problems


def job_options(options: SamplerOptions | EstimatorOptions) -> dict[str, Any]:
    """The ``options`` of the job request: the mitigation options that are set."""
    body: dict[str, Any] = {}
    dd = options.dynamical_decoupling
    if dd.enable:
        body["dynamical_decoupling"] = {"enable": True, "sequence_type": dd.sequence_type}
    twirl = _twirling(options.twirling)
    if twirl:
        body["twirling"] = twirl
    if isinstance(options, SamplerOptions):
        if options.measure_mitigation:
            body["mitigate_readout"] = True
        return body
    if options.resilience_level:
        body["resilience_level"] = options.resilience_level
    res = options.resilience
    resilience: dict[str, Any] = {
        name: getattr(res, name)
        for name in ("measure_mitigation", "zne_mitigation")
        if getattr(res, name) is not None
    }
    zne = {k: v for k, v in res.zne.items() if k in ("noise_factors", "extrapolator")}
    if zne:
        resilience["zne"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in zne.items() if v is not None
        }
    if resilience:
        body["resilience"] = resilience
    return body


def _twirling(twirling: TwirlingOptions) -> dict[str, Any]:
    """The twirling options that are set, as the job request names them."""
    twirl = {
        name: getattr(twirling, name)
        for name in ("enable_gates", "enable_measure")
        if getattr(twirling, name) is not None
    }
    for name in ("num_randomizations", "shots_per_randomization"):
        if getattr(twirling, name) != "auto":
            twirl[name] = getattr(twirling, name)
    return twirl


def coerce(
    options: Any, cls: type[SamplerOptions] | type[EstimatorOptions]
) -> SamplerOptions | EstimatorOptions:
    """Options from an options object, a (nested) dict, or None."""
    if isinstance(options, cls):
        return options
    if options is None:
        return cls()
    if isinstance(options, dict):
        made = cls()
        made.update(**options)
        return made
    raise TypeError(f"options must be a {cls.__name__} or a dict, not {type(options).__name__}")

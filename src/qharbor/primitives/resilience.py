"""Error-mitigation options in qiskit-ibm-runtime's shape, and the plan they resolve to.

A job names a ``resilience_level`` and may override its parts, as IBM's
Estimator does:

* level 0: nothing;
* level 1: twirled readout error extinction (TREX): measurements are twirled
  and each Pauli term is divided by its readout factor, learnt on ``|0…0⟩``
  with the same twirls;
* level 2: level 1, plus zero-noise extrapolation (ZNE) by folding two-qubit
  gates, and Pauli twirling of the two-qubit gates.

Dynamical decoupling is off at every level and is switched on by
``dynamical_decoupling.enable``. :func:`check` refuses unknown or impossible
combinations with ``MITIGATION_INVALID`` before a job is queued; :func:`plan`
turns the options into what a worker does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from qharbor import errors

#: Levels, as in qiskit-ibm-runtime.
LEVELS = (0, 1, 2)

#: Dynamical decoupling sequences.
SEQUENCES = ("XX", "XpXm", "XY4")

#: Extrapolators by name; ``polynomial_degree_k`` for k from 1 to 7 as well.
EXTRAPOLATORS = ("linear", "exponential", "double_exponential")

_POLYNOMIAL = re.compile(r"^polynomial_degree_([1-7])$")

#: Noise factors and extrapolators when a job leaves them out (IBM's defaults).
DEFAULT_NOISE_FACTORS = (1.0, 3.0, 5.0)
DEFAULT_EXTRAPOLATORS = ("exponential", "linear")

#: Randomizations when a job asks for "auto" (IBM's default).
DEFAULT_RANDOMIZATIONS = 32

#: The largest noise factor accepted: a circuit folded further is mostly noise.
MAX_NOISE_FACTOR = 9.0


@dataclass(frozen=True)
class ZneOptions:
    """``resilience.zne``: noise factors (each at least 1) and extrapolators, tried in order."""

    noise_factors: tuple[float, ...] | None = None
    extrapolator: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ZneOptions:
        data = data or {}
        factors = data.get("noise_factors")
        extrapolator = data.get("extrapolator")
        if isinstance(extrapolator, str):
            extrapolator = [extrapolator]
        return cls(
            noise_factors=tuple(float(f) for f in factors) if factors is not None else None,
            extrapolator=tuple(extrapolator) if extrapolator is not None else None,
        )


@dataclass(frozen=True)
class ResilienceOptions:
    """``resilience``: None leaves a switch to the level."""

    measure_mitigation: bool | None = None
    zne_mitigation: bool | None = None
    pec_mitigation: bool = False
    zne: ZneOptions = field(default_factory=ZneOptions)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ResilienceOptions:
        data = data or {}
        return cls(
            measure_mitigation=data.get("measure_mitigation"),
            zne_mitigation=data.get("zne_mitigation"),
            pec_mitigation=bool(data.get("pec_mitigation", False)),
            zne=ZneOptions.from_json(data.get("zne")),
        )


@dataclass(frozen=True)
class TwirlingOptions:
    """``twirling``: None leaves a switch to the level; "auto" sizes from the shots."""

    enable_gates: bool | None = None
    enable_measure: bool | None = None
    num_randomizations: int | str = "auto"
    shots_per_randomization: int | str = "auto"

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TwirlingOptions:
        data = data or {}
        return cls(
            enable_gates=data.get("enable_gates"),
            enable_measure=data.get("enable_measure"),
            num_randomizations=data.get("num_randomizations", "auto"),
            shots_per_randomization=data.get("shots_per_randomization", "auto"),
        )


@dataclass(frozen=True)
class DynamicalDecouplingOptions:
    """``dynamical_decoupling``: off unless enabled, at every level."""

    enable: bool = False
    sequence_type: str = "XX"

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> DynamicalDecouplingOptions:
        data = data or {}
        return cls(
            enable=bool(data.get("enable", False)), sequence_type=data.get("sequence_type", "XX")
        )


@dataclass(frozen=True)
class Plan:
    """What a worker applies to one job, resolved from its options.

    Attributes:
        measure_mitigation: TREX: divide each Pauli term by its twirled readout factor.
        measure_twirling: flip measured qubits at random before reading them.
        gate_twirling: Pauli-twirl the two-qubit gates.
        noise_factors: ZNE's factors (empty: no ZNE).
        extrapolators: ZNE's extrapolators, tried in order.
        dd_sequence: the dynamical decoupling sequence, or None.
        num_randomizations: twirled instances per circuit ("auto" resolved at run time).
        shots_per_randomization: shots per instance ("auto" resolved at run time).
    """

    measure_mitigation: bool = False
    measure_twirling: bool = False
    gate_twirling: bool = False
    noise_factors: tuple[float, ...] = ()
    extrapolators: tuple[str, ...] = ()
    dd_sequence: str | None = None
    num_randomizations: int | str = "auto"
    shots_per_randomization: int | str = "auto"

    @property
    def active(self) -> bool:
        return bool(
            self.measure_mitigation
            or self.measure_twirling
            or self.gate_twirling
            or self.noise_factors
            or self.dd_sequence
        )

    @property
    def twirled(self) -> bool:
        return self.measure_twirling or self.gate_twirling

    def applied(self) -> list[str]:
        """The methods applied, by name, in the order they act."""
        names = []
        if self.dd_sequence:
            names.append(f"dynamical_decoupling:{self.dd_sequence}")
        if self.gate_twirling:
            names.append("gate_twirling")
        if self.noise_factors:
            names.append("zne")
        if self.measure_twirling:
            names.append("measure_twirling")
        if self.measure_mitigation:
            names.append("trex")
        return names

    def randomizations(self, shots: int) -> tuple[int, int]:
        """Instances per circuit and shots per instance, for ``shots`` per basis.

        As in qiskit-ibm-runtime: both given, they are used as they are; one
        "auto", it is sized so that together they reach ``shots``; both "auto",
        32 instances share ``shots``. Without twirling, one instance takes them all.
        """
        if not self.twirled:
            return 1, shots
        count, each = self.num_randomizations, self.shots_per_randomization
        if isinstance(count, int) and isinstance(each, int):
            return count, each
        if isinstance(count, int):
            return count, max(1, math.ceil(shots / count))
        if isinstance(each, int):
            return max(1, math.ceil(shots / each)), each
        count = min(DEFAULT_RANDOMIZATIONS, shots)
        return count, max(1, math.ceil(shots / count))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["noise_factors"] = list(self.noise_factors)
        data["extrapolators"] = list(self.extrapolators)
        return data


def plan(
    level: int,
    resilience: ResilienceOptions,
    twirling: TwirlingOptions,
    dynamical_decoupling: DynamicalDecouplingOptions,
) -> Plan:
    """The plan of a job's options: the level's switches, then the job's overrides."""
    measure = _pick(resilience.measure_mitigation, level >= 1)
    zne = _pick(resilience.zne_mitigation, level >= 2)
    return Plan(
        measure_mitigation=measure,
        measure_twirling=_pick(twirling.enable_measure, measure),
        gate_twirling=_pick(twirling.enable_gates, level >= 2),
        noise_factors=(resilience.zne.noise_factors or DEFAULT_NOISE_FACTORS) if zne else (),
        extrapolators=(resilience.zne.extrapolator or DEFAULT_EXTRAPOLATORS) if zne else (),
        dd_sequence=dynamical_decoupling.sequence_type if dynamical_decoupling.enable else None,
        num_randomizations=twirling.num_randomizations,
        shots_per_randomization=twirling.shots_per_randomization,
    )


def _pick(explicit: bool | None, by_level: bool) -> bool:
    return by_level if explicit is None else explicit


def extrapolator_points(name: str) -> int:
    """How many distinct noise factors an extrapolator needs.

    Raises:
        errors.MitigationInvalid: no extrapolator has that name.
    """
    if name in ("linear", "exponential"):
        return 2
    if name == "double_exponential":
        return 4
    match = _POLYNOMIAL.match(name)
    if match:
        return int(match[1]) + 1
    raise errors.MitigationInvalid(
        f"resilience.zne.extrapolator: {name!r} is not an extrapolator; use one of "
        f"{list(EXTRAPOLATORS)} or polynomial_degree_1 to polynomial_degree_7",
        field="options.resilience.zne.extrapolator",
    )


def check(
    kind: str,
    level: int,
    resilience: ResilienceOptions,
    twirling: TwirlingOptions,
    dynamical_decoupling: DynamicalDecouplingOptions,
) -> Plan:
    """The plan of a job's options, or the first reason they cannot be honoured.

    Raises:
        errors.MitigationInvalid: a level other than 0, 1 or 2; PEC; options of
            a method that is off; ZNE with noise factors below 1, too few of them
            for the extrapolator, or repeated; mitigation on a ``circuits`` job;
            a sampler asking for TREX or ZNE (it may twirl and decouple).
    """
    if level not in LEVELS:
        raise errors.MitigationInvalid(
            f"resilience_level must be 0, 1 or 2, not {level!r}", field="options.resilience_level"
        )
    if resilience.pec_mitigation:
        raise errors.MitigationInvalid(
            "resilience.pec_mitigation: probabilistic error cancellation is not offered; "
            "use zero-noise extrapolation (resilience_level=2 or resilience.zne_mitigation=true)",
            field="options.resilience.pec_mitigation",
        )
    if dynamical_decoupling.sequence_type not in SEQUENCES:
        raise errors.MitigationInvalid(
            f"dynamical_decoupling.sequence_type must be one of {list(SEQUENCES)}, not "
            f"{dynamical_decoupling.sequence_type!r}",
            field="options.dynamical_decoupling.sequence_type",
        )
    for name in ("num_randomizations", "shots_per_randomization"):
        value = getattr(twirling, name)
        if value != "auto" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise errors.MitigationInvalid(
                f"twirling.{name} must be a positive integer or 'auto', not {value!r}",
                field=f"options.twirling.{name}",
            )
    chosen = plan(level, resilience, twirling, dynamical_decoupling)
    if kind == "circuits":
        if chosen.active:
            raise errors.MitigationInvalid(
                "resilience, twirling and dynamical decoupling apply to estimator jobs; a "
                "circuits job returns raw counts (set options.mitigate_readout for "
                "readout-mitigated quasi-probabilities)",
                field="options.resilience_level",
            )
        return chosen
    if kind == "sampler":
        if chosen.measure_mitigation or chosen.noise_factors:
            raise errors.MitigationInvalid(
                "a sampler returns counts, which TREX and ZNE do not correct; use "
                "options.mitigate_readout for M3 readout-mitigated quasi-probabilities with "
                "their standard errors, twirling.enable_gates/enable_measure to twirl the "
                "counts, or an estimator job for mitigated expectation values",
                field="options.resilience_level",
            )
    else:
        _check_zne(resilience.zne, chosen)
    _check_twirl_sizes(twirling, chosen)
    return chosen


def _check_twirl_sizes(twirling: TwirlingOptions, chosen: Plan) -> None:
    sized = twirling.num_randomizations != "auto" or twirling.shots_per_randomization != "auto"
    if sized and not chosen.twirled:
        raise errors.MitigationInvalid(
            "twirling.num_randomizations/shots_per_randomization are set but nothing is "
            "twirled; set twirling.enable_gates or enable_measure (or resilience_level >= 1)",
            field="options.twirling",
        )


def _check_zne(zne: ZneOptions, chosen: Plan) -> None:
    if not chosen.noise_factors:
        if zne.noise_factors is not None or zne.extrapolator is not None:
            raise errors.MitigationInvalid(
                "resilience.zne is set but ZNE is off; set resilience.zne_mitigation=true "
                "or resilience_level=2",
                field="options.resilience.zne",
            )
        return
    factors = chosen.noise_factors
    for factor in factors:
        if not (math.isfinite(factor) and 1.0 <= factor <= MAX_NOISE_FACTOR):
            raise errors.MitigationInvalid(
                f"resilience.zne.noise_factors: {factor} is not a noise factor; each must be "
                f"from 1 (the circuit as it is) to {MAX_NOISE_FACTOR:g}",
                field="options.resilience.zne.noise_factors",
            )
    if len(set(factors)) != len(factors):
        raise errors.MitigationInvalid(
            f"resilience.zne.noise_factors {list(factors)} repeats a factor; give distinct ones",
            field="options.resilience.zne.noise_factors",
        )
    if not chosen.extrapolators:
        raise errors.MitigationInvalid(
            "resilience.zne.extrapolator is empty; name at least one",
            field="options.resilience.zne.extrapolator",
        )
    for name in chosen.extrapolators:
        needed = extrapolator_points(name)
        if len(factors) < needed:
            raise errors.MitigationInvalid(
                f"extrapolator {name!r} needs at least {needed} noise factors; "
                f"resilience.zne.noise_factors has {len(factors)} ({list(factors)})",
                field="options.resilience.zne.noise_factors",
                needed=needed,
            )

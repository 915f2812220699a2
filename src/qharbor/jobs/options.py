"""Job options: how a job asks to be compiled, run and post-processed.

Options are one frozen value stored with the job (the ``options`` column), so a
new option is one new field here and in the request schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from qharbor import errors, wire
from qharbor.primitives import resilience as res


@dataclass(frozen=True)
class JobOptions:
    """Options of one job.

    Attributes:
        optimization_level: the transpiler's optimisation level (0 to 3) when the
            centre compiles for a device twin.
        skip_compilation: run the programs as sent; they must then be in the
            device's native instructions on coupled qubits (ISA circuits).
        mitigate_readout: also return readout-mitigated quasi-probabilities, from
            the calibration's assignment matrices (device twins): tensored for
            circuits jobs, M3 with standard errors for sampler jobs.
        engine: ``"auto"`` to let the centre pick the fastest engine per circuit,
            or a registered engine's name to pin it.
        precision: ``"double"`` (the default) runs only engines that compute in
            double precision; ``"single"`` also allows single-precision engines.
        resilience_level: estimator error mitigation, 0, 1 (TREX) or 2 (TREX,
            ZNE and gate twirling), as in qiskit-ibm-runtime.
        resilience: the level's switches overridden, and ZNE's settings.
        twirling: gate and measurement twirling, and their randomizations.
        dynamical_decoupling: pulses in idle periods (device twins).
    """

    optimization_level: int = 1
    skip_compilation: bool = False
    mitigate_readout: bool = False
    engine: str = "auto"
    precision: str = "double"
    resilience_level: int = 0
    resilience: res.ResilienceOptions = field(default_factory=res.ResilienceOptions)
    twirling: res.TwirlingOptions = field(default_factory=res.TwirlingOptions)
    dynamical_decoupling: res.DynamicalDecouplingOptions = field(
        default_factory=res.DynamicalDecouplingOptions
    )

    def mitigation_plan(self, kind: str) -> res.Plan:
        """What a job of ``kind`` applies (see :func:`qharbor.primitives.resilience.check`).

        Raises:
            errors.MitigationInvalid: the options cannot be honoured together.
        """
        chosen = res.check(
            kind, self.resilience_level, self.resilience, self.twirling, self.dynamical_decoupling
        )
        if kind == "sampler" and self.mitigate_readout and chosen.measure_twirling:
            # M3 inverts each qubit's own assignment matrix; twirled measurements
            # average it into another one, so the correction would not fit.
            raise errors.MitigationInvalid(
                "mitigate_readout corrects the device's own readout errors, which measurement "
                "twirling changes; set twirling.enable_measure=false or drop mitigate_readout",
                field="options.twirling.enable_measure",
            )
        return chosen

    def to_json(self) -> dict[str, Any]:
        return wire.plain(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> JobOptions:
        """Options from stored JSON; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known}
        nested: dict[str, Any] = {
            "resilience": res.ResilienceOptions,
            "twirling": res.TwirlingOptions,
            "dynamical_decoupling": res.DynamicalDecouplingOptions,
        }
        for name, kind in nested.items():
            if name in values and not isinstance(values[name], kind):
                values[name] = kind.from_json(values[name])
        return cls(**values)

"""How many circuits and shots a PUB runs under a mitigation plan.

Admission estimates a job's device time before it is queued, and the worker
records the shots it spent after; both count them here, so the estimate and
the charge cannot disagree about what mitigation adds. Per measurement basis,
the estimator runs one instance per noise factor and randomization (each
binding of it), and TREX adds one calibration instance per randomization (its
circuit has no parameters, so bindings do not multiply it). Every instance runs
``shots_per_randomization`` shots.
"""

from __future__ import annotations

from dataclasses import dataclass

from qharbor.primitives.resilience import Plan


@dataclass(frozen=True)
class Spend:
    """The runs of one PUB.

    Attributes:
        bases: measurement bases (1 for a sampler PUB).
        bindings: parameter bindings.
        basis_shots: the shots the PUB asks for per basis and binding.
        noise_factors: the folds run, ``(1.0,)`` without ZNE.
        randomizations: instances per basis and noise factor.
        shots_per_randomization: shots of each instance.
        calibrations_per_basis: TREX's calibration instances per basis (0 without TREX).
    """

    bases: int
    bindings: int
    basis_shots: int
    noise_factors: tuple[float, ...]
    randomizations: int
    shots_per_randomization: int
    calibrations_per_basis: int

    @property
    def requested_shots(self) -> int:
        """The shots asked for, as run without mitigation: per basis x bases x bindings."""
        return self.basis_shots * self.bases * self.bindings

    @property
    def mitigated(self) -> bool:
        """Whether the runs differ from the circuit as sent, at the shots asked for."""
        return (
            self.randomizations > 1
            or self.max_noise_factor > 1.0
            or (self.calibrations_per_basis > 0)
        )

    @property
    def circuit_runs(self) -> int:
        """Runs of the PUB's circuit: bases x noise factors x randomizations x bindings."""
        return self.bases * len(self.noise_factors) * self.randomizations * self.bindings

    @property
    def calibration_runs(self) -> int:
        """Runs of TREX's calibration circuits."""
        return self.bases * self.calibrations_per_basis

    @property
    def shots(self) -> int:
        """Every shot spent, calibration included."""
        return self.shots_per_randomization * (self.circuit_runs + self.calibration_runs)

    @property
    def extra_shots(self) -> int:
        """Shots beyond those asked for (negative when twirling rounds them down)."""
        return self.shots - self.requested_shots

    @property
    def folded_shots(self) -> float:
        """The circuit's shots, each weighted by how many times over its fold runs the
        circuit (an upper bound on its duration: only two-qubit gates are folded);
        calibration circuits, which only measure, are left out."""
        per_factor = self.shots_per_randomization * self.randomizations * self.bases
        return per_factor * self.bindings * sum(self.noise_factors)

    @property
    def max_noise_factor(self) -> float:
        """The deepest fold: the longest circuit run, relative to the circuit as sent."""
        return max(self.noise_factors)

    @property
    def overhead(self) -> float:
        """Shots spent per shot asked for."""
        return self.shots / self.requested_shots if self.requested_shots else 1.0

    def describe(self) -> str:
        """What multiplies the shots, in words, for messages that say what to reduce."""
        parts = []
        if len(self.noise_factors) > 1 or self.noise_factors != (1.0,):
            listed = ", ".join(f"{f:g}" for f in self.noise_factors)
            parts.append(f"ZNE noise factors [{listed}] (resilience.zne.noise_factors)")
        if self.randomizations > 1:
            parts.append(
                f"{self.randomizations} twirling randomizations of "
                f"{self.shots_per_randomization} shots (twirling.num_randomizations, "
                "shots_per_randomization)"
            )
        if self.calibrations_per_basis:
            parts.append("TREX readout calibration circuits (resilience.measure_mitigation)")
        return "; ".join(parts) or "no mitigation"


def spend(plan: Plan | None, basis_shots: int, bases: int = 1, bindings: int = 1) -> Spend:
    """The runs of one PUB of ``bindings`` bindings measured in ``bases`` bases,
    ``basis_shots`` shots each, under ``plan`` (None or inactive: as asked)."""
    if plan is None or not plan.active:
        return Spend(bases, bindings, basis_shots, (1.0,), 1, basis_shots, 0)
    count, each = plan.randomizations(basis_shots)
    return Spend(
        bases=bases,
        bindings=bindings,
        basis_shots=basis_shots,
        noise_factors=plan.noise_factors or (1.0,),
        randomizations=count,
        shots_per_randomization=each,
        calibrations_per_basis=count if plan.measure_mitigation else 0,
    )

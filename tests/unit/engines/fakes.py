"""Small stand-in engines for the selection logic: they say what they can run, and count."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qharbor.engines import costs
from qharbor.engines.base import Experiment, ExperimentOutcome
from qharbor.engines.features import CircuitFeatures


class FakeEngine:
    """An engine that runs every circuit to all-zero counts and records its calls.

    Args:
        name: its registered name.
        precisions: the precisions it computes in.
        clifford_only: refuse circuits that are not Clifford (like stim).
        states: whether it offers ``statevectors``.
    """

    def __init__(
        self,
        name: str,
        precisions: Sequence[str] = ("double",),
        *,
        clifford_only: bool = False,
    ) -> None:
        self.name = name
        self.precisions = frozenset(precisions)
        self.clifford_only = clifford_only
        #: What it would take untranslated; it translates nothing, so this is nominal.
        self.operations = frozenset({"measure"})
        self.calls: list[dict[str, Any]] = []

    def unsupported(self, features: CircuitFeatures, method: str, precision: str) -> str | None:
        if self.clifford_only and not features.clifford:
            return f"{self.name} runs only Clifford circuits"
        if precision not in self.precisions:  # as the real engines answer
            return f"{self.name} does not compute in {precision} precision"
        return None

    def run(
        self,
        experiments: Sequence[Experiment],
        *,
        method: str,
        shots: int,
        seed: int,
        precision: str = "double",
    ) -> list[list[ExperimentOutcome]]:
        self.calls.append(
            {"count": len(experiments), "seed": seed, "precision": precision, "method": method}
        )
        out = []
        for experiment in experiments:
            width = experiment.circuit.num_clbits
            out.append(
                [
                    ExperimentOutcome(counts={"0" * width: shots}, seed=seed, run_s=0.0)
                    for _ in experiment.bindings or (None,)
                ]
            )
        return out

    def versions(self) -> dict[str, str]:
        return {f"{self.name}-lib": "1.0"}


class FakeStateEngine(FakeEngine):
    """A fake that also offers exact states (of |0...0>)."""

    def statevectors(self, circuit: Any, bindings: Sequence[Any], *, precision: str = "double"):
        import numpy as np

        state = np.zeros(2**circuit.num_qubits, dtype=complex)
        state[0] = 1.0
        return [state for _ in bindings or (None,)]


def model(**seconds: float) -> costs.CostModel:
    """A cost model with the given coefficients (seconds per unit), the rest zero."""
    return costs.CostModel(tuple(seconds.get(term, 0.0) for term in costs.TERMS))


def table(**models: costs.CostModel) -> costs.CostTable:
    """A cost table from ``engine__form__precision=model`` keywords."""
    return costs.CostTable(
        models={key.replace("__", ":"): m for key, m in models.items()},
        calibrated=frozenset(key.replace("__", ":") for key in models),
    )


class FakeExpectationEngine(FakeEngine):
    """A fake that computes exact expectation values itself: ``value`` for every one."""

    def __init__(self, name: str, value: float, precisions: Sequence[str] = ("double",)) -> None:
        super().__init__(name, precisions)
        self.value = value
        self.asked: list[tuple[int, int, str]] = []

    def expectation_values(
        self, circuit: Any, bindings: Sequence[Any], observables: Sequence[Any], *, precision: str
    ):
        import numpy as np

        self.asked.append((len(bindings), len(observables), precision))
        return np.full((max(1, len(bindings)), len(observables)), self.value)

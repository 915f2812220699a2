"""Energy: unit commitment as a QUBO, solved by QAOA and checked by an exact solver.

Which generators to run for the next hour: each has a capacity (in units of, say,
100 MW) and a cost of running it for the hour at full output; the committed
capacity must cover the demand at least cost. The inequality becomes an equality
with a slack register (``Σ cᵢxᵢ − demand = s``, ``s`` in binary), squared into a
penalty. The exact solver tries every commitment.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qharbor.apps import qaoa
from qharbor.apps.qubo import QUBO

if TYPE_CHECKING:
    from qharbor.runtime.program import Quantum


@dataclass(frozen=True)
class UnitCommitment:
    """Generators' ``capacities`` (whole units) and ``costs`` (currency per hour), and
    the ``demand`` (units) to cover."""

    capacities: tuple[int, ...]
    costs: tuple[float, ...]
    demand: int

    def __post_init__(self) -> None:
        if len(self.capacities) != len(self.costs):
            raise ValueError("give one cost per generator")
        if any(c <= 0 for c in self.capacities):
            raise ValueError("capacities must be whole positive units")
        if not 0 < self.demand <= sum(self.capacities):
            raise ValueError(
                f"demand must be between 1 and the total capacity, {sum(self.capacities)} units"
            )

    @property
    def slack_bits(self) -> int:
        """Bits of the slack register: enough for the largest surplus."""
        return max(1, math.ceil(math.log2(sum(self.capacities) - self.demand + 1)))

    def cost(self, committed: Any) -> float:
        return float(np.dot(self.costs, committed))

    def feasible(self, committed: Any) -> bool:
        return int(np.dot(self.capacities, committed)) >= self.demand

    def qubo(self, penalty: float | None = None) -> QUBO:
        """``Σ costᵢ xᵢ + penalty · (Σ cᵢxᵢ − Σ 2ᵏ sₖ − demand)²``.

        Variables: the generators, then the slack bits.
        """
        penalty = penalty if penalty is not None else 2 * sum(self.costs) + 1
        weights = np.array(
            [*self.capacities, *(-(2**k) for k in range(self.slack_bits))], dtype=float
        )
        linear = np.concatenate([self.costs, np.zeros(self.slack_bits)])
        # penalty · (w·x − d)² = penalty · (xᵀ w wᵀ x − 2 d w·x + d²)
        quadratic = penalty * np.outer(weights, weights)
        linear = linear - 2 * penalty * self.demand * weights
        return QUBO.build(linear, quadratic, penalty * self.demand**2)

    def exact(self) -> tuple[list[int], float]:
        """The cheapest commitment that covers the demand, by trying every one."""
        best: tuple[list[int], float] = ([], math.inf)
        for committed in itertools.product((0, 1), repeat=len(self.capacities)):
            if self.feasible(committed) and self.cost(committed) < best[1]:
                best = (list(committed), self.cost(committed))
        return best


def commit_units(
    quantum: Quantum, problem: UnitCommitment, *, layers: int = 1, shots: int = 4000, **search: Any
) -> dict[str, Any]:
    """The commitment QAOA picks, beside the exact solver's.

    Returns:
        ``committed`` (0/1 per generator), ``feasible``, ``cost``, ``capacity``,
        ``reference_committed``, ``reference_cost``, ``gap`` (cost above the
        optimum; 0 when QAOA found it), ``optimal``, ``probability_optimal`` and
        the angle search's ``history``.
    """
    solution = qaoa.solve(quantum, problem.qubo(), layers=layers, shots=shots, **search)
    n = len(problem.capacities)
    committed = solution.bits[:n]
    reference, reference_cost = problem.exact()
    feasible = problem.feasible(committed)
    cost = problem.cost(committed)
    return {
        "committed": committed,
        "feasible": feasible,
        "cost": cost,
        "capacity": int(np.dot(problem.capacities, committed)),
        "reference_committed": reference,
        "reference_cost": reference_cost,
        "gap": cost - reference_cost if feasible else math.inf,
        "optimal": feasible and abs(cost - reference_cost) < 1e-9,
        "probability_optimal": solution.probability_optimal,
        "history": solution.history,
    }


def plot_schedule(problem: UnitCommitment, outcome: dict[str, Any], path: str) -> str:
    """Committed capacity per generator, QAOA's beside the exact solver's, against the
    demand (PNG at ``path``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    for column, key in enumerate(["committed", "reference_committed"]):
        bottom = 0
        for i, (capacity, on) in enumerate(zip(problem.capacities, outcome[key], strict=True)):
            if on:
                axes.bar(column, capacity, bottom=bottom, color=f"C{i}", edgecolor="k")
                axes.text(column, bottom + capacity / 2, f"G{i}", ha="center", va="center")
                bottom += capacity
        axes.text(column, bottom + 0.1, f"cost {problem.cost(outcome[key]):g}", ha="center")
    axes.axhline(problem.demand, color="k", linestyle="--", label="demand")
    axes.set_xticks([0, 1], ["QAOA", "exact"])
    axes.set_ylabel("committed capacity (units)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

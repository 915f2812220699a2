"""A variational loop that can stop and resume: gradient descent with parameter shifts.

Every iteration is one estimator job: the energy at the current parameters and at
each parameter shifted by ±π/2, so the gradient is exact for ansätze whose
parameters are single rotation angles. The loop's whole state is a small JSON
object, saved every iteration, so a run stopped at any point resumes where it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qharbor.runtime.program import Quantum


@dataclass
class LoopState:
    """Where the loop is: the next iteration, the parameters, the best found, the curve."""

    iteration: int
    x: list[float]
    best: float = math.inf
    best_x: list[float] = field(default_factory=list)
    history: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        # Saved every iteration: shallow copies of the lists of floats (``asdict``
        # deep-copies each float of the growing history, and cost more than a job).
        return {
            "iteration": self.iteration,
            "x": list(self.x),
            "best": self.best,
            "best_x": list(self.best_x),
            "history": list(self.history),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopState:
        return cls(**data)


#: Called after each iteration with (iteration, value, best).
Report = Callable[[int, float, float], None]


def minimise(
    quantum: Quantum,
    circuit: Any,
    observable: Any,
    x0: Sequence[float],
    *,
    iterations: int,
    step: float = 0.5,
    state: LoopState | None = None,
    report: Report | None = None,
    save: Callable[[dict[str, Any]], None] | None = None,
) -> LoopState:
    """Minimise ``<observable>`` over the circuit's parameters.

    Args:
        quantum: where the circuits run.
        circuit: the ansatz; its parameters are bound in ``circuit.parameters`` order.
        observable: a ``SparsePauliOp`` (hartree for molecules).
        x0: the starting parameters (radians).
        iterations: how many iterations in all (a resumed loop counts those done).
        step: the gradient step (radians per unit of gradient).
        state: where a resumed loop starts; None starts at ``x0``.
        report: told each iteration's value and the best so far.
        save: given the state after each iteration.

    Returns:
        The final state; ``best`` and ``best_x`` are the lowest value seen and where.
    """
    state = state or LoopState(iteration=0, x=[float(v) for v in x0])
    shift = math.pi / 2
    while state.iteration < iterations:
        x = state.x
        sets = [x]
        for i in range(len(x)):
            sets.append([*x[:i], x[i] + shift, *x[i + 1 :]])
            sets.append([*x[:i], x[i] - shift, *x[i + 1 :]])
        values = quantum.estimate(circuit, observable, sets)
        value = values[0]
        gradient = [(values[1 + 2 * i] - values[2 + 2 * i]) / 2 for i in range(len(x))]
        if value < state.best:
            state.best, state.best_x = value, list(x)
        state.history.append(value)
        state.x = [xi - step * gi for xi, gi in zip(x, gradient, strict=True)]
        state.iteration += 1
        if report is not None:
            report(state.iteration, value, state.best)
        if save is not None:
            save(state.to_json())
    return state

"""What a centre program is, and what it sees of the centre while it runs."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict


class Inputs(BaseModel):
    """The base of every program's inputs: a validated model that forbids unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantum(Protocol):
    """The quantum half of a hybrid algorithm: where its circuits run.

    The centre's runtime gives a program one that submits jobs in the run's
    session; :class:`qharbor.apps.quantum.ServiceQuantum` is one that submits them
    over HTTP, so the same algorithm runs from a laptop against any centre.
    """

    @property
    def device(self) -> str:
        """The device the circuits run on."""
        ...

    def estimate(
        self,
        circuit: Any,
        observable: Any,
        parameter_sets: Sequence[Sequence[float]] | None = None,
        precision: float | None = None,
    ) -> list[float]:
        """Expectation values of ``observable`` (a ``SparsePauliOp``) for each parameter
        set, bound in the order of ``circuit.parameters``; all in one estimator job."""
        ...

    def sample(self, circuits: Sequence[Any], shots: int) -> list[dict[str, int]]:
        """Counts (bit strings, Qiskit order) of each measured circuit; all in one job."""
        ...


class Context(Quantum, Protocol):
    """What a running program sees: its quantum half, progress, checkpoints, cancellation."""

    @property
    def restored(self) -> dict[str, Any] | None:
        """The state the program last saved, when the run resumes after a restart."""
        ...

    def report(self, iteration: int, value: float, best: float, **extra: Any) -> None:
        """Progress: the iteration, its objective value and the best so far."""
        ...

    def save(self, state: dict[str, Any], *, force: bool = False) -> None:
        """Save the program's state (JSON); a resumed run gets it as ``restored``.

        Saved at most every ``program_checkpoint_seconds`` unless ``force``.
        """
        ...

    def check(self) -> None:
        """Raise if the run was cancelled; ``estimate`` and ``sample`` check too."""
        ...


class Program(abc.ABC):
    """A named, versioned hybrid algorithm the centre runs.

    Subclasses name themselves, declare their inputs as an :class:`Inputs` model
    (checked before anything is queued) and implement :meth:`run`, which returns
    a JSON object: the answer, and where the program has one, its classical
    reference and the gap between them.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    summary: ClassVar[str]
    inputs: ClassVar[type[Inputs]]

    @abc.abstractmethod
    def run(self, inputs: Any, context: Context) -> dict[str, Any]:
        """Run the algorithm; ``inputs`` is an instance of :attr:`inputs`."""

    def describe(self) -> dict[str, Any]:
        """The program as ``GET /v1/programs`` lists it, with its inputs' JSON schema."""
        return {
            "name": self.name,
            "version": self.version,
            "summary": self.summary,
            "inputs_schema": self.inputs.model_json_schema(),
        }

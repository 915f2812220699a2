"""What an engine can do beyond sampling, as protocols checked at run time.

Every engine samples circuits (:class:`qharbor.engines.base.Engine`). The
capabilities here are optional, each an engine with one more method: the
worker, the selector and the primitives ask ``isinstance(engine,
ComputesStatevectors)`` before relying on one, so a plugin engine gains a
capability by defining the method, without registering it anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qharbor.engines.base import Engine, ExperimentOutcome
from qharbor.engines.features import CircuitFeatures
from qharbor.engines.gatelist import GateList

if TYPE_CHECKING:
    from qharbor.devices.twins.document import DocumentLike


@runtime_checkable
class ComputesStatevectors(Engine, Protocol):
    """An engine that also returns final state vectors (for exact primitives, result types)."""

    def statevectors(
        self,
        circuit: QuantumCircuit,
        bindings: Sequence[Mapping[str, float]],
        *,
        precision: str = "double",
    ) -> list[np.ndarray]:
        """The final state of a measurement-free circuit, once per binding.

        Amplitudes are in Qiskit's order (qubit 0 is the least significant bit).
        An empty ``bindings`` means one run of a circuit without parameters.
        """
        ...


@runtime_checkable
class RunsGateLists(Engine, Protocol):
    """An engine that samples gate lists (:mod:`qharbor.engines.gatelist`) directly,
    without a ``QuantumCircuit`` per program."""

    def run_gate_lists(
        self, gate_lists: Sequence[GateList], *, shots: int, seed: int
    ) -> list[list[ExperimentOutcome]]:
        """One outcome per gate list, in double precision; the k-th samples with ``seed + k``.

        Counts are keyed as :meth:`Engine.run` keys them for the same circuit.
        """
        ...


@runtime_checkable
class ComputesExpectationValues(Engine, Protocol):
    """An engine that also computes exact expectation values itself, without returning states."""

    def expectation_values(
        self,
        circuit: QuantumCircuit,
        bindings: Sequence[Mapping[str, float]],
        observables: Sequence[SparsePauliOp],
        *,
        precision: str = "double",
    ) -> np.ndarray:
        """Exact ⟨O⟩ of the measurement-free circuit, shape (bindings or 1, observables)."""
        ...


@runtime_checkable
class EmulatesDevices(Engine, Protocol):
    """An engine that also runs compiled circuits on a device twin's noise.

    A real QPU driver implements the same method: the document names the device
    and the calibration in force, the circuits are on physical qubits.
    """

    def run_twin(
        self,
        document: DocumentLike,
        circuits: Sequence[QuantumCircuit],
        *,
        shots: int,
        seed: int,
    ) -> list[ExperimentOutcome]:
        """Run each circuit once with ``shots``; the i-th uses seed ``seed + i``."""
        ...


@runtime_checkable
class CountsGatePasses(Engine, Protocol):
    """An engine that applies fewer gates than a circuit has, in a way its cost probes miss.

    The cost model's gate terms count what the engine applies
    (:func:`qharbor.engines.costs.gate_passes`), when fitting and when predicting.
    """

    def passes(self, features: CircuitFeatures) -> int:
        """The gates it applies to a circuit with these features (each a pass over the state)."""
        ...

"""The engine interface and the registry of engines by name."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qharbor import errors
from qharbor.engines.features import CircuitFeatures


@dataclass(frozen=True)
class Experiment:
    """One compiled circuit and the parameter bindings to run it with.

    An experiment without bindings runs once; one with bindings runs once per
    binding, in order.
    """

    circuit: QuantumCircuit
    bindings: tuple[Mapping[str, float], ...] = ()


@dataclass(frozen=True)
class ExperimentOutcome:
    """What one run of one circuit produced.

    Attributes:
        counts: outcome bit strings to counts, in Qiskit's bit order.
        seed: the seed the sampler used.
        run_s: engine time for this run, in seconds.
        qubits: for a device twin, the physical qubits the run simulated.
    """

    counts: dict[str, int]
    seed: int
    run_s: float
    qubits: tuple[int, ...] = ()


#: Numeric precisions a job may ask for.
PRECISIONS = ("double", "single")


class Engine(Protocol):
    """Runs experiments. Implementations must be safe to call from one worker process.

    Attributes:
        name: the registered name, which jobs may pin with ``options.engine``.
        precisions: the precisions it computes in (``double``, ``single``).
        operations: the operation names its translator takes, each proven by the
            differential conformance harness; it decomposes any other gate
            first (:func:`qharbor.engines.operations.conform`) or refuses the
            circuit in ``unsupported``.
    """

    name: str
    precisions: frozenset[str]
    operations: frozenset[str]

    def unsupported(self, features: CircuitFeatures, method: str, precision: str) -> str | None:
        """Why this engine cannot run a circuit with ``features``, or None if it can.

        ``method`` is the device's method (``statevector``, ``stabilizer``, ...).
        """
        ...

    def run(
        self,
        experiments: Sequence[Experiment],
        *,
        method: str,
        shots: int,
        seed: int,
        precision: str = "double",
    ) -> list[list[ExperimentOutcome]]:
        """Run every experiment; return, per experiment, one outcome per binding.

        Counts are keyed by bit strings in Qiskit's order (clbit 0 rightmost).
        """
        ...

    def versions(self) -> dict[str, str]:
        """Library versions that determine this engine's results."""
        ...


def run_each(
    experiments: Sequence[Experiment],
    seed: int,
    prepare: Callable[[QuantumCircuit], Any],
    sample: Callable[[Any, Mapping[str, float] | None, int], dict[str, int]],
) -> list[list[ExperimentOutcome]]:
    """Run every binding of every experiment in order; the k-th run samples with ``seed + k``.

    ``prepare`` turns a circuit into the engine's own program once per experiment
    (compile once, bind many times); ``sample(program, binding, seed)`` gives the
    counts of one run. Each run's ``run_s`` is its own time, the first including
    the preparation.
    """
    outcomes: list[list[ExperimentOutcome]] = []
    next_seed = seed
    for experiment in experiments:
        started = time.perf_counter()
        program = prepare(experiment.circuit)
        runs = []
        for binding in experiment.bindings or (None,):
            counts = sample(program, binding, next_seed)
            now = time.perf_counter()
            runs.append(ExperimentOutcome(counts=counts, seed=next_seed, run_s=now - started))
            started = now
            next_seed += 1
        outcomes.append(runs)
    return outcomes


class ProducesStates(Protocol):
    """An engine that can return final state vectors (for exact primitives and result types)."""

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


class ComputesExpectations(Protocol):
    """An engine that computes exact expectation values itself, without returning states."""

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


class EmulatesDevices(Protocol):
    """An engine that runs compiled circuits on a device twin's noise.

    A real QPU driver implements the same method: the document names the device
    and the calibration in force, the circuits are on physical qubits.
    """

    def run_twin(
        self,
        document: Mapping[str, Any],
        circuits: Sequence[QuantumCircuit],
        *,
        shots: int,
        seed: int,
    ) -> list[ExperimentOutcome]:
        """Run each circuit once with ``shots``; the i-th uses seed ``seed + i``."""
        ...


_FACTORIES: dict[str, Callable[[], Engine]] = {}
_INSTANCES: dict[str, Engine] = {}


def register(name: str, factory: Callable[[], Engine]) -> None:
    """Make an engine available under ``name``."""
    _FACTORIES[name] = factory


def get_engine(name: str) -> Engine:
    """The engine registered as ``name``, created once per process."""
    if name not in _INSTANCES:
        if name not in _FACTORIES:
            _load_builtin()
        if name not in _FACTORIES:
            raise errors.ExecutionError(
                f"no engine named {name!r}; registered: {', '.join(sorted(_FACTORIES))}"
            )
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]


def registered() -> list[str]:
    """The names of every engine this process can create."""
    _load_builtin()
    return sorted(_FACTORIES)


def _load_builtin() -> None:
    for name, (module, cls) in _BUILTIN.items():
        _FACTORIES.setdefault(name, _lazy(module, cls))


#: Built-in engines: name -> (module, class). Imported on first use, so a worker
#: that never runs qsim never pays for importing Cirq.
_BUILTIN = {
    "aer": ("qharbor.engines.aer", "AerEngine"),
    "qulacs": ("qharbor.engines.qulacs", "QulacsEngine"),
    "qsim": ("qharbor.engines.qsim", "QsimEngine"),
    "stim": ("qharbor.engines.stim", "StimEngine"),
}


def _lazy(module: str, cls: str) -> Callable[[], Engine]:
    def factory() -> Engine:
        try:
            engine_class = getattr(importlib.import_module(module), cls)
        except ImportError as exc:
            raise errors.ExecutionError(
                f"engine {cls} needs a library that is not installed ({exc.name}); "
                "install qharbor[server]"
            ) from None
        engine: Engine = engine_class()
        return engine

    return factory

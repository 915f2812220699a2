"""The engine interface and the registry of engines by name.

Engines register through the ``qharbor.engines`` entry-point group, the built-in
ones included (``pyproject.toml``), so an engine from another distribution is
found without touching the centre; see "Writing an engine plugin" in
docs/engines.md. Each is imported on first use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

from qiskit import QuantumCircuit

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
        method: for a device twin, the Aer method it ran on.
        method_reason: why that method.
        shots_per_trajectory: for a device twin, shots drawn from each noise trajectory.
    """

    counts: dict[str, int]
    seed: int
    run_s: float
    qubits: tuple[int, ...] = ()
    method: str = ""
    method_reason: str = ""
    shots_per_trajectory: int = 1


#: Numeric precisions a job may ask for.
PRECISIONS = ("double", "single")


@runtime_checkable
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


log = logging.getLogger(__name__)

#: The entry-point group engines register in: name = "module:Class".
ENTRY_POINT_GROUP = "qharbor.engines"

#: Built-in engines, as pyproject.toml declares them in the entry-point group. An
#: install whose metadata predates the group still finds them here.
BUILTIN = {
    "aer": "qharbor.engines.aer:AerEngine",
    "qulacs": "qharbor.engines.qulacs:QulacsEngine",
    "qsim": "qharbor.engines.qsim:QsimEngine",
    "stim": "qharbor.engines.stim:StimEngine",
}

_FACTORIES: dict[str, Callable[[], Engine]] = {}
_INSTANCES: dict[str, Engine] = {}
#: Whether this process has read the entry points.
_discovered = False


def register(name: str, factory: Callable[[], Engine]) -> None:
    """Make an engine available under ``name``."""
    _FACTORIES[name] = factory


def get_engine(name: str) -> Engine:
    """The engine registered as ``name``, created once per process."""
    if name not in _INSTANCES:
        if name not in _FACTORIES:
            _discover()
        if name not in _FACTORIES:
            raise errors.ExecutionError(
                f"no engine named {name!r}; registered: {', '.join(sorted(_FACTORIES))}"
            )
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]


def registered() -> list[str]:
    """The names of every engine this process can create."""
    _discover()
    return sorted(_FACTORIES)


def plugins() -> list[str]:
    """The registered engines that are not built in, in name order."""
    return [name for name in registered() if name not in BUILTIN]


def _discover() -> None:
    """Register every engine of the entry-point group, once per process.

    Nothing is imported here: a worker that never runs qsim never pays for
    importing Cirq. A malformed entry, or one that reuses a taken name, is logged
    and skipped, so one broken plugin cannot keep the centre from starting.
    """
    global _discovered
    if _discovered:
        return
    _discovered = True
    try:
        points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    except Exception:  # unreadable metadata of some installed distribution
        log.exception(
            "could not read the %s entry points; built-in engines only", ENTRY_POINT_GROUP
        )
        points = []
    found = {
        name: metadata.EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in BUILTIN.items()
    }
    for point in points:
        taken = found.get(point.name)
        if taken is not None and taken.value != point.value:
            log.error(
                "engine plugin %s = %r skipped: the name %r is taken by %r",
                point.name,
                point.value,
                point.name,
                taken.value,
            )
            continue
        if ":" not in point.value or not point.attr:
            log.error(
                "engine plugin %s = %r skipped: the value must be 'module:Class'",
                point.name,
                point.value,
            )
            continue
        found[point.name] = point
    for name, point in found.items():
        _FACTORIES.setdefault(name, _lazy(point))


def _lazy(point: metadata.EntryPoint) -> Callable[[], Engine]:
    def factory() -> Engine:
        builtin = point.name in BUILTIN
        try:
            engine_class = point.load()
        except ImportError as exc:
            if builtin:
                raise errors.ExecutionError(
                    f"engine {point.name} needs a library that is not installed ({exc.name}); "
                    "install qharbor[server]"
                ) from None
            raise _broken(point, f"it does not import ({exc})") from None
        except Exception as exc:
            raise _broken(point, f"it does not import ({type(exc).__name__}: {exc})") from None
        try:
            engine = engine_class()
        except Exception as exc:
            raise _broken(point, f"{point.attr}() raised {type(exc).__name__}: {exc}") from None
        if not isinstance(engine, Engine):
            raise _broken(
                point,
                "its engine lacks the interface of qharbor.engines.Engine "
                "(name, precisions, operations, unsupported, run, versions)",
            )
        if engine.name != point.name:
            raise _broken(point, f"its engine calls itself {engine.name!r}")
        return engine

    return factory


def _broken(point: metadata.EntryPoint, why: str) -> errors.ExecutionError:
    """The error of a plugin that cannot be used, logged where the operator looks."""
    message = (
        f"engine plugin {point.name!r} ({point.value}) cannot be used: {why}; "
        "fix or uninstall the distribution that provides it"
    )
    log.error("%s", message)
    return errors.ExecutionError(message)

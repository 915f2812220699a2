"""Which engine runs a circuit: the one predicted to finish first, or the one the job pinned.

No engine wins everywhere: qsim is fastest on deep random circuits in single
precision, qulacs on many small circuits and parameter sweeps, stim on Clifford
circuits, and Aer is the only one with noise models, density matrices, MPS and
device twins. So each circuit's features, shots and bindings are priced with
every capable engine's cost model fitted on this host (:mod:`qharbor.engines.costs`),
and the cheapest wins. Devices that are noisy, twins, or that list no other
engines keep their own engine.

Selection runs once per circuit in a worker, so it is kept to a few
microseconds: engines are looked up once per process and decisions are memoised,
for the whole process while the cost table stays the same, on the handful of
numbers they depend on.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qharbor import errors
from qharbor.engines import base, costs, eligibility, loading, memory
from qharbor.engines.features import CircuitFeatures
from qharbor.engines.quick_features import NOT_READ, quick_features

#: What an exact computation needs from an engine: states, or expectation values (or states).
EXACT_NEEDS = (None, "states", "expectations")
#: How many decisions one process remembers.
_MEMO_SIZE = 4096

#: (device, precision, pin) -> (the cost table in force, its decisions); see ``Selector._memo``.
_SHARED: dict[tuple[Any, ...], tuple[costs.CostTable, dict[tuple[Any, ...], Choice]]] = {}
_SHARED_LOCK = threading.Lock()


@dataclass(frozen=True)
class Choice:
    """The engine chosen for one circuit, and why.

    Attributes:
        engine: the registered name of the engine that runs it.
        precision: the precision it runs in (a ``single`` job on a double-only
            engine runs in ``double``).
        reason: one sentence for the result's metadata.
        predictions: predicted seconds per capable engine (empty when pinned or fixed).
    """

    engine: str
    precision: str
    reason: str
    predictions: Mapping[str, float] = field(default_factory=dict)


def format_seconds(seconds: float) -> str:
    """``31 ms``, ``0.61 s``, ``12 µs``: short, for one sentence."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms" if seconds < 0.1 else f"{seconds:.2f} s"
    return f"{seconds * 1e6:.3g} µs"


class Selector:
    """Chooses engines for the circuits of one device, in one process.

    Args:
        device: the device the job runs on.
        precision: the job's precision (``double`` or ``single``).
        pinned: ``auto``, or the engine the job pinned.
        table: the cost models; this host's in force when omitted.
        engines: engine name to engine, for tests; the registry when omitted.
    """

    def __init__(
        self,
        device: Any,
        *,
        precision: str = "double",
        pinned: str = "auto",
        table: costs.CostTable | None = None,
        engines: Mapping[str, Any] | None = None,
    ) -> None:
        self.device = device
        self.precision = precision
        self.pinned = pinned
        self._table = table
        self._engines = dict(engines) if engines is not None else None
        #: Selectors of the table in force (a worker builds one per job) share decisions.
        self._shares = table is None and engines is None
        self._own_memo: dict[tuple[Any, ...], Choice] = {}
        self._loaded: list[Any] | None = None
        self._fixed = eligibility.fixed_reason(device) if pinned == "auto" else None

    @property
    def is_fixed(self) -> bool:
        """Whether the device always runs on its own engine (no features needed)."""
        return self._fixed is not None

    @property
    def table(self) -> costs.CostTable:
        if self._table is None:
            self._table = costs.current()
        return self._table

    @property
    def _memo(self) -> dict[tuple[Any, ...], Choice]:
        """Decisions made for this device, precision and pin with the cost table in force.

        A worker builds a selector per job, and deciding again costs as much as
        running a small circuit, so selectors of the table in force share their
        decisions (a new table, fitted or read anew, starts afresh).
        """
        if not self._shares:
            return self._own_memo
        device = self.device
        scope = (
            device.name,
            device.kind,
            device.method,
            device.engine,
            tuple(device.candidate_engines),
            device.noisy,
            device.twin is not None,
            self.precision,
            self.pinned,
        )
        table = self.table
        shared = _SHARED.get(scope)
        if shared is None or shared[0] is not table:
            shared = (table, {})
            with _SHARED_LOCK:
                if len(_SHARED) >= _MEMO_SIZE:
                    _SHARED.clear()
                _SHARED[scope] = shared
        return shared[1]

    def engine(self, name: str) -> Any:
        """The engine object registered as ``name``."""
        if self._engines is not None:
            if name not in self._engines:
                raise errors.EngineNotFound(f"no engine named {name!r} in this process")
            return self._engines[name]
        return base.get_engine(name)

    def _available(self) -> list[Any]:
        """The device's engines that load in this process, looked up once per selector."""
        if self._loaded is None:
            if self._engines is not None:
                names = self.device.candidate_engines
                self._loaded = [self._engines[n] for n in names if n in self._engines]
            else:
                self._loaded = loading.loaded(self.device.candidate_engines)
        return self._loaded

    def choose(
        self,
        features: CircuitFeatures,
        *,
        shots: int,
        runs: int = 1,
        exact: str | None = None,
        batch: int = 1,
    ) -> Choice:
        """The engine for one circuit.

        Args:
            features: the compiled circuit's features.
            shots: shots per run (0 for exact states or expectation values).
            runs: how many times it runs (its parameter bindings, at least 1).
            exact: ``states`` or ``expectations`` when the result is computed
                exactly from the final state, else None.
            batch: how many circuits share the engine call (spreads its fixed cost).

        Raises:
            errors.EngineCannotRun: the pinned engine cannot run this circuit.
        """
        if self._fixed is not None:
            key: tuple[Any, ...] = ("fixed",)
        else:
            key = (
                features.num_qubits,
                features.size,
                features.clifford,
                features.dynamic,
                features.num_parameters > 0,
                frozenset(features.gates),
                shots,
                runs,
                exact,
                min(batch, 64),
            )
        memo = self._memo
        found = memo.get(key)
        if found is not None:
            return found
        found = self._decide(features, shots=shots, runs=runs, exact=exact, batch=batch)
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = found
        return found

    def _decide(
        self, features: CircuitFeatures, *, shots: int, runs: int, exact: str | None, batch: int
    ) -> Choice:
        method = self.device.method
        if self.pinned != "auto":
            engine = self.engine(self.pinned)
            why = (
                eligibility.precision_refusal(engine, self.precision)
                or engine.unsupported(
                    features, method, eligibility.run_precision(engine, self.precision, method)
                )
                or eligibility.exact_refusal(engine, exact)
            )
            if why is not None:
                raise errors.EngineCannotRun(
                    f"the job pins engine {self.pinned!r}, which cannot run this circuit: {why}. "
                    "Use engine 'auto' to let the centre choose",
                    engine=self.pinned,
                    reason=why,
                )
            return Choice(
                self.pinned,
                eligibility.run_precision(engine, self.precision, method),
                "pinned by the job",
            )
        if self._fixed is not None:
            engine = self.engine(self.device.engine)
            return Choice(
                self.device.engine,
                eligibility.run_precision(engine, self.precision, method),
                self._fixed,
            )
        predictions: dict[str, float] = {}
        refused: dict[str, str] = {}
        too_large: list[str] = []  # left out for the memory they hold beside a wide state
        precisions: dict[str, str] = {}
        for engine in self._available():
            # An engine is asked about the precision it would compute in: a single
            # job runs a double-only engine in double.
            precision = eligibility.run_precision(engine, self.precision, method)
            why = (
                eligibility.precision_refusal(engine, self.precision)
                or engine.unsupported(features, method, precision)
                or eligibility.exact_refusal(engine, exact)
            )
            if why is not None:
                refused[engine.name] = why
                continue
            why = memory.lean_refusal(engine.name, method, self.precision, features.num_qubits)
            if why is not None:
                refused[engine.name] = why
                too_large.append(engine.name)
                continue
            model = self.table.model(engine.name, method, precision)
            if model is None:
                refused[engine.name] = f"{engine.name} has no cost model on this host"
                continue
            terms = costs.term_values(
                costs.form_for(engine.name, method),
                qubits=features.num_qubits,
                gates=costs.gate_passes(engine, features),
                runs=runs,
                shots=shots,
            )
            predictions[engine.name] = model.predict(terms, batch)
            precisions[engine.name] = precision
        if not predictions:
            # Nothing priced: the device's own engine runs it (its errors say why it cannot).
            engine = self.engine(self.device.engine)
            return Choice(
                self.device.engine,
                eligibility.run_precision(engine, self.precision, method),
                f"{self.device.engine}: no other engine can run this circuit",
            )
        order = {name: i for i, name in enumerate(self.device.candidate_engines)}
        best = min(predictions, key=lambda n: (predictions[n], order.get(n, 99)))
        return Choice(
            best,
            precisions[best],
            self._reason(best, predictions, refused, too_large),
            predictions,
        )

    def _reason(
        self,
        best: str,
        predictions: dict[str, float],
        refused: dict[str, str],
        too_large: list[str],
    ) -> str:
        others = [f"{n} {format_seconds(t)}" for n, t in predictions.items() if n != best]
        sentence = f"{best}: predicted {format_seconds(predictions[best])}"
        if others:
            sentence += " against " + ", ".join(others)
        elif not too_large:
            sentence += ", the only engine that can run it"
        if too_large:
            sentence += (
                f"; {', '.join(too_large)} left out: from {memory.LEAN_QUBITS} qubits only "
                f"engines holding at most {memory.LEAN_RATIO:g} times the state run it"
            )
        if self.precision == "single":
            sentence += "; single precision allowed"
        elif any("single precision only" in why for why in refused.values()):
            sentence += "; double precision required"
        return sentence


class Picker:
    """Chooses and records the engine for each circuit a worker runs.

    Wraps a :class:`Selector` (or, for device twins, one fixed runner) so the
    sampler, the estimator and the circuits path ask the same way, and the
    result's metadata can say afterwards which engines ran and why.
    """

    def __init__(
        self, selector: Selector | None = None, fixed: Any = None, reason: str = ""
    ) -> None:
        self._selector = selector
        self._fixed = fixed
        self._reason = reason
        #: Every choice made, in order.
        self.used: list[Choice] = []

    @classmethod
    def of(cls, engine_or_picker: Any) -> Picker:
        """A picker as it is, or a fixed picker around a plain engine."""
        if isinstance(engine_or_picker, Picker):
            return engine_or_picker
        return cls(fixed=engine_or_picker, reason=f"{engine_or_picker.name}: the engine given")

    @property
    def fixed(self) -> bool:
        """Whether every circuit goes to one engine without looking at it."""
        return self._fixed is not None or (
            self._selector is not None
            and self._selector.pinned == "auto"
            and self._selector.is_fixed
        )

    def engine(self, name: str) -> Any:
        if self._fixed is not None:
            return self._fixed
        assert self._selector is not None
        return self._selector.engine(name)

    def pick(
        self,
        circuit: Any,
        *,
        shots: int,
        runs: int = 1,
        exact: str | None = None,
        batch: int = 1,
        features: CircuitFeatures | None = None,
    ) -> tuple[Any, Choice]:
        """The engine object for ``circuit`` and the choice that named it."""
        if self._fixed is not None:
            choice = Choice(self._fixed.name, "double", self._reason)
        else:
            assert self._selector is not None
            if features is None:
                features = NOT_READ if self._selector.is_fixed else quick_features(circuit)
            choice = self._selector.choose(
                features, shots=shots, runs=runs, exact=exact, batch=batch
            )
        self.used.append(choice)
        return self.engine(choice.engine), choice

    def repeat(self, choice: Choice) -> None:
        """Record ``choice`` again, for another circuit of the same shape it was made for."""
        self.used.append(choice)

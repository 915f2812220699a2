"""In-process runs: claims predicted to take under a millisecond run in the scheduler's thread.

Handing a tiny job to a worker process costs more than running it: the claim
and the result are pickled across a socket, two processes wake up, and the
worker's interpreter does the work the centre's could have done. So the local
executor runs a claim here instead when its engine is predicted to need less
than a threshold (``QHARBOR_INLINE_MAX_MS``, 1 ms by default; 0 turns this off),
with the same function a worker runs (:func:`qharbor.workers.execution.execute`),
so the result is the same value a worker would have sent back. The runtime's
fast lane (:mod:`qharbor.runtime.fastlane`) runs program jobs in-thread the same way.

What a worker process gives and a thread does not: a running job that can be
stopped by ending its process, a crash contained, and a memory reservation. So
only claims for which these matter little run here:

- a simulator's (never a device twin's or a real device's);
- plain circuits: not sealed, no result types, standard gates only, no control
  flow, resets or measurements before the end, at most :data:`MOST_RUNS` runs;
- whose engine, chosen as the worker would choose it, is predicted by this host's
  cost model (:mod:`qharbor.engines.costs`) to take under the threshold in all.

A job running in-process cannot be cancelled: it is short by construction and
ends as it would have ended. Engines are loaded in the centre in the background
when the executor starts; until they are, every claim goes to a worker.
"""

from __future__ import annotations

import logging
import threading

from qharbor import errors
from qharbor.engines import costs, loading
from qharbor.engines.features import NON_GATES, CircuitFeatures
from qharbor.engines.quick_features import gate_list_features, quick_features
from qharbor.engines.selection import Selector
from qharbor.executors.base import Outcome, OutcomeKind
from qharbor.jobs.claims import Claim
from qharbor.jobs.parsed import ParsedProgram
from qharbor.workers.execution import execute

log = logging.getLogger(__name__)

#: The most runs (programs times bindings) a claim run in-process may hold: what a
#: worker does per run besides the engine (compiling, the result's row, about
#: 0.1 to 0.3 ms) is not in the engines' cost model.
MOST_RUNS = 8


def _standard_gates() -> frozenset[str]:
    from qiskit.circuit.library import get_standard_gate_name_mapping

    return frozenset(get_standard_gate_name_mapping())


class InlineRuns:
    """Decides which claims run in this thread, and runs them.

    Args:
        max_s: the longest predicted engine time (seconds) of a claim run here;
            0 runs none here.
    """

    def __init__(self, max_s: float) -> None:
        self.max_s = max_s
        self._loaded = threading.Event()
        self._standard: frozenset[str] = frozenset()
        if max_s > 0:
            threading.Thread(target=self._load, name="qharbor-inline-warm-up", daemon=True).start()

    def _load(self) -> None:
        """Load the engines and the cost table here, off the scheduler's thread."""
        try:
            loading.warm_up()
            self._standard = _standard_gates()
        except Exception:  # claims keep going to workers, which report what is wrong
            log.exception("engines could not be loaded in the centre; every job runs in a worker")
            return
        self._loaded.set()

    def wait_loaded(self, timeout: float) -> bool:
        """Wait until claims may run here; whether they may (False when turned off)."""
        return self.max_s > 0 and self._loaded.wait(timeout)

    def takes(self, claim: Claim) -> bool:
        """Whether ``claim`` runs here (see the module's docstring)."""
        if self.max_s <= 0 or not self._loaded.is_set():
            return False
        seconds = self.predicted_s(claim)
        return seconds is not None and seconds <= self.max_s

    def predicted_s(self, claim: Claim) -> float | None:
        """The engine time (seconds) predicted for a claim that may run here; None if it may not.

        Stops reading the programs once the prediction exceeds ``max_s``.
        """
        device = claim.target
        if (
            device is None
            or device.kind != "simulator"
            or device.twin is not None
            or claim.twin is not None
            or claim.kind != "circuits"
            or claim.sealed
        ):
            return None
        programs = claim.programs
        if len(programs) > MOST_RUNS:
            return None
        options = claim.options
        selector = Selector(device, precision=options.precision, pinned=options.engine)
        total = 0.0
        runs = 0
        for body in programs:
            try:
                program = ParsedProgram.from_json(body)
                if program.result_types:
                    return None
                gates = program.gates()
                features = (
                    gate_list_features(gates)
                    if gates is not None
                    else quick_features(program.circuit())
                )
            except errors.QHarborError:  # a damaged row: its worker fails the job
                return None
            runs += program.num_experiments
            if runs > MOST_RUNS or not self._plain(features):
                return None
            seconds = self._engine_s(selector, features, claim.shots, program.num_experiments)
            if seconds is None:
                return None
            total += seconds
            if total > self.max_s:
                return None
        return total

    def _plain(self, features: CircuitFeatures) -> bool:
        """Standard gates only, and one measurement of the final state."""
        if features.dynamic:
            return False
        return all(name in NON_GATES or name in self._standard for name in features.gates)

    def _engine_s(
        self, selector: Selector, features: CircuitFeatures, shots: int, runs: int
    ) -> float | None:
        """The predicted seconds of the engine the worker would choose; None when unpriced."""
        try:
            choice = selector.choose(features, shots=shots, runs=runs)
        except errors.QHarborError:  # e.g. a pinned engine that cannot run it
            return None
        found = choice.predictions.get(choice.engine)
        if found is not None:
            return found
        # Pinned, or the device's only engine: priced by that engine's own model.
        method = selector.device.method
        model = selector.table.model(choice.engine, method, choice.precision)
        if model is None:
            return None
        terms = costs.term_values(
            costs.form_for(choice.engine, method),
            qubits=features.num_qubits,
            gates=features.size,
            runs=runs,
            shots=shots,
        )
        return model.predict(terms)

    def run(self, claim: Claim) -> Outcome:
        """Run the claim here, as a worker process would, and say how it ended."""
        try:
            result = execute(claim)
        except errors.QHarborError as exc:
            return Outcome(
                OutcomeKind.FAILED, claim.job_id, claim.attempt, code=exc.code, message=exc.message
            )
        except Exception as exc:  # an engine bug must fail the job, not the centre
            return Outcome(
                OutcomeKind.FAILED,
                claim.job_id,
                claim.attempt,
                code="ENGINE_ERROR",
                message=f"{exc!r}",
            )
        return Outcome(OutcomeKind.DONE, claim.job_id, claim.attempt, result=result)

"""Qiskit Aer as an engine."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp, ForLoopOp, ParameterExpression
from qiskit.exceptions import QiskitError
from qiskit.result import Result
from qiskit_aer import AerSimulator

from qharbor import errors
from qharbor.devices.twins import document as documents
from qharbor.engines import operations, threads, twin_costs
from qharbor.engines import twin as twins
from qharbor.engines.base import PRECISIONS, Experiment, ExperimentOutcome
from qharbor.engines.features import NON_GATES, CircuitFeatures

#: Device twins (one per calibration snapshot) kept warm in one worker.
_TWIN_CACHE = 8
#: Methods whose state Aer can keep in single precision (``precision="single"``).
_SINGLE_METHODS = frozenset({"statevector", "density_matrix", "unitary", "superop"})
#: Methods Aer implements, as devices name them.
_METHODS = frozenset(
    {
        "automatic",
        "statevector",
        "density_matrix",
        "matrix_product_state",
        "stabilizer",
        "extended_stabilizer",
        "unitary",
        "superop",
    }
)
#: Gates per qubit below which gate fusion is switched off. Aer fuses gates into
#: dense blocks of up to 5 qubits; a sparse circuit such as a GHZ chain (one CX
#: per qubit) then applies a few dense 5-qubit matrices instead of cheap CX
#: gates. Measured on GHZ-25 with 1000 shots: 1.95 s fused, 1.15 s unfused.
SPARSE_GATES_PER_QUBIT = 4
#: Aer's default ``fusion_threshold``: narrower circuits are never fused.
_FUSION_THRESHOLD = 14


#: What the engine is proven on (by the differential conformance harness): the
#: standard gates Aer implements, dense unitaries, measurement, reset and control
#: flow, and the multi-controlled ``mcx`` and ``mcphase``. Aer knows more (``mcu``,
#: ``mcr``, ...) and lacks some standard gates (``iswap``, ``dcx``, ``ch``, ...);
#: circuits with any other gate are decomposed into these first.
OPERATIONS = frozenset(
    (operations.STANDARD_GATES & set(AerSimulator(method="statevector").target.operation_names))
    | {"mcx", "mcphase"}
    | operations.DIRECTIVES
    | {"unitary", "measure", "reset", "if_else", "for_loop", "while_loop", "switch_case"}
)


class AerEngine:
    """Runs circuits on Aer with one simulator per method, built once."""

    name = "aer"
    precisions = frozenset(PRECISIONS)
    operations = OPERATIONS

    def __init__(self) -> None:
        self._simulators: dict[tuple[str, str], AerSimulator] = {}
        self._twins: OrderedDict[str, twins.LocalTwin] = OrderedDict()

    def unsupported(self, features: CircuitFeatures, method: str, precision: str) -> str | None:
        """Aer runs every method its devices name; its stabilizer method needs Clifford gates."""
        if precision not in self.precisions:
            return f"unknown precision {precision}"
        if method not in _METHODS:
            return f"Aer has no {method} method"
        if method == "stabilizer" and not features.clifford:
            return "Aer's stabilizer method runs Clifford circuits only"
        return None

    def _simulator(self, method: str, precision: str = "double") -> AerSimulator:
        """One simulator per (method, precision), built once.

        Methods that keep no single-precision state (stabilizer, MPS) run in
        double precision whatever the job allows: more precise, never less.
        """
        if method not in _SINGLE_METHODS:
            precision = "double"
        key = (method, precision)
        if key not in self._simulators:
            self._simulators[key] = AerSimulator(method=method, precision=precision)
        return self._simulators[key]

    def run_twin(
        self,
        document: documents.DocumentLike,
        circuits: Sequence[QuantumCircuit],
        *,
        shots: int,
        seed: int,
    ) -> list[ExperimentOutcome]:
        """Run compiled circuits with the noise of a twin's calibration snapshot.

        Only each circuit's active qubits are simulated; the noise of the physical
        qubits they stand for comes with them.

        Each circuit runs on the method its shape makes fastest
        (:mod:`qharbor.engines.twin_methods`).

        Raises:
            errors.DeviceLimit: no method can run a circuit.
        """
        local = self._twin(documents.read(document))
        outcomes = []
        for index, circuit in enumerate(circuits):
            narrow, qubits = local.prepare(circuit)
            started = time.perf_counter()
            try:
                run = local.execute(
                    narrow,
                    qubits,
                    shots=shots,
                    seed=seed + index,
                    coefficients=twin_costs.current(),
                )
            except ValueError as exc:
                raise errors.DeviceLimit(
                    f"experiment {index}: after compilation {exc}", device=local.name
                ) from None
            outcomes.append(
                ExperimentOutcome(
                    counts=run.counts,
                    seed=seed + index,
                    run_s=time.perf_counter() - started,
                    qubits=tuple(qubits),
                    method=run.choice.method,
                    method_reason=run.choice.reason,
                    shots_per_trajectory=run.choice.shots_per_trajectory,
                )
            )
        return outcomes

    def _twin(self, document: documents.TwinDocument) -> twins.LocalTwin:
        key = document.calibration.id
        local = self._twins.get(key)
        if local is None:
            local = self._twins[key] = twins.LocalTwin(document)
            while len(self._twins) > _TWIN_CACHE:
                self._twins.popitem(last=False)
        self._twins.move_to_end(key)
        return local

    def versions(self) -> dict[str, str]:
        return {"qiskit": metadata.version("qiskit"), "qiskit-aer": metadata.version("qiskit-aer")}

    def run(
        self,
        experiments: Sequence[Experiment],
        *,
        method: str,
        shots: int,
        seed: int,
        precision: str = "double",
    ) -> list[list[ExperimentOutcome]]:
        """Run each experiment; the k-th run overall samples with seed ``seed + k``.

        Aer gives the i-th circuit or binding of one call the seed
        ``seed_simulator + 2113 * i`` (qiskit-aer 0.18), so runs of one call would
        sample differently from the same runs started elsewhere (a chunk of a
        fanned-out sweep). Each run is therefore its own call, seeded with its
        place in the job: about 0.5 ms more per run than one call for all.
        """
        simulator = self._simulator(method, precision)
        outcomes: list[list[ExperimentOutcome]] = []
        next_seed = seed
        for experiment in experiments:
            circuit = _native(simulator, experiment.circuit)
            options = _run_options([circuit])
            if not experiment.bindings:
                result = self._execute(simulator, [circuit], shots, next_seed, None, options)
                outcomes.append([_outcome(result, 0, next_seed)])
                next_seed += 1
                continue
            aer_binds = _binds_correctly(circuit)
            runs = []
            for binding in experiment.bindings:
                if aer_binds:
                    # Aer binds the value without preparing the circuit again.
                    binds = [{p: [binding[p.name]] for p in circuit.parameters}]
                    result = self._execute(simulator, [circuit], shots, next_seed, binds, options)
                else:
                    bound = [_bind(circuit, binding)]
                    result = self._execute(simulator, bound, shots, next_seed, None, options)
                runs.append(_outcome(result, 0, next_seed))
                next_seed += 1
            outcomes.append(runs)
        return outcomes

    def statevectors(
        self,
        circuit: QuantumCircuit,
        bindings: Sequence[Mapping[str, float]],
        *,
        precision: str = "double",
    ) -> list[np.ndarray]:
        """The final state of a measurement-free circuit, once per binding.

        One Aer call binds every value, so the circuit is prepared once.

        Args:
            circuit: the circuit, without measurements.
            bindings: parameter name to value, per run; empty for one run of a
                circuit without parameters.
        """
        simulator = self._simulator("statevector", precision)
        # The state before the final measurements, as the other engines give it.
        prepared = _native(simulator, circuit.remove_final_measurements(inplace=False))
        prepared.save_statevector()
        options: dict = {"shots": 1, **_fusion_options([prepared]), **_thread_options([prepared])}
        runs: list[QuantumCircuit] = [prepared]
        aer_binds = bool(bindings) and _binds_correctly(prepared)
        if aer_binds:
            options["parameter_binds"] = [
                {p: [b[p.name] for b in bindings] for p in prepared.parameters}
            ]
        elif bindings:
            runs = [_bind(prepared, b) for b in bindings]
        result = simulator.run(runs, **options).result()
        if not result.success:
            raise errors.ExecutionError(f"Aer failed: {result.status}")
        vectors = [np.asarray(result.data(i)["statevector"]) for i in range(max(1, len(bindings)))]
        phase = prepared.global_phase
        if aer_binds and isinstance(phase, ParameterExpression) and phase.parameters:
            # Aer drops a global phase that depends on parameters; put it back.
            for vector, binding in zip(vectors, bindings, strict=True):
                vector *= np.exp(
                    1j * float(phase.bind({p: binding[p.name] for p in phase.parameters}))
                )
        return vectors

    @staticmethod
    def _execute(
        simulator: AerSimulator,
        circuits: list[QuantumCircuit],
        shots: int,
        seed: int,
        parameter_binds: list[dict] | None,
        options: dict[str, Any],
    ) -> Result:
        run_options: dict = {"shots": shots, "seed_simulator": seed, **options}
        if parameter_binds is not None:
            run_options["parameter_binds"] = parameter_binds
        result = simulator.run(circuits, **run_options).result()
        if not result.success:
            raise errors.ExecutionError(f"Aer failed: {result.status}")
        return result


def _run_options(circuits: Sequence[QuantumCircuit]) -> dict[str, Any]:
    """Aer's fusion and thread options for these circuits (worked out once per circuit)."""
    return {**_fusion_options(circuits), **_thread_options(circuits)}


def _binds_correctly(circuit: QuantumCircuit) -> bool:
    """Whether Aer's ``parameter_binds`` gives the right state for this circuit.

    With qiskit-aer 0.18.2 and Qiskit 2.6, binding a parameter of a controlled
    rotation or phase (``cp``, ``crx``, ``cry``, ``crz``, ``cu1``, ``cu3``) through
    ``parameter_binds`` gives a wrong state (fidelity 0.6 to 0.95 against Qiskit);
    such circuits are bound here, one circuit per binding, instead.
    """
    return not any(i.is_controlled_gate() and i.is_parameterized() for i in circuit.data)


def _bind(circuit: QuantumCircuit, binding: Mapping[str, float]) -> QuantumCircuit:
    return circuit.assign_parameters({p: binding[p.name] for p in circuit.parameters})


def _native(simulator: AerSimulator, circuit: QuantumCircuit) -> QuantumCircuit:
    """The circuit in the operations Aer is proven on (:data:`OPERATIONS`).

    Device compilation already targets Aer's gates, so this is normally a check.
    """
    circuit = operations.conform(circuit, OPERATIONS)
    if "for_loop" in circuit.count_ops():
        circuit = _without_unused_loop_parameters(circuit)
    return circuit


def _without_unused_loop_parameters(circuit: QuantumCircuit) -> QuantumCircuit:
    """The circuit with each ``for`` loop's parameter dropped where its body never uses it.

    Aer (0.18.2) binds the loop parameter in the body on every iteration and fails
    with "Cannot bind parameters ... not present in the circuit" when the body
    does not use it, though the circuit is valid Qiskit.
    """
    out = circuit.copy_empty_like()
    for instruction in circuit.data:
        op = instruction.operation
        if isinstance(op, ForLoopOp):
            indices, parameter, body = op.params
            body = _without_unused_loop_parameters(body)
            if parameter is not None and parameter not in body.parameters:
                parameter = None
            op = ForLoopOp(indices, parameter, body, label=op.label)
        elif isinstance(op, ControlFlowOp):
            op = op.replace_blocks([_without_unused_loop_parameters(b) for b in op.blocks])
        out.append(instruction.replace(operation=op))
    return out


def _thread_options(circuits: Sequence[QuantumCircuit]) -> dict[str, Any]:
    """One thread for batches of narrow circuits, the process's budget for wide ones.

    1000 five-qubit circuits with 100 shots took 1.0 s on one thread and 2.7 to
    4.8 s with Aer's default (every core of the host) on our loaded 2-core host.
    Wide circuits get :func:`qharbor.engines.threads.threads_for` too, never
    Aer's default: a 1-CPU Ray task on a 2-core host must not run two threads.
    """
    width = max((c.num_qubits for c in circuits), default=0)
    return {"max_parallel_threads": threads.threads_for(width)}


def _fusion_options(circuits: Sequence[QuantumCircuit]) -> dict[str, Any]:
    """Aer run options that switch fusion off when every wide circuit is sparse.

    Aer fuses only circuits of at least ``fusion_threshold`` (14) qubits, so
    narrower ones do not take part in the choice.
    """
    sparse = False
    for circuit in circuits:
        if circuit.num_qubits < _FUSION_THRESHOLD:
            continue
        ops = circuit.count_ops()
        gates = sum(count for name, count in ops.items() if name not in NON_GATES)
        if gates >= SPARSE_GATES_PER_QUBIT * circuit.num_qubits:
            return {}
        sparse = True
    return {"fusion_enable": False} if sparse else {}


def _outcome(result: Result, slot: int, fallback_seed: int) -> ExperimentOutcome:
    experiment = result.results[slot]
    try:
        counts = {str(k): int(v) for k, v in result.get_counts(slot).items()}
    except QiskitError:
        counts = {}  # a circuit without classical bits has no counts
    seed = getattr(experiment, "seed_simulator", None)
    return ExperimentOutcome(
        counts=counts,
        seed=int(seed) if seed is not None else fallback_seed,
        run_s=float(getattr(experiment, "time_taken", 0.0) or 0.0),
    )

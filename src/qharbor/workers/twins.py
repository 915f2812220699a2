"""Device-twin jobs: compile for the twin's target, run on its noise, record how."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from qharbor import errors
from qharbor.devices import Device
from qharbor.engines import Experiment, capabilities, get_engine
from qharbor.engines.readout import one_register
from qharbor.engines.selection import Picker
from qharbor.jobs.claims import Claim
from qharbor.jobs.options import JobOptions
from qharbor.jobs.parsed import ParsedProgram
from qharbor.jobs.result import ExperimentResult, Result, Timings
from qharbor.workers.compiler import compile_for_twin, two_qubit_gates
from qharbor.workers.record import record


class TwinRunner:
    """Runs primitive experiments on a device twin's noise, one value set at a time."""

    def __init__(self, engine: Any, document: dict[str, Any]) -> None:
        if not isinstance(engine, capabilities.EmulatesDevices):
            raise errors.ExecutionError(f"engine {engine.name!r} cannot emulate device twins")
        self.name = engine.name
        self._engine = engine
        self._document = document
        #: Every circuit run, bound, with its shots: what the device time is charged for.
        self.ledger: list[tuple[Any, int]] = []

    def versions(self) -> dict[str, str]:
        return dict(self._engine.versions())

    def run(
        self,
        experiments: list[Experiment],
        *,
        method: str,
        shots: int,
        seed: int,
        precision: str = "double",
    ) -> list[list[Any]]:
        """Run on the twin's noise model; twins compute in double precision."""
        circuits: list[Any] = []
        owners: list[int] = []
        for index, experiment in enumerate(experiments):
            for binding in experiment.bindings or (None,):
                circuit = experiment.circuit
                if binding is not None:
                    circuit = circuit.assign_parameters(
                        {p: binding[p.name] for p in circuit.parameters}
                    )
                circuits.append(circuit)
                owners.append(index)
        outcomes = self._engine.run_twin(self._document, circuits, shots=shots, seed=seed)
        self.ledger.extend((circuit, shots) for circuit in circuits)
        grouped: list[list[Any]] = [[] for _ in experiments]
        for owner, outcome in zip(owners, outcomes, strict=True):
            grouped[owner].append(outcome)
        return grouped


def reason(claim: Claim, engine: Any) -> str:
    if claim.options.engine != "auto":
        return "pinned by the job"
    return f"{engine.name}: device twins run on {engine.name}'s noise models"


def compiler(document: dict[str, Any], options: JobOptions) -> Any:
    """``compile_for`` for a twin: its target, cached per circuit and calibration."""
    from qiskit import qasm3

    def compile_twin(_device: Device, circuit: Any, _seed: int) -> Any:
        key = hashlib.sha256(qasm3.dumps(circuit).encode()).hexdigest()
        compiled, _cached = compile_for_twin(document, circuit, key, options.optimization_level)
        return compiled

    return compile_twin


@dataclass(frozen=True)
class _TwinRun:
    program: int
    name: str | None
    parameters: dict[str, float] | None
    qasm3: str
    circuit: Any
    cached: bool


def execute_twin(claim: Claim, document: dict[str, Any], programs: list[ParsedProgram]) -> Result:
    """Compile for the twin's target, run on its noise, and record how.

    Each experiment runs the circuit read back from its own OpenQASM 3 text, so the
    compiled circuit in the result is exactly what ran, and running it on the
    twin document (``HarborService.local_twin``) with the same seed gives the
    same counts.
    """
    from qiskit import qasm3

    from qharbor.devices.twins import mitigation as readout
    from qharbor.devices.twins import timing

    options = claim.options
    engine = get_engine(claim.runs_on.engine)
    if not isinstance(engine, capabilities.EmulatesDevices):
        raise errors.ExecutionError(f"engine {engine.name!r} cannot emulate device twins")
    started = time.perf_counter()
    runs: list[_TwinRun] = []
    for index, program in enumerate(programs):
        runnable, _bits = one_register(program.circuit())
        if options.skip_compilation or program.verbatim:
            compiled, cached = runnable, False
        else:
            compiled, cached = compile_for_twin(
                document, runnable, program.digest, options.optimization_level
            )
        for binding in program.bindings or (None,):
            bound = compiled
            if binding is not None:
                bound = compiled.assign_parameters(
                    {p: binding[p.name] for p in compiled.parameters}
                )
            text = qasm3.dumps(bound)
            runs.append(
                _TwinRun(
                    index,
                    program.name,
                    dict(binding) if binding is not None else None,
                    text,
                    qasm3.loads(text),
                    cached,
                )
            )
    compiled_at = time.perf_counter()
    circuits = [r.circuit for r in runs]
    outcomes = engine.run_twin(document, circuits, shots=claim.shots, seed=claim.seed)
    finished = time.perf_counter()
    rows: list[ExperimentResult] = []
    for run, outcome in zip(runs, outcomes, strict=True):
        extra: dict[str, Any] = {
            "two_qubit_gates": two_qubit_gates(run.circuit),
            "physical_qubits": list(outcome.qubits),
            "compiled_qasm3": run.qasm3,
            "compile_cached": run.cached,
            "method": outcome.method,
            "method_reason": outcome.method_reason,
            "shots_per_trajectory": outcome.shots_per_trajectory,
        }
        if options.mitigate_readout:
            mitigation = readout.mitigate(document, run.circuit, outcome.counts)
            extra["quasi_probabilities"] = mitigation.quasi_probabilities
            extra["mitigation"] = mitigation.method
        rows.append(
            ExperimentResult(
                program=run.program,
                name=run.name,
                parameters=run.parameters,
                counts=outcome.counts,
                shots=claim.shots,
                seed=outcome.seed,
                num_qubits=run.circuit.num_qubits,
                num_clbits=run.circuit.num_clbits,
                depth=run.circuit.depth(),
                run_s=outcome.run_s,
                extra=extra,
            )
        )
    picker = Picker(fixed=engine, reason=reason(claim, engine))
    picker.pick(None, shots=claim.shots)
    calibration = document["calibration"]
    meta = dataclasses.replace(record(claim, picker), method="twin").adding(
        calibration_snapshot_id=calibration["id"],
        calibration={
            "snapshot": calibration["id"],
            "version": calibration["version"],
            "valid_at": calibration["valid_at"],
        },
        optimization_level=None if options.skip_compilation else options.optimization_level,
        twin_methods=[{"method": o.method, "reason": o.method_reason} for o in outcomes],
    )
    return Result(
        job_id=claim.job_id,
        device=claim.runs_on.name,
        shots=claim.shots,
        experiments=tuple(rows),
        timings=Timings(
            compile_s=compiled_at - started,
            run_s=finished - compiled_at,
            qpu_s=timing.modelled_qpu_s(document, circuits, claim.shots, claim.seed),
        ),
        metadata=meta,
    )

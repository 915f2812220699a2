"""Runs one job attempt: parse, compile, execute, build the result.

This is what a worker process does with a task. It is a plain function of its
input, so any executor (local processes, Ray) can run it.
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from qharbor import errors, wire
from qharbor.devices import Device
from qharbor.engines import Engine, Experiment, capabilities, get_engine, result_types, sampling
from qharbor.engines.idle_qubits import drop_idle_qubits
from qharbor.engines.quick_features import quick_features
from qharbor.engines.readout import one_register
from qharbor.engines.selection import Choice, Picker, Selector
from qharbor.jobs.options import JobOptions
from qharbor.programs import Program, parse_program
from qharbor.workers.compiler import compile_for, compile_for_twin, two_qubit_gates


@dataclass(frozen=True)
class Task:
    """One attempt of one job, as handed to a worker."""

    job_id: str
    attempt: int
    device: Device
    shots: int
    seed: int
    programs: list[dict[str, Any]]
    kind: str = "circuits"
    primitive: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    twin: dict[str, Any] | None = None  # the twin document, with the calibration in force
    #: For a sealed job, the AES key of its one programs envelope.
    program_key: bytes | None = None
    #: The (key id, raw ML-KEM-768 public key) to seal the result to, if any.
    result_key: tuple[str, bytes] | None = None
    #: The memory it needs (bytes), reserved on the host while it runs.
    memory_bytes: int = 0


def execute(task: Task) -> dict[str, Any]:
    """Run a task and return the result document (without queue timings).

    A sealed job's programs are decrypted here, in the worker's memory; a result
    for a user with a registered key is sealed here, before it leaves the worker.

    Raises:
        errors.QHarborError: with the code to record on the failed job.
    """
    programs = task.programs
    if task.program_key is not None:
        programs = wire.open_with_key(task.program_key, programs[0]["sealed"], wire.PROGRAMS_AAD)
    if task.kind != "circuits":
        result = _execute_primitive(task, get_engine(task.device.engine))
    elif task.twin is not None:
        result = _execute_twin(task, task.twin, programs)
    else:
        result = _execute(task, programs)
    if task.result_key is None:
        return result
    key_id, public_key = task.result_key
    outer: dict[str, Any] = {
        "job_id": task.job_id,
        "device": result["device"],
        "sealed": wire.seal(public_key, key_id, result, wire.result_aad(task.job_id)),
        "timings": dict(result["timings"]),
    }
    snapshot = result["metadata"].get("calibration_snapshot_id")
    if snapshot is not None:
        outer["metadata"] = {"calibration_snapshot_id": snapshot}
    return outer


def picker_for(task: Task) -> Picker:
    """The engine picker of a task: automatic, pinned, or the device's own engine."""
    options = JobOptions.from_json(task.options)
    selector = Selector(task.device, precision=options.precision, pinned=options.engine)
    return Picker(selector)


def _execute(task: Task, programs: list[dict[str, Any]]) -> dict[str, Any]:
    device = task.device
    picker = picker_for(task)
    started = time.perf_counter()
    experiments: list[Experiment] = []
    parsed: list[Program] = []
    # The compiled circuits as users see them (``experiments`` may hold them narrowed).
    full: list[Any] = []
    narrowing = device.kind == "simulator" and not device.noisy
    for spec in programs:
        # The intake accepted this program; the same limits apply again here.
        program = parse_program(spec["source"], spec["format"], spec["bindings"] or None)
        # Registers that share bits, leave bits out or hold none run as one register,
        # so that every result keeps the whole classical state.
        runnable, _bits = one_register(program.circuit)
        compiled = compile_for(device, runnable, task.seed)
        full.append(compiled)
        if narrowing and not program.result_types:
            # Idle qubits stay |0⟩ and are never read: simulate the active ones only.
            compiled, _simulated = drop_idle_qubits(compiled)
        experiments.append(Experiment(compiled, program.bindings))
        parsed.append(program)
    compiled_at = time.perf_counter()
    batch = len(experiments)
    chosen = [
        picker.pick(
            experiment.circuit,
            shots=task.shots,
            runs=len(experiment.bindings) or 1,
            exact="states" if program.result_types else None,
            batch=batch,
        )
        for experiment, program in zip(experiments, parsed, strict=True)
    ]
    choices = [choice for _engine, choice in chosen]
    selected_at = time.perf_counter()
    # A program with result types needs its final state; its counts are sampled
    # from that state, so the circuit is simulated once, not twice.
    finals: dict[int, list[Any]] = {}
    simulated: dict[int, float] = {}
    for index, (experiment, program, (engine, choice)) in enumerate(
        zip(experiments, parsed, chosen, strict=True)
    ):
        if program.result_types:
            began = time.perf_counter()
            states = _final_states(engine, experiment, choice.precision)
            if states is not None:
                finals[index] = states
                simulated[index] = (time.perf_counter() - began) / len(states)
    rest = [i for i in range(batch) if i not in finals]
    outcomes: list[list[Any]] = [[] for _ in experiments]
    grouped = run_grouped(
        picker,
        [experiments[i] for i in rest],
        [choices[i] for i in rest],
        device.method,
        task.shots,
        task.seed,
    )
    for index, runs in zip(rest, grouped, strict=True):
        outcomes[index] = runs
    for index, states in finals.items():
        outcomes[index] = sampling.sample_states(
            experiments[index].circuit, states, task.shots, task.seed, simulated[index]
        )
    finished = time.perf_counter()

    mixed = len({c.engine for c in choices}) > 1
    rows: list[dict[str, Any]] = []
    for index, (spec, program, experiment, runs, (_engine, choice)) in enumerate(
        zip(programs, parsed, experiments, outcomes, chosen, strict=True)
    ):
        circuit = full[index]
        depth = circuit_depth(circuit)
        states = finals.get(index)
        for slot, outcome in enumerate(runs):
            extra: dict[str, Any] = {}
            if program.result_types:
                source = program.circuit
                if experiment.bindings:
                    source = source.assign_parameters(
                        {p: experiment.bindings[slot][p.name] for p in source.parameters}
                    )
                extra["result_types"] = _evaluate(source, program.result_types, states, slot)
            if program.verbatim:
                extra["verbatim"] = True
            if experiment.circuit.num_qubits != circuit.num_qubits:
                extra["simulated_qubits"] = experiment.circuit.num_qubits
            if mixed:
                extra["engine"] = choice.engine
                extra["engine_reason"] = choice.reason
                extra["precision"] = choice.precision
            rows.append(
                {
                    **extra,
                    "program": index,
                    "name": spec.get("name"),
                    "parameters": dict(experiment.bindings[slot]) if experiment.bindings else None,
                    "counts": outcome.counts,
                    "shots": task.shots,
                    "seed": outcome.seed,
                    "num_qubits": circuit.num_qubits,
                    "num_clbits": circuit.num_clbits,
                    "depth": depth,
                    "run_s": outcome.run_s,
                }
            )
    meta = _metadata(task, picker)
    meta["selection_s"] = selected_at - compiled_at
    return {
        "job_id": task.job_id,
        "device": device.name,
        "shots": task.shots,
        "experiments": rows,
        "timings": {"compile_s": compiled_at - started, "run_s": finished - compiled_at},
        "metadata": meta,
    }


def run_grouped(
    picker: Picker,
    experiments: list[Experiment],
    choices: list[Choice],
    method: str,
    shots: int,
    seed: int,
) -> list[list[Any]]:
    """Run the experiments with one ``run`` call per chosen engine, in the original order.

    The first group starts at ``seed``, so a job whose circuits all go to one
    engine samples exactly as that engine alone would; each later group starts
    after the seeds the earlier ones used.
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for index, choice in enumerate(choices):
        groups.setdefault((choice.engine, choice.precision), []).append(index)
    outcomes: list[list[Any]] = [[] for _ in experiments]
    next_seed = seed
    for (name, precision), members in groups.items():
        engine = picker.engine(name)
        done = engine.run(
            [experiments[i] for i in members],
            method=method,
            shots=shots,
            seed=next_seed,
            precision=precision,
        )
        for index, runs in zip(members, done, strict=True):
            outcomes[index] = runs
        next_seed += sum(len(experiments[i].bindings) or 1 for i in members)
    return outcomes


def _final_states(engine: Any, experiment: Experiment, precision: str) -> list[Any] | None:
    """The final states of a result-type program from its chosen engine, once per binding.

    None for a circuit that measures mid-circuit, resets or branches: it has no
    single final state, and ``result_types.evaluate`` says so.
    """
    circuit = experiment.circuit.remove_final_measurements(inplace=False)
    if not isinstance(engine, capabilities.ComputesStatevectors) or quick_features(circuit).dynamic:
        return None
    return list(engine.statevectors(circuit, list(experiment.bindings), precision=precision))


def _evaluate(source: Any, requests: Any, states: list[Any] | None, slot: int) -> Any:
    state = states[slot] if states is not None else None
    return result_types.evaluate(source, requests, state=state)


def circuit_depth(circuit: Any) -> int:
    """``circuit.depth()``, in half its time for the plain circuits most jobs hold.

    A batch of small circuits spends more time in Qiskit's general depth (which
    handles control flow and classical expressions) than in parsing; circuits with
    neither take this plain count, the others Qiskit's own.
    """
    from qiskit.circuit import ControlFlowOp, Store

    if circuit.num_vars or circuit.num_stretches:
        return int(circuit.depth())
    index = {bit: i for i, bit in enumerate(circuit.qubits)}
    offset = len(index)
    index.update({bit: offset + i for i, bit in enumerate(circuit.clbits)})
    levels = [0] * len(index)
    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, (ControlFlowOp, Store)):
            return int(circuit.depth())
        touched = [index[b] for b in instruction.qubits]
        touched += [index[b] for b in instruction.clbits]
        level = max((levels[i] for i in touched), default=0)
        if not getattr(operation, "_directive", False):  # barriers add no depth
            level += 1
        for i in touched:
            levels[i] = level
    return max(levels, default=0)


#: Software versions per engine name. They cannot change while a worker process
#: lives, and reading them from package metadata costs more than running a small
#: circuit, so each engine's are read once.
_VERSIONS: dict[tuple[str, type], dict[str, str]] = {}


def _versions(engine: Any) -> dict[str, str]:
    key = (engine.name, type(engine))
    known = _VERSIONS.get(key)
    if known is None:
        known = _VERSIONS[key] = {
            "qharbor": metadata.version("qharbor"),
            **engine.versions(),
            "python": platform.python_version(),
        }
    return dict(known)


def _metadata(task: Task, picker: Picker) -> dict[str, Any]:
    """Reproducibility record: which engines ran, why, at what precision, with what versions."""
    choices = picker.used
    counts = Counter(c.engine for c in choices)
    names = [name for name, _n in counts.most_common()] or [task.device.engine]
    engines = [picker.engine(name) for name in names]
    versions: dict[str, str] = {}
    for engine in engines:
        versions.update(_versions(engine))
    precisions = {c.precision for c in choices}
    job_precision = JobOptions.from_json(task.options).precision
    meta: dict[str, Any] = {
        "engine": names[0],
        "engine_reason": choices[0].reason if choices else "",
        "precision": precisions.pop() if len(precisions) == 1 else job_precision,
        "method": task.device.method,
        "seed": task.seed,
        "attempt": task.attempt,
        "options": dict(task.options),
        "versions": versions,
    }
    if len(names) > 1:
        meta["engines"] = sorted(names)
        meta["engine_reason"] = (
            "chosen per circuit by predicted time: "
            + ", ".join(f"{counts[n]} on {n}" for n in names)
            + "; each experiment names its engine"
        )
    return meta


def _execute_primitive(task: Task, engine: Engine) -> dict[str, Any]:
    """Run a sampler or estimator job: one result per PUB."""
    from qharbor.primitives.estimator import is_exact, run_estimator
    from qharbor.primitives.sampler import run_sampler

    assert task.primitive is not None
    pubs = task.primitive["pubs"]
    started = time.perf_counter()
    picker = picker_for(task)
    compiler: Any = compile_for
    if task.twin is not None:
        picker = Picker(fixed=_TwinRunner(engine, task.twin), reason=_twin_reason(task, engine))
        compiler = _twin_compiler(task.twin, JobOptions.from_json(task.options))
    if task.kind == "sampler":
        results = run_sampler(task.device, picker, pubs, task.seed, compiler)
        mode = "sampled"
    else:
        results = run_estimator(task.device, picker, pubs, task.seed, compiler)
        mode = "exact" if is_exact(task.device, picker) else "sampled"
    finished = time.perf_counter()
    meta: dict[str, Any] = {**_metadata(task, picker), "mode": mode}
    if task.twin is not None:
        meta["calibration_snapshot_id"] = task.twin["calibration"]["id"]
    return {
        "job_id": task.job_id,
        "device": task.device.name,
        "kind": task.kind,
        "shots": task.shots,
        "experiments": [],
        "pubs": results,
        "timings": {"compile_s": 0.0, "run_s": finished - started},
        "metadata": meta,
    }


class _TwinRunner:
    """Runs primitive experiments on a device twin's noise, one value set at a time."""

    def __init__(self, engine: Any, document: dict[str, Any]) -> None:
        if not isinstance(engine, capabilities.EmulatesDevices):
            raise errors.ExecutionError(f"engine {engine.name!r} cannot emulate device twins")
        self.name = engine.name
        self._engine = engine
        self._document = document

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
        grouped: list[list[Any]] = [[] for _ in experiments]
        for owner, outcome in zip(owners, outcomes, strict=True):
            grouped[owner].append(outcome)
        return grouped


def _twin_reason(task: Task, engine: Any) -> str:
    if JobOptions.from_json(task.options).engine != "auto":
        return "pinned by the job"
    return f"{engine.name}: device twins run on {engine.name}'s noise models"


def _twin_compiler(document: dict[str, Any], options: JobOptions) -> Any:
    """``compile_for`` for a twin: its target, cached per circuit and calibration."""
    from qiskit import qasm3

    def compile_twin(_device: Device, circuit: Any, _seed: int) -> Any:
        key = hashlib.sha256(qasm3.dumps(circuit).encode()).hexdigest()
        compiled, _cached = compile_for_twin(document, circuit, key, options.optimization_level)
        return compiled

    return compile_twin


def program_hash(spec: dict[str, Any]) -> str:
    """SHA-256 of a stored program's text and format: the compile cache's circuit key."""
    return hashlib.sha256(f"{spec['format']}\n{spec['source']}".encode()).hexdigest()


@dataclass(frozen=True)
class _TwinRun:
    program: int
    name: str | None
    parameters: dict[str, float] | None
    qasm3: str
    circuit: Any
    cached: bool


def _execute_twin(
    task: Task, document: dict[str, Any], programs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Compile for the twin's target, run on its noise, and record how.

    Each experiment runs the circuit read back from its own OpenQASM 3 text, so the
    compiled circuit in the result is exactly what ran, and running it on the
    twin document (``HarborService.local_twin``) with the same seed gives the
    same counts.
    """
    from qiskit import qasm3

    from qharbor.devices.twins import mitigation as readout
    from qharbor.devices.twins import timing

    options = JobOptions.from_json(task.options)
    engine = get_engine(task.device.engine)
    if not isinstance(engine, capabilities.EmulatesDevices):
        raise errors.ExecutionError(f"engine {engine.name!r} cannot emulate device twins")
    started = time.perf_counter()
    runs: list[_TwinRun] = []
    for index, spec in enumerate(programs):
        program = parse_program(spec["source"], spec["format"], spec["bindings"] or None)
        runnable, _bits = one_register(program.circuit)
        if options.skip_compilation or program.verbatim:
            compiled, cached = runnable, False
        else:
            compiled, cached = compile_for_twin(
                document, runnable, program_hash(spec), options.optimization_level
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
                    spec.get("name"),
                    dict(binding) if binding is not None else None,
                    text,
                    qasm3.loads(text),
                    cached,
                )
            )
    compiled_at = time.perf_counter()
    circuits = [r.circuit for r in runs]
    outcomes = engine.run_twin(document, circuits, shots=task.shots, seed=task.seed)
    finished = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for run, outcome in zip(runs, outcomes, strict=True):
        row: dict[str, Any] = {
            "program": run.program,
            "name": run.name,
            "parameters": run.parameters,
            "counts": outcome.counts,
            "shots": task.shots,
            "seed": outcome.seed,
            "num_qubits": run.circuit.num_qubits,
            "num_clbits": run.circuit.num_clbits,
            "depth": run.circuit.depth(),
            "two_qubit_gates": two_qubit_gates(run.circuit),
            "physical_qubits": list(outcome.qubits),
            "compiled_qasm3": run.qasm3,
            "compile_cached": run.cached,
            "run_s": outcome.run_s,
        }
        if options.mitigate_readout:
            mitigation = readout.mitigate(document, run.circuit, outcome.counts)
            row["quasi_probabilities"] = mitigation.quasi_probabilities
            row["mitigation"] = mitigation.method
        rows.append(row)
    picker = Picker(fixed=engine, reason=_twin_reason(task, engine))
    picker.pick(None, shots=task.shots)
    meta = _metadata(task, picker)
    meta["method"] = "twin"
    meta["calibration_snapshot_id"] = document["calibration"]["id"]
    meta["calibration"] = {
        "snapshot": document["calibration"]["id"],
        "version": document["calibration"]["version"],
        "valid_at": document["calibration"]["valid_at"],
    }
    meta["optimization_level"] = None if options.skip_compilation else options.optimization_level
    return {
        "job_id": task.job_id,
        "device": task.device.name,
        "shots": task.shots,
        "experiments": rows,
        "timings": {
            "compile_s": compiled_at - started,
            "run_s": finished - compiled_at,
            "qpu_s": timing.modelled_qpu_s(document, circuits, task.shots, task.seed),
        },
        "metadata": meta,
    }

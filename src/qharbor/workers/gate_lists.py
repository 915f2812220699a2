"""Circuit jobs of plain programs, run from their gate lists without a ``QuantumCircuit``.

A batch of small plain circuits (:mod:`qharbor.engines.gatelist`) spends most
of its worker time reading circuits and walking their instructions, not
simulating them. When every program of a job is kept as a gate list already in
the device's operations, and the engine chosen for each can run gate lists, the
job runs here: the engine is chosen once per circuit shape, each gate list is
translated straight to the engine's gates, and the result is the one
:func:`qharbor.workers.circuits.execute_circuits` builds for the same circuits
(same counts for the same seed, depth, widths and record). Any other job takes
that general path.
"""

from __future__ import annotations

import time
from typing import Any

from qharbor.devices.operations import STRUCTURAL
from qharbor.engines import capabilities, idle_qubits
from qharbor.engines.gatelist import GateList
from qharbor.engines.quick_features import gate_list_features
from qharbor.engines.selection import Choice, Picker
from qharbor.jobs.claims import Claim
from qharbor.jobs.parsed import ParsedProgram
from qharbor.jobs.result import ExperimentResult, Result, Timings
from qharbor.workers.record import record


def execute_gate_lists(
    claim: Claim, programs: list[ParsedProgram], picker: Picker
) -> Result | None:
    """The job's result, run from its programs' gate lists; None when it needs circuits.

    Nothing is recorded in ``picker`` for a job that returns None.
    """
    started = time.perf_counter()
    gate_lists = _runnable(claim, programs)
    if gate_lists is None:
        return None
    compiled_at = time.perf_counter()
    engine = _choose(picker, gate_lists, claim.shots)
    if engine is None:
        return None
    selected_at = time.perf_counter()
    outcomes = engine.run_gate_lists(gate_lists, shots=claim.shots, seed=claim.seed)
    finished = time.perf_counter()
    rows = []
    for index, (program, gates, runs) in enumerate(
        zip(programs, gate_lists, outcomes, strict=True)
    ):
        (outcome,) = runs
        rows.append(
            ExperimentResult(
                program=index,
                name=program.name,
                parameters=None,
                counts=outcome.counts,
                shots=claim.shots,
                seed=outcome.seed,
                num_qubits=gates.num_qubits,
                num_clbits=gates.num_clbits,
                depth=gates.depth(),
                run_s=outcome.run_s,
                extra={"verbatim": True} if program.verbatim else {},
            )
        )
    return Result(
        job_id=claim.job_id,
        device=claim.runs_on.name,
        shots=claim.shots,
        experiments=tuple(rows),
        timings=Timings(compile_s=compiled_at - started, run_s=finished - compiled_at),
        metadata=record(claim, picker).adding(selection_s=selected_at - compiled_at),
    )


def _runnable(claim: Claim, programs: list[ParsedProgram]) -> list[GateList] | None:
    """Every program's gate list, if each has one that runs as it is on the device.

    A gate outside the device's operations needs compiling, and a wide circuit
    with idle qubits on a device that drops them needs narrowing: both are done
    on circuits. So are registers of no bits, whose counts are keyed differently.
    """
    device = claim.runs_on
    native = set(device.basis_gates) | STRUCTURAL
    narrowing = device.drops_idle_qubits
    gate_lists = []
    for program in programs:
        if program.circuit_gates is None or program.bindings or program.result_types:
            return None
        gates = program.gates()
        if gates is None or not gates.count_ops().keys() <= native:
            return None
        if not all(size for _name, size in gates.cregs):
            return None
        if (
            narrowing
            and gates.num_qubits >= idle_qubits.MIN_QUBITS
            and len(gates.active_qubits()) < gates.num_qubits
        ):
            return None
        gate_lists.append(gates)
    return gate_lists


def _choose(picker: Picker, gate_lists: list[GateList], shots: int) -> Any:
    """The one engine, able to run gate lists, chosen for every circuit; else None.

    The choice is made once per shape (the features selection reads), and
    recorded once per circuit as the general path records it.
    """
    mark = len(picker.used)
    batch = len(gate_lists)
    by_shape: dict[Any, Choice] = {}
    first: tuple[Any, Choice] | None = None
    for gates in gate_lists:
        features = gate_list_features(gates)
        shape = (
            features.num_qubits,
            features.num_clbits,
            tuple(sorted(features.gates.items())),
            features.mid_circuit_measurement,
        )
        choice = by_shape.get(shape)
        if choice is not None:
            picker.repeat(choice)
            continue
        engine, choice = picker.pick(None, shots=shots, batch=batch, features=features)
        by_shape[shape] = choice
        if first is None:
            first = (engine, choice)
        if (
            choice.engine != first[1].engine
            or choice.precision != "double"
            or not isinstance(engine, capabilities.RunsGateLists)
        ):
            del picker.used[mark:]
            return None
    return first[0] if first is not None else None

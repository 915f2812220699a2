"""The Sampler primitive, run in a worker.

Each PUB's circuit is compiled once and run once per binding with the engine
binding the values. The result keeps, per binding, the counts of the whole
classical state (registers separated by spaces, the last register leftmost, as
Qiskit prints them), so the client can rebuild each register's bits shot by
shot with the registers still joined.

On a device twin a sampler job may ask for dynamical decoupling (pulses in the
compiled circuit's idle periods), for Pauli twirling of its two-qubit gates and
of its measurements, and, with ``mitigate_readout``, for M3 readout-mitigated
quasi-probabilities with their uncertainty per binding, beside the raw counts
(:mod:`qharbor.primitives.mitigation.readout`). Twirled, each binding runs
``num_randomizations`` instances of ``shots_per_randomization`` shots; the bits
a measurement twirl flipped are flipped back and the instances' counts are
summed, so the result has the shape it has without twirling, with every shot run.

Registers are read as Qiskit reads them: a register no measurement writes is
all zeros, a register of no bits is empty, registers may share bits, and a
circuit without registers gives an empty result. Circuits whose registers are
not simply the classical bits in order run with one register over every bit,
and each register's bits are picked from it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from qharbor.devices import Device
from qharbor.devices.twins import target as targets
from qharbor.engines import Experiment
from qharbor.engines.idle_qubits import drop_idle_qubits
from qharbor.engines.readout import one_register
from qharbor.engines.selection import Picker
from qharbor.jobs.parsed import load_circuit
from qharbor.primitives.mitigation import dd, readout, twirling
from qharbor.primitives.mitigation import spend as spending
from qharbor.primitives.pubs import measures, parameter_array, stored_values
from qharbor.primitives.resilience import Plan


def run_sampler(
    device: Device,
    engine: Any,
    pubs: list[dict[str, Any]],
    seed: int,
    compile_for: Any,
    *,
    plan: Plan | None = None,
    twin: dict[str, Any] | None = None,
    mitigate_readout: bool = False,
) -> list[dict[str, Any]]:
    """Run sampler PUBs; return one ``{"counts", "registers", "shape", "shots"}`` per PUB.

    ``engine`` is an engine, or a :class:`~qharbor.engines.selection.Picker` that
    chooses one per PUB; the PUB's result names the engine that ran it. On a
    device twin (``twin``), ``plan`` may add dynamical decoupling and twirling
    (recorded in the PUB's ``mitigation``), and ``mitigate_readout`` adds
    ``quasi_dists``, one per binding.
    """
    picker = Picker.of(engine)
    results = []
    next_seed = seed
    for pub in pubs:
        circuit = load_circuit(pub["circuit_qpy"])
        runnable, bits = one_register(circuit)
        names = pub["parameter_names"]
        shape = tuple(pub["shape"])
        size = math.prod(shape)
        if not measures(circuit):
            # Nothing writes a classical bit, so every shot reads all zeros.
            zeros = _by_register({}, circuit.num_clbits, bits, pub["shots"], True)
            results.append(_pub_result(shape, pub["shots"], circuit, [zeros] * size, "none"))
            continue
        compiled = compile_for(device, runnable, seed)
        active = plan if twin is not None and plan is not None else Plan()
        # Admission counted the same runs against the job's estimate.
        spent = spending.spend(active, pub["shots"], 1, size)
        count, each = spent.randomizations, spent.shots_per_randomization
        instances, masks, pulses = _instances(
            compiled, active, twin, count, np.random.default_rng(next_seed)
        )
        measured = instances[0]
        simulated = compiled.num_qubits
        if device.drops_idle_qubits:
            # Idle qubits stay |0⟩ and are never read: simulate the active ones only.
            narrowed = [drop_idle_qubits(instance) for instance in instances]
            instances = [instance for instance, _ in narrowed]
            simulated = narrowed[0][1]
        if names:
            values = parameter_array(stored_values(pub), shape, len(names))
            rows = values.reshape(-1, len(names))
            bindings = tuple(dict(zip(names, map(float, row), strict=True)) for row in rows)
            experiments = [Experiment(instance, bindings) for instance in instances]
        else:
            experiments = [Experiment(instance) for instance in instances for _ in range(size)]
        runner, choice = picker.pick(instances[0], shots=each, runs=size * count, batch=len(pubs))
        runs = runner.run(
            experiments,
            method=device.method,
            shots=each,
            seed=next_seed,
            precision=choice.precision,
        )
        next_seed += size
        # Instance r's outcome for binding b is the (r * size + b)-th, either way.
        outcomes = [outcome for run in runs for outcome in run]
        raw = [_merged(outcomes, masks, size, b) for b in range(size)]
        shots = count * each
        counts = [
            _by_register(c, circuit.num_clbits, bits, shots, runnable is not circuit) for c in raw
        ]
        result = _pub_result(shape, shots, circuit, counts, choice.engine)
        applied: dict[str, Any] = {}
        if active.active:
            applied = {"applied": active.applied()}
            if active.dd_sequence:
                applied["dd_pulses"] = pulses
            if active.twirled:
                applied.update(
                    randomizations=count,
                    shots_per_randomization=each,
                    shots=spent.shots,
                    extra_shots=spent.extra_shots,
                )
        if twin is not None and mitigate_readout:
            quasi = [readout.quasi_probabilities(twin, measured, c) for c in raw]
            for entry in quasi:
                entry["quasi_dist"] = _by_register(
                    entry["quasi_dist"], circuit.num_clbits, bits, shots, True
                )
            result["quasi_dists"] = quasi
            applied = {**applied, "applied": [*applied.get("applied", []), "m3"]}
        if applied:
            applied["calibration_snapshot_id"] = twin["calibration"]["id"] if twin else None
            result["mitigation"] = applied
        if simulated < runnable.num_qubits:
            result["simulated_qubits"] = simulated
        results.append(result)
    return results


def _instances(
    compiled: QuantumCircuit,
    plan: Plan,
    twin: dict[str, Any] | None,
    count: int,
    rng: np.random.Generator,
) -> tuple[list[QuantumCircuit], list[int], int]:
    """The circuits a PUB runs: ``count`` twirled instances (one untwirled circuit
    without twirling), each with the clbits its measurement twirl flipped, and the
    decoupling pulses added to them all.

    As in the estimator, gates are twirled first, then measurements, then idle
    periods are filled, so the pulses fit each instance's own timing.
    """
    if plan.gate_twirling and twin is not None:
        seed = int(rng.integers(2**32))
        instances = twirling.twirl_gates(compiled, targets.target(twin), seed, count)
    else:
        instances = [compiled] * count
    masks = [0] * count
    if plan.measure_twirling:
        flipped = [twirling.twirl_measures(instance, rng) for instance in instances]
        instances = [instance for instance, _ in flipped]
        masks = [mask for _, mask in flipped]
    pulses = 0
    if plan.dd_sequence and twin is not None:
        decoupled = [dd.decouple(twin, instance, plan.dd_sequence) for instance in instances]
        instances = [instance for instance, _ in decoupled]
        pulses = sum(added for _, added in decoupled)
    return instances, masks, pulses


def _merged(outcomes: list[Any], masks: list[int], size: int, binding: int) -> dict[str, int]:
    """One binding's counts over every instance, each with its measurement flips undone."""
    merged: dict[str, int] = {}
    for r, mask in enumerate(masks):
        for key, count in twirling.undo_flips(outcomes[r * size + binding].counts, mask).items():
            merged[key] = merged.get(key, 0) + count
    return merged


def _pub_result(
    shape: tuple[int, ...],
    shots: int,
    circuit: QuantumCircuit,
    counts: list[dict[str, int]],
    engine: str,
) -> dict[str, Any]:
    return {
        "shape": list(shape),
        "shots": shots,
        "registers": [{"name": r.name, "num_bits": r.size} for r in circuit.cregs],
        "counts": counts,
        "engine": engine,
    }


def _by_register(
    counts: dict[str, Any],
    num_clbits: int,
    bits: list[list[int]],
    shots: int,
    flattened: bool,
) -> dict[str, Any]:
    """Counts keyed by the registers' bits, the last register leftmost.

    Engines give no counts for a circuit that measures nothing; its bits then
    all stay 0, as in Qiskit.
    """
    if counts and not flattened:
        return counts  # the engine's keys are already the registers'
    if not counts:
        counts = {"0" * num_clbits: shots}
    out: dict[str, int] = {}
    for key, count in counts.items():
        flat = key.replace(" ", "")
        parts = ["".join(flat[num_clbits - 1 - i] for i in reversed(reg)) for reg in bits]
        joined = " ".join(reversed(parts))
        out[joined] = out.get(joined, 0) + count
    return out

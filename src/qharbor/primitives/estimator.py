"""The Estimator primitive, run in a worker.

On a noiseless state-vector device the expectation values are exact: the
circuit's final state is computed once per binding and every observable is
evaluated on it; a circuit that resets a qubit leaves a mixture, so its
density matrix is computed instead (one sampled trajectory would not be exact).
Elsewhere they are estimated from shots: the Pauli terms of a
PUB's observables are grouped into qubit-wise commuting sets, each set is
measured in one basis, and the standard error comes from the per-shot variance.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Statevector

from qharbor.devices import Device
from qharbor.engines import Experiment, capabilities
from qharbor.engines.idle_qubits import active_qubits, drop_idle_qubits
from qharbor.engines.selection import Picker
from qharbor.jobs.parsed import load_circuit
from qharbor.primitives import observables as obs
from qharbor.primitives.mitigation import estimation
from qharbor.primitives.pubs import (
    DEFAULT_PRECISION,
    exact_device,
    non_unitary,
    parameter_array,
    stored_values,
)
from qharbor.primitives.resilience import Plan

#: The engine a PUB names when its exact values came from a density matrix.
DENSITY_MATRIX = "qiskit.quantum_info.DensityMatrix"

#: Largest block of final states held at once, in bytes.
_STATE_BLOCK_BYTES = 256 * 1024 * 1024


def is_exact(device: Device, engine: Any = None) -> bool:
    """Whether the device computes expectation values exactly.

    With a plain engine (not a picker, which chooses an engine that can), that
    engine must also return states or expectation values.
    """
    capable = engine is None or isinstance(
        engine,
        (Picker, capabilities.ComputesStatevectors, capabilities.ComputesExpectationValues),
    )
    return exact_device(device) and capable


def run_estimator(
    device: Device,
    engine: Any,
    pubs: list[dict[str, Any]],
    seed: int,
    compile_for: Any,
    *,
    plan: Plan | None = None,
    twin: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run estimator PUBs; return one ``{"evs", "stds", "shape", ...}`` per PUB.

    Args:
        device: where they run.
        engine: an engine, or a :class:`~qharbor.engines.selection.Picker` that
            chooses one per PUB (the PUB's result names it).
        pubs: the normalised PUBs stored on the job.
        seed: the job's seed.
        compile_for: ``(device, circuit, seed) -> circuit``, the worker's compiler.
        plan: the error mitigation the job asks for; applied on device twins,
            whose noise it corrects (elsewhere the record says why not).
        twin: the twin document, on a device twin.
    """
    exact = is_exact(device, engine)
    picker = Picker.of(engine)
    rng = np.random.default_rng(seed)
    results = []
    for index, pub in enumerate(pubs):
        extra: dict[str, Any] = {}
        circuit = _base_circuit(pub)
        width = circuit.num_qubits
        simulated = width
        if exact:
            # Idle qubits stay |0⟩: the values need the active ones only.
            circuit, pub = _narrowed(circuit, pub)
        if exact and non_unitary(circuit):
            evs, stds, shots = _mixture(circuit, pub, rng)
            engine_name = DENSITY_MATRIX
        elif exact:
            runner, choice = picker.pick(
                circuit,
                shots=0,
                runs=max(1, math.prod(pub["shape"])),
                exact="expectations",
                batch=len(pubs),
            )
            evs, stds, shots = _exact(runner, circuit, pub, rng, choice.precision)
            engine_name = choice.engine
        elif plan is not None and plan.active and twin is not None:
            mitigated = _mitigated(
                device,
                picker,
                circuit,
                pub,
                seed + 7919 * index,
                compile_for,
                plan,
                twin,
                len(pubs),
            )
            evs, stds, shots = mitigated.evs, mitigated.stds, mitigated.shots
            engine_name, simulated = mitigated.choice.engine, mitigated.simulated
            extra["mitigation"] = mitigated.record
        else:
            evs, stds, shots, choice, simulated = _sampled(
                device, picker, circuit, pub, seed + 7919 * index, compile_for, len(pubs)
            )
            engine_name = choice.engine
        if plan is not None and plan.active and "mitigation" not in extra:
            reason = "exact values" if exact else f"device {device.name!r} has no noise model"
            extra["mitigation"] = {"applied": [], "reason": f"{reason}: nothing to mitigate"}
        if exact:
            simulated = circuit.num_qubits  # narrowed above
        narrowed = {"simulated_qubits": simulated} if simulated < width else {}
        results.append(
            {
                **narrowed,
                **extra,
                "evs": evs.tolist(),
                "stds": stds.tolist(),
                "shape": list(evs.shape),
                "shots": shots,
                "exact": exact,
                # What the values were computed to: 0 for exact values, as Qiskit reports.
                "precision": _target_precision(pub, exact),
                "engine": engine_name,
            }
        )
    return results


def _target_precision(pub: dict[str, Any], exact: bool) -> float:
    if pub.get("shots") and not exact:
        return float(pub["shots"] ** -0.5)
    precision = pub.get("precision")
    if precision is not None:
        return float(precision)
    return 0.0 if exact else DEFAULT_PRECISION


def _mixture(
    circuit: QuantumCircuit, pub: dict[str, Any], rng: np.random.Generator
) -> tuple[Any, Any, None]:
    """Exact values of a circuit that resets qubits, from its density matrix per binding."""
    shape, bindings = _bindings(pub)
    which_binding, which_observable, out = _broadcast(pub, shape)
    operators = [obs.to_sparse(o, circuit.num_qubits) for o in pub["observables"]]
    parametric = bool(pub["parameter_names"])
    states: dict[int, DensityMatrix] = {}
    evs = np.zeros(len(which_binding))
    for position, (b, o) in enumerate(zip(which_binding, which_observable, strict=True)):
        key = int(b) if parametric else 0
        if key not in states:
            bound = circuit.assign_parameters(bindings[key]) if parametric else circuit
            states[key] = DensityMatrix(bound)
        evs[position] = float(np.real(states[key].expectation_value(operators[o])))
    return _noisy(evs, pub, rng, out)


def _base_circuit(pub: dict[str, Any]) -> QuantumCircuit:
    """The PUB's circuit without final measurements, as wide as its observables."""
    width = max(len(next(iter(o))) for o in pub["observables"])
    return _base_kept(pub["circuit_qpy"], width).copy()


@functools.lru_cache(maxsize=4)
def _base_kept(packed: str, width: int) -> QuantumCircuit:
    """:func:`_base_circuit`, kept for the next job of a loop that runs the same circuit."""
    circuit = load_circuit(packed)
    circuit = circuit.remove_final_measurements(inplace=False) or circuit
    if width > circuit.num_qubits:
        wider = QuantumCircuit(width)
        wider.compose(circuit, range(circuit.num_qubits), inplace=True)
        circuit = wider
    return circuit


def _narrowed(
    circuit: QuantumCircuit, pub: dict[str, Any]
) -> tuple[QuantumCircuit, dict[str, Any]]:
    """The circuit without its idle qubits, and the PUB with its observables on
    the qubits that remain (both as they were when no qubit is idle)."""
    narrow, kept = drop_idle_qubits(circuit)
    if kept == circuit.num_qubits:
        return circuit, pub
    active = active_qubits(circuit)
    observables = [obs.restrict(o, circuit.num_qubits, active) for o in pub["observables"]]
    return narrow, {**pub, "observables": observables}


def _bindings(pub: dict[str, Any]) -> tuple[Any, list[dict[str, float]]]:
    names = pub["parameter_names"]
    shape = tuple(pub["shape"])
    values = parameter_array(stored_values(pub), shape, len(names))
    flat = values.reshape(-1, len(names)) if names else np.zeros((math.prod(shape), 0))
    return shape, [dict(zip(names, map(float, row), strict=True)) for row in flat]


def _broadcast(pub: dict[str, Any], shape: tuple[int, ...]) -> tuple[Any, Any, tuple[int, ...]]:
    """Per result element, the index of its binding and of its observable."""
    obs_shape = tuple(pub["observables_shape"])
    out = tuple(pub["result_shape"])
    binding = np.broadcast_to(np.arange(math.prod(shape)).reshape(shape), out).ravel()
    observable = np.broadcast_to(np.arange(math.prod(obs_shape)).reshape(obs_shape), out).ravel()
    return binding, observable, out


def _exact(
    engine: Any,
    circuit: QuantumCircuit,
    pub: dict[str, Any],
    rng: np.random.Generator,
    precision: str = "double",
) -> tuple[Any, Any, None]:
    shape, bindings = _bindings(pub)
    which_binding, which_observable, out = _broadcast(pub, shape)
    width = circuit.num_qubits
    operators = [obs.to_sparse(o, width) for o in pub["observables"]]
    evs = np.zeros(len(which_binding))
    parametric = bool(pub["parameter_names"])
    if isinstance(engine, capabilities.ComputesExpectationValues):
        # The engine computes ⟨O⟩ itself, without handing states back.
        table = np.asarray(
            engine.expectation_values(
                circuit, bindings if parametric else [], operators, precision=precision
            )
        )
        rows = which_binding if parametric else np.zeros_like(which_binding)
        evs = table[rows, which_observable].astype(float)
        return _noisy(evs, pub, rng, out)
    block = max(1, _STATE_BLOCK_BYTES // (16 * 2**width))
    states: dict[int, Statevector] = {}
    needed = sorted(set(which_binding.tolist()))
    for start in range(0, len(needed), block):
        chunk = needed[start : start + block]
        if parametric:
            vectors = engine.statevectors(
                circuit, [bindings[i] for i in chunk], precision=precision
            )
        else:
            vectors = engine.statevectors(circuit, [], precision=precision) * len(chunk)
        states = {i: Statevector(v) for i, v in zip(chunk, vectors, strict=True)}
        for position, (b, o) in enumerate(zip(which_binding, which_observable, strict=True)):
            if int(b) in states:
                evs[position] = float(np.real(states[int(b)].expectation_value(operators[o])))
    return _noisy(evs, pub, rng, out)


def _noisy(
    evs: Any, pub: dict[str, Any], rng: np.random.Generator, out: tuple[int, ...]
) -> tuple[Any, Any, None]:
    """Exact values, with Gaussian noise of the PUB's target precision if it set one."""
    precision = pub.get("precision") or 0.0
    stds = np.zeros_like(evs)
    if precision > 0:
        evs = rng.normal(evs, precision)
        stds[:] = precision
    return evs.reshape(out), stds.reshape(out), None


def _sampled(
    device: Device,
    picker: Picker,
    circuit: QuantumCircuit,
    pub: dict[str, Any],
    seed: int,
    compile_for: Any,
    batch: int = 1,
) -> tuple[Any, Any, int, Any, int]:
    precision = pub.get("precision") or DEFAULT_PRECISION
    shots = pub.get("shots") or min(device.max_shots, math.ceil(1.0 / precision**2))
    shape, bindings = _bindings(pub)
    which_binding, which_observable, out = _broadcast(pub, shape)
    width = circuit.num_qubits
    labels = [label.rjust(width, "I") for o in pub["observables"] for label in o]
    bases, where = obs.group_terms(labels)
    parametric = bool(pub["parameter_names"])
    # Each basis circuit is compiled once; the engine binds every value set itself.
    experiments = [
        Experiment(
            _runnable(device, compile_for(device, basis.circuit(circuit), seed)),
            tuple(bindings) if parametric else (),
        )
        for basis in bases
    ]
    simulated = max((e.circuit.num_qubits for e in experiments), default=width)
    runner, choice = picker.pick(
        experiments[0].circuit if experiments else circuit,
        shots=shots,
        runs=max(1, len(bindings) if parametric else 1) * max(1, len(experiments)),
        batch=batch,
    )
    runs = (
        runner.run(
            experiments, method=device.method, shots=shots, seed=seed, precision=choice.precision
        )
        if bases
        else []
    )
    evs = np.zeros(len(which_binding))
    stds = np.zeros(len(which_binding))
    for position, (b, o) in enumerate(zip(which_binding, which_observable, strict=True)):
        slot = int(b) if parametric else 0
        counts = [runs[g][slot].counts for g in range(len(bases))]
        evs[position], stds[position] = obs.estimate(
            pub["observables"][int(o)], width, where, counts
        )
    return evs.reshape(out), stds.reshape(out), shots, choice, simulated


def _mitigated(
    device: Device,
    picker: Picker,
    circuit: QuantumCircuit,
    pub: dict[str, Any],
    seed: int,
    compile_for: Any,
    plan: Plan,
    twin: dict[str, Any],
    batch: int = 1,
) -> estimation.MitigatedPub:
    precision = pub.get("precision") or DEFAULT_PRECISION
    shots = pub.get("shots") or min(device.max_shots, math.ceil(1.0 / precision**2))
    shape, bindings = _bindings(pub)
    which_binding, which_observable, out = _broadcast(pub, shape)
    return estimation.run_mitigated(
        device,
        picker,
        circuit,
        pub,
        bindings=bindings,
        which_binding=which_binding,
        which_observable=which_observable,
        out=out,
        basis_shots=shots,
        seed=seed,
        compile_for=compile_for,
        plan=plan,
        document=twin,
        batch=batch,
    )


def _runnable(device: Device, compiled: QuantumCircuit) -> QuantumCircuit:
    """The compiled circuit without its idle qubits, where the device's outcomes allow it."""
    return drop_idle_qubits(compiled)[0] if device.drops_idle_qubits else compiled

"""A mitigated estimator PUB: build the instances, run them, undo the noise, record how.

For each measurement basis the compiled circuit is folded to each noise factor,
each folded circuit is twirled into its randomizations (two-qubit gates,
measurements), and decoupling pulses fill its idle periods. TREX adds, per
basis, the twirled measurements alone. Every instance runs
``shots_per_randomization`` shots. Then, per binding and Pauli term, the values
are averaged over randomizations, divided by the term's readout factor (TREX),
and extrapolated to zero noise (ZNE); each observable sums its terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from qharbor.devices import Device
from qharbor.devices.twins import target as targets
from qharbor.engines import Experiment
from qharbor.engines.selection import Picker
from qharbor.primitives import observables as obs
from qharbor.primitives.mitigation import dd, readout, twirling, zne
from qharbor.primitives.mitigation import spend as spending
from qharbor.primitives.resilience import Plan


@dataclass
class _Sums:
    """Running sums of one term's parities: their total and the shots."""

    total: float = 0.0
    shots: int = 0

    def add(self, total: float, shots: int) -> None:
        self.total += total
        self.shots += shots

    def mean_and_variance(self) -> tuple[float, float]:
        if not self.shots:
            return 0.0, 0.0
        mean = self.total / self.shots
        # A ±1 variable's variance is 1 - mean²; this is the variance of the mean.
        return mean, max(1.0 - mean**2, 0.0) / self.shots


@dataclass(frozen=True)
class MitigatedPub:
    """The values of one PUB, and the record of how they were mitigated."""

    evs: Any
    stds: Any
    shots: int
    choice: Any
    simulated: int
    record: dict[str, Any] = field(default_factory=dict)


def run_mitigated(
    device: Device,
    picker: Picker,
    circuit: QuantumCircuit,
    pub: dict[str, Any],
    *,
    bindings: Sequence[dict[str, float]],
    which_binding: Any,
    which_observable: Any,
    out: tuple[int, ...],
    basis_shots: int,
    seed: int,
    compile_for: Any,
    plan: Plan,
    document: dict[str, Any],
    batch: int = 1,
) -> MitigatedPub:
    """Estimate one PUB's observables on a device twin with the plan's mitigation.

    Args:
        device: the twin's device.
        picker: chooses the runner (the twin's).
        circuit: the PUB's circuit without final measurements.
        pub: the normalised PUB.
        bindings: its parameter value sets (empty when it has no parameters).
        which_binding, which_observable, out: the broadcast of the PUB's result.
        basis_shots: shots per basis the PUB asks for; twirling spreads them over
            randomizations, and ZNE and TREX add their own.
        seed: the PUB's seed (twirls, folds and shots follow from it).
        compile_for: the worker's compiler for the twin.
        plan: what to apply.
        document: the twin document (timing for decoupling, target for twirling).
        batch: PUBs in the job, for the runner's choice.
    """
    width = circuit.num_qubits
    labels = sorted({label.rjust(width, "I") for o in pub["observables"] for label in o})
    terms = [label for label in labels if set(label) != {"I"}]
    bases, where = obs.group_terms(terms)
    count, each = plan.randomizations(basis_shots)
    factors = plan.noise_factors or (1.0,)
    rng = np.random.default_rng(seed)
    target = targets.target(document) if plan.gate_twirling else None
    parametric = bool(pub["parameter_names"])
    values = tuple(bindings) if parametric else ()
    experiments: list[Experiment] = []
    tags: list[tuple[str, int, int, int, int]] = []  # (what, basis, factor, instance, flips)
    offsets: list[int] = []
    reached: dict[tuple[int, int], float] = {}  # (basis, factor index): factor reached
    pulses = 0
    for g, basis in enumerate(bases):
        compiled = compile_for(device, basis.circuit(circuit), seed)
        offsets.append(compiled.num_clbits - width)  # the basis register is the last
        for k, factor in enumerate(factors):
            folded, reached[(g, k)] = zne.fold(compiled, factor, rng)
            if plan.gate_twirling:
                instances = twirling.twirl_gates(folded, target, int(rng.integers(2**32)), count)
            else:
                instances = [folded] * count
            for r, instance in enumerate(instances):
                mask = 0
                if plan.measure_twirling:
                    instance, mask = twirling.twirl_measures(instance, rng)
                if plan.dd_sequence:
                    instance, added = dd.decouple(document, instance, plan.dd_sequence)
                    pulses += added
                experiments.append(Experiment(instance, values))
                tags.append(("circuit", g, k, r, mask))
        if plan.measure_mitigation:
            reference = readout.calibration_circuit(compiled)
            for r in range(count):
                instance, mask = reference, 0
                if plan.measure_twirling:
                    instance, mask = twirling.twirl_measures(reference, rng)
                experiments.append(Experiment(instance))
                tags.append(("calibration", g, 0, r, mask))
    runs: list[list[Any]] = []
    choice = None
    simulated = width
    if experiments:
        runner, choice = picker.pick(
            experiments[0].circuit,
            shots=each,
            runs=len(experiments) * max(1, len(values)),
            batch=batch,
        )
        runs = runner.run(
            experiments, method=device.method, shots=each, seed=seed, precision=choice.precision
        )
        simulated = max(e.circuit.num_qubits for e in experiments)
    num_bindings = max(1, len(values))
    masks = {t: obs.support_mask(t) for t in terms}
    by_basis: dict[int, list[str]] = {}
    for t in terms:
        by_basis.setdefault(where[t], []).append(t)
    # sums[(k, b, t)] over randomizations; first[(r, b, t)] at the first factor, per instance
    sums: dict[tuple[int, int, str], _Sums] = {}
    calibration: dict[str, _Sums] = {}
    per_instance: list[dict[tuple[int, str], tuple[float, int]]] = [{} for _ in range(count)]
    for (what, g, k, r, mask), outcomes in zip(tags, runs, strict=True):
        shift = offsets[g]
        flip = mask >> shift
        if what == "calibration":
            for t in by_basis.get(g, []):
                calibration.setdefault(t, _Sums()).add(
                    *_parities(outcomes[0].counts, masks[t], flip)
                )
            continue
        instance = per_instance[r]
        for b in range(num_bindings):
            counts = outcomes[b if parametric else 0].counts
            for t in by_basis.get(g, []):
                total, shots = _parities(counts, masks[t], flip)
                sums.setdefault((k, b, t), _Sums()).add(total, shots)
                if k == 0:
                    instance[(b, t)] = (total, shots)
    factors_of: dict[str, tuple[float, float]] = {
        t: s.mean_and_variance() for t, s in calibration.items()
    }
    # Per binding and term: values per factor (after TREX), then extrapolated.
    term_value: dict[tuple[int, str], tuple[float, float]] = {}
    by_factor: dict[tuple[int, int, str], float] = {}
    used: dict[str, int] = {}
    for b in range(num_bindings):
        for t in terms:
            means, stds = [], []
            for k in range(len(factors)):
                mean, variance = sums.get((k, b, t), _Sums()).mean_and_variance()
                if plan.measure_mitigation and t in factors_of:
                    mean, variance = _divide(mean, variance, *factors_of[t])
                means.append(mean)
                stds.append(math.sqrt(variance))
                by_factor[(k, b, t)] = mean
            if plan.noise_factors:
                scale = [reached[(where[t], k)] for k in range(len(factors))]
                value, std, name = zne.extrapolate(scale, means, stds, plan.extrapolators)
                used[name] = used.get(name, 0) + 1
            else:
                value, std = means[0], stds[0]
            term_value[(b, t)] = (value, std)
    evs = np.zeros(len(which_binding))
    stds_out = np.zeros(len(which_binding))
    raw = np.zeros(len(which_binding))
    per_factor = np.zeros((len(factors), len(which_binding)))
    randomized = np.zeros((len(per_instance), len(which_binding)))
    for position, (b, o) in enumerate(zip(which_binding, which_observable, strict=True)):
        slot = int(b) if parametric else 0
        variance = 0.0
        for label, coeff in pub["observables"][int(o)].items():
            padded = label.rjust(width, "I")
            if set(padded) == {"I"}:
                evs[position] += coeff
                raw[position] += coeff
                per_factor[:, position] += coeff
                randomized[:, position] += coeff
                continue
            value, std = term_value[(slot, padded)]
            evs[position] += coeff * value
            variance += (coeff * std) ** 2
            raw_mean, _ = sums.get((0, slot, padded), _Sums()).mean_and_variance()
            raw[position] += coeff * raw_mean
            for k in range(len(factors)):
                per_factor[k, position] += coeff * by_factor[(k, slot, padded)]
            for r, instance in enumerate(per_instance):
                total, shots = instance.get((slot, padded), (0.0, 0))
                randomized[r, position] += coeff * (total / shots if shots else 0.0)
        stds_out[position] = math.sqrt(variance)
    # Admission estimated the job's device time from the same count.
    spent = spending.spend(plan, basis_shots, len(bases), num_bindings)
    record: dict[str, Any] = {
        "applied": plan.applied(),
        "randomizations": count,
        "shots_per_randomization": each,
        "shots": spent.shots,
        "extra_shots": spent.extra_shots,
        "evs_raw": raw.reshape(out).tolist(),
    }
    if plan.noise_factors:
        record["noise_factors"] = list(factors)
        record["noise_factors_reached"] = [
            [reached[(g, k)] for k in range(len(factors))] for g in range(len(bases))
        ]
        record["evs_by_noise_factor"] = [row.reshape(out).tolist() for row in per_factor]
        record["extrapolators_used"] = used
    if plan.twirled:
        record["evs_by_randomization"] = [row.reshape(out).tolist() for row in randomized]
    if plan.measure_mitigation:
        record["readout_factors"] = {t: factors_of[t][0] for t in sorted(factors_of)}
    if plan.dd_sequence:
        record["dd_pulses"] = pulses
    record["calibration_snapshot_id"] = document["calibration"]["id"]
    return MitigatedPub(
        evs=evs.reshape(out),
        stds=stds_out.reshape(out),
        shots=spent.shots,
        choice=choice,
        simulated=simulated,
        record=record,
    )


def _parities(counts: dict[str, int], mask: int, flip: int) -> tuple[float, int]:
    """Sum over shots of a term's parity (±1), with the twirl's flips undone."""
    total = 0.0
    shots = 0
    for key, count in counts.items():
        bits = int(key.split(" ")[0], 2) ^ flip
        total += count * (1 - 2 * ((bits & mask).bit_count() & 1))
        shots += count
    return total, shots


def _divide(
    mean: float, variance: float, factor: float, factor_variance: float
) -> tuple[float, float]:
    """``mean / factor`` and its variance (first order); an unusable factor leaves it."""
    if abs(factor) < 1e-3:
        return mean, variance
    value = mean / factor
    return value, variance / factor**2 + mean**2 * factor_variance / factor**4

"""Benchmarks each engine on this host and fits its cost model.

(A device's *calibration* is its snapshot of error rates and coherence times,
:mod:`qharbor.devices.twins.calibration`; what is measured here is the host's speed.)

A fixed set of probe circuits (a few widths, depths, shot counts, bindings, and
one batch of small circuits) is run on every available engine through its
``run`` method, the same call the worker makes. Each probe is timed as the
best of a few repeats after one warm-up run, and the model's coefficients are
fitted by non-negative least squares on the relative error. The whole set takes
a few seconds per engine.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from scipy.optimize import nnls

from qharbor.engines import base, costs, twin_costs
from qharbor.engines.base import Experiment
from qharbor.engines.features import features_of

#: Stop repeating a probe once this many seconds were spent on it.
_PROBE_BUDGET_S = 0.4
#: A probe this many times slower than the fit predicts is timed again.
_OUTLIER = 1.5
#: Probes slower than this (seconds) are not timed again, to bound the benchmark.
_RETRY_LIMIT_S = 0.5


@dataclass(frozen=True)
class Probe:
    """One timed call: ``count`` copies of a circuit in one ``run``."""

    label: str
    qubits: int
    layers: int
    shots: int
    bindings: int = 0
    count: int = 1


#: Probes of state-vector engines: the terms they separate are in the label.
DENSE_PROBES = (
    Probe("tiny", 3, 2, 1),
    Probe("batch of 40 small", 5, 4, 100, count=40),
    Probe("small", 5, 4, 100),
    Probe("medium", 10, 8, 1000),
    Probe("shots", 10, 4, 50_000),
    Probe("deep", 14, 24, 100),
    Probe("wide", 18, 6, 1),
    Probe("wider", 20, 4, 1),
    Probe("widest", 22, 2, 1),
    Probe("bindings", 8, 6, 100, bindings=32),
    Probe("deep bindings", 4, 24, 10, bindings=32),
    Probe("wide bindings", 14, 4, 1, bindings=8),
)
#: Probes of stabilizer engines (Clifford circuits only).
TABLEAU_PROBES = (
    Probe("tiny", 3, 2, 1),
    Probe("batch of 40 small", 5, 4, 100, count=40),
    Probe("small", 5, 4, 100),
    Probe("medium", 50, 10, 1000),
    Probe("shots", 50, 4, 10_000),
    Probe("wide", 300, 6, 100),
    Probe("deep", 100, 60, 100),
    Probe("wide shots", 150, 10, 1000),
)


def probe_circuit(
    qubits: int, layers: int, *, clifford: bool, parametric: bool = False
) -> QuantumCircuit:
    """A brickwork circuit: single-qubit gates then a ladder of CX per layer, measured."""
    circuit = QuantumCircuit(qubits, qubits)
    theta = [Parameter(f"t{i}") for i in range(4)] if parametric else []
    for layer in range(layers):
        for q in range(qubits):
            kind = (q + layer) % 3
            if clifford:
                (circuit.h if kind == 0 else circuit.s if kind == 1 else circuit.x)(q)
            elif parametric and kind == 0:
                circuit.rx(theta[(q + layer) % len(theta)], q)
            else:
                (circuit.h if kind == 0 else circuit.t if kind == 1 else circuit.rz)(
                    *((0.3 + 0.1 * q, q) if kind == 2 else (q,))
                )
        for q in range(layer % 2, qubits - 1, 2):
            circuit.cx(q, q + 1)
    circuit.measure(range(qubits), range(qubits))
    return circuit


@dataclass(frozen=True)
class Measurement:
    probe: Probe
    seconds: float
    terms: tuple[float, ...]


def measure(
    engine: base.Engine,
    form: str,
    precision: str,
    probes: Sequence[Probe],
    on_probe: Callable[[str], None] | None = None,
) -> list[Measurement]:
    """Time every probe the engine can run; return the timings with their model terms."""
    found: list[Measurement] = []
    for probe in probes:
        measured = _measure_one(engine, form, precision, probe, repeats=4)
        if measured is not None:
            found.append(measured)
        if on_probe is not None:
            on_probe(probe.label)
    return found


def _measure_one(
    engine: base.Engine, form: str, precision: str, probe: Probe, *, repeats: int
) -> Measurement | None:
    """The best of a few timed runs after a warm-up, or None if the engine refuses the probe."""
    method = "stabilizer" if form == "tableau" else "statevector"
    circuit = probe_circuit(
        probe.qubits, probe.layers, clifford=form == "tableau", parametric=probe.bindings > 0
    )
    features = features_of(circuit)
    if engine.unsupported(features, method, precision) is not None:
        return None
    bindings = tuple(
        {p.name: 0.1 * (i + 1) + 0.01 * j for j, p in enumerate(circuit.parameters)}
        for i in range(probe.bindings)
    )
    experiments = [Experiment(circuit, bindings)] * probe.count
    best = math.inf
    spent = 0.0
    for attempt in range(repeats):
        started = time.perf_counter()
        engine.run(experiments, method=method, shots=probe.shots, seed=11, precision=precision)
        took = time.perf_counter() - started
        spent += took
        if attempt == 0 and took > _PROBE_BUDGET_S:
            best = took  # a long run: warming up is a small part of it, time it once
            break
        if attempt > 0:  # the first short call warms caches and imports
            best = min(best, took)
        if attempt >= 1 and spent > _PROBE_BUDGET_S:
            break
    one = costs.term_values(
        form,
        qubits=probe.qubits,
        gates=costs.gate_passes(engine, features),
        runs=max(1, probe.bindings),
        shots=probe.shots,
    )
    terms = (1.0, *(probe.count * v for v in one[1:]))
    return Measurement(probe, best, terms)


def measure_and_fit(
    engine: base.Engine,
    form: str,
    precision: str,
    probes: Sequence[Probe],
    on_probe: Callable[[str], None] | None = None,
    *,
    retries: int = 2,
) -> tuple[costs.CostModel, list[Measurement]] | None:
    """Measure, fit, and measure again the probes far slower than the fit predicts.

    Other processes only ever make a run slower, so a probe well above the fit
    was most likely disturbed: it is timed again and the faster time kept,
    before fitting once more. None when fewer than three probes could run.
    """
    found = measure(engine, form, precision, probes, on_probe)
    if len(found) < 3:
        return None
    model = fit(found)
    for _ in range(retries):
        slow = [
            i
            for i, m in enumerate(found)
            if m.seconds > _OUTLIER * model.predict(m.terms) and m.seconds < _RETRY_LIMIT_S
        ]
        if not slow:
            break
        for i in slow:
            again = _measure_one(engine, form, precision, found[i].probe, repeats=3)
            if again is not None and again.seconds < found[i].seconds:
                found[i] = again
        model = fit(found)
    return model, found


def fit(measurements: Sequence[Measurement]) -> costs.CostModel:
    """Non-negative least squares on the relative error of every probe."""
    a = np.array([m.terms for m in measurements], dtype=float)
    t = np.array([m.seconds for m in measurements], dtype=float)
    weighted = a / t[:, None]
    # Columns on very different scales (2^20 against 1) are normalised for the solver.
    scale = np.maximum(np.abs(weighted).max(axis=0), 1e-300)
    coefficients, _residual = nnls(weighted / scale, np.ones(len(t)), maxiter=2000)
    coefficients = coefficients / scale
    predicted = a @ coefficients
    rel = float(np.sqrt(np.mean(((predicted - t) / t) ** 2))) if len(t) else 0.0
    return costs.CostModel(tuple(float(c) for c in coefficients), rel, len(t))


def plan(names: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """The (engine, form, precision) models to fit for the available engines."""
    wanted: list[tuple[str, str, str]] = []
    for name in names if names is not None else base.registered():
        try:
            engine = base.get_engine(name)
        except Exception:  # not installed here
            continue
        precisions = sorted(getattr(engine, "precisions", frozenset({"double"})))
        if name in costs.TABLEAU_ENGINES:
            wanted.append(
                (name, "tableau", precisions[0] if "double" not in precisions else "double")
            )
            continue
        for precision in precisions:
            wanted.append((name, "dense", precision))
        # An engine that also runs the stabilizer method gets a tableau model.
        probe = features_of(probe_circuit(3, 1, clifford=True))
        if engine.unsupported(probe, "stabilizer", "double") is None:
            wanted.append((name, "tableau", "double"))
    return wanted


def benchmark(
    names: Sequence[str] | None = None,
    on_probe: Callable[[str, str], None] | None = None,
    *,
    passes: int = 1,
) -> costs.HostFit:
    """Measure every available engine and fit its models; nothing is stored.

    Args:
        names: the engines to measure; every registered one when omitted.
        on_probe: called with the model key and probe label after each probe.
        passes: measure everything this many times and keep each probe's fastest
            time, so a burst of load from other processes hits one pass only.
    """
    started = time.perf_counter()
    fastest: dict[str, dict[str, Measurement]] = {}
    wanted = plan(names)
    for _ in range(max(1, passes)):
        for name, form, precision in wanted:
            key = costs.model_key(name, form, precision)
            probes = TABLEAU_PROBES if form == "tableau" else DENSE_PROBES
            step: Callable[[str], None] | None = None
            if on_probe is not None:
                step = functools.partial(on_probe, key)
            done = measure_and_fit(base.get_engine(name), form, precision, probes, step)
            if done is None:
                continue
            kept = fastest.setdefault(key, {})
            for m in done[1]:
                if m.probe.label not in kept or m.seconds < kept[m.probe.label].seconds:
                    kept[m.probe.label] = m
    models = {key: fit(list(kept.values())) for key, kept in fastest.items()}
    host = costs.host_info(costs.engine_versions())
    return costs.HostFit(
        fingerprint=costs.fingerprint_of(host),
        host=host,
        models=models,
        fitted_at=costs.utc_now(),
        took_s=time.perf_counter() - started,
    )


def probe_count(names: Sequence[str] | None = None) -> int:
    """How many probes the benchmark will run (for a progress bar)."""
    return sum(
        len(TABLEAU_PROBES if form == "tableau" else DENSE_PROBES) for _n, form, _p in plan(names)
    )


#: A lock older than this is left over from a process that died (seconds).
_STALE_LOCK_S = 600.0


def benchmark_locked(path: Path) -> int:
    """Benchmark the engines and store the fit, unless another process holds the lock.

    Returns:
        0 when the fits (the engines', then the twin methods') were written, 3 when
        another process is benchmarking.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    try:
        if time.time() - lock.stat().st_mtime > _STALE_LOCK_S:
            lock.unlink(missing_ok=True)
    except FileNotFoundError:
        pass
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return 3
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        if not costs.host_fit_exists(path):
            costs.save_fit(benchmark(), path)
        twins = path.with_name(twin_costs.FILE_NAME)
        if "aer" in base.registered() and not twin_costs.host_fit_exists(twins):
            from qharbor.engines import twin_benchmarking

            twin_costs.save(twin_benchmarking.fit(), twins)
        return 0
    finally:
        lock.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qharbor.engines.benchmarking [--background] [--path FILE]``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--background", action="store_true", help="run at low priority")
    args = parser.parse_args(argv)
    if args.background:
        with contextlib.suppress(OSError):
            os.nice(10)
    return benchmark_locked(args.path or costs.default_path())


if __name__ == "__main__":
    sys.exit(main())

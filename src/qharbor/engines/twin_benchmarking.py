"""Times the twins' Aer methods on this host and fits their cost coefficients.

Each method of :mod:`qharbor.engines.twin_methods` runs a few probe circuits on
the shipped ``sc25`` and ``sc72`` twins at their first calibration, through
:meth:`qharbor.engines.twin.LocalTwin.execute` (the code a worker runs, noise
and readout included): brickwork layers of ``rz``/``sx`` and ``cz`` on a path of
coupled qubits, Clifford ones for the stabilizer. Each method's coefficients
are fitted by non-negative least squares on the relative error of its probes.
The whole set takes about a minute on two cores::

    python -m benchmarks.twins --fit           # prints the table, stores the fit
    python -m qharbor.engines.twin_benchmarking --path FILE
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit
from scipy.optimize import nnls

from qharbor.devices.twins import calibration, spec
from qharbor.devices.twins.document import TwinDocument
from qharbor.engines import costs, twin, twin_costs, twin_methods

#: A probe that took less than this (seconds) is timed again and its best time kept.
_REPEAT_BELOW_S = 1.0


@dataclass(frozen=True)
class Probe:
    """One timed run of ``method``: a brickwork of ``layers`` on ``qubits`` coupled qubits."""

    method: str
    device: str
    qubits: int
    layers: int
    shots: int
    shots_per_trajectory: int = 1

    @property
    def label(self) -> str:
        grouped = (
            f", {self.shots_per_trajectory}/trajectory" if self.shots_per_trajectory > 1 else ""
        )
        return f"{self.qubits}q x{self.layers}, {self.shots} shots{grouped}"


PROBES = (
    Probe("density_matrix", "sc25", 4, 4, 1000),
    Probe("density_matrix", "sc25", 6, 4, 1000),
    Probe("density_matrix", "sc25", 8, 4, 500),
    Probe("density_matrix", "sc25", 10, 3, 200),
    Probe("statevector", "sc25", 8, 4, 500),
    Probe("statevector", "sc25", 12, 4, 200),
    Probe("statevector", "sc25", 14, 4, 100),
    Probe("statevector", "sc25", 16, 3, 40),
    # Shot branching merges shots, so the small probes above all cost about one
    # call; this one's 2^18 amplitudes make the per-amplitude term measurable.
    Probe("statevector", "sc25", 18, 3, 40),
    Probe("matrix_product_state", "sc25", 8, 4, 200),
    Probe("matrix_product_state", "sc25", 16, 1, 2000),
    Probe("matrix_product_state", "sc25", 12, 6, 100),
    Probe("matrix_product_state", "sc25", 16, 6, 40),
    Probe("matrix_product_state", "sc25", 20, 8, 64, shots_per_trajectory=4),
    Probe("matrix_product_state", "sc25", 20, 10, 64, shots_per_trajectory=8),
    Probe("stabilizer", "sc72", 10, 4, 1000),
    Probe("stabilizer", "sc72", 24, 6, 4000),
    Probe("stabilizer", "sc72", 48, 4, 2000),
    Probe("stabilizer", "sc72", 72, 2, 4000),
)


def document(device: str) -> TwinDocument:
    """A shipped twin at its first calibration."""
    found = spec.load(spec.BUILTIN_DIR / f"{device}.toml")
    moment = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    return TwinDocument.of(found, calibration.recalibrate(found, 1, moment))


def path_of(edges: Sequence[tuple[int, int]], length: int) -> list[int]:
    """A path of ``length`` coupled qubits (Warnsdorff's rule from the lowest qubit)."""
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    path = [min(neighbours)]
    while len(path) < length:
        free = [q for q in neighbours[path[-1]] if q not in path]
        if not free:
            raise ValueError(f"no path of {length} coupled qubits from {path[0]}")
        path.append(min(free, key=lambda q: (len(neighbours[q] - set(path)), q)))
    return path


def probe_circuit(document: TwinDocument, probe: Probe) -> QuantumCircuit:
    """Brickwork in native gates on a path of coupled physical qubits, measured."""
    path = path_of(document.edges, probe.qubits)
    circuit = QuantumCircuit(document.num_qubits, probe.qubits)
    clifford = probe.method == "stabilizer"
    for layer in range(probe.layers):
        for i, q in enumerate(path):
            angle = math.pi / 2 if clifford else 0.3 + 0.1 * i + 0.2 * layer
            circuit.rz(angle, q)
            circuit.sx(q)
            circuit.rz(angle, q)
        for i in range(layer % 2, probe.qubits - 1, 2):
            circuit.cz(path[i], path[i + 1])
    circuit.measure(path, range(probe.qubits))
    return circuit


def time_probe(probe: Probe, documents: dict[str, TwinDocument]) -> twin_costs.ProbeTiming:
    """The best of up to two timed runs of one probe, with its model terms."""
    doc = documents.setdefault(probe.device, document(probe.device))
    local = twin.LocalTwin(doc)
    narrow, qubits = local.prepare(probe_circuit(doc, probe))
    best = math.inf
    for attempt in range(2):
        started = time.perf_counter()
        local.execute(
            narrow,
            qubits,
            shots=probe.shots,
            seed=11 + attempt,
            method=probe.method,
            shots_per_trajectory=probe.shots_per_trajectory,
        )
        best = min(best, time.perf_counter() - started)
        if best >= _REPEAT_BELOW_S:
            break
    terms = twin_methods.term_values(
        probe.method,
        twin_methods.shape_of(narrow),
        probe.shots,
        shots_per_trajectory=probe.shots_per_trajectory,
    )
    return twin_costs.ProbeTiming(
        probe.label, probe.method, probe.qubits, probe.shots, best, terms=terms
    )


def fit_method(
    method: str, timings: Sequence[twin_costs.ProbeTiming]
) -> tuple[dict[str, float], float]:
    """Non-negative least squares on the relative error: coefficients and RMS relative error."""
    names = twin_methods.TERMS[method]
    a = np.array([[t.terms.get(name, 0.0) for name in names] for t in timings], dtype=float)
    seconds = np.array([t.measured_s for t in timings], dtype=float)
    weighted = a / seconds[:, None]
    scale = np.maximum(np.abs(weighted).max(axis=0), 1e-300)
    solution, _residual = nnls(weighted / scale, np.ones(len(seconds)), maxiter=2000)
    coefficients = solution / scale
    predicted = a @ coefficients
    rel = float(np.sqrt(np.mean(((predicted - seconds) / seconds) ** 2)))
    return {n: float(c) for n, c in zip(names, coefficients, strict=True)}, rel


def fit(
    probes: Sequence[Probe] = PROBES,
    on_probe: Callable[[twin_costs.ProbeTiming], None] | None = None,
) -> twin_costs.TwinFit:
    """Time every probe and fit each method's coefficients; nothing is stored."""
    started = time.perf_counter()
    documents: dict[str, TwinDocument] = {}
    timings: list[twin_costs.ProbeTiming] = []
    for probe in probes:
        timing = time_probe(probe, documents)
        timings.append(timing)
        if on_probe is not None:
            on_probe(timing)
    coefficients: dict[str, dict[str, float]] = {}
    errors: dict[str, float] = {}
    for method in twin_methods.TERMS:
        mine = [t for t in timings if t.method == method]
        if len(mine) >= len(twin_methods.TERMS[method]):
            coefficients[method], errors[method] = fit_method(method, mine)
    judged = tuple(
        twin_costs.ProbeTiming(
            t.label,
            t.method,
            t.qubits,
            t.shots,
            t.measured_s,
            sum(coefficients[t.method].get(k, 0.0) * v for k, v in t.terms.items()),
            t.terms,
        )
        for t in timings
        if t.method in coefficients
    )
    return twin_costs.TwinFit(
        fingerprint=twin_costs.fingerprint(),
        coefficients=coefficients,
        rel_error=errors,
        probes=judged,
        host=twin_costs.host(),
        fitted_at=costs.utc_now(),
        took_s=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m qharbor.engines.twin_benchmarking [--background] [--path FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--background", action="store_true", help="run at low priority")
    args = parser.parse_args(argv)
    if args.background:
        with contextlib.suppress(OSError):
            os.nice(10)
    path = args.path or twin_costs.default_path()
    if args.background and twin_costs.host_fit_exists(path):
        return 0
    twin_costs.save(fit(), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The gain of the centre's error mitigation on ``sc25``, at its shipped calibration.

Usage::

    python -m benchmarks.mitigation [--cases ising,h2,ghz8] [--levels "level 0,level 2"]
        [--out benchmarks/results/mitigation.json]

Three cases, each estimated at resilience level 0, 1, 2, and 2 with dynamical
decoupling (XY4), through the estimator a worker runs (the twin's compiler,
its noise, the mitigation), with fixed seeds:

* ``ising``: ⟨Z⟩ and ⟨ZZ⟩ (averaged over qubits and bonds) after 4 Trotter
  steps of a 6-qubit transverse-field Ising chain;
* ``h2``: the energy of the 4-qubit H2 Hamiltonian (STO-3G, 0.735 Å,
  Jordan-Wigner) for a hardware-efficient ansatz at fixed parameters;
* ``ghz8``: the fidelity of an 8-qubit GHZ state, from its stabilizers (all
  128 Z-type ones, and 4 of the 128 X/Y-type ones drawn once with a fixed seed:
  direct fidelity estimation; the ideal state gives exactly 1).

Exact values come from ``qiskit.quantum_info.Statevector``. The table gives
each level's absolute error, its ratio to level 0's, and the shots it spent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import SparsePauliOp, Statevector

from qharbor.devices import catalogue
from qharbor.devices.twins import calibration as calibrations
from qharbor.devices.twins import timing
from qharbor.devices.twins.document import TwinDocument
from qharbor.engines import get_engine
from qharbor.engines.selection import Picker
from qharbor.jobs.checks import parse_pub
from qharbor.jobs.options import JobOptions
from qharbor.primitives import observables as obs
from qharbor.primitives import prepare_pubs
from qharbor.primitives.estimator import run_estimator
from qharbor.workers import twins

DEVICE = "sc25"
SEED = 11

#: The levels compared: (label, options).
LEVELS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("level 0", {"resilience_level": 0}),
    ("level 1", {"resilience_level": 1}),
    ("level 2", {"resilience_level": 2}),
    (
        "level 2 + DD",
        {"resilience_level": 2, "dynamical_decoupling": {"enable": True, "sequence_type": "XY4"}},
    ),
)

#: H2 in STO-3G at 0.735 Å, Jordan-Wigner (qubit 0 rightmost), in hartree.
H2 = {
    "IIII": -0.81054798,
    "IIIZ": 0.17218393,
    "IIZI": -0.22575349,
    "IZII": 0.17218393,
    "ZIII": -0.22575349,
    "IIZZ": 0.12091263,
    "IZIZ": 0.16892754,
    "ZIIZ": 0.16614543,
    "IZZI": 0.16614543,
    "ZIZI": 0.17464343,
    "ZZII": 0.12091263,
    "XXYY": 0.04523280,
    "YYXX": 0.04523280,
    "XXXX": 0.04523280,
    "YYYY": 0.04523280,
}


def ising() -> tuple[QuantumCircuit, list[dict[str, float]]]:
    n, steps, dt_, field_ = 6, 4, 0.25, 1.0
    circuit = QuantumCircuit(n)
    for _ in range(steps):
        for q in range(n - 1):
            circuit.rzz(-2 * dt_, q, q + 1)
        for q in range(n):
            circuit.rx(2 * field_ * dt_, q)
    z = {("I" * (n - 1 - q)) + "Z" + ("I" * q): 1 / n for q in range(n)}
    zz = {("I" * (n - 2 - q)) + "ZZ" + ("I" * q): 1 / (n - 1) for q in range(n - 1)}
    return circuit, [z, zz]


def h2() -> tuple[QuantumCircuit, list[dict[str, float]]]:
    angles = np.random.default_rng(5).uniform(0, np.pi, size=(2, 4))
    circuit = QuantumCircuit(4)
    circuit.x([0, 2])  # Hartree-Fock
    for layer in angles:
        for q, angle in enumerate(layer):
            circuit.ry(float(angle) / 4, q)
        for q in range(3):
            circuit.cx(q, q + 1)
    return circuit, [H2]


def ghz8() -> tuple[QuantumCircuit, list[dict[str, float]]]:
    n = 8
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    observable: dict[str, float] = {}
    for subset in range(2**n):
        if subset.bit_count() % 2 == 0:
            label = "".join("Z" if subset >> (n - 1 - i) & 1 else "I" for i in range(n))
            observable[label] = observable.get(label, 0.0) + 1 / 2**n
    rng = np.random.default_rng(8)
    evens = [s for s in range(2**n) if s.bit_count() % 2 == 0]
    picked = [0, *rng.choice(evens[1:], size=XY_STABILIZERS - 1, replace=False).tolist()]
    for subset in picked:
        label = "".join("Y" if subset >> (n - 1 - i) & 1 else "X" for i in range(n))
        sign = (-1) ** (subset.bit_count() // 2)
        observable[label] = observable.get(label, 0.0) + sign / (2 * len(picked))
    return circuit, [observable]


CASES = {"ising": ising, "h2": h2, "ghz8": ghz8}

#: X/Y-type stabilizers of GHZ-8 measured (each its own basis), the all-X one first.
XY_STABILIZERS = 4


def exact(circuit: QuantumCircuit, observables: list[dict[str, float]]) -> list[float]:
    state = Statevector(circuit)
    return [
        float(np.real(state.expectation_value(SparsePauliOp(list(o), list(o.values())))))
        for o in observables
    ]


def document() -> dict[str, Any]:
    spec = next(s for s in catalogue.load_twins() if s.name == DEVICE)
    shipped = calibrations.recalibrate(spec, 1, dt.datetime(2027, 1, 1, tzinfo=dt.UTC), "initial")
    return TwinDocument.of(spec, shipped).to_json()


def estimate(
    circuit: QuantumCircuit, observables: list[dict[str, float]], options: dict[str, Any]
) -> tuple[list[float], int, float]:
    """Values, the shots spent and the modelled device time (seconds), as a worker gives them."""
    spec = next(s for s in catalogue.load_twins() if s.name == DEVICE)
    device = catalogue.twin_device(spec)
    twin = document()
    job = JobOptions.from_json(options)
    pubs = prepare_pubs(
        "estimator",
        [{"circuit": qasm3.dumps(circuit), "observables": observables}],
        device,
        shots=1024,
        precision=None,
        max_program_bytes=1 << 20,
        max_experiments=1000,
        parse=parse_pub,
    ).payload["pubs"]
    runner = twins.TwinRunner(get_engine("aer"), twin)
    picker = Picker(fixed=runner, reason="benchmark")
    results = run_estimator(
        device,
        picker,
        pubs,
        SEED,
        twins.compiler(twin, job),
        plan=job.mitigation_plan("estimator"),
        twin=twin,
    )
    pub = results[0]
    if "mitigation" in pub:
        shots = pub["mitigation"]["shots"]
    else:  # shots per basis, times the bases the terms need
        labels = [label for o in observables for label in o]
        shots = pub["shots"] * len(obs.group_terms(labels)[0])
    return pub["evs"], shots, timing.runs_qpu_s(twin, runner.ledger)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--levels", default=",".join(label for label, _ in LEVELS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mitigation.json"))
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for name in args.cases.split(","):
        circuit, observables = CASES[name]()
        reference = exact(circuit, observables)
        baseline = None
        for label, options in LEVELS:
            if label not in args.levels.split(","):
                continue
            started = time.perf_counter()
            values, shots, qpu_s = estimate(circuit, observables, options)
            error = float(np.mean(np.abs(np.asarray(values) - np.asarray(reference))))
            baseline = error if baseline is None else baseline
            rows.append(
                {
                    "case": name,
                    "level": label,
                    "exact": reference,
                    "value": values,
                    "error": error,
                    "gain": baseline / error if error else math.inf,
                    "shots": shots,
                    "qpu_s": qpu_s,
                    "host_s": time.perf_counter() - started,
                }
            )
            print(
                f"{name:6} {label:13} error {error:8.4f}  gain {rows[-1]['gain']:5.2f}x  "
                f"shots {shots:7d}  device {qpu_s:7.1f} s  "
                f"(host {rows[-1]['host_s']:.1f} s)",
                flush=True,
            )
    print()
    print("| case | level | exact | value | abs. error | vs level 0 | shots | device time |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        exact_text = ", ".join(f"{v:.4f}" for v in row["exact"])
        value_text = ", ".join(f"{v:.4f}" for v in row["value"])
        print(
            f"| {row['case']} | {row['level']} | {exact_text} | {value_text} | "
            f"{row['error']:.4f} | {row['gain']:.2f}× less | {row['shots']} | "
            f"{row['qpu_s']:.1f} s |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"device": DEVICE, "seed": SEED, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

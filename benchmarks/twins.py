"""Device twins at their full width: time per case, the method chosen, and the targets.

Each case is compiled for its twin (at the twin's first calibration) and run
through :class:`qharbor.engines.twin.LocalTwin`, the code a worker runs. The
table gives the method the twin chose, its predicted and measured seconds
(compilation excluded, noise written into the circuit included), and whether
the target is met; for GHZ, the share of shots in its two ideal outcomes (a
check that the noise is there, and not too much). A case the twin's admission
would refuse is not run; its prediction is shown instead. Predictions use this
host's fitted coefficients (:mod:`qharbor.engines.twin_costs`) when it has
them, else the shipped ones::

    python -m benchmarks.twins

``--fit`` first times the methods' probe circuits on this host
(:mod:`qharbor.engines.twin_benchmarking`), prints each probe's measured and
fitted seconds, and stores the fit where centres on this host read it;
``--defaults-file src/qharbor/engines/default_twin_costs.json`` also writes it
as the package's shipped coefficients::

    python -m benchmarks.twins --fit
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from qiskit import QuantumCircuit, transpile

from qharbor.devices.catalogue import load_twins
from qharbor.devices.twins import calibration
from qharbor.devices.twins.document import TwinDocument
from qharbor.devices.twins.target import target
from qharbor.engines import twin, twin_benchmarking, twin_costs


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    circuit.measure(range(n), range(n))
    return circuit


def hardware_efficient(n: int, depth: int) -> QuantumCircuit:
    """Layers of RY rotations and a brick of neighbouring CX gates, measured."""
    circuit = QuantumCircuit(n, n)
    for layer in range(depth):
        for q in range(n):
            circuit.ry(0.3 + 0.07 * q + 0.11 * layer, q)
        for q in range(layer % 2, n - 1, 2):
            circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    return circuit


@dataclass(frozen=True)
class Case:
    label: str
    device: str
    circuit: Callable[[], QuantumCircuit]
    shots: int
    target_s: float | None


CASES = (
    Case("GHZ-25", "sc25", lambda: ghz(25), 4000, 10.0),
    Case("GHZ-72", "sc72", lambda: ghz(72), 4000, 10.0),
    Case("HEA-20, depth 10", "sc25", lambda: hardware_efficient(20, 10), 1000, None),
)


def run_case(case: Case) -> dict[str, object]:
    spec = {s.name: s for s in load_twins()}[case.device]
    moment = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    document = TwinDocument.of(spec, calibration.recalibrate(spec, 1, moment))
    compiled = transpile(case.circuit(), target=target(document), seed_transpiler=1)
    local = twin.LocalTwin(document)
    narrow, qubits = local.prepare(compiled)
    choice = local.choose(narrow, case.shots, twin_costs.current())
    row: dict[str, object] = {
        "case": case.label,
        "device": case.device,
        "shots": case.shots,
        "method": choice.method,
        "predicted_s": choice.predicted_s,
        "target_s": case.target_s,
    }
    if choice.predicted_s > spec.max_run_s:
        row.update(seconds=None, verdict=f"refused (limit {spec.max_run_s:g} s)")
        return row
    started = time.perf_counter()
    counts = local.execute(
        narrow,
        qubits,
        shots=case.shots,
        seed=7,
        method=choice.method,
        shots_per_trajectory=choice.shots_per_trajectory,
    ).counts
    took = time.perf_counter() - started
    met = "" if case.target_s is None else ("met" if took <= case.target_s else "missed")
    row.update(seconds=took, verdict=met)
    if case.label.startswith("GHZ"):
        n = narrow.num_qubits
        row["ghz_share"] = (counts.get("0" * n, 0) + counts.get("1" * n, 0)) / case.shots
    if choice.shots_per_trajectory > 1:
        row["method"] = f"{choice.method} ({choice.shots_per_trajectory}/traj)"
    return row


def run_fit(defaults_file: str | None) -> None:
    """Fit the methods' coefficients on this host, print the probes, store the fit."""
    print(f"{'method':<22} {'probe':<34} {'run s':>8} {'fit s':>8}")

    def shown(timing: twin_costs.ProbeTiming) -> None:
        print(f"{timing.method:<22} {timing.label:<34} {timing.measured_s:8.3f}", flush=True)

    fitted = twin_benchmarking.fit(on_probe=shown)
    print()
    for probe in fitted.probes:
        print(f"{probe.method:<22} {probe.label:<34} {probe.measured_s:8.3f} "
              f"{probe.predicted_s:8.3f}")  # fmt: skip
    for method, values in fitted.coefficients.items():
        terms = ", ".join(f"{k}={v:.3g}" for k, v in values.items())
        print(f"{method}: {terms} (fit error {100 * fitted.rel_error[method]:.0f}%)")
    print(f"stored in {twin_costs.save(fitted)} ({fitted.took_s:.0f} s)\n")
    if defaults_file:
        shipped = fitted.to_json()
        shipped["note"] = (
            "Shipped coefficients, measured with `python -m benchmarks.twins --fit` on a "
            "2-core host; a centre uses them until its own host is fitted."
        )
        with open(defaults_file, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(shipped, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run only the case whose label starts with this")
    parser.add_argument("--fit", action="store_true", help="fit the methods' costs first")
    parser.add_argument("--defaults-file", help="with --fit: also write the shipped defaults")
    args = parser.parse_args(argv)
    if args.fit:
        run_fit(args.defaults_file)
    print(f"{'case':<18} {'device':<6} {'shots':>6} {'method':<32} {'pred s':>9} "
          f"{'run s':>8} {'target':>7} {'GHZ share':>9}  verdict")  # fmt: skip
    for case in CASES:
        if args.only and not case.label.startswith(args.only):
            continue
        row = run_case(case)
        seconds = row["seconds"]
        ran = f"{seconds:8.2f}" if isinstance(seconds, float) else f"{'-':>8}"
        target_s = row["target_s"]
        goal = f"{target_s:7.0f}" if isinstance(target_s, float) else f"{'-':>7}"
        share = row.get("ghz_share")
        shown = f"{share:9.3f}" if isinstance(share, float) else f"{'-':>9}"
        print(f"{row['case']:<18} {row['device']:<6} {row['shots']:>6} {row['method']:<32} "
              f"{row['predicted_s']:9.3g} {ran} {goal} {shown}  {row['verdict']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

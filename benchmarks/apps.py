"""Each app on a device, against its classical reference: the error it reaches.

Run: python -m benchmarks.apps [--devices statevector sc25] [--resilience 0 1 2]

One centre, the apps driven from the client (:class:`qharbor.apps.quantum.ServiceQuantum`)
on each device in turn. Prints, per app and device, the error against the
reference (the measure each app is judged by), whether the target is met on
``statevector`` (chemical accuracy; the optimal portfolio and schedule; the
Black–Scholes price within 1 %; the right factors and key), and the seconds taken.
On a noisy device each app runs once per estimator resilience level (0: none; 1:
readout mitigation, TREX; 2: TREX, zero-noise extrapolation and gate twirling);
an app whose jobs are all sampled runs once, since the levels apply to estimator jobs.
``--mitigation`` prints instead each molecule's error at its converged parameters
on each noisy device and level: one estimator job each, where a whole mitigated
VQE loop would take many minutes on a twin.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from benchmarks.centre import in_process
from qharbor.apps import chemistry, crypto, energy, finance
from qharbor.apps.quantum import ServiceQuantum
from qharbor.client.service import HarborService

#: name -> (run it, its error in words, whether the target is met).
Case = tuple[
    Callable[[ServiceQuantum], dict[str, Any]],
    Callable[[dict[str, Any]], str],
    Callable[[dict[str, Any]], bool],
]

CASES: dict[str, Case] = {
    "H2 VQE": (
        lambda q: chemistry.ground_state(q, iterations=20),
        lambda o: f"{o['gap_ha'] * 1000:.3f} mHa",
        lambda o: o["chemically_accurate"],
    ),
    "LiH VQE (2e,2o)": (
        lambda q: chemistry.molecule_ground_state(q, "LiH", iterations=20),
        lambda o: f"{o['gap_ha'] * 1000:.3f} mHa",
        lambda o: o["chemically_accurate"],
    ),
    "portfolio 6 of 3": (
        lambda q: finance.optimise_portfolio(q, finance.Portfolio.random(6, 3, seed=3)),
        lambda o: f"gap {o['gap']:.4f}, P(opt) {o['probability_optimal']:.3f}",
        lambda o: o["optimal"],
    ),
    "unit commitment 4+3": (
        lambda q: energy.commit_units(
            q, energy.UnitCommitment((1, 2, 3, 2), (3.0, 5.0, 7.5, 4.0), 4)
        ),
        lambda o: f"gap {o['gap']:.2f}, P(opt) {o['probability_optimal']:.3f}",
        lambda o: o["optimal"],
    ),
    "call option (IAE)": (
        lambda q: finance.price_option(q),
        lambda o: f"{o['relative_gap'] * 100:.3f} %",
        lambda o: o["relative_gap"] < 0.01,
    ),
    "Shor 15": (
        lambda q: crypto.factor(q, 15),
        lambda o: f"{o['factors']}, P(order) {o['success_probability']:.2f}",
        lambda o: o["agree"],
    ),
    "Grover 4-bit key": (
        lambda q: crypto.search_key(q, 0b0110, crypto.encrypt(0b1011, 0b0110, 4)),
        lambda o: f"P(key) {o['success_probability']:.2f}",
        lambda o: o["agree"],
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["statevector", "sc25"])
    parser.add_argument(
        "--resilience",
        nargs="+",
        type=int,
        default=[0, 1, 2],
        help="estimator resilience levels to run on each noisy device (statevector: 0 only)",
    )
    parser.add_argument("--apps", nargs="+", default=list(CASES), help="which apps (names)")
    parser.add_argument(
        "--mitigation",
        action="store_true",
        help="instead: each molecule's energy at its converged parameters, on each noisy "
        "device at each resilience level (one estimator job each)",
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.mitigation:
        mitigation(args.devices, args.resilience, args.workers)
        return
    rows: list[tuple[str, str, int, str, bool, float]] = []
    with in_process(args.workers) as service:
        for device in args.devices:
            levels = [0] if device == "statevector" else args.resilience
            for name in args.apps:
                rows += _run_levels(service, device, name, levels)
    print(
        f"{'app':<22}{'device':<13}{'mitigation':<12}{'error against the reference':<40}"
        f"{'target':<8}{'s':>7}"
    )
    for name, device, level, error_text, ok, seconds in rows:
        print(
            f"{name:<22}{device:<13}{f'level {level}':<12}{error_text:<40}"
            f"{'met' if ok else '-':<8}{seconds:>7.1f}"
        )


def _run_levels(
    service: HarborService, device: str, name: str, levels: list[int]
) -> list[tuple[str, str, int, str, bool, float]]:
    """The app at each resilience level; an app without estimator jobs runs once, as
    mitigation (which applies to estimator jobs) would not change it."""
    run, error, met = CASES[name]
    rows = []
    for level in levels:
        quantum = ServiceQuantum(service, device, options={"resilience_level": level})
        start = time.perf_counter()
        try:
            outcome = run(quantum)
            text, ok = error(outcome), met(outcome)
        except Exception as exc:  # a device that cannot run it says why
            text, ok = f"{type(exc).__name__}: {exc}"[:60], False
        rows.append((name, device, level, text, ok, time.perf_counter() - start))
        if quantum.estimator_jobs == 0:
            break  # only sampled circuits: nothing for the levels to change
    return rows


def mitigation(devices: list[str], levels: list[int], workers: int) -> None:
    """Print each molecule's error at its VQE-converged parameters, per device and level.

    The parameters come from VQE on ``statevector``; each noisy device then estimates
    the energy there once per resilience level, so the table shows what the twin's
    noise does to one energy and how much of it each level takes back, without
    running a whole VQE loop per level (a mitigated job runs many circuits).
    """
    molecules = {
        "H2": (
            chemistry.double_excitation_ansatz(),
            chemistry.h2_hamiltonian(),
            lambda q: [chemistry.ground_state(q, iterations=20)["theta"]],
            chemistry.exact_ground_energy(chemistry.h2_hamiltonian()),
        ),
        "LiH (2e,2o)": (
            chemistry.two_orbital_ansatz(),
            chemistry.molecule_hamiltonian("LiH")[0],
            lambda q: chemistry.molecule_ground_state(q, "LiH", iterations=20)["parameters"],
            chemistry.molecule_hamiltonian("LiH")[1],
        ),
    }
    with in_process(workers) as service:
        print(f"{'molecule':<14}{'device':<13}{'level':<7}{'error (mHa)':>12}{'s':>8}")
        for name, (ansatz, hamiltonian, converge, reference) in molecules.items():
            parameters = converge(ServiceQuantum(service, "statevector"))
            for device in (d for d in devices if d != "statevector"):
                for level in levels:
                    quantum = ServiceQuantum(service, device, options={"resilience_level": level})
                    start = time.perf_counter()
                    [energy] = quantum.estimate(ansatz, hamiltonian, [parameters])
                    seconds = time.perf_counter() - start
                    error_mha = abs(energy - reference) * 1000
                    print(
                        f"{name:<14}{device:<13}{level:<7}{error_mha:>12.2f}{seconds:>8.1f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()

"""Every app against a centre, each beside its classical reference, with its plot.

    python examples/apps_tour.py [device] [folder]    # default: statevector, .

Needs a centre (QHARBOR_URL and QHARBOR_TOKEN, or 'qharbor login') and
``pip install 'qharbor[apps]'`` (Qiskit, SciPy, PySCF, matplotlib).
"""

from __future__ import annotations

import sys
from pathlib import Path

from qharbor.apps import chemistry, crypto, energy, finance
from qharbor.apps.quantum import ServiceQuantum
from qharbor.client.service import HarborService


def main() -> None:
    device = sys.argv[1] if len(sys.argv) > 1 else "statevector"
    folder = Path(sys.argv[2] if len(sys.argv) > 2 else ".")
    with HarborService() as service:
        quantum = ServiceQuantum(service, device)

        portfolio = finance.Portfolio.random(8, 4, seed=3)
        chosen = finance.optimise_portfolio(quantum, portfolio)
        print(f"portfolio: {chosen['selection']} optimum {chosen['reference_selection']}")
        finance.plot_frontier(portfolio, chosen["selection"], str(folder / "apps-frontier.png"))

        option = finance.price_option(quantum, finance.EuropeanCall())
        print(f"call: {option['price']:.5f}, Black–Scholes {option['reference']:.5f}")
        finance.plot_estimation(option, str(folder / "apps-option.png"))

        problem = energy.UnitCommitment((1, 2, 3, 2, 4), (3.0, 5.0, 7.5, 4.0, 9.0), 6)
        schedule = energy.commit_units(quantum, problem)
        print(f"commitment: {schedule['committed']} optimum {schedule['reference_committed']}")
        energy.plot_schedule(problem, schedule, str(folder / "apps-schedule.png"))

        for molecule in ("LiH", "H2O"):
            found = chemistry.molecule_ground_state(quantum, molecule, iterations=20)
            print(f"{molecule}: gap to FCI {found['gap_ha'] * 1000:.2e} mHa")
        scan = chemistry.bond_scan(quantum, [0.4 + 0.15 * i for i in range(15)])
        chemistry.plot_scan(scan, str(folder / "apps-h2-scan.png"))

        for number in (15, 21):
            print(f"{number} = {crypto.factor(quantum, number)['factors']}")
        key = crypto.search_key(quantum, 0b0110, crypto.encrypt(0b1011, 0b0110, 4))
        print(f"key {key['key']:04b} (reference {key['reference']})")
        bits = crypto.random_numbers(quantum, 20_000)
        print(f"random bits pass: {bits['passed']} {bits['p_values']}")


if __name__ == "__main__":
    main()

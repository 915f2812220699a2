"""Each app through a real centre over HTTP on the statevector device, against its
classical reference; two of them as centre programs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qharbor.apps import chemistry, crypto, energy, finance
from qharbor.apps.quantum import ServiceQuantum
from qharbor.client.service import HarborService
from tests.integration.conftest import RunningCentre


@pytest.fixture(scope="module")
def module_database_kind() -> str:
    """The apps touch the store only through jobs, which other modules test on both."""
    return "sqlite"


@pytest.fixture(scope="module")
def service(running: RunningCentre) -> Iterator[HarborService]:
    with HarborService(running.url, running.token) as service:
        yield service


@pytest.fixture(scope="module")
def quantum(service: HarborService) -> ServiceQuantum:
    return ServiceQuantum(service, "statevector")


def test_the_portfolio_program_finds_the_exhaustive_optimum(
    service: HarborService, tmp_path: Path
) -> None:
    portfolio = finance.Portfolio.random(5, 2, seed=3)
    inputs = {"mu": portfolio.mu.tolist(), "sigma": portfolio.sigma.tolist(), "budget": 2}
    run = service.programs.run("portfolio", "statevector", inputs)
    result = run.result(timeout=120)
    output = result["output"]
    # Our own exhaustive search, over every pair of assets.
    best = min(
        itertools.combinations(range(5), 2),
        key=lambda pair: portfolio.objective([int(i in pair) for i in range(5)]),
    )
    assert output["reference_selection"] == [int(i in best) for i in range(5)]
    assert output["optimal"] and output["selection"] == output["reference_selection"]
    assert output["gap"] == pytest.approx(0, abs=1e-12)
    assert len(result["jobs"]) == 5  # four angle-search rounds and one sample
    service.verify(result)
    png = finance.plot_frontier(portfolio, output["selection"], str(tmp_path / "frontier.png"))
    assert Path(png).read_bytes()[:4] == b"\x89PNG"


def test_a_schema_error_in_portfolio_inputs_is_refused(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/programs/portfolio/runs",
        json={"device": "statevector", "inputs": {"mu": [0.1, 0.2], "sigma": [[1]], "budget": 1}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "PROGRAM_INPUTS_INVALID"
    assert "sigma must be 2×2" in response.text


def test_the_option_price_is_within_one_percent_of_black_scholes(quantum: ServiceQuantum) -> None:
    outcome = finance.price_option(quantum, finance.EuropeanCall())
    assert outcome["relative_gap"] < 0.01
    assert outcome["reference"] == pytest.approx(finance.EuropeanCall().black_scholes())
    powers = [r["k"] for r in outcome["rounds"]]
    assert powers[0] == 0 and max(powers) > 0  # amplified after the first round


def test_the_unit_commitment_matches_the_exact_solver(quantum: ServiceQuantum) -> None:
    problem = energy.UnitCommitment((1, 2, 3, 2), (3.0, 5.0, 7.5, 4.0), 4)
    outcome = energy.commit_units(quantum, problem)
    assert outcome["reference_committed"] == [0, 1, 0, 1]
    assert outcome["optimal"] and outcome["committed"] == [0, 1, 0, 1]


def test_shor_factors_15_as_a_program_and_21_from_the_client(
    service: HarborService, quantum: ServiceQuantum
) -> None:
    result = service.programs.run("factor", "statevector", {"number": 15}).result(timeout=120)
    assert result["output"]["factors"] == [3, 5] and result["output"]["order"] == 4
    outcome = crypto.factor(quantum, 21)
    assert outcome["factors"] == [3, 7] and outcome["order"] == 6 and outcome["agree"]
    assert outcome["success_probability"] > 0.3


def test_a_prime_to_factor_is_refused_before_anything_runs(running: RunningCentre) -> None:
    response = running.http.post(
        "/v1/programs/factor/runs", json={"device": "statevector", "inputs": {"number": 23}}
    )
    assert response.status_code == 422, response.text
    assert "odd composite" in response.json()["error"]["message"] + response.text


def test_grover_finds_the_key_of_a_known_pair(quantum: ServiceQuantum) -> None:
    key, plaintext = 0b1011, 0b0110
    ciphertext = crypto.encrypt(key, plaintext, 4)
    outcome = crypto.search_key(quantum, plaintext, ciphertext, bits=4)
    assert outcome["key"] == key and outcome["reference"] == [key] and outcome["verified"]
    assert outcome["success_probability"] > 0.8  # 3 iterations of 16 keys: 96 % in theory


def test_device_random_numbers_pass_the_statistical_suite(quantum: ServiceQuantum) -> None:
    outcome = crypto.random_numbers(quantum, 4096)
    # Good bits fail one of the four tests at the standard's 0.01 about 5 % of the time;
    # at 10⁻⁴ almost never, while bits with any pattern score far below it.
    assert min(outcome["p_values"].values()) > 1e-4, outcome["p_values"]
    assert outcome["count"] == 4096 and len(bin(int(outcome["bits"], 16))) <= 4096 + 2


@pytest.mark.parametrize("molecule", ["LiH", "H2O"])
def test_vqe_reaches_pyscfs_fci_energy_to_chemical_accuracy(
    quantum: ServiceQuantum, molecule: str
) -> None:
    outcome = chemistry.molecule_ground_state(quantum, molecule, iterations=10)
    assert outcome["chemically_accurate"] and outcome["gap_ha"] < chemistry.CHEMICAL_ACCURACY_HA


def test_the_h2_bond_scan_follows_the_fci_curve(quantum: ServiceQuantum, tmp_path: Path) -> None:
    scan = chemistry.bond_scan(quantum, [0.5, 0.735, 1.5], iterations=12)
    assert scan["largest_gap_ha"] < chemistry.CHEMICAL_ACCURACY_HA
    assert int(np.argmin(scan["energies_ha"])) == 1  # the minimum near equilibrium
    png = chemistry.plot_scan(scan, str(tmp_path / "scan.png"))
    assert Path(png).read_bytes()[:4] == b"\x89PNG"

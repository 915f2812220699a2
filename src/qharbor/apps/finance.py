"""Finance: portfolio optimisation by QAOA, option pricing by amplitude estimation.

Portfolio selection picks exactly ``budget`` of ``n`` assets to minimise
``risk · xᵀΣx − μᵀx`` (a QUBO once the budget becomes a quadratic penalty), solved
by :func:`qharbor.apps.qaoa.solve` and checked by exhaustive search over every
selection of ``budget`` assets.

A European call is priced by iterative amplitude estimation (:mod:`qharbor.apps.amplitude`)
and checked against Black–Scholes. The log-normal distribution of the price at
expiry is loaded into ``qubits`` qubits bin by bin, each bin carrying its exact
probability and the call's exact mean payoff within it (the outer bins reach to
0 and to infinity), so the discretised price *is* the Black–Scholes price and
the gap is the estimation's alone.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qharbor.apps import amplitude, qaoa
from qharbor.apps.qubo import QUBO

if TYPE_CHECKING:
    from qharbor.runtime.program import Quantum


# --- portfolio optimisation ---------------------------------------------------------------


@dataclass(frozen=True)
class Portfolio:
    """Assets' expected returns ``mu`` and covariance ``sigma`` (per period), and the choice
    to make: exactly ``budget`` assets, trading return for ``risk`` times the variance."""

    mu: np.ndarray
    sigma: np.ndarray
    budget: int
    risk: float = 0.5

    @classmethod
    def random(cls, assets: int, budget: int, risk: float = 0.5, seed: int = 0) -> Portfolio:
        """A reproducible market of ``assets`` assets, returns about 1–10 % per period."""
        rng = np.random.default_rng(seed)
        mu = rng.uniform(0.01, 0.10, assets)
        factors = rng.normal(0, 0.08, (assets, assets))
        sigma = factors @ factors.T / assets + np.diag(rng.uniform(0.001, 0.01, assets))
        return cls(mu, sigma, budget, risk)

    def objective(self, bits: Any) -> float:
        x = np.asarray(bits, dtype=float)
        return float(self.risk * x @ self.sigma @ x - self.mu @ x)

    def qubo(self, penalty: float | None = None) -> QUBO:
        """``risk·xᵀΣx − μᵀx + penalty·(Σx − budget)²``; the default penalty outweighs
        any gain from breaking the budget."""
        n = len(self.mu)
        if penalty is None:
            penalty = 2 * (
                float(np.abs(self.mu).sum()) + self.risk * float(np.abs(self.sigma).sum())
            )
        ones = np.ones((n, n))
        quadratic = self.risk * self.sigma + penalty * ones
        linear = -self.mu - 2 * penalty * self.budget * np.ones(n)
        return QUBO.build(linear, quadratic, penalty * self.budget**2)

    def exhaustive(self) -> tuple[list[int], float]:
        """The best selection of exactly ``budget`` assets, by trying every one."""
        n = len(self.mu)
        best: tuple[list[int], float] = ([], math.inf)
        for chosen in itertools.combinations(range(n), self.budget):
            bits = [1 if i in chosen else 0 for i in range(n)]
            value = self.objective(bits)
            if value < best[1]:
                best = (bits, value)
        return best


def optimise_portfolio(
    quantum: Quantum, portfolio: Portfolio, *, layers: int = 1, shots: int = 2000, **search: Any
) -> dict[str, Any]:
    """The portfolio QAOA picks, beside the exhaustive-search optimum.

    Returns:
        ``selection`` (0/1 per asset), ``objective``, ``return``, ``variance``,
        ``reference_selection``, ``reference_objective``, ``gap`` (objective minus
        the optimum's; 0 when QAOA found it), ``optimal``, ``probability_optimal``
        and the angle search's ``history``.
    """
    if not 1 <= portfolio.budget <= len(portfolio.mu):
        raise ValueError(f"budget must be between 1 and {len(portfolio.mu)} assets")
    solution = qaoa.solve(quantum, portfolio.qubo(), layers=layers, shots=shots, **search)
    reference, reference_value = portfolio.exhaustive()
    x = np.array(solution.bits, dtype=float)
    value = portfolio.objective(solution.bits)
    feasible = int(x.sum()) == portfolio.budget
    return {
        "selection": solution.bits,
        "feasible": feasible,
        "objective": value,
        "return": float(portfolio.mu @ x),
        "variance": float(x @ portfolio.sigma @ x),
        "reference_selection": reference,
        "reference_objective": reference_value,
        "gap": value - reference_value if feasible else math.inf,
        "optimal": feasible and abs(value - reference_value) < 1e-12,
        "probability_optimal": solution.probability_optimal,
        "history": solution.history,
    }


def plot_frontier(portfolio: Portfolio, selection: Any, path: str) -> str:
    """Every selection of ``budget`` assets by variance and return, the efficient
    frontier through them, and ``selection`` marked; saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(portfolio.mu)
    points = []
    for chosen in itertools.combinations(range(n), portfolio.budget):
        x = np.array([1.0 if i in chosen else 0.0 for i in range(n)])
        points.append((float(x @ portfolio.sigma @ x), float(portfolio.mu @ x)))
    points.sort()
    frontier, top = [], -math.inf
    for variance, ret in points:
        if ret > top:
            frontier.append((variance, ret))
            top = ret
    x = np.asarray(selection, dtype=float)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.scatter(
        [p[0] for p in points], [p[1] for p in points], s=12, color="0.6", label="selections"
    )
    axes.plot(
        [p[0] for p in frontier], [p[1] for p in frontier], color="k", label="efficient frontier"
    )
    axes.scatter(
        [x @ portfolio.sigma @ x], [portfolio.mu @ x], s=90, marker="*", color="C3", label="QAOA"
    )
    axes.set_xlabel("variance")
    axes.set_ylabel("expected return")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


# --- option pricing -----------------------------------------------------------------------


@dataclass(frozen=True)
class EuropeanCall:
    """A European call: spot and strike (currency), rate and volatility (per year),
    expiry (years)."""

    spot: float = 2.0
    strike: float = 1.9
    rate: float = 0.05
    volatility: float = 0.4
    expiry: float = 40 / 365

    def black_scholes(self) -> float:
        """The Black–Scholes price, the classical reference."""
        from scipy.stats import norm

        s = self.volatility * math.sqrt(self.expiry)
        d1 = (
            math.log(self.spot / self.strike) + (self.rate + self.volatility**2 / 2) * self.expiry
        ) / s
        d2 = d1 - s
        discount = math.exp(-self.rate * self.expiry)
        return float(self.spot * norm.cdf(d1) - self.strike * discount * norm.cdf(d2))

    def bins(self, qubits: int, width: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
        """Each bin's probability and the call's mean payoff in it: ``2**qubits`` bins of
        equal width in log-price over ±``width`` standard deviations, the outer
        two reaching to 0 and to infinity."""
        from scipy.stats import norm

        m = math.log(self.spot) + (self.rate - self.volatility**2 / 2) * self.expiry
        s = self.volatility * math.sqrt(self.expiry)
        z = np.linspace(-width, width, 2**qubits + 1)
        z[0], z[-1] = -np.inf, np.inf
        probabilities = np.diff(norm.cdf(z))
        # E[(S - K)^+ ; bin] from the log-normal's partial expectations.
        zk = (math.log(self.strike) - m) / s
        lower = np.maximum(z[:-1], zk)
        upper = np.maximum(z[1:], zk)
        mean_s = math.exp(m + s * s / 2) * (norm.cdf(upper - s) - norm.cdf(lower - s))
        payoff = mean_s - self.strike * (norm.cdf(upper) - norm.cdf(lower))
        return probabilities, payoff / probabilities


def loading_circuit(call: EuropeanCall, qubits: int) -> tuple[Any, float]:
    """``A``: the distribution on ``qubits`` qubits and the payoff on one more, so the
    last qubit reads 1 with probability ``payoff mean / scale``. Returns (A, scale)."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import StatePreparation, UCRYGate

    probabilities, payoff = call.bins(qubits)
    scale = float(payoff.max())
    circuit = QuantumCircuit(qubits + 1, name="A")
    circuit.append(StatePreparation(np.sqrt(probabilities)), range(qubits))
    angles = (2 * np.arcsin(np.sqrt(np.clip(payoff / scale, 0, 1)))).tolist()
    circuit.append(UCRYGate(angles), [qubits, *range(qubits)])
    return circuit, scale


def price_option(
    quantum: Quantum,
    call: EuropeanCall | None = None,
    *,
    qubits: int = 3,
    epsilon: float = 0.001,
    alpha: float = 0.05,
    shots: int = 4000,
) -> dict[str, Any]:
    """The call's price by iterative amplitude estimation, beside Black–Scholes.

    Returns:
        ``price``, ``confidence_interval`` (currency, at ``1 - alpha``),
        ``reference`` (Black–Scholes), ``gap`` and ``relative_gap``, the
        ``rounds`` run (Grover powers and shots) and the estimate after each.
    """
    call = call or EuropeanCall()
    circuit, scale = loading_circuit(call, qubits)
    estimate = amplitude.estimate(
        quantum, circuit, qubits, epsilon=epsilon, alpha=alpha, shots=shots
    )
    discount = math.exp(-call.rate * call.expiry) * scale
    reference = call.black_scholes()
    price = estimate.value * discount
    return {
        "price": price,
        "confidence_interval": [estimate.low * discount, estimate.high * discount],
        "reference": reference,
        "gap": price - reference,
        "relative_gap": abs(price - reference) / reference,
        "rounds": estimate.rounds,
        "history": [v * discount for v in estimate.history],
    }


def plot_estimation(outcome: dict[str, Any], path: str) -> str:
    """The price after each amplitude-estimation round against Black–Scholes (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    history = outcome["history"]
    axes.plot(range(1, len(history) + 1), history, marker="o", label="amplitude estimation")
    axes.axhline(outcome["reference"], color="k", linestyle="--", label="Black–Scholes")
    axes.set_xlabel("round")
    axes.set_ylabel("price")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

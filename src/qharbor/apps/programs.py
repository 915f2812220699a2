"""The apps as centre programs: inputs schemas, checkpoints and progress around each."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from qharbor.apps import chemistry, crypto, finance, vqe
from qharbor.runtime.program import Context, Inputs, Program


class VQEInputs(Inputs):
    molecule: str = Field(default="H2", pattern="^H2$", description="The molecule (H2).")
    iterations: int = Field(default=40, ge=1, le=10_000, description="Gradient steps.")
    step: float = Field(default=0.8, gt=0, le=10, description="Step size (radians).")


class VQEProgram(Program):
    """VQE for a molecule's ground state, checked against exact diagonalisation."""

    name = "vqe"
    version = "1.0"
    summary = "Ground-state energy of H2 by VQE, with the exact energy and the gap."
    inputs = VQEInputs

    def run(self, inputs: Any, context: Context) -> dict[str, Any]:
        restored = context.restored
        return chemistry.ground_state(
            context,
            iterations=inputs.iterations,
            step=inputs.step,
            state=vqe.LoopState.from_json(restored) if restored else None,
            report=lambda i, value, best: context.report(i, value, best),
            save=context.save,
        )


class PortfolioInputs(Inputs):
    mu: list[float] = Field(
        min_length=2, max_length=12, description="Expected return of each asset, per period."
    )
    sigma: list[list[float]] = Field(description="Covariance of the returns, one row per asset.")
    budget: int = Field(ge=1, description="How many assets to hold.")
    risk: float = Field(default=0.5, ge=0, le=100, description="Weight of the variance.")
    layers: int = Field(default=1, ge=1, le=4, description="QAOA depth p.")
    shots: int = Field(default=2000, ge=100, le=100_000, description="Shots of the final sample.")

    @model_validator(mode="after")
    def _shapes(self) -> PortfolioInputs:
        n = len(self.mu)
        if len(self.sigma) != n or any(len(row) != n for row in self.sigma):
            raise ValueError(f"sigma must be {n}×{n}, one row and one column per asset")
        if self.budget > n:
            raise ValueError(f"budget must be at most the {n} assets")
        return self


class PortfolioProgram(Program):
    """Portfolio selection under a budget by QAOA, checked by exhaustive search."""

    name = "portfolio"
    version = "1.0"
    summary = "Pick `budget` assets by QAOA; the exhaustive-search optimum and the gap."
    inputs = PortfolioInputs

    def run(self, inputs: Any, context: Context) -> dict[str, Any]:
        portfolio = finance.Portfolio(
            np.array(inputs.mu), np.array(inputs.sigma), inputs.budget, inputs.risk
        )
        return finance.optimise_portfolio(
            context,
            portfolio,
            layers=inputs.layers,
            shots=inputs.shots,
            report=lambda i, value, best: context.report(i, value, best),
        )


class FactorInputs(Inputs):
    number: int = Field(default=15, ge=15, le=63, description="An odd composite, 15 to 63.")
    base: int | None = Field(default=None, ge=2, description="The base a; chosen if omitted.")
    shots: int = Field(default=256, ge=16, le=100_000, description="Shots of the one job.")

    @model_validator(mode="after")
    def _composite(self) -> FactorInputs:
        if self.number % 2 == 0 or len(crypto.trial_division(self.number)) == 1:
            raise ValueError(f"number must be an odd composite; {self.number} is not")
        if self.base is not None and math.gcd(self.base, self.number) != 1:
            raise ValueError(f"base must share no factor with {self.number}")
        return self


class FactorProgram(Program):
    """Shor's algorithm, checked by trial division."""

    name = "factor"
    version = "1.0"
    summary = "Factor a small odd composite (15, 21) by Shor's order finding."
    inputs = FactorInputs

    def run(self, inputs: Any, context: Context) -> dict[str, Any]:
        return crypto.factor(context, inputs.number, inputs.base, shots=inputs.shots)

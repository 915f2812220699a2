"""The apps as centre programs: inputs schemas, checkpoints and progress around each."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from qharbor.apps import chemistry, vqe
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

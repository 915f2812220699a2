"""A centre program the tests run to see where and how a run's loop runs.

It runs a few estimator jobs of the H2 ansatz on the run's device, then says
which process it ran in, and, if asked, ends that process the hard way or makes
its engine fail, as a buggy program or engine would.
"""

from __future__ import annotations

import os
import signal
from typing import Any, Literal

from pydantic import Field

from qharbor import errors
from qharbor.apps import chemistry
from qharbor.runtime import fastlane
from qharbor.runtime.program import Context, Inputs, Program

#: Where an operator's distribution would register it.
ENTRY = "where = tests.loop_programs:WhereProgram"


class WhereInputs(Inputs):
    calls: int = Field(default=2, ge=0, le=100)
    #: After its calls: return, exit the process (exit code 3), or crash it (SIGSEGV).
    end: Literal["return", "exit", "segfault", "engine_fails"] = "return"


class WhereProgram(Program):
    """Reports its process; ends it or fails its engine on request."""

    name = "where"
    version = "1.0"
    summary = "Says which process (and which Ray task, if any) ran its loop."
    inputs = WhereInputs

    def run(self, inputs: Any, context: Context) -> dict[str, Any]:
        circuit, observable = chemistry.double_excitation_ansatz(), chemistry.h2_hamiltonian()
        energies = [
            context.estimate(circuit, observable, [[0.1 * i]])[0] for i in range(inputs.calls)
        ]
        if inputs.end == "exit":
            os._exit(3)
        if inputs.end == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        if inputs.end == "engine_fails":
            fastlane.execute = _failing  # this loop process's engine fails from now on
            try:
                context.estimate(circuit, observable, [[0.5]])
            finally:
                fastlane.execute = _execute
        return {"pid": os.getpid(), "ray_task": _ray_task(), "energies": energies}


_execute = fastlane.execute


def _failing(claim: Any) -> Any:
    raise errors.ExecutionError("the engine ran out of luck")


def _ray_task() -> str | None:
    """The Ray task this runs in, or None outside Ray."""
    try:
        import ray
    except ImportError:
        return None
    if not ray.is_initialized():
        return None
    task: str | None = ray.get_runtime_context().get_task_id()
    return task

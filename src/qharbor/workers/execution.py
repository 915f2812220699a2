"""Runs one job attempt: hands the task to the module of its kind, seals the result.

This is what a worker process does with a task. It is a plain function of its
input, so any executor (local processes, Ray) can run it.
"""

from __future__ import annotations

from qharbor import wire
from qharbor.engines import get_engine
from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Result, SealedResult
from qharbor.workers.circuits import execute_circuits
from qharbor.workers.primitives import execute_primitive
from qharbor.workers.twins import execute_twin


def execute(task: Claim) -> Result | SealedResult:
    """Run a task and return its result (without queue timings).

    A sealed job's programs are decrypted here, in the worker's memory; a result
    for a user with a registered key is sealed here, before it leaves the worker.

    Raises:
        errors.QHarborError: with the code to record on the failed job.
    """
    programs = task.programs
    if task.program_key is not None:
        programs = wire.open_with_key(task.program_key, programs[0]["sealed"], wire.PROGRAMS_AAD)
    if task.kind != "circuits":
        result = execute_primitive(task, get_engine(task.runs_on.engine))
    elif task.twin is not None:
        result = execute_twin(task, task.twin, programs)
    else:
        result = execute_circuits(task, programs)
    if task.result_key is None:
        return result
    key_id, public_key = task.result_key
    return result.sealed_to(key_id, public_key)

"""Runs one job attempt: hands the claim to the module of its kind, seals the result.

This is what a worker process does with a claim. It is a plain function of its
input, so any executor (local processes, Ray) can run it.
"""

from __future__ import annotations

from qharbor import wire
from qharbor.engines import get_engine
from qharbor.jobs.claims import Claim
from qharbor.jobs.parsed import ParsedProgram
from qharbor.jobs.result import Result, SealedResult
from qharbor.workers.circuits import execute_circuits
from qharbor.workers.primitives import execute_primitive
from qharbor.workers.twins import execute_twin


def execute(claim: Claim) -> Result | SealedResult:
    """Run a claim and return its result (without queue timings).

    A sealed job's programs are decrypted here, in the worker's memory; a result
    for a user with a registered key is sealed here, before it leaves the worker.

    Raises:
        errors.QHarborError: with the code to record on the failed job.
    """
    stored = claim.programs
    if claim.program_key is not None:
        stored = wire.open_with_key(claim.program_key, stored[0]["sealed"], wire.PROGRAMS_AAD)
    programs = [ParsedProgram.from_json(body) for body in stored]
    if claim.kind != "circuits":
        result = execute_primitive(claim, get_engine(claim.runs_on.engine))
    elif claim.twin is not None:
        result = execute_twin(claim, claim.twin, programs)
    else:
        result = execute_circuits(claim, programs)
    if claim.result_key is None:
        return result
    key_id, public_key = claim.result_key
    return result.sealed_to(key_id, public_key)

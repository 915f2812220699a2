"""Reads the console needs beyond the ``/v1`` API: circuits drawn, and signature inputs.

Both answer only within the caller's project, like the API's job routes, and
need the ``read`` scope.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from qharbor import errors, wire
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader
from qharbor.centre import Centre
from qharbor.jobs.job import JobStatus
from qharbor.programs import drawing

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/console/api",
    tags=["console"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 409),
)


def _draw(centre: Centre, source: str, fmt: str) -> tuple[str | None, str | None]:
    """The drawing of a program (parsed in the sandbox, as at submission), or why not."""
    try:
        return centre.parsers.call(drawing.draw, source, fmt), None
    except errors.QHarborError as exc:
        return None, f"{exc.code}: {exc.message}"


def _circuits(centre: Centre, project_id: str, job_id: str) -> dict[str, Any]:
    job = centre.jobs.get(project_id, job_id)
    shown = []
    for index, program in enumerate(centre.jobs.programs(project_id, job_id)):
        text, why = _draw(centre, str(program.get("source", "")), str(program.get("format")))
        shown.append(
            {
                "index": index,
                "name": program.get("name"),
                "format": program.get("format"),
                "source": program.get("source"),
                "bindings": len(program.get("bindings") or []),
                "drawing": text,
                "drawing_error": why,
            }
        )
    compiled = []
    if job.status is JobStatus.DONE and not job.result_sealed:
        result = centre.jobs.result(project_id, job_id)
        for index, experiment in enumerate(result.get("experiments") or []):
            qasm = experiment.get("compiled_qasm3")
            if isinstance(qasm, str):
                text, why = _draw(centre, qasm, "qasm3")
                compiled.append(
                    {"experiment": index, "qasm3": qasm, "drawing": text, "drawing_error": why}
                )
    return {"job_id": job_id, "sealed": job.sealed, "programs": shown, "compiled": compiled}


@router.get("/jobs/{job_id}/circuits")
async def job_circuits(job_id: str, centre: CentreDep, principal: Reader) -> dict[str, Any]:
    """The job's programs and, for compiled results, the circuits as run, drawn as text."""
    return await run_in_threadpool(_circuits, centre, principal.project_id, job_id)


def _signed(centre: Centre, project_id: str, job_id: str) -> dict[str, Any]:
    result = centre.jobs.result(project_id, job_id)
    block = result.get("signature")
    if not isinstance(block, dict) or not isinstance(block.get("context"), dict):
        raise errors.SignatureInvalid("the result carries no ML-DSA-65 signature")
    message = wire.signed_message(result, block["context"])
    return {
        "job_id": job_id,
        "algorithm": block.get("algorithm"),
        "key_id": block.get("key_id"),
        "signature": block.get("value"),
        "context_string": wire.SIGNATURE_CONTEXT.decode("ascii"),
        "message": base64.b64encode(message).decode("ascii"),
    }


@router.get("/jobs/{job_id}/signed")
async def job_signed(job_id: str, centre: CentreDep, principal: Reader) -> dict[str, Any]:
    """What a browser needs to check a result's signature itself.

    ``message`` is the exact byte string the signature covers (the canonical JSON
    of the result and its context), base64-encoded: JavaScript cannot rebuild it,
    as it does not keep Python's float spelling. The page checks that the message
    holds the very result it shows, then verifies ``signature`` over it with the
    key from ``GET /v1/keys``.
    """
    return await run_in_threadpool(_signed, centre, principal.project_id, job_id)

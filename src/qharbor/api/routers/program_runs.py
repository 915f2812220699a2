"""Centre programs: list them, start runs, follow, cancel and read them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader, Submitter
from qharbor.api.schemas.program_runs import (
    ProgramList,
    ProgramPublic,
    RunCreate,
    RunList,
    RunPublic,
)
from qharbor.centre import Centre
from qharbor.runtime.runs import ProgramRun
from qharbor.security.identity import Principal

router = APIRouter(
    prefix="/v1/programs",
    tags=["programs"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 409, 413),
)


@router.get("", response_model=ProgramList)
def list_programs(centre: CentreDep, principal: Reader) -> dict[str, Any]:
    """The programs this centre runs: those it ships and those its operator installed."""
    return {"programs": [p.describe() for p in centre.programs.registry.all()]}


@router.get("/{name}", response_model=ProgramPublic)
def get_program(name: str, centre: CentreDep, principal: Reader) -> dict[str, Any]:
    """One program, with the JSON schema its inputs must match."""
    return centre.programs.registry.get(name).describe()


@router.post("/{name}/runs", status_code=201, response_model=RunPublic)
def start_run(name: str, body: RunCreate, centre: CentreDep, principal: Submitter) -> Any:
    """Check the inputs against the program's schema, then start a run on the device.

    Its quantum jobs run in a session of its own, tagged ``program-run:<id>``.
    """
    run = centre.programs.submit(name, body.device, body.inputs, principal)
    return run.to_json()


@router.get("/{name}/runs", response_model=RunList)
def list_runs(
    name: str,
    centre: CentreDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Your project's runs of the program, newest first."""
    runs = centre.programs.store.list(principal.project_id, program=name, limit=limit)
    return {"runs": [run.to_json() for run in runs]}


@router.get("/{name}/runs/{run_id}", response_model=RunPublic)
def get_run(name: str, run_id: str, centre: CentreDep, principal: Reader) -> Any:
    """One run, with its latest progress."""
    return centre.programs.get(principal.project_id, name, run_id).to_json()


@router.get("/{name}/runs/{run_id}/result")
def get_run_result(name: str, run_id: str, centre: CentreDep, principal: Reader) -> Any:
    """The run's result, signed with the centre's ML-DSA key like a job's: the program's
    output, its inputs and the id of every job it ran (409 PROGRAM_RUN_NOT_DONE before)."""
    return centre.programs.result(principal.project_id, name, run_id)


@router.post("/{name}/runs/{run_id}/cancel", response_model=RunPublic)
def cancel_run(name: str, run_id: str, centre: CentreDep, principal: Submitter) -> Any:
    """Cancel a run: a queued one at once, a running one (and its job) at its next step."""
    return centre.programs.cancel(principal.project_id, name, run_id).to_json()


@router.get(
    "/{name}/runs/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def run_events(
    name: str, run_id: str, centre: CentreDep, principal: Reader
) -> StreamingResponse:
    """Server-sent events: a ``progress`` event with the run at each change (iteration,
    value, best so far, status), until it is final."""
    first = await run_in_threadpool(centre.programs.get, principal.project_id, name, run_id)
    return StreamingResponse(
        _progress_events(centre, principal, name, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


async def _progress_events(
    centre: Centre, principal: Principal, name: str, first: ProgramRun
) -> AsyncIterator[str]:
    run_id = first.id
    with centre.programs.events.watch(run_id) as watch:
        run, last, idle = first, None, 0.0
        while True:
            state = (run.status, run.attempt, run.cancel_requested, json.dumps(run.progress))
            if state != last:
                yield f"event: progress\ndata: {json.dumps(run.to_json())}\n\n"
                last, idle = state, 0.0
            if run.status.is_final:
                return
            if not await watch.changed(1.0):
                idle += 1.0
                if idle >= 15.0:
                    yield ": keep-alive\n\n"
                    idle = 0.0
            try:
                run = await run_in_threadpool(
                    centre.programs.get, principal.project_id, name, run_id
                )
            except asyncio.CancelledError:
                return

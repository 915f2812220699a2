"""Jobs: submit, read, wait, list, cancel, stream."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from qharbor import errors, wire
from qharbor.api import bounds
from qharbor.api import errors as api_errors
from qharbor.api.auditing import audit_write
from qharbor.api.deps import CentreDep, Reader, Submitter, require_scope
from qharbor.api.schemas.jobs import (
    DryRunPublic,
    JobCreate,
    JobList,
    JobPublic,
    JobSubmitted,
)
from qharbor.api.schemas.results import ResultPublic
from qharbor.centre import Centre
from qharbor.devices import DeviceStatus
from qharbor.jobs import shapes
from qharbor.jobs.job import Job, JobStatus
from qharbor.security.identity import Principal

router = APIRouter(
    prefix="/v1/jobs",
    tags=["jobs"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 400, 404, 409, 413),
)

T = TypeVar("T")

Wait = Annotated[
    float,
    Query(
        ge=0,
        le=bounds.MAX_WAIT_S,
        allow_inf_nan=False,
        description="Seconds to wait for the job to finish before answering (long poll).",
    ),
]

SubmitWait = Annotated[
    float,
    Query(
        ge=0,
        le=bounds.MAX_WAIT_S,
        allow_inf_nan=False,
        description="Seconds to wait for the job to finish before answering; a job that "
        "finishes in time comes back final, with its result if it is DONE.",
    ),
]

CreatedAfter = Annotated[
    bounds.Time | None, Query(description="Only jobs created at or after (ISO 8601).")
]
CreatedBefore = Annotated[
    bounds.Time | None, Query(description="Only jobs created before (ISO 8601).")
]


def job_json(centre: Centre, job: Job) -> dict[str, Any]:
    """The job as the API shows it, with why it waits if its device is not ONLINE or is
    reserved for another project."""
    data = job.to_json()
    data["waiting_reason"] = None
    data["estimated_start"] = None
    if job.status is JobStatus.QUEUED and job.device in centre.catalogue:
        state = centre.fleet.state(job.device)
        if state.status is not DeviceStatus.ONLINE:
            shown = state.to_json()
            data["waiting_reason"] = (
                f"device {job.device!r} is {state.status}"
                + (f": {state.reason}" if state.reason else "")
                + "; the job runs when it is ONLINE again"
            )
            data["estimated_start"] = shown["until"]
        else:
            reserved = centre.reservations.waiting(job.device, job.project_id)
            if reserved is not None:
                data["waiting_reason"] = reserved[0]
                data["estimated_start"] = wire.iso(reserved[1])
    return data


@router.post(":dry-run", response_model=DryRunPublic)
def dry_run_job(body: JobCreate, centre: CentreDep, principal: Submitter) -> dict[str, Any]:
    """Validate and compile a job, estimate its device time; nothing is queued."""
    return centre.submission.dry_run(body.to_submission(), principal)


@router.post("", status_code=201, response_model=JobSubmitted)
async def submit_job(
    body: JobCreate,
    centre: CentreDep,
    principal: Submitter,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=256)] = None,
    wait: SubmitWait = 0,
) -> Any:
    """Parse, check and queue a job. Nothing is queued if any program is refused.

    With ``wait``, the answer comes once the job is final (or the time is up), so a
    small job needs one request instead of a submission and a long poll. Waiting
    answers with the result, so it also needs the ``read`` scope.
    """
    if wait > 0:
        require_scope(principal, "read")
    job, replayed = await run_in_threadpool(
        _submit, body, centre, principal, request, idempotency_key
    )
    headers = _headers(job, replayed)
    response.headers.update(headers)
    if wait <= 0 or (job.is_final and job.status is not JobStatus.DONE):
        return job_json(centre, job)
    return await _when_final(centre, principal, job, wait, replayed, headers)


def _headers(job: Job, replayed: bool) -> dict[str, str]:
    """Where the job is, and whether it was stored before (an idempotent replay)."""
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


async def _when_final(
    centre: Centre,
    principal: Principal,
    job: Job,
    wait: float,
    replayed: bool,
    headers: dict[str, str],
) -> Any:
    """The job just submitted once it is final, with its result if it is DONE; or as
    it is when ``wait`` seconds are up."""
    project_id, job_id = principal.project_id, job.id
    try:
        job, result = await _wait_for(
            centre,
            job_id,
            wait,
            lambda: centre.jobs.finished(project_id, job_id),
            # A job stored a moment ago is read again only once it changed, or if
            # this process already completed it (answered from memory).
            quick=(lambda: centre.jobs.recently_done(project_id, job_id)) if not replayed else None,
        )
    except errors.JobNotFinished:  # the time is up: answer with the job as it is
        job, result = await run_in_threadpool(centre.jobs.get, project_id, job_id), None
    data = job_json(centre, job)
    if result is None:
        return data
    data["result"] = result
    # The result is passed through as stored (it is signed); no model re-validates it.
    return JSONResponse(data, status_code=201, headers=headers)


def _submit(
    body: JobCreate,
    centre: Centre,
    principal: Principal,
    request: Request,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """Check and store a job; its ``http.write`` audit entry is written in the same
    transaction, so a stored job always has its entry and the audit middleware
    need not write one more transaction."""
    job, replayed = centre.submission.submit(
        body.to_submission(idempotency_key),
        principal,
        record=lambda conn: audit_write(principal, request, 201, conn),
    )
    if not replayed:
        request.state.audited = True
    return job, replayed


@router.get("", response_model=JobList)
def list_jobs(
    centre: CentreDep,
    principal: Reader,
    status: JobStatus | None = None,
    device: str | None = None,
    tag: str | None = None,
    session_id: str | None = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Your project's jobs, newest first, with filters and cursor pagination."""
    page, next_cursor = centre.jobs.list(
        principal.project_id,
        status=status,
        device=device,
        tag=tag,
        session_id=session_id,
        created_after=_aware(created_after),
        created_before=_aware(created_before),
        limit=limit,
        cursor=cursor,
    )
    return {"jobs": [job_json(centre, j) for j in page], "next_cursor": next_cursor}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A query datetime in UTC; one without a zone is taken to be UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


async def _wait_for(
    centre: Centre,
    job_id: str,
    wait: float,
    read: Callable[[], T],
    *,
    quick: Callable[[], T | None] | None = None,
    after_change: Callable[[], T] | None = None,
) -> T:
    """Call ``read`` until its job is final or ``wait`` seconds pass.

    With ``quick`` (a check of memory only, for a job this process stored a moment
    ago), the first database read waits for the job's first change after it was
    stored; a change published before the watch began counts (``after=1``: the
    store itself was the one change seen), so a job that ended in between is read
    at once instead of after the timer; after each change ``quick`` is asked again
    before the database. Once a change was seen, ``after_change`` (if given) reads
    instead of ``read``: it may answer from what this process just stored.
    """
    deadline = time.monotonic() + min(wait, centre.settings.max_wait_seconds)
    recheck_s = centre.events.recheck_s
    changed = False
    with centre.events.watch(job_id, after=1 if quick is not None else None) as watch:
        if quick is not None:
            known = quick()
            if known is not None:
                return known
            changed = await watch.changed(min(wait, recheck_s))
            read = after_change or read
        while True:
            # A job this process completed a moment ago is answered from memory once
            # it changed, with no hand-off to the thread pool.
            if changed and quick is not None and (known := quick()) is not None:
                return known
            try:
                value = await run_in_threadpool(read)
            except errors.JobNotFinished:
                pass
            else:
                if not isinstance(value, Job) or value.is_final:
                    return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return await run_in_threadpool(read)
            # The timer covers changes made by another centre sharing the database.
            changed = await watch.changed(min(remaining, recheck_s))
            if changed and after_change is not None:
                read = after_change


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(
    job_id: str, centre: CentreDep, principal: Reader, wait: Wait = 0
) -> dict[str, Any]:
    """The job; with ``wait``, answered as soon as it is final or the time is up."""
    job = await _wait_for(
        centre, job_id, wait, lambda: centre.jobs.get(principal.project_id, job_id)
    )
    return job_json(centre, job)


@router.get("/{job_id}/result", response_model=ResultPublic)
async def get_result(
    job_id: str,
    centre: CentreDep,
    principal: Reader,
    wait: Wait = 0,
    shape: Annotated[
        Literal["qharbor", "origin"],
        Query(description="'origin' adds hex-keyed probabilities, as Origin's cloud returns."),
    ] = "qharbor",
) -> Any:
    """The result of a DONE job; 409 with the reason otherwise."""
    data, submitter = await _wait_for(
        centre,
        job_id,
        wait,
        lambda: centre.jobs.result_and_submitter(principal.project_id, job_id),
        after_change=lambda: centre.jobs.result_and_submitter(
            principal.project_id, job_id, recent=True
        ),
    )
    if submitter != principal.user_id:
        await run_in_threadpool(_audit_foreign_read, centre, principal, job_id, submitter)
    return JSONResponse(shapes.reshape(data, shape))


def _audit_foreign_read(centre: Centre, principal: Principal, job_id: str, submitter: str) -> None:
    """Record a read of a result by someone other than the job's submitter."""
    centre.audit.record(
        "result.read",
        actor_id=principal.user_id,
        project_id=principal.project_id,
        token_id=principal.token_id,
        target=f"/v1/jobs/{job_id}/result",
        detail={"submitter": submitter},
    )


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(
    job_id: str, centre: CentreDep, principal: Submitter, response: Response
) -> dict[str, Any]:
    """Cancel a queued job at once (200), or stop a running one within 2 s (202)."""
    job = centre.jobs.cancel(principal.project_id, job_id)
    if job.status is JobStatus.RUNNING:
        response.status_code = 202
        if centre.scheduler is not None:
            centre.scheduler.wake()
    return job_json(centre, job)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(job_id: str, centre: CentreDep, principal: Reader) -> StreamingResponse:
    """Server-sent events: a ``status`` event with the job at each change (its status,
    attempt, cancel request or progress), until it is final."""
    first = await run_in_threadpool(centre.jobs.get, principal.project_id, job_id)
    return StreamingResponse(
        _status_events(centre, principal, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


async def _status_events(centre: Centre, principal: Principal, first: Job) -> AsyncIterator[str]:
    """A ``status`` event with the job at each change, until it is final; a comment
    every 15 s of quiet keeps the connection open."""
    job_id = first.id
    recheck_s = centre.events.recheck_s
    with centre.events.watch(job_id) as watch:
        job, last = first, None
        # ``first`` was read before the watch began: a change made in between
        # published to no one, so the job is read once more before any wait.
        watched = False
        idle = 0.0
        while True:
            state = (job.status, job.attempt, job.cancel_requested, job.progress)
            if state != last:
                yield f"event: status\ndata: {json.dumps(job_json(centre, job))}\n\n"
                last, idle = state, 0.0
            if job.is_final:
                return
            if watched and not await watch.changed(recheck_s):
                idle += recheck_s
                if idle >= 15.0:
                    yield ": keep-alive\n\n"
                    idle = 0.0
            watched = True
            try:
                job = await run_in_threadpool(centre.jobs.get, principal.project_id, job_id)
            except asyncio.CancelledError:
                return

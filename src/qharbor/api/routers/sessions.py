"""Sessions and batches: open, read, list, close."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from qharbor import errors
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader, Submitter
from qharbor.api.schemas.sessions import SessionCreate, SessionList, SessionPublic, SlurmJobClose
from qharbor.jobs.sessions import SessionMode, SessionStatus

router = APIRouter(
    prefix="/v1/sessions",
    tags=["sessions"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 409, 413),
)


@router.post("", status_code=201, response_model=SessionPublic)
def open_session(body: SessionCreate, centre: CentreDep, principal: Submitter) -> Any:
    """Open a session or batch on a device; send its id as ``session_id`` with jobs.

    A project and each of its users may have only so many open at once (SESSION_LIMIT).
    """
    device = centre.catalogue.get(body.device)
    session = centre.sessions.create(
        principal.project_id,
        principal.user_id,
        device.name,
        SessionMode(body.mode),
        max_ttl_s=body.max_ttl_s,
        idle_ttl_s=body.idle_ttl_s,
        slurm_job_id=body.slurm_job_id,
        slurm_cluster=body.slurm_cluster,
    )
    return session.to_json(centre.sessions.summary(session))


@router.post(":close-slurm-job", response_model=SessionList)
def close_slurm_job(body: SlurmJobClose, centre: CentreDep, principal: Submitter) -> Any:
    """Close the open sessions a Slurm job opened; their queued jobs fail with
    SESSION_CLOSED. Idempotent: a job with none open closes nothing.

    The job script calls this as it ends; a cluster's epilog calls it with a centre
    admin's token and ``all_projects``, so the sessions close even when the script
    was killed.
    """
    is_admin = principal.is_admin and "admin" in principal.scopes
    if body.all_projects and not is_admin:
        raise errors.Forbidden("only the centre's admins can close other projects' sessions")
    closed = centre.sessions.close_slurm_job(
        None if body.all_projects else principal.project_id,
        body.slurm_job_id,
        body.slurm_cluster,
    )
    return {"sessions": [s.to_json(centre.sessions.summary(s)) for s in closed]}


@router.get("", response_model=SessionList)
def list_sessions(
    centre: CentreDep,
    principal: Reader,
    mode: SessionMode | None = None,
    status: SessionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Your project's sessions and batches, newest first, each with its job counts."""
    found = centre.sessions.list(principal.project_id, mode=mode, status=status, limit=limit)
    return {"sessions": [s.to_json(centre.sessions.summary(s)) for s in found]}


@router.get("/{session_id}", response_model=SessionPublic)
def get_session(session_id: str, centre: CentreDep, principal: Reader) -> Any:
    """One session or batch, with its jobs counted by status."""
    centre.sessions.expire_due()
    session = centre.sessions.get(principal.project_id, session_id)
    return session.to_json(centre.sessions.summary(session))


@router.delete("/{session_id}", response_model=SessionPublic)
def close_session(session_id: str, centre: CentreDep, principal: Submitter) -> Any:
    """Close it. A session's queued jobs fail with SESSION_CLOSED; a batch's still run."""
    session = centre.sessions.close(principal.project_id, session_id)
    return session.to_json(centre.sessions.summary(session))

"""Health and the caller's identity."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import APIRouter, Response

from qharbor import wire
from qharbor.api import errors as api_errors
from qharbor.api.deps import AnyToken, CentreDep
from qharbor.api.schemas.system import Health, Me

router = APIRouter(prefix="/v1", tags=["system"])


@router.get(
    "/health",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health, "description": "a part of the centre is broken"}},
)
def health(centre: CentreDep, response: Response) -> dict[str, Any]:
    """Liveness, and whether programs can be checked; needs no token. Probes should use
    ``/v1/health/live`` and ``/v1/health/ready``; this route keeps its earlier answer.

    ``unavailable`` (HTTP 503) when the sandbox that parses programs cannot
    start (no program could be accepted), or when the executor cannot run jobs
    (a Ray cluster's head is lost: jobs are accepted and wait in the queue), with
    the reason under ``problems``.
    """
    body: dict[str, Any] = {"status": "ok", "version": metadata.version("qharbor")}
    problems: dict[str, str] = {}
    problem = centre.parsers.health()
    if problem is not None:
        problems["sandbox"] = problem
    executor = centre.executor_health()
    if executor is not None:
        # Jobs are still accepted; they wait in the queue until the executor is back.
        problems["executor"] = executor
    if problems:
        response.status_code = 503
        body.update(status="unavailable", problems=problems)
    return body


@router.get("/health/live", response_model=Health, response_model_exclude_none=True)
def live() -> dict[str, Any]:
    """Liveness: the process answers. Needs no token and checks nothing else, so a
    slow database never gets a healthy process restarted."""
    return {"status": "ok", "version": metadata.version("qharbor")}


@router.get(
    "/health/ready",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health, "description": "a part of the centre is not ready"}},
)
def ready(centre: CentreDep, response: Response) -> dict[str, Any]:
    """Readiness: the database answers, a worker is up, the keys are loaded and programs
    can be parsed; needs no token. ``unavailable`` (HTTP 503) names what is not."""
    checks = centre.readiness()
    problems = {part: why for part, why in checks.items() if why is not None}
    body: dict[str, Any] = {
        "status": "unavailable" if problems else "ok",
        "version": metadata.version("qharbor"),
        "checks": {part: "ok" if why is None else "broken" for part, why in checks.items()},
    }
    if problems:
        response.status_code = 503
        body["problems"] = problems
    return body


@router.get("/me", response_model=Me, responses=api_errors.responses(*api_errors.AUTHENTICATED))
def me(centre: CentreDep, principal: AnyToken) -> dict[str, Any]:
    """Who the token belongs to, for which project, until when, and the user's sealing
    key with its recent changes (so a key registered by someone else shows). Any valid
    token may ask, whatever its scopes."""
    key = centre.keys.user_key(principal.user_id)
    return {
        "user": principal.user_name,
        "project": principal.project_name,
        "role": str(principal.role),
        "is_admin": principal.is_admin,
        "scopes": sorted(principal.scopes),
        "expires_at": wire.iso(principal.expires_at),
        "sealing_key_id": None if key is None else key.id,
        "key_changes": centre.audit.key_changes(principal.user_id),
    }

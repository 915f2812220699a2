"""Health and the caller's identity."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import APIRouter, Response

from qharbor.api.deps import CentreDep, CurrentPrincipal
from qharbor.api.schemas import Health, Me

router = APIRouter(prefix="/v1", tags=["system"])


@router.get(
    "/health",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health, "description": "a part of the centre is broken"}},
)
def health(centre: CentreDep, response: Response) -> dict[str, Any]:
    """Liveness, and whether programs can be checked; needs no token.

    ``unavailable`` (HTTP 503) when the sandbox that parses programs cannot
    start, with the reason under ``problems``: no program could be accepted.
    """
    body: dict[str, Any] = {"status": "ok", "version": metadata.version("qharbor")}
    problem = centre.parsers.health()
    if problem is not None:
        response.status_code = 503
        body.update(status="unavailable", problems={"sandbox": problem})
    return body


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """Who the token belongs to, and for which project."""
    return {
        "user": principal.user_name,
        "project": principal.project_name,
        "role": str(principal.role),
        "is_admin": principal.is_admin,
        "scopes": sorted(principal.scopes),
    }

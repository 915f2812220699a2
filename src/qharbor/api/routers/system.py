"""Health and the caller's identity."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import APIRouter

from qharbor.api import errors as api_errors
from qharbor.api.deps import CurrentPrincipal
from qharbor.api.schemas import Health, Me

router = APIRouter(prefix="/v1", tags=["system"])


@router.get("/health", response_model=Health)
def health() -> dict[str, Any]:
    """Liveness; needs no token."""
    return {"status": "ok", "version": metadata.version("qharbor")}


@router.get("/me", response_model=Me, responses=api_errors.responses(*api_errors.AUTHENTICATED))
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """Who the token belongs to, and for which project."""
    return {
        "user": principal.user_name,
        "project": principal.project_name,
        "role": str(principal.role),
        "is_admin": principal.is_admin,
        "scopes": sorted(principal.scopes),
    }

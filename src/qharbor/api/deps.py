"""Dependencies, as annotated aliases: the centre and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qharbor import errors
from qharbor.centre import Centre
from qharbor.security.identity import Principal

_bearer = HTTPBearer(auto_error=False, description="An API token: 'Bearer qh_...'")


def get_centre(request: Request) -> Centre:
    centre: Centre = request.app.state.centre
    return centre


CentreDep = Annotated[Centre, Depends(get_centre)]


def get_principal(
    centre: CentreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise errors.Unauthenticated()
    return centre.identity.authenticate(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_scope(principal: Principal, scope: str) -> None:
    """Refuse a token that lacks a scope.

    Raises:
        errors.Forbidden: naming the scope.
    """
    if scope not in principal.scopes:
        raise errors.Forbidden(f"this token lacks the {scope!r} scope", scope=scope)

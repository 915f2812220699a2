"""Dependencies, as annotated aliases: the centre and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qharbor import errors
from qharbor.centre import Centre
from qharbor.security.identity import Principal, Role

_bearer = HTTPBearer(auto_error=False, description="An API token: 'Bearer qh_...'")

_READS = frozenset({"GET", "HEAD"})


async def get_centre(request: Request) -> Centre:
    # Async, so FastAPI calls it on the event loop: a plain function would be sent
    # to the thread pool, a hand-off that costs more than the lookup itself.
    centre: Centre = request.app.state.centre
    return centre


CentreDep = Annotated[Centre, Depends(get_centre)]


def get_principal(
    request: Request,
    centre: CentreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the token, spend from its rate limit, and check it may read.

    The principal is kept on the request's state so the audit middleware can
    name who made a write.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise errors.Unauthenticated()
    principal = centre.identity.authenticate(credentials.credentials)
    request.state.principal = principal
    wait = centre.rate_limiter.take(principal.token_id)
    if wait is not None:
        raise errors.RateLimited(
            f"too many requests with this token; retry after {wait:.0f} s "
            f"(the limit is {centre.rate_limiter.rate:g} per second, "
            f"{centre.rate_limiter.burst} at once)",
            retry_after_s=wait,
        )
    if principal.is_admin and "admin" in principal.scopes:
        centre.audit.admin_token_used(
            principal.token_id, principal.user_id, principal.project_id, request.url.path
        )
    # Any token may ask whom it stands for (so 'qharbor login' can check it).
    if request.method in _READS and request.url.path != "/v1/me":
        require_scope(principal, "read")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_scope(principal: Principal, scope: str) -> None:
    """Refuse a token that lacks a scope, or a role that may not use it.

    Raises:
        errors.Forbidden: naming the scope.
    """
    if scope not in principal.scopes:
        raise errors.Forbidden(f"this token lacks the {scope!r} scope", scope=scope)
    if scope == "submit" and principal.role is Role.VIEWER:
        raise errors.Forbidden(
            "viewers can read the project's jobs but not submit or cancel them; "
            "ask a project admin for the member role",
            scope=scope,
            role=str(principal.role),
        )


def get_admin(principal: CurrentPrincipal) -> Principal:
    """The principal, if it is a centre admin using a token with the admin scope.

    Raises:
        errors.Forbidden: otherwise.
    """
    if not principal.is_admin:
        raise errors.Forbidden("this route is for the centre's admins")
    if "admin" not in principal.scopes:
        raise errors.Forbidden("this token lacks the 'admin' scope", scope="admin")
    return principal


CurrentAdmin = Annotated[Principal, Depends(get_admin)]

"""Dependencies, as annotated aliases: the centre and the calling principal.

Every route names the scope it needs in its signature, by taking the principal
as one of :data:`Reader`, :data:`Submitter` or :data:`CentreAdmin`. The few routes
any valid token may call take :data:`AnyToken`; public routes take no principal.
A test walks every route of the app and checks that each one declares one of these.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qharbor import errors
from qharbor.centre import Centre
from qharbor.security.directory import Role
from qharbor.security.identity import Principal

_bearer = HTTPBearer(auto_error=False, description="An API token: 'Bearer qh_...'")
#: The bearer credentials of a request, if it sent any (not yet checked).
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


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
    """Authenticate the token and spend from its user's and project's rate limits.

    The principal is kept on the request's state so the audit middleware can
    name who made a write. Scopes are checked by :class:`RequireScope`.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise errors.Unauthenticated()
    principal = centre.identity.authenticate(credentials.credentials)
    request.state.principal = principal
    centre.rate_limits.take(principal.user_id, principal.project_id)
    if principal.is_admin and "admin" in principal.scopes:
        centre.audit.admin_token_used(
            principal.token_id, principal.user_id, principal.project_id, request.url.path
        )
    return principal


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
    if scope == "admin" and not principal.is_admin:
        raise errors.Forbidden("this route is for the centre's admins", scope=scope)


class RequireScope:
    """A route's scope requirement: the principal, if its token has ``scope``.

    Args:
        scope: ``read``, ``submit`` or ``admin`` (which also needs a centre admin);
            None admits any valid token.
    """

    def __init__(self, scope: str | None) -> None:
        self.scope = scope

    def __call__(self, principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if self.scope is not None:
            require_scope(principal, self.scope)
        return principal

    def __repr__(self) -> str:
        return f"RequireScope({self.scope!r})"


#: Any valid token, whatever its scopes (only for asking whom a token stands for).
AnyToken = Annotated[Principal, Depends(RequireScope(None))]
#: A token with the ``read`` scope: reads the project's jobs, devices and the account.
Reader = Annotated[Principal, Depends(RequireScope("read"))]
#: A token with the ``submit`` scope: changes things (jobs, sessions, keys, tokens, members).
Submitter = Annotated[Principal, Depends(RequireScope("submit"))]
#: A centre admin's token with the ``admin`` scope.
CentreAdmin = Annotated[Principal, Depends(RequireScope("admin"))]
#: Kept for the routes written before scopes were declared per route.
CurrentAdmin = CentreAdmin

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
from starlette.concurrency import run_in_threadpool

from qharbor import errors
from qharbor.api import cookies
from qharbor.centre import Centre
from qharbor.security import oidc
from qharbor.security.directory import Role
from qharbor.security.identity import Principal

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token ('Bearer qh_...') or, where the centre has single sign-on, "
    "an ID token from its OpenID provider",
)
#: With an ID token, the project to act in (by name or id); default: the user's first.
PROJECT_HEADER = "X-QHarbor-Project"
#: The bearer credentials of a request, if it sent any (not yet checked).
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_centre(request: Request) -> Centre:
    # Async, so FastAPI calls it on the event loop: a plain function would be sent
    # to the thread pool, a hand-off that costs more than the lookup itself.
    centre: Centre = request.app.state.centre
    return centre


CentreDep = Annotated[Centre, Depends(get_centre)]


async def get_principal(
    request: Request,
    centre: CentreDep,
    credentials: Credentials,
) -> Principal:
    """Authenticate the token and spend from its user's and project's rate limits.

    The token is an API token or an ID token from the centre's OpenID provider. It
    comes from the ``Authorization: Bearer`` header or, without one, from the
    console's session cookie; a write made with the cookie must carry the CSRF
    header (:mod:`qharbor.api.cookies`). The principal is kept on the request's
    state so the audit middleware can name who made a write. Scopes are checked by
    :class:`RequireScope`.

    Async, so a token this process authenticated a moment ago costs no hand-off to
    the thread pool (a plain dependency is run there); only a database read, an ID
    token's check or the admin token's audit entry is sent there.
    """
    token: str | None = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    elif (token := cookies.session_token(request)) is not None:
        cookies.check_csrf(request)
    if not token:
        raise errors.Unauthenticated()
    jwt = oidc.looks_like_jwt(token)
    principal = None if jwt else centre.identity.kept(token)
    if principal is None:
        principal = await run_in_threadpool(_authenticate, request, centre, token, jwt)
    request.state.principal = principal
    centre.rate_limits.take(principal.user_id, principal.project_id)
    if (
        principal.is_admin
        and "admin" in principal.scopes
        and centre.audit.admin_use_due(principal.token_id)
    ):
        await run_in_threadpool(
            centre.audit.admin_token_used,
            principal.token_id,
            principal.user_id,
            principal.project_id,
            request.url.path,
        )
    return principal


def _authenticate(request: Request, centre: Centre, token: str, jwt: bool) -> Principal:
    """Who a token stands for, read from the database or checked with the provider."""
    if jwt:
        if centre.sso is None:
            raise errors.Unauthenticated(
                "this centre has no single sign-on, so it accepts only its API tokens (qh_...)"
            )
        return centre.sso.authenticate(token, request.headers.get(PROJECT_HEADER))
    return centre.identity.authenticate(token)


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

    # Async: the check reads only the principal, so it needs no thread.
    async def __call__(self, principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
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

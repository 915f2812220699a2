"""Single sign-on: the console's login through the OpenID provider, and what the CLI needs
to sign in with the device grant. Every route here is public (it is how one gets a token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from qharbor import errors, wire
from qharbor.api import cookies
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep
from qharbor.security import login
from qharbor.security.sso import SingleSignOn

router = APIRouter(prefix="/auth", tags=["auth"])

#: The cookie that carries a login in progress, only to /auth/callback.
LOGIN_COOKIE = "qharbor_login"
#: How long the session cookie outlives its ID token (seconds). The console session
#: ends when the ID token expires (it is not refreshed in the browser); meanwhile the
#: expired token is still sent, so the centre answers TOKEN_EXPIRED and the console
#: can say that the sign-in expired rather than show a bare login page.
EXPIRED_NOTICE_S = 3600


def _sso(centre: Any) -> SingleSignOn:
    if centre.sso is None:
        raise errors.SsoNotConfigured()
    sso: SingleSignOn = centre.sso
    return sso


def _redirect_uri(request: Request, sso: SingleSignOn) -> str:
    return sso.config.redirect_url or str(request.url_for("callback"))


def _secure(request: Request, centre: Any) -> bool:
    return request.url.scheme == "https" or centre.settings.tls_cert is not None


@router.get("/sso", responses=api_errors.responses(404, 503))
def sso_config(centre: CentreDep) -> dict[str, Any]:
    """Where and how to sign in: the provider and the CLI's public client.

    ``qharbor login --sso URL`` reads this, then runs the device authorization grant
    at the provider.
    """
    sso = _sso(centre)
    return {
        "issuer": sso.config.issuer,
        "client_id": sso.config.cli_client_id,
        "scopes": sso.config.scopes,
        "device_authorization_endpoint": sso.provider.endpoint("device_authorization_endpoint"),
        "token_endpoint": sso.provider.endpoint("token_endpoint"),
    }


@router.get("/login", status_code=302, responses=api_errors.responses(404, 422, 503))
def start_login(request: Request, centre: CentreDep, next: str | None = None) -> RedirectResponse:
    """Send the browser to the provider to sign in (authorization code with PKCE).

    ``next`` is the centre's path to come back to afterwards (default ``/``).
    """
    sso = _sso(centre)
    url, pending = login.start(sso, _redirect_uri(request, sso), next)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        LOGIN_COOKIE,
        pending.seal(login.cookie_key(sso)),
        max_age=login.LOGIN_TTL_S,
        path="/auth",
        httponly=True,
        samesite="lax",
        secure=_secure(request, centre),
    )
    return response


@router.get(
    "/callback",
    name="callback",
    status_code=303,
    responses=api_errors.responses(400, 401, 403, 404, 422, 503),
)
def callback(
    request: Request,
    centre: CentreDep,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> RedirectResponse:
    """Where the provider returns the browser: exchange the code, verify the ID token,
    provision the user, and set the console's session cookies (:mod:`qharbor.api.cookies`)."""
    sso = _sso(centre)
    if error:
        raise errors.SsoFailed(
            f"the identity provider refused the login: {error_description or error}",
            provider_error=error,
        )
    pending = login.LoginRequest.open(login.cookie_key(sso), request.cookies.get(LOGIN_COOKIE))
    id_token, principal = login.finish(
        sso, pending, state=state, code=code, redirect_uri=_redirect_uri(request, sso)
    )
    lifetime = 0
    if principal.expires_at is not None:
        lifetime = max(0, int((principal.expires_at - wire.utcnow()).total_seconds()))
        lifetime += EXPIRED_NOTICE_S
    response = RedirectResponse(pending.next, status_code=303)
    # The same cookies as a token login: the ID token HttpOnly, and the CSRF value.
    cookies.set_session(response, id_token, secure=_secure(request, centre), max_age_s=lifetime)
    response.delete_cookie(LOGIN_COOKIE, path="/auth")
    return response


@router.post("/logout", status_code=204)
def logout(request: Request, centre: CentreDep) -> Response:
    """Forget the browser's session (the provider's own session is the provider's)."""
    response = Response(status_code=204)
    cookies.clear_session(response, secure=_secure(request, centre))
    return response

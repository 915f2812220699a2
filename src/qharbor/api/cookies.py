"""The console's session cookie: a token the browser holds, and the CSRF check on writes.

``POST /console/login`` stores the token in an HttpOnly, SameSite=Strict cookie
(Secure under TLS), so page scripts cannot read it, and a second, readable cookie
with a random CSRF value. A request authenticated by the cookie that changes
something must repeat that value in the ``X-CSRF-Token`` header (double submit):
another site can make the browser send the cookies, but cannot read them to fill
in the header. Requests with ``Authorization: Bearer`` are not affected.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from qharbor import errors

#: The HttpOnly cookie that holds the API token.
SESSION_COOKIE = "qh_session"
#: The readable cookie whose value writes repeat in :data:`CSRF_HEADER`.
CSRF_COOKIE = "qh_csrf"
#: The header a cookie-authenticated write carries.
CSRF_HEADER = "X-CSRF-Token"
#: Methods that change nothing, so need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_token(request: Request) -> str | None:
    """The token in the session cookie, if the browser sent one."""
    return request.cookies.get(SESSION_COOKIE) or None


def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated write without the matching CSRF header.

    Raises:
        errors.CsrfRejected: the header is missing or differs from the cookie.
    """
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise errors.CsrfRejected()


def set_session(response: Response, token: str, *, secure: bool, max_age_s: int) -> str:
    """Set the session and CSRF cookies on ``response``; returns the CSRF value."""
    csrf = secrets.token_urlsafe(32)
    common = {"path": "/", "samesite": "strict", "secure": secure, "max_age": max_age_s}
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]
    return csrf


def clear_session(response: Response, *, secure: bool) -> None:
    """Expire both cookies."""
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path="/", samesite="strict", secure=secure, httponly=name == SESSION_COOKIE
        )

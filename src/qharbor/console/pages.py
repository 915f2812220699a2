"""The console's pages, and logging in and out.

Every page is the same HTML shell; its scripts read the path and draw the page
from the JSON API. Logging in checks the token as the API does and keeps it in
the session cookie (:mod:`qharbor.api.cookies`), never in the page's reach.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from qharbor import errors
from qharbor.api import cookies
from qharbor.api.deps import CentreDep

STATIC = Path(__file__).parent / "static"
#: The paths the pages are served at, besides ``/``.
PAGES = ("/login", "/jobs", "/devices", "/usage", "/operators")
#: How long a console login lasts at most, in seconds (less if the token expires sooner).
SESSION_MAX_AGE_S = 12 * 3600

router = APIRouter(include_in_schema=False)


def _shell() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/")
@router.get("/login")
@router.get("/jobs")
@router.get("/devices")
@router.get("/usage")
@router.get("/operators")
async def page() -> FileResponse:
    """A console page: the shell, whose scripts draw the page the path names."""
    return _shell()


@router.get("/jobs/{job_id}")
@router.get("/devices/{name}")
async def item_page(request: Request) -> FileResponse:
    """A console page about one job or device."""
    return _shell()


class Login(BaseModel):
    """A console login: an API token, as ``qharbor`` prints it."""

    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=1, max_length=512)]


def _same_origin(request: Request) -> None:
    """Refuse a login or logout posted from another site's page.

    Raises:
        errors.CsrfRejected: the Origin header names another site.
    """
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise errors.CsrfRejected(f"a console login must come from {own}, not {origin}")


@router.post("/console/login")
async def login(body: Login, request: Request, response: Response, centre: CentreDep) -> Any:
    """Check the token and keep it in the session cookie; answers who it is."""
    _same_origin(request)
    principal = await run_in_threadpool(centre.identity.authenticate, body.token.strip())
    max_age = SESSION_MAX_AGE_S
    if principal.expires_at is not None:
        left = (principal.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
        max_age = max(1, min(max_age, int(left)))
    secure = request.url.scheme == "https"
    cookies.set_session(response, body.token.strip(), secure=secure, max_age_s=max_age)
    return {
        "user": principal.user_name,
        "project": principal.project_name,
        "is_admin": principal.is_admin,
    }


@router.post("/console/logout", status_code=204)
async def logout(request: Request) -> Response:
    """Forget the session cookie; a cookie-authenticated logout needs the CSRF header."""
    _same_origin(request)
    if cookies.session_token(request) is not None:
        cookies.check_csrf(request)
    response = Response(status_code=204)
    cookies.clear_session(response, secure=request.url.scheme == "https")
    return response

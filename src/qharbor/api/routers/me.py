"""The caller's own account: tokens, a data export, and erasure (GDPR)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from qharbor import errors, wire
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader, Submitter
from qharbor.api.schemas.me import Erased
from qharbor.api.schemas.tokens import TokenCreate, TokenIssued, TokenList, TokenPublic
from qharbor.security.audit import pseudonym

router = APIRouter(
    prefix="/v1/me",
    tags=["me"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 413),
)


@router.get("/tokens", response_model=TokenList)
def list_my_tokens(centre: CentreDep, principal: Reader) -> dict[str, Any]:
    """Your tokens' metadata (every project), newest first."""
    return {"tokens": centre.identity.list_tokens(principal.user_id)}


@router.post("/tokens", status_code=201, response_model=TokenIssued)
def create_my_token(body: TokenCreate, centre: CentreDep, principal: Submitter) -> dict[str, Any]:
    """A new token for yourself in this token's project, within this one: no more scopes,
    and no later expiry (a token that expires makes tokens that expire with it at the
    latest)."""
    expires_at = (
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=body.expires_in_s)
        if body.expires_in_s
        else None
    )
    meta, token = centre.identity.issue_token(
        principal.user_id,
        principal.project_id,
        name=body.name,
        scopes=set(body.scopes),
        expires_at=expires_at,
        within=principal,
    )
    return {**meta, "token": token}


@router.post("/tokens/{token_id}/revoke", response_model=TokenPublic)
def revoke_my_token(token_id: str, centre: CentreDep, principal: Submitter) -> dict[str, Any]:
    """Revoke one of your tokens (this one too); it is refused from the next request on."""
    return centre.identity.revoke_token(token_id, user_id=principal.user_id)


@router.get("/export", responses={200: {"content": {"application/json": {}}}})
def export(centre: CentreDep, principal: Reader) -> JSONResponse:
    """Everything the centre holds about you, as one JSON document."""
    archive = {
        "format": "qharbor-export/1",
        "exported_at": wire.iso(dt.datetime.now(dt.UTC)),
        "user": centre.identity.export_user(principal.user_id),
        "jobs": centre.jobs.export_user(principal.user_id),
        "audit": centre.audit.about(principal.user_id),
    }
    name = f"qharbor-export-{principal.user_name}.json"
    return JSONResponse(archive, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.delete("", response_model=Erased)
def erase(request: Request, centre: CentreDep, principal: Submitter) -> dict[str, Any]:
    """Erase your account: your jobs, their programs and results, your tokens, and you.

    The audit log keeps a record that an erasure happened, under a pseudonym.
    Usage already charged stays with the project, without your name.
    """
    if principal.is_admin:
        raise errors.Forbidden(
            "a centre admin's account cannot erase itself, or the centre could be left "
            "without an operator; use a non-admin account for your own jobs"
        )
    jobs = centre.jobs.erase_user(principal.user_id)
    centre.identity.erase_user(principal.user_id)
    record = pseudonym(principal.user_id)
    centre.audit.record(
        "user.erase", actor_id=record, project_id=principal.project_id, detail={"jobs": jobs}
    )
    # The erasure record stands for this request; the write entry would name the user.
    request.state.principal = None
    return {"erased": True, "jobs": jobs, "record": record}

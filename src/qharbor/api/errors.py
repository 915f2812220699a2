"""HTTP statuses for error codes, and the handlers that render the one error shape."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from qharbor import errors
from qharbor.api.schemas.common import ErrorResponse

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    errors.InvalidRequest.code: 422,
    errors.PayloadTooLarge.code: 413,
    errors.NotFound.code: 404,
    errors.MethodNotAllowed.code: 405,
    errors.Unauthenticated.code: 401,
    errors.Forbidden.code: 403,
    errors.CsrfRejected.code: 403,
    errors.DeviceNotFound.code: 404,
    errors.DeviceNotTwin.code: 404,
    errors.JobNotFound.code: 404,
    errors.IdempotencyConflict.code: 409,
    errors.JobNotFinished.code: 409,
    errors.JobFailed.code: 409,
    errors.JobCancelled.code: 409,
    errors.JobAlreadyFinal.code: 409,
    errors.SealedPayloadInvalid.code: 422,
    errors.SealingKeyRequired.code: 409,
    errors.KeyInvalid.code: 422,
    errors.SignatureInvalid.code: 422,
    errors.KeyEncryptionKeyInvalid.code: 500,
    errors.ResultCorrupt.code: 500,
    errors.UserNotFound.code: 404,
    errors.ProjectNotFound.code: 404,
    errors.TokenNotFound.code: 404,
    errors.NameTaken.code: 409,
    errors.LastAdmin.code: 409,
    errors.QuotaExceeded.code: 403,
    errors.RateLimited.code: 429,
    errors.SessionLimit.code: 409,
    errors.SessionNotFound.code: 404,
    errors.SessionClosed.code: 409,
    errors.EngineNotFound.code: 422,
    errors.PrecisionInvalid.code: 422,
    errors.MitigationInvalid.code: 422,
    errors.EngineNotOnDevice.code: 422,
    errors.EngineCannotRun.code: 422,
    errors.ParserUnavailable.code: 503,
    errors.ReservationNotFound.code: 404,
    errors.ReservationInvalid.code: 422,
    errors.ReservationConflict.code: 409,
    errors.ReservationState.code: 409,
    errors.TokenInvalid.code: 401,
    errors.TokenExpired.code: 401,
    errors.TokenWrongIssuer.code: 401,
    errors.TokenWrongAudience.code: 401,
    errors.TokenUnknownKey.code: 401,
    errors.TokenAlgorithm.code: 401,
    errors.SsoNotConfigured.code: 404,
    errors.SsoFailed.code: 400,
    errors.IdentityProviderUnavailable.code: 503,
    errors.CentreProgramNotFound.code: 404,
    errors.ProgramInputsInvalid.code: 422,
    errors.ProgramRunNotFound.code: 404,
    errors.ProgramRunFinal.code: 409,
    errors.ProgramRunNotDone.code: 409,
    errors.ProgramRunError.code: 500,
    errors.ProgramLoopLost.code: 500,
}


#: What each error status means, as the OpenAPI schema documents it.
ERROR_STATUSES: dict[int, str] = {
    400: "The program cannot run as sent (syntax, unsupported construct, device limit).",
    401: "No token, or one that is unknown, expired or revoked.",
    403: "The token lacks the scope or role, or a quota is spent.",
    404: "No such resource (or route) for this token.",
    409: "The resource is not in a state that allows this (e.g. not finished, closed).",
    413: "The request body is over the centre's size limit.",
    422: "The request is invalid: each field at fault is named with what it accepts.",
    429: "Too many requests with this token; retry after the Retry-After header's seconds.",
    503: "The centre cannot serve this now; retry later.",
}

#: What any route that needs a token may answer.
AUTHENTICATED = (401, 403, 422, 429)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` map of a route or router: each status with the one error shape."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_STATUSES[status]}
        for status in sorted(set(statuses))
    }


def status_for(error: errors.QHarborError) -> int:
    """The HTTP status of an error: its own, 400 for other user errors, else 500."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    if isinstance(
        error, errors.ProgramError | errors.DeviceLimit | errors.DeviceUnsupportedOperation
    ):
        return 400
    return 500


def error_response(
    error: errors.QHarborError, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=status_for(error), headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "body"


def _allowed(request: Request) -> str:
    """The methods the request's path takes, for the Allow header of a 405 (RFC 9110).

    Read from the OpenAPI schema, which lists every route of the path; Starlette's own
    header names only the first route that matched.
    """
    app = request.app
    paths: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allow", None)
    if paths is None:
        paths = []
        for template, operations in app.openapi()["paths"].items():
            methods = {m.upper() for m in operations}
            if "GET" in methods:
                methods.add("HEAD")
            paths.append((compile_path(template)[0], methods))
        app.state.allow = paths
    path = request.scope["path"]
    return ", ".join(sorted(set().union(*(m for regex, m in paths if regex.match(path)))))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one JSON shape."""

    @app.exception_handler(errors.QHarborError)
    async def _qharbor(_request: Request, exc: errors.QHarborError) -> JSONResponse:
        headers: dict[str, str] | None = None
        if isinstance(exc, errors.Unauthenticated):
            headers = {"WWW-Authenticate": "Bearer"}
        elif isinstance(exc, errors.RateLimited):
            # The header takes whole seconds; the body's retry_after_s is exact.
            headers = {"Retry-After": str(math.ceil(exc.detail.get("retry_after_s", 1)))}
        return error_response(exc, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        found = exc.errors()
        too_many = [
            e for e in found if e.get("type") == "too_long" and _field(e["loc"]) == "programs"
        ]
        if too_many:
            limit = too_many[0].get("ctx", {}).get("max_length")
            return error_response(
                errors.ProgramLimit(
                    f"too many programs in one job; the most any centre accepts is {limit}. "
                    "Split the job",
                    max_programs=limit,
                )
            )
        problems = [
            {"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
            for e in found
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        return error_response(errors.InvalidRequest(f"invalid request: {summary}", errors=problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(errors.NotFound("no such route; see /docs for the API"))
        if exc.status_code == 400:
            return error_response(
                errors.InvalidRequest(
                    f"the request body could not be read ({exc.detail}); send UTF-8 JSON"
                )
            )
        if exc.status_code == 413:
            return error_response(errors.PayloadTooLarge())
        if exc.status_code == 405:
            # Routes outside the schema (the docs pages) keep Starlette's header.
            allow = _allowed(request) or (exc.headers or {}).get("Allow", "")
            return error_response(errors.MethodNotAllowed(), {"Allow": allow})
        error = errors.InvalidRequest(str(exc.detail))
        return JSONResponse(error.to_json(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(errors.QHarborError("internal error; the centre logged it"))

"""Pieces every schema module shares: the error shape, request bodies, names."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)


class ErrorBody(BaseModel):
    """What went wrong: a stable code (docs/errors.md), what to fix, and details."""

    code: str = Field(description="A stable code, e.g. INVALID_REQUEST; see docs/errors.md.")
    message: str = Field(description="What was wrong and how to fix it.")
    detail: dict[str, Any] = Field(
        description="Machine-readable details, e.g. the offending fields as `errors`."
    )


class ErrorResponse(BaseModel):
    """The one shape of every error answer."""

    error: ErrorBody


class RequestBody(BaseModel):
    """A request body: unknown fields are refused, and so are NaN and infinities."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# --- tenancy: users, projects, memberships, tokens, quotas -------------------------------

Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.@-]+$")]
RoleName = Literal["admin", "project-admin", "member", "viewer"]
ScopeName = Literal["read", "submit", "admin"]

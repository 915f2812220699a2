"""API tokens."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from qharbor.api import bounds
from qharbor.api.schemas.common import Name, RequestBody, ScopeName


class TokenCreate(RequestBody):
    """A token for a user in a project (admins) or for yourself (``/v1/me/tokens``)."""

    model_config = ConfigDict(extra="forbid")

    name: Name = "token"
    scopes: list[ScopeName] = Field(default=["read", "submit"], min_length=1)
    expires_in_s: float | None = Field(
        default=None,
        gt=0,
        le=bounds.MAX_LIFETIME_S,
        description="Seconds until the token expires (at most ten years); none by default.",
    )


class AdminTokenCreate(TokenCreate):
    user: str = Field(description="The user's id or name.")
    project: str = Field(description="The project's id or name; the user must be a member.")


class TokenPublic(BaseModel):
    id: str
    name: str
    user_id: str
    project_id: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class TokenIssued(TokenPublic):
    token: str = Field(description="The token itself. It is shown only this once.")


class TokenList(BaseModel):
    tokens: list[TokenPublic]

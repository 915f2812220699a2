"""Sessions and batches."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from qharbor.api import bounds
from qharbor.api.schemas.common import RequestBody


class SessionCreate(RequestBody):
    """Open a session (priority, for iterative work) or a batch (grouping)."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(min_length=1, max_length=128)
    mode: Literal["session", "batch"] = "session"
    max_ttl_s: float | None = Field(
        default=None,
        gt=0,
        le=bounds.MAX_LIFETIME_S,
        description="Lifetime in seconds, at most the centre's limit.",
    )
    idle_ttl_s: float | None = Field(
        default=None,
        gt=0,
        le=bounds.MAX_LIFETIME_S,
        description="Idle timeout in seconds, at most the centre's limit.",
    )


class SessionPublic(BaseModel):
    id: str
    device: str
    mode: Literal["session", "batch"]
    status: Literal["OPEN", "CLOSED", "EXPIRED"]
    max_ttl_s: float
    idle_ttl_s: float
    created_at: str
    last_activity_at: str
    expires_at: str
    closed_at: str | None
    close_reason: str | None
    jobs: dict[str, int] | None = Field(description="The session's jobs, counted by status.")


class SessionList(BaseModel):
    sessions: list[SessionPublic]

"""Health and who the caller is."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
)


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    #: What is broken, by part (``sandbox``, ``executor``), when the status is not ok.
    problems: dict[str, str] | None = None
    #: Readiness only: each part checked (database, executor, keys, sandbox): ok or broken.
    checks: dict[str, Literal["ok", "broken"]] | None = None


class KeyChange(BaseModel):
    action: str  # user.key.register or user.key.retire
    at: str
    key_id: str | None
    token_id: str | None  # the token that made the change


class Me(BaseModel):
    user: str
    project: str
    role: str
    is_admin: bool
    scopes: list[str]
    expires_at: str | None = None
    sealing_key_id: str | None = None
    key_changes: list[KeyChange] = []

"""The caller's own data."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    Field,
)


class Erased(BaseModel):
    erased: bool
    jobs: int
    record: str = Field(description="The pseudonym under which the audit log records this.")

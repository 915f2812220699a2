"""Usage reports."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    Field,
)

from qharbor.api.schemas.admin import QuotaPublic


class UsageRow(BaseModel):
    project: str
    device: str
    day: str
    device_s: float
    jobs: int
    reservations: int = Field(
        default=0, description="Reserved windows charged that day (device_s includes them)."
    )


class UsageReport(BaseModel):
    usage: list[UsageRow]
    quota: QuotaPublic | None = Field(description="The project's limits (one project only).")

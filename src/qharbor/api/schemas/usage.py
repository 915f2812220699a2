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


class AccountingRow(BaseModel):
    project: str
    user: str | None = Field(description="None once the user's account was erased.")
    slurm_cluster: str | None
    slurm_job_id: str | None = Field(
        description="The Slurm job whose session ran these jobs; None outside Slurm."
    )
    device: str
    jobs: int
    device_s: float
    first_charged_at: str
    last_charged_at: str


class AccountingReport(BaseModel):
    start: str | None = Field(description="The period's first moment (UTC), if given.")
    end: str | None = Field(description="The moment after the period (UTC), if given.")
    rows: list[AccountingRow]

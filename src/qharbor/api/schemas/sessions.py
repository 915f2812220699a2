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

#: Slurm job ids are numbers (an array task's own SLURM_JOB_ID is one too).
SLURM_JOB_ID = r"^[0-9]{1,20}$"
SLURM_CLUSTER = r"^[A-Za-z0-9_.-]{1,64}$"


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
    slurm_job_id: str | None = Field(
        default=None,
        pattern=SLURM_JOB_ID,
        description="The Slurm job that opens it (SLURM_JOB_ID): its usage is reported "
        "per Slurm job, and POST /v1/sessions:close-slurm-job closes it when the job ends.",
    )
    slurm_cluster: str | None = Field(
        default=None, pattern=SLURM_CLUSTER, description="The Slurm cluster (SLURM_CLUSTER_NAME)."
    )


class SlurmJobClose(RequestBody):
    """Close the sessions a Slurm job opened (from its job script or the cluster's epilog)."""

    model_config = ConfigDict(extra="forbid")

    slurm_job_id: str = Field(pattern=SLURM_JOB_ID)
    slurm_cluster: str | None = Field(default=None, pattern=SLURM_CLUSTER)
    all_projects: bool = Field(
        default=False, description="Admins: every project's sessions of that job (an epilog)."
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
    slurm_job_id: str | None = None
    slurm_cluster: str | None = None
    jobs: dict[str, int] | None = Field(description="The session's jobs, counted by status.")


class SessionList(BaseModel):
    sessions: list[SessionPublic]

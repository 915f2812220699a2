"""Administration: users, projects, budgets, quotas and the audit log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from qharbor.api import bounds
from qharbor.api.schemas.common import Name, RequestBody, RoleName


class UserCreate(RequestBody):
    """A new user; with ``project``, also a member of it with ``role``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    is_admin: bool = False
    project: str | None = Field(default=None, description="A project's id or name.")
    role: RoleName = "member"


class MembershipSet(RequestBody):
    model_config = ConfigDict(extra="forbid")

    role: RoleName


class ProjectCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: Name
    max_concurrent_jobs: int | None = Field(default=None, ge=1, le=bounds.INT32_MAX)


class BudgetSet(RequestBody):
    model_config = ConfigDict(extra="forbid")

    budget_s: float = Field(ge=0, le=bounds.MAX_BUDGET_S, description="Device-seconds per period.")
    period: Literal["day", "week", "month"] = "month"


class QuotaSet(RequestBody):
    """A project's limits. Fields left out are unchanged; null removes a limit."""

    model_config = ConfigDict(extra="forbid")

    max_concurrent_jobs: int | None = Field(default=None, ge=1, le=bounds.INT32_MAX)
    simulator: BudgetSet | None = None
    qpu: BudgetSet | None = None


class MembershipPublic(BaseModel):
    id: str
    name: str
    role: str


class UserPublic(BaseModel):
    id: str
    name: str
    is_admin: bool
    created_at: str
    projects: list[MembershipPublic]


class UserList(BaseModel):
    users: list[UserPublic]


class ProjectPublic(BaseModel):
    id: str
    name: str
    created_at: str
    max_concurrent_jobs: int | None
    members: list[MembershipPublic]


class ProjectList(BaseModel):
    projects: list[ProjectPublic]


class BudgetPublic(BaseModel):
    device_class: str
    period: str
    period_start: str
    budget_s: float
    used_s: float
    reserved_s: float
    remaining_s: float


class QuotaPublic(BaseModel):
    max_concurrent_jobs: int | None
    active_jobs: int
    budgets: list[BudgetPublic]


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor_id: str | None
    project_id: str | None
    token_id: str | None
    action: str
    target: str | None
    status: int | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_before: int | None = Field(description="Pass as ?before= for the next, older page.")


class WorkerProgress(BaseModel):
    done: int
    total: int


class WorkerPublic(BaseModel):
    name: str = Field(description="``pid N`` for a local worker process; the task for Ray.")
    ready: bool
    job_id: str | None
    attempt: int | None
    busy_s: float | None = Field(description="How long it has run its job (seconds).")
    progress: WorkerProgress | None


class NodePublic(BaseModel):
    node_id: str
    address: str
    alive: bool
    resources: dict[str, float] = Field(description="Ray's totals: CPU, GPU, memory (bytes).")


class ExecutorPublic(BaseModel):
    kind: str = Field(description="local (a process pool on this host) or ray.")
    health: str | None = Field(description="None when jobs can run; otherwise what is wrong.")
    slots: int
    free_slots: int
    workers: list[WorkerPublic]
    nodes: list[NodePublic] = Field(description="A Ray cluster's nodes; empty for local.")
    address: str | None

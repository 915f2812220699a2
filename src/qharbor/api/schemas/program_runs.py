"""Centre programs and their runs: what ``/v1/programs`` takes and answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from qharbor.api.schemas.common import RequestBody


class ProgramPublic(BaseModel):
    """A program this centre runs, with the JSON schema of its inputs."""

    name: str
    version: str
    summary: str
    inputs_schema: dict[str, Any]


class ProgramList(BaseModel):
    programs: list[ProgramPublic]


class RunCreate(RequestBody):
    """A run of a program: the device its jobs run on, and its inputs."""

    device: str = Field(min_length=1, max_length=128)
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="Checked against the program's inputs_schema before anything is queued "
        "(else 422 PROGRAM_INPUTS_INVALID).",
    )


class RunError(BaseModel):
    code: str
    message: str | None


class RunPublic(BaseModel):
    """A program run: its status, latest progress and, once it failed, why."""

    id: str
    program: str
    version: str
    device: str
    status: str = Field(description="QUEUED, RUNNING, DONE, FAILED or CANCELLED.")
    inputs: dict[str, Any]
    attempt: int = Field(description="1, plus one per resumption after a restart.")
    cancel_requested: bool
    progress: dict[str, Any] | None = Field(
        description="The latest iteration, its objective value and the best so far."
    )
    session_id: str | None
    error: RunError | None
    created_at: str
    started_at: str | None
    finished_at: str | None


class RunList(BaseModel):
    runs: list[RunPublic]

"""Engines: the engines a centre runs."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    Field,
)


class EnginePublic(BaseModel):
    name: str
    available: bool = Field(description="Its library is installed on this centre.")
    why: str | None = Field(default=None, description="Why it is not available.")
    precisions: list[str]
    versions: dict[str, str]
    calibrated: bool = Field(description="Its cost models were measured on this host.")
    models: dict[str, dict[str, Any]] = Field(
        description="By 'engine:form:precision': coefficients (seconds per unit of each "
        "term), rel_error of the fit, probes, and source ('host' or 'default')."
    )


class EngineList(BaseModel):
    fingerprint: str = Field(description="This host's fingerprint (CPU, cores, engine versions).")
    calibrated: bool = Field(description="A fit measured on this host is in force.")
    fitted_at: str | None
    terms: list[str] = Field(description="The cost model's terms; see docs/engines.md.")
    engines: list[EnginePublic]

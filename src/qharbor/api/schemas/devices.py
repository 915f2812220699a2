"""Devices: devices as shown, maintenance, warm-up and calibration changes."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from qharbor.api import bounds
from qharbor.api.schemas.common import RequestBody


class DevicePublic(BaseModel):
    name: str
    kind: str
    description: str
    engine: str
    method: str
    max_qubits: int
    max_shots: int
    basis_gates: list[str]
    noisy: bool
    concurrency: int
    clifford_only: bool
    engines: list[str] = Field(
        default_factory=list,
        description="Engines that may run its jobs (options.engine); 'auto' chooses among them.",
    )
    status: str
    status_reason: str | None = None
    status_until: str | None = None
    queue_length: int
    running: int
    twin: dict[str, Any] | None = Field(
        default=None, description="Device twins: topology, gates, timing, calibration plan."
    )
    maintenance: list[dict[str, Any]] = Field(default_factory=list)


class DeviceList(BaseModel):
    devices: list[DevicePublic]


class MaintenanceIn(RequestBody):
    """A maintenance window, in UTC (RFC 3339 with a zone)."""

    model_config = ConfigDict(extra="forbid")

    start: str
    end: str
    reason: str = Field(default="maintenance", max_length=256)


class WarmupIn(RequestBody):
    """A cryostat warm-up; omitted fields take the device file's values."""

    model_config = ConfigDict(extra="forbid")

    peak: float | None = Field(default=None, gt=0, le=1)
    rise_s: float | None = Field(default=None, gt=0, le=bounds.MAX_FAULT_PHASE_S)
    hold_s: float | None = Field(default=None, ge=0, le=bounds.MAX_FAULT_PHASE_S)
    recover_s: float | None = Field(default=None, gt=0, le=bounds.MAX_FAULT_PHASE_S)


class CalibrationScaleIn(RequestBody):
    """Scale every error by ``factor`` and divide T1 and T2 by it (a worse day)."""

    model_config = ConfigDict(extra="forbid")

    factor: float = Field(gt=0, le=100)

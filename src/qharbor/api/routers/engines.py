"""The engines behind the devices, and the cost models automatic selection uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader
from qharbor.api.schemas.engines import EngineList
from qharbor.engines import costs

router = APIRouter(
    prefix="/v1", tags=["engines"], responses=api_errors.responses(*api_errors.AUTHENTICATED)
)


@router.get("/engines", response_model=EngineList)
def list_engines(centre: CentreDep, _principal: Reader) -> dict[str, Any]:
    """Each engine: its precisions, versions, and fitted cost model (seconds per term unit)."""
    return costs.describe(centre.settings.engine_costs_path)

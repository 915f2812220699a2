"""The program formats this centre reads, and the limits it holds them to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader
from qharbor.api.schemas.formats import FormatList
from qharbor.programs import FORMATS
from qharbor.programs.limits import DEFAULT_LIMITS

router = APIRouter(
    prefix="/v1", tags=["formats"], responses=api_errors.responses(*api_errors.AUTHENTICATED)
)


@router.get("/formats", response_model=FormatList)
def list_formats(centre: CentreDep, _principal: Reader) -> dict[str, Any]:
    """Accepted program formats with their versions, and the input limits."""
    settings = centre.settings
    limits = {
        **{k: float(v) for k, v in DEFAULT_LIMITS.__dict__.items()},
        "max_bytes": float(min(settings.max_program_bytes, DEFAULT_LIMITS.max_bytes)),
        "max_programs_per_job": float(settings.max_programs_per_job),
        "max_body_bytes": float(settings.max_body_bytes),
        "parse_timeout_seconds": settings.parse_timeout_seconds,
    }
    return {
        "formats": [
            {
                "name": f.name,
                "title": f.title,
                "versions": list(f.versions),
                "description": f.description,
                "encoding": "base64" if f.name == "qpy" else "text",
            }
            for f in FORMATS.values()
        ],
        "limits": limits,
    }

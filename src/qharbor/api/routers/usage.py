"""Usage: device-seconds per project, device and day, and the project's quota."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from qharbor import errors
from qharbor.api import bounds
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader
from qharbor.api.schemas.usage import UsageReport

router = APIRouter(
    prefix="/v1", tags=["usage"], responses=api_errors.responses(*api_errors.AUTHENTICATED, 404)
)


@router.get("/usage", response_model=UsageReport)
def get_usage(
    centre: CentreDep,
    principal: Reader,
    since: Annotated[bounds.Day | None, Query(description="First day (UTC), YYYY-MM-DD.")] = None,
    until: Annotated[bounds.Day | None, Query(description="Last day (UTC), YYYY-MM-DD.")] = None,
    device: str | None = None,
    project: Annotated[
        str | None, Query(description="Admins: another project's id or name.")
    ] = None,
    all_projects: Annotated[bool, Query(description="Admins: every project.")] = False,
) -> dict[str, Any]:
    """Measured device-seconds and finished jobs of your project, per device and day."""
    is_admin = principal.is_admin and "admin" in principal.scopes
    if (project is not None or all_projects) and not is_admin:
        raise errors.Forbidden("only the centre's admins can see other projects' usage")
    if all_projects:
        rows = centre.usage.report(None, since=since, until=until, device=device)
        return {"usage": rows, "quota": None}
    project_id = centre.identity.project(project)["id"] if project else principal.project_id
    rows = centre.usage.report([project_id], since=since, until=until, device=device)
    return {"usage": rows, "quota": centre.quotas.standing(project_id)}

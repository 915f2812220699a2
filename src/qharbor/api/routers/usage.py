"""Usage: device-seconds per project, device and day, and the project's quota."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from qharbor import errors, wire
from qharbor.api import bounds
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader
from qharbor.api.schemas.usage import AccountingReport, UsageReport

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


@router.get(
    "/usage/accounting",
    response_model=AccountingReport,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def get_accounting(
    centre: CentreDep,
    principal: Reader,
    start: Annotated[
        bounds.Time | None,
        Query(alias="from", description="The period's first moment, ISO 8601 (UTC if no zone)."),
    ] = None,
    end: Annotated[
        bounds.Time | None,
        Query(alias="to", description="The moment after the period, ISO 8601."),
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
    project: Annotated[
        str | None, Query(description="Admins: another project's id or name.")
    ] = None,
    all_projects: Annotated[bool, Query(description="Admins: every project.")] = False,
) -> Any:
    """Device-seconds per project, user, Slurm job and device charged in a period, for
    billing QPU time beside a cluster's CPU hours. Your project's, unless you are an admin."""
    is_admin = principal.is_admin and "admin" in principal.scopes
    if (project is not None or all_projects) and not is_admin:
        raise errors.Forbidden("only the centre's admins can see other projects' accounting")
    if start is not None and end is not None and end <= start:
        raise errors.InvalidRequest(
            "'to' must be after 'from'; the period is from <= charged < to", field="to"
        )
    if all_projects:
        project_ids = None
    else:
        project_ids = [centre.identity.project(project)["id"] if project else principal.project_id]
    rows = centre.usage.accounting(project_ids, start=start, end=end)
    if format == "csv":
        return Response(
            wire.accounting_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="qharbor-accounting.csv"'},
        )
    return {"start": wire.iso(start), "end": wire.iso(end), "rows": rows}

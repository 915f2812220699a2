"""``GET /metrics``: the centre's Prometheus metrics, in the text exposition format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from qharbor.api.deps import CentreDep, Credentials, RequireScope, get_principal, require_scope
from qharbor.security.identity import Principal

router = APIRouter(tags=["system"])


class MetricsAccess(RequireScope):
    """A centre admin's token with the ``admin`` scope, unless the centre's
    ``metrics_public`` setting opens the route to anyone who can reach it."""

    def __init__(self) -> None:
        super().__init__("admin")

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        centre: CentreDep,
        credentials: Credentials,
    ) -> Principal | None:
        if centre.settings.metrics_public:
            return None
        principal = await get_principal(request, centre, credentials)
        require_scope(principal, "admin")
        return principal


@router.get("/metrics", include_in_schema=False)
async def metrics(
    request: Request,
    _access: Annotated[Principal | None, Depends(MetricsAccess())],
) -> Response:
    """Queue depths, job latencies and endings, workers, devices and quotas."""
    registry = request.app.state.metrics.registry
    # The state is read from the database at scrape time: off the event loop.
    body = await run_in_threadpool(generate_latest, registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)

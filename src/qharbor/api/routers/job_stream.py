"""One stream of every change to the project's jobs, for pages that show many jobs."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader
from qharbor.api.routers.jobs import job_json
from qharbor.centre import Centre
from qharbor.security.identity import Principal

router = APIRouter(
    prefix="/v1/jobs", tags=["jobs"], responses=api_errors.responses(*api_errors.AUTHENTICATED)
)

#: Seconds of quiet after which a comment keeps the connection open.
KEEP_ALIVE_S = 15.0


@router.get(
    ":events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def project_job_events(centre: CentreDep, principal: Reader) -> StreamingResponse:
    """Server-sent events: ``ready`` once subscribed, then a ``job`` event with the job
    each time one of your project's jobs changes (submitted, started, finished...).

    Changes made through this centre process are streamed; read ``GET /v1/jobs``
    again after ``ready`` so that nothing from before the subscription is missed.
    The stream ends after the centre's longest wait (``max_wait_seconds``); a
    browser's ``EventSource`` reconnects by itself a second later.
    """
    return StreamingResponse(
        _events(centre, principal),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


async def _events(centre: Centre, principal: Principal) -> AsyncIterator[str]:
    deadline = time.monotonic() + centre.settings.max_wait_seconds
    with centre.events.feed() as feed:
        yield "retry: 1000\nevent: ready\ndata: {}\n\n"
        idle = 0.0
        while time.monotonic() < deadline:
            if not await feed.changed(min(1.0, max(0.0, deadline - time.monotonic()))):
                idle += 1.0
                if idle >= KEEP_ALIVE_S:
                    yield ": keep-alive\n\n"
                    idle = 0.0
                continue
            idle = 0.0
            changed = feed.take()
            found = await run_in_threadpool(centre.jobs.get_many, principal.project_id, changed)
            for job in reversed(found):  # oldest first, so a page can prepend in order
                yield f"event: job\ndata: {json.dumps(job_json(centre, job))}\n\n"

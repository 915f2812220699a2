"""The app factory: ``create_app(settings)`` builds one independent centre."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from qharbor.api import errors as api_errors
from qharbor.api.auditing import AuditWrites
from qharbor.api.limits import BodySizeLimit
from qharbor.api.logs import RequestIds
from qharbor.api.metrics import CentreMetrics
from qharbor.api.routers import (
    admin,
    auth,
    devices,
    engines,
    formats,
    job_stream,
    jobs,
    keys,
    me,
    metrics,
    program_runs,
    project,
    reservations,
    sessions,
    system,
    usage,
)
from qharbor.centre import Centre
from qharbor.console import install as install_console
from qharbor.errors import QHarborError
from qharbor.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """
qharbor runs a quantum computing centre's simulators and processors as a
multi-tenant service. Submit OpenQASM 2 or 3 programs to a device, follow the
job, and read counts in Qiskit's bit order.

Every route under `/v1` except the health probes (`/v1/health`, `/v1/health/live`,
`/v1/health/ready`) and `/v1/keys` needs `Authorization: Bearer <token>`.
Errors have one shape: `{"error": {"code", "message", "detail"}}`.
"""


def create_app(
    settings: Settings | None = None, on_started: Callable[[Centre], None] | None = None
) -> FastAPI:
    """Build the HTTP app of one centre.

    The centre (database, workers, scheduler) starts with the app's lifespan and
    stops with it.

    Args:
        settings: the centre's settings; read from the environment when omitted.
        on_started: called once the centre is running, e.g. to print the first token.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            centre = Centre(settings)
            # Counts every job the store ends from the first one; one registry per app.
            app.state.metrics = CentreMetrics(centre)
            centre.jobs.on_end = app.state.metrics.job_ended
            centre.events.bind(asyncio.get_running_loop())
            centre.programs.events.bind(asyncio.get_running_loop())
            await run_in_threadpool(centre.start)
        except QHarborError as exc:
            # Kept for whoever runs the server, to report it as the user error it is.
            app.state.startup_error = exc
            raise
        app.state.centre = centre
        if on_started is not None:
            on_started(centre)
        try:
            yield
        finally:
            await run_in_threadpool(centre.stop)

    app = FastAPI(
        title="qharbor",
        version=metadata.version("qharbor"),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    api_errors.install(app)
    for router in (
        system.router,
        me.router,
        formats.router,
        devices.router,
        engines.router,
        job_stream.router,
        jobs.router,
        sessions.router,
        program_runs.router,
        reservations.router,
        keys.router,
        usage.router,
        project.router,
        admin.router,
        auth.router,
        metrics.router,
    ):
        app.include_router(router)
    install_console(app)
    app.add_middleware(AuditWrites)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Outermost, so every log line of a request, and its answer, carry its id.
    app.add_middleware(RequestIds)
    return app

"""Mounting the console on the centre's app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from qharbor.console import pages, views
from qharbor.console.headers import SecurityHeaders


def install(app: FastAPI) -> None:
    """Serve the console at ``/``: its pages, files, login and reads, with strict headers."""
    app.include_router(pages.router)
    app.include_router(views.router)
    app.mount("/console/static", StaticFiles(directory=pages.STATIC), name="console-static")
    app.add_middleware(SecurityHeaders, prefixes=(*pages.PAGES, "/console"))

"""The HTTP edge: the FastAPI app factory, one router per resource."""

from __future__ import annotations

from qharbor.api.app import create_app

__all__ = ["create_app"]

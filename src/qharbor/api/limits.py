"""An ASGI middleware that refuses request bodies over the size limit with 413."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qharbor import errors
from qharbor.api.errors import error_response


class BodySizeLimit:
    """Reads at most ``max_bytes`` of a body; answers 413 past that, without buffering more."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send, declared)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send, received)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int) -> None:
        error = errors.PayloadTooLarge(
            f"the request body is {size} bytes or more; the limit is {self.max_bytes}. "
            "Split the job into several smaller ones",
            limit_bytes=self.max_bytes,
        )
        response = error_response(error, headers={"Connection": "close"})
        await response(scope, receive, send)


class _TooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so body parsing passes it on as 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers", [])
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

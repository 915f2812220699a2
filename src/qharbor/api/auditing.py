"""The audit middleware: every authenticated write request leaves an entry.

The entry is appended before the response starts, so a client that sees the
answer can already find its entry. Requests refused by the rate limiter are not
recorded, so a flood cannot grow the log.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qharbor.security.identity import Principal

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuditWrites:
    """ASGI middleware that records ``http.write`` entries in the centre's audit log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS:
            await self.app(scope, receive, send)
            return

        async def send_after_audit(message: Message) -> None:
            if message["type"] == "http.response.start":
                await _record(scope, int(message["status"]))
            await send(message)

        await self.app(scope, receive, send_after_audit)


async def _record(scope: Scope, status: int) -> None:
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    if not isinstance(principal, Principal) or status == 429 or state.get("audited"):
        return
    await run_in_threadpool(_write, scope, principal, status, None)


def _write(scope: Scope, principal: Principal, status: int, conn: Any) -> None:
    route = scope.get("route")
    scope["app"].state.centre.audit.record(
        "http.write",
        actor_id=principal.user_id,
        project_id=principal.project_id,
        token_id=principal.token_id,
        target=scope["path"],
        status=status,
        detail={
            "method": scope["method"],
            "route": getattr(route, "path", scope["path"]),
        },
        conn=conn,
    )


def audit_write(principal: Principal, request: Any, status: int, conn: Any) -> None:
    """Write a request's ``http.write`` entry in the caller's transaction ``conn``.

    A handler that stores something calls this inside its own write transaction
    (so the entry commits with it, or not at all) and then sets
    ``request.state.audited``, so the middleware does not write a second one.
    """
    _write(request.scope, principal, status, conn)

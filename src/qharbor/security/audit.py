"""The audit log: an append-only record of who did what.

It records every write request, every admin action, the use of admin-scope
tokens, and every read of a result by someone other than its submitter. Entries
name users by id only, never by name, and never hold program text or results.
No route changes or deletes entries, and database triggers refuse UPDATE and
DELETE on the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from qharbor import wire
from qharbor.store import Database
from qharbor.store.tables import audit_log

if TYPE_CHECKING:
    from qharbor.security.identity import Principal

#: Use of one admin-scope token is recorded at most once per this many seconds;
#: every admin action it makes is recorded in full besides.
ADMIN_USE_INTERVAL_S = 60.0

#: A user's ML-KEM key for sealed results was registered, or retired.
KEY_REGISTER = "user.key.register"
KEY_RETIRE = "user.key.retire"


def pseudonym(user_id: str) -> str:
    """A stable stand-in for an erased user's id in the erasure record."""
    return "erased:" + hashlib.sha256(b"qharbor-erasure:" + user_id.encode()).hexdigest()[:32]


#: Built once: every write request appends one entry.
_INSERT = audit_log.insert()


class AuditLog:
    """Appends entries and answers queries.

    Args:
        db: the database.
        clock: the time source (UTC).
    """

    def __init__(
        self, db: Database, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self.db = db
        self._clock = clock
        self._admin_use: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(
        self,
        action: str,
        *,
        actor_id: str | None = None,
        project_id: str | None = None,
        token_id: str | None = None,
        target: str | None = None,
        status: int | None = None,
        detail: dict[str, Any] | None = None,
        conn: sa.Connection | None = None,
    ) -> None:
        """Append one entry (in ``conn``'s transaction when given, else in its own)."""
        values = {
            "at": self._clock(),
            "actor_id": actor_id,
            "project_id": project_id,
            "token_id": token_id,
            "action": action,
            "target": target[:256] if target else None,
            "status": status,
            "detail": detail or {},
        }
        if conn is not None:
            conn.execute(_INSERT, values)
            return
        with self.db.write() as own:
            own.execute(_INSERT, values)

    def admin_use_due(self, token_id: str) -> bool:
        """Whether the next use of this admin-scope token is to be recorded (memory only)."""
        last = self._admin_use.get(token_id)
        return last is None or time.monotonic() - last >= ADMIN_USE_INTERVAL_S

    def admin_token_used(self, token_id: str, actor_id: str, project_id: str, path: str) -> None:
        """Record the use of an admin-scope token, at most once per interval per token."""
        now = time.monotonic()
        with self._lock:
            last = self._admin_use.get(token_id)
            if last is not None and now - last < ADMIN_USE_INTERVAL_S:
                return
            self._admin_use[token_id] = now
        self.record(
            "token.admin_use",
            actor_id=actor_id,
            project_id=project_id,
            token_id=token_id,
            target=path,
        )

    def key_changed(self, action: str, principal: Principal, key_id: str) -> None:
        """Record that the principal registered or retired their sealing key."""
        self.record(
            action,
            actor_id=principal.user_id,
            project_id=principal.project_id,
            token_id=principal.token_id,
            target=f"user:{principal.user_id}",
            detail={"key_id": key_id},
        )

    def key_changes(self, user_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The user's latest sealing-key changes, newest first: when, which key, and
        with which token."""
        query = (
            sa.select(audit_log)
            .where(
                audit_log.c.target == f"user:{user_id}",
                audit_log.c.action.in_((KEY_REGISTER, KEY_RETIRE)),
            )
            .order_by(audit_log.c.seq.desc())
            .limit(limit)
        )
        with self.db.read() as conn:
            return [
                {
                    "action": row.action,
                    "at": wire.iso(row.at),
                    "key_id": (row.detail or {}).get("key_id"),
                    "token_id": row.token_id,
                }
                for row in conn.execute(query).all()
            ]

    def query(
        self,
        *,
        actor_id: str | None = None,
        action: str | None = None,
        project_id: str | None = None,
        target: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Entries, newest first, and the ``before`` value of the next page (or None)."""
        query = sa.select(audit_log)
        if actor_id is not None:
            query = query.where(audit_log.c.actor_id == actor_id)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        if project_id is not None:
            query = query.where(audit_log.c.project_id == project_id)
        if target is not None:
            query = query.where(audit_log.c.target == target)
        if before is not None:
            query = query.where(audit_log.c.seq < before)
        query = query.order_by(audit_log.c.seq.desc()).limit(limit + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        entries = [_entry(row) for row in rows[:limit]]
        more = rows[limit - 1].seq if len(rows) > limit else None
        return entries, more

    def about(self, user_id: str) -> list[dict[str, Any]]:
        """Every entry made by the user or naming them as the target, oldest first."""
        query = (
            sa.select(audit_log)
            .where(sa.or_(audit_log.c.actor_id == user_id, audit_log.c.target == f"user:{user_id}"))
            .order_by(audit_log.c.seq)
        )
        with self.db.read() as conn:
            return [_entry(row) for row in conn.execute(query).all()]


def _entry(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": wire.iso(row.at),
        "actor_id": row.actor_id,
        "project_id": row.project_id,
        "token_id": row.token_id,
        "action": row.action,
        "target": row.target,
        "status": row.status,
        "detail": dict(row.detail or {}),
    }

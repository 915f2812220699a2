"""Admin access: the centre always keeps one admin token that works.

A token reaches the admin routes when it has the ``admin`` scope, is neither
revoked nor expired, and its user is a centre admin who is still a member of the
token's project. A change that would take away the last such token (removing a
membership, revoking a token, erasing a user) is refused with ``LAST_ADMIN``,
since nothing over HTTP could restore access afterwards. Tokens that lapse are
beyond any check: ``qharbor admin recover`` restores access from the host.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from qharbor import errors
from qharbor.store.tables import memberships, tokens, users

#: Serialises the changes that could remove the last admin access on PostgreSQL (SQLite's
#: BEGIN IMMEDIATE already serialises every writer).
_LOCK = 0x71686172_61646D6E


def working_tokens(conn: sa.Connection) -> int:
    """How many tokens reach the admin routes now."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(tokens)
            .join(users, users.c.id == tokens.c.user_id)
            .join(
                memberships,
                sa.and_(
                    memberships.c.user_id == tokens.c.user_id,
                    memberships.c.project_id == tokens.c.project_id,
                ),
            )
            .where(
                users.c.is_admin.is_(True),
                tokens.c.scopes.contains("admin"),
                tokens.c.revoked_at.is_(None),
                sa.or_(
                    tokens.c.expires_at.is_(None), tokens.c.expires_at > dt.datetime.now(dt.UTC)
                ),
            )
        ).scalar_one()
    )


def lock(conn: sa.Connection, *, sqlite: bool) -> int:
    """Serialise changes to admin access in this transaction.

    Returns:
        How many admin tokens work before the change.
    """
    if not sqlite:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK)))
    return working_tokens(conn)


def keep_one(conn: sa.Connection, before: int) -> None:
    """Refuse (rolling the transaction back) a change that took away the last admin token.

    Only a change that removes it is refused: in a centre whose admin tokens all
    lapsed, other changes go ahead while the operator recovers access.

    Raises:
        errors.LastAdmin: the change left no admin token that works.
    """
    if before and working_tokens(conn) == 0:
        raise errors.LastAdmin(
            "this would leave the centre without a working admin token, and nobody "
            "could manage it; first give another admin user a membership and an "
            "admin-scoped token (POST /v1/admin/tokens), then try again"
        )

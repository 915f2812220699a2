"""Users, projects and tokens: creating them and authenticating a bearer token."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from qharbor import errors
from qharbor.security.tokens import hash_token, new_token
from qharbor.store import Database
from qharbor.store.tables import memberships, projects, tokens, users


class Role(enum.StrEnum):
    ADMIN = "admin"  # operates the centre
    PROJECT_ADMIN = "project-admin"  # manages one project's members
    MEMBER = "member"  # submits and reads the project's jobs
    VIEWER = "viewer"  # reads the project's jobs


@dataclass(frozen=True)
class Principal:
    """Who is calling, on behalf of which project."""

    user_id: str
    user_name: str
    project_id: str
    project_name: str
    role: Role
    is_admin: bool
    token_id: str
    scopes: frozenset[str]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Identity:
    """Reads and writes users, projects, memberships and tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def bootstrap(self) -> str | None:
        """On a centre's first start, make the admin user, the default project and a token.

        Returns:
            The new admin token, or None if the centre already has users.
        """
        with self.db.write() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one():
                return None
            user_id, project_id = self._create(conn, "admin", "default", Role.ADMIN, True)
            return self._issue(conn, user_id, project_id, "bootstrap", {"read", "submit", "admin"})

    def create_user(
        self, name: str, project: str, role: Role = Role.MEMBER, *, is_admin: bool = False
    ) -> tuple[str, str]:
        """A user in a project (created if new), and a token for it.

        Returns:
            The user id and the token (shown once).
        """
        with self.db.write() as conn:
            user_id, project_id = self._create(conn, name, project, role, is_admin)
            token = self._issue(conn, user_id, project_id, f"{name}@{project}", {"read", "submit"})
        return user_id, token

    def _create(
        self, conn: sa.Connection, name: str, project: str, role: Role, is_admin: bool
    ) -> tuple[str, str]:
        now = _now()
        user_id = str(uuid.uuid4())
        conn.execute(
            users.insert().values(id=user_id, name=name, is_admin=is_admin, created_at=now)
        )
        project_id = conn.execute(
            sa.select(projects.c.id).where(projects.c.name == project)
        ).scalar_one_or_none()
        if project_id is None:
            project_id = str(uuid.uuid4())
            conn.execute(projects.insert().values(id=project_id, name=project, created_at=now))
        conn.execute(
            memberships.insert().values(user_id=user_id, project_id=project_id, role=role.value)
        )
        return user_id, project_id

    def _issue(
        self, conn: sa.Connection, user_id: str, project_id: str, name: str, scopes: set[str]
    ) -> str:
        token = new_token()
        conn.execute(
            tokens.insert().values(
                id=str(uuid.uuid4()),
                token_hash=hash_token(token),
                user_id=user_id,
                project_id=project_id,
                name=name,
                scopes=" ".join(sorted(scopes)),
                created_at=_now(),
            )
        )
        return token

    def authenticate(self, token: str | None) -> Principal:
        """The principal a bearer token stands for.

        Raises:
            errors.Unauthenticated: no token, or one that is unknown, revoked or expired.
        """
        if not token:
            raise errors.Unauthenticated()
        query = (
            sa.select(
                tokens.c.id,
                tokens.c.scopes,
                tokens.c.expires_at,
                tokens.c.revoked_at,
                users.c.id.label("user_id"),
                users.c.name.label("user_name"),
                users.c.is_admin,
                projects.c.id.label("project_id"),
                projects.c.name.label("project_name"),
                memberships.c.role,
            )
            .join(users, users.c.id == tokens.c.user_id)
            .join(projects, projects.c.id == tokens.c.project_id)
            .join(
                memberships,
                sa.and_(
                    memberships.c.user_id == tokens.c.user_id,
                    memberships.c.project_id == tokens.c.project_id,
                ),
            )
            .where(tokens.c.token_hash == hash_token(token))
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise errors.Unauthenticated("the token is not valid; check it or ask for a new one")
        if row.revoked_at is not None:
            raise errors.Unauthenticated("the token was revoked; ask for a new one")
        if row.expires_at is not None and row.expires_at <= _now():
            raise errors.Unauthenticated("the token has expired; ask for a new one")
        return Principal(
            user_id=row.user_id,
            user_name=row.user_name,
            project_id=row.project_id,
            project_name=row.project_name,
            role=Role(row.role),
            is_admin=bool(row.is_admin),
            token_id=row.id,
            scopes=frozenset(row.scopes.split()),
        )

"""Users, projects and who belongs to which, with what role."""

from __future__ import annotations

import enum
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from qharbor import errors, wire
from qharbor.security import admins
from qharbor.security.principals import PrincipalCache
from qharbor.store import Database
from qharbor.store.tables import memberships, projects, sso_identities, tokens, users


class Role(enum.StrEnum):
    ADMIN = "admin"  # operates the centre
    PROJECT_ADMIN = "project-admin"  # manages one project's members
    MEMBER = "member"  # submits and reads the project's jobs
    VIEWER = "viewer"  # reads the project's jobs


class Directory:
    """Reads and writes users, projects and memberships.

    Args:
        db: the store.
        principal_cache_s: how long (seconds) who a token stands for is kept in this
            process (:mod:`qharbor.security.principals`); 0 keeps nothing.
    """

    def __init__(self, db: Database, *, principal_cache_s: float = 0.0) -> None:
        self.db = db
        #: Recently authenticated tokens; every change of access here forgets them.
        self.principals = PrincipalCache(principal_cache_s)

    def user_id(self, conn: sa.Connection, user: str) -> str:
        """The id of a user given by id or name.

        Raises:
            errors.UserNotFound: neither matches.
        """
        found = conn.execute(
            sa.select(users.c.id).where(sa.or_(users.c.id == user, users.c.name == user))
        ).scalar_one_or_none()
        if found is None:
            raise errors.UserNotFound(f"no user {user!r}; list them with GET /v1/admin/users")
        return str(found)

    def project_id(self, conn: sa.Connection, project: str) -> str:
        """The id of a project given by id or name.

        Raises:
            errors.ProjectNotFound: neither matches.
        """
        found = conn.execute(
            sa.select(projects.c.id).where(
                sa.or_(projects.c.id == project, projects.c.name == project)
            )
        ).scalar_one_or_none()
        if found is None:
            raise errors.ProjectNotFound(
                f"no project {project!r}; list them with GET /v1/admin/projects"
            )
        return str(found)

    def add_user(self, name: str, *, is_admin: bool = False) -> dict[str, Any]:
        """A new user without memberships or tokens.

        Raises:
            errors.NameTaken: a user has that name.
        """
        user_id = str(uuid.uuid4())
        try:
            with self.db.write() as conn:
                conn.execute(
                    users.insert().values(
                        id=user_id, name=name, is_admin=is_admin, created_at=wire.utcnow()
                    )
                )
        except IntegrityError:
            raise errors.NameTaken(f"a user named {name!r} exists already") from None
        return self.user(user_id)

    def user(self, user: str) -> dict[str, Any]:
        """A user (by id or name) with their memberships."""
        with self.db.read() as conn:
            user_id = self.user_id(conn, user)
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).one()
            roles = conn.execute(
                sa.select(projects.c.id, projects.c.name, memberships.c.role)
                .join(memberships, memberships.c.project_id == projects.c.id)
                .where(memberships.c.user_id == user_id)
                .order_by(projects.c.name)
            ).all()
        return {
            "id": row.id,
            "name": row.name,
            "is_admin": bool(row.is_admin),
            "created_at": wire.iso(row.created_at),
            "projects": [{"id": r.id, "name": r.name, "role": r.role} for r in roles],
        }

    def list_users(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            ids = conn.execute(sa.select(users.c.id).order_by(users.c.name)).scalars().all()
        return [self.user(user_id) for user_id in ids]

    def add_project(self, name: str) -> dict[str, Any]:
        """A new project without members.

        Raises:
            errors.NameTaken: a project has that name.
        """
        project_id = str(uuid.uuid4())
        try:
            with self.db.write() as conn:
                conn.execute(
                    projects.insert().values(id=project_id, name=name, created_at=wire.utcnow())
                )
        except IntegrityError:
            raise errors.NameTaken(f"a project named {name!r} exists already") from None
        return self.project(project_id)

    def project(self, project: str) -> dict[str, Any]:
        """A project (by id or name) with its members."""
        with self.db.read() as conn:
            project_id = self.project_id(conn, project)
            row = conn.execute(sa.select(projects).where(projects.c.id == project_id)).one()
            members = conn.execute(
                sa.select(users.c.id, users.c.name, memberships.c.role)
                .join(memberships, memberships.c.user_id == users.c.id)
                .where(memberships.c.project_id == project_id)
                .order_by(users.c.name)
            ).all()
        return {
            "id": row.id,
            "name": row.name,
            "created_at": wire.iso(row.created_at),
            "max_concurrent_jobs": row.max_concurrent_jobs,
            "members": [{"id": m.id, "name": m.name, "role": m.role} for m in members],
        }

    def list_projects(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            ids = conn.execute(sa.select(projects.c.id).order_by(projects.c.name)).scalars().all()
        return [self.project(project_id) for project_id in ids]

    def set_membership(self, project: str, user: str, role: Role | None) -> None:
        """Give a user a role in a project, or (with None) remove them from it.

        Removing a member also revokes their tokens for the project.

        Raises:
            errors.LastAdmin: the change would leave no admin token that works.
        """
        with self.db.write() as conn:
            before = admins.lock(conn, sqlite=self.db.is_sqlite)
            project_id = self.project_id(conn, project)
            user_id = self.user_id(conn, user)
            where = sa.and_(
                memberships.c.user_id == user_id, memberships.c.project_id == project_id
            )
            conn.execute(memberships.delete().where(where))
            if role is not None:
                conn.execute(
                    memberships.insert().values(
                        user_id=user_id, project_id=project_id, role=role.value
                    )
                )
            else:
                conn.execute(
                    tokens.update()
                    .where(
                        tokens.c.user_id == user_id,
                        tokens.c.project_id == project_id,
                        tokens.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=wire.utcnow())
                )
            admins.keep_one(conn, before)
        self.principals.forget()

    def erase_user(self, user_id: str) -> None:
        """Delete the user, their memberships and their tokens (their jobs go first).

        Raises:
            errors.LastAdmin: they hold the last admin token that works.
        """
        with self.db.write() as conn:
            before = admins.lock(conn, sqlite=self.db.is_sqlite)
            conn.execute(tokens.delete().where(tokens.c.user_id == user_id))
            conn.execute(sso_identities.delete().where(sso_identities.c.user_id == user_id))
            conn.execute(memberships.delete().where(memberships.c.user_id == user_id))
            conn.execute(users.delete().where(users.c.id == user_id))
            admins.keep_one(conn, before)
        self.principals.forget()

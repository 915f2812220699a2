"""Tokens: issuing, listing and revoking them, and authenticating a bearer token."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.security import admins
from qharbor.security.directory import Directory, Role
from qharbor.security.tokens import hash_token, new_token
from qharbor.store.tables import memberships, projects, tokens, users

#: What a token may be allowed to do: read; submit (jobs, sessions) and change the
#: account (keys, tokens, members); administer the centre. See docs/security.md#scopes.
SCOPES = frozenset({"read", "submit", "admin"})


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
    expires_at: dt.datetime | None = None  # when the token stops working; None: never


def _token_json(row: Any) -> dict[str, Any]:
    """A token's metadata; the token itself is never stored, so never shown again."""
    return {
        "id": row.id,
        "name": row.name,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "scopes": sorted(row.scopes.split()),
        "created_at": wire.iso(row.created_at),
        "expires_at": wire.iso(row.expires_at),
        "revoked_at": wire.iso(row.revoked_at),
    }


#: The principal behind a token hash: one statement, built once (it runs on every request).
_AUTHENTICATE = (
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
    .where(tokens.c.token_hash == sa.bindparam("token_hash"))
)


class Identity(Directory):
    """The directory of users and projects, plus the tokens that authenticate them."""

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
        now = wire.utcnow()
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
                created_at=wire.utcnow(),
            )
        )
        return token

    def kept(self, token: str) -> Principal | None:
        """The principal of a token authenticated a moment ago, if this process still
        keeps it (see :mod:`qharbor.security.principals`); None means: authenticate it.
        Reads memory only, so the API calls it on its event loop."""
        return self.principals.get(hash_token(token))

    def authenticate(self, token: str | None) -> Principal:
        """The principal a bearer token stands for.

        Raises:
            errors.Unauthenticated: no token, or one that is unknown, revoked or expired.
        """
        if not token:
            raise errors.Unauthenticated()
        token_hash = hash_token(token)
        kept = self.principals.get(token_hash)
        if kept is not None:
            return kept
        generation = self.principals.generation
        with self.db.read() as conn:
            row = conn.execute(_AUTHENTICATE, {"token_hash": token_hash}).first()
        if row is None:
            raise errors.Unauthenticated("the token is not valid; check it or ask for a new one")
        if row.revoked_at is not None:
            raise errors.Unauthenticated("the token was revoked; ask for a new one")
        if row.expires_at is not None and row.expires_at <= wire.utcnow():
            raise errors.Unauthenticated("the token has expired; ask for a new one")
        principal = Principal(
            user_id=row.user_id,
            user_name=row.user_name,
            project_id=row.project_id,
            project_name=row.project_name,
            role=Role(row.role),
            is_admin=bool(row.is_admin),
            token_id=row.id,
            scopes=frozenset(row.scopes.split()),
            expires_at=row.expires_at,
        )
        self.principals.put(token_hash, principal, generation)
        return principal

    # --- tokens -------------------------------------------------------------------------

    def issue_token(
        self,
        user: str,
        project: str,
        *,
        name: str,
        scopes: set[str],
        expires_at: dt.datetime | None = None,
        within: Principal | None = None,
    ) -> tuple[dict[str, Any], str]:
        """A new token for a member of a project.

        Args:
            user: the user, by id or name.
            project: the project, by id or name.
            name: a label for the token.
            scopes: what it may do, some of :data:`SCOPES`.
            expires_at: when it stops working; None: never (or as ``within`` does).
            within: the token that asks for it, if the new one must not outgrow it: no
                scope it lacks, and no later expiry (a token that expires makes tokens
                that expire with it at the latest, by default exactly then).

        Returns:
            The token's metadata, and the token itself (shown once, stored only hashed).

        Raises:
            errors.InvalidRequest: an unknown scope, admin scope for a non-admin, a
                past expiry, or a user who is not a member of the project.
            errors.Forbidden: the new token would outgrow ``within``.
        """
        unknown = scopes - SCOPES
        if unknown or not scopes:
            raise errors.InvalidRequest(
                f"scopes must be some of {sorted(SCOPES)}; got {sorted(scopes)}", field="scopes"
            )
        if within is not None:
            expires_at = _within(within, scopes, expires_at)
        if expires_at is not None and expires_at <= wire.utcnow():
            raise errors.InvalidRequest("expires_at is in the past", field="expires_at")
        with self.db.write() as conn:
            user_id = self.user_id(conn, user)
            project_id = self.project_id(conn, project)
            member = conn.execute(
                sa.select(memberships.c.role).where(
                    memberships.c.user_id == user_id, memberships.c.project_id == project_id
                )
            ).scalar_one_or_none()
            if member is None:
                raise errors.InvalidRequest(
                    "the user is not a member of the project; add them first "
                    "(PUT /v1/admin/projects/{project}/members/{user})",
                    field="project",
                )
            is_admin = conn.execute(
                sa.select(users.c.is_admin).where(users.c.id == user_id)
            ).scalar_one()
            if "admin" in scopes and not is_admin:
                raise errors.InvalidRequest(
                    "only a centre admin's token can have the admin scope", field="scopes"
                )
            token = new_token()
            token_id = str(uuid.uuid4())
            conn.execute(
                tokens.insert().values(
                    id=token_id,
                    token_hash=hash_token(token),
                    user_id=user_id,
                    project_id=project_id,
                    name=name,
                    scopes=" ".join(sorted(scopes)),
                    created_at=wire.utcnow(),
                    expires_at=expires_at,
                )
            )
            row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).one()
        return _token_json(row), token

    def list_tokens(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Tokens' metadata, newest first; only one user's when ``user_id`` is given."""
        query = sa.select(tokens).order_by(tokens.c.created_at.desc())
        if user_id is not None:
            query = query.where(tokens.c.user_id == user_id)
        with self.db.read() as conn:
            return [_token_json(row) for row in conn.execute(query).all()]

    def revoke_token(self, token_id: str, *, user_id: str | None = None) -> dict[str, Any]:
        """Revoke a token at once (every later request with it is refused).

        Args:
            token_id: the token's id.
            user_id: only if it belongs to this user (another's is reported as not found).

        Raises:
            errors.TokenNotFound: no such token (of the user).
            errors.LastAdmin: it is the last admin token that works.
        """
        where = [tokens.c.id == token_id]
        if user_id is not None:
            where.append(tokens.c.user_id == user_id)
        with self.db.write() as conn:
            before = admins.lock(conn, sqlite=self.db.is_sqlite)
            conn.execute(
                tokens.update()
                .where(*where, tokens.c.revoked_at.is_(None))
                .values(revoked_at=wire.utcnow())
            )
            row = conn.execute(sa.select(tokens).where(*where)).first()
            if row is None:
                raise errors.TokenNotFound(f"no token {token_id!r} of yours")
            admins.keep_one(conn, before)
        self.principals.forget()
        return _token_json(row)

    # --- a user's own data ------------------------------------------------------------

    def export_user(self, user_id: str) -> dict[str, Any]:
        """The user's account, memberships and tokens' metadata."""
        return {**self.user(user_id), "tokens": self.list_tokens(user_id)}

    # --- recovery ---------------------------------------------------------------------

    def recover(self, user: str | None = None, project: str = "default") -> tuple[str, str]:
        """Restore admin access, for the operator on the centre's host.

        Makes ``user`` (by default the oldest centre admin, or a new user 'admin'
        when there is none) a centre admin with the admin role in ``project``
        (created if missing), and issues them a token with every scope.

        Returns:
            The user's id and the new token (shown once).
        """
        with self.db.write() as conn:
            user_id: str | None
            if user is not None:
                user_id = self.user_id(conn, user)
            else:
                user_id = conn.execute(
                    sa.select(users.c.id)
                    .where(users.c.is_admin.is_(True))
                    .order_by(users.c.created_at)
                    .limit(1)
                ).scalar_one_or_none()
            if user_id is None:
                name = "admin"
                taken = conn.execute(sa.select(users.c.id).where(users.c.name == name)).first()
                if taken is not None:
                    name = f"admin-{uuid.uuid4().hex[:8]}"
                user_id, project_id = self._create(conn, name, project, Role.ADMIN, True)
            else:
                conn.execute(users.update().where(users.c.id == user_id).values(is_admin=True))
                found = conn.execute(
                    sa.select(projects.c.id).where(projects.c.name == project)
                ).scalar_one_or_none()
                project_id = str(found) if found is not None else str(uuid.uuid4())
                if found is None:
                    conn.execute(
                        projects.insert().values(
                            id=project_id, name=project, created_at=wire.utcnow()
                        )
                    )
                conn.execute(
                    memberships.delete().where(
                        memberships.c.user_id == user_id, memberships.c.project_id == project_id
                    )
                )
                conn.execute(
                    memberships.insert().values(
                        user_id=user_id, project_id=project_id, role=Role.ADMIN.value
                    )
                )
            token = self._issue(conn, user_id, project_id, "recovery", set(SCOPES))
        self.principals.forget()
        return str(user_id), token


def _within(
    parent: Principal, scopes: set[str], expires_at: dt.datetime | None
) -> dt.datetime | None:
    """The expiry of a token that ``parent`` makes, checked to stay within it.

    Raises:
        errors.Forbidden: more scopes than the parent, or a later expiry.
    """
    wider = scopes - parent.scopes
    if wider:
        raise errors.Forbidden(
            f"a token can only make tokens with its own scopes; this one lacks {sorted(wider)}",
            scope=sorted(wider)[0],
        )
    if parent.expires_at is None:
        return expires_at
    if expires_at is None:
        return parent.expires_at
    if expires_at > parent.expires_at:
        raise errors.Forbidden(
            f"this token expires at {wire.iso(parent.expires_at)}; a token it makes must expire "
            "no later (ask for a shorter expires_in_s, or leave it out to expire together)",
            expires_at=wire.iso(parent.expires_at),
        )
    return expires_at

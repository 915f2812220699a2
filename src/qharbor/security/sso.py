"""Single sign-on: users of the centre's OpenID provider, provisioned and kept in step.

A user is created on their first sign-in, keyed by the provider's subject id. On
every new token (each login and each refresh) their memberships are set to what
their groups give through the operator's :class:`~qharbor.security.groups.GroupMap`:
a user taken out of a group loses the project at their next token. For these users
the provider is the source of truth; memberships an admin gives them by hand last
only until their next token.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.security.directory import Directory, Role
from qharbor.security.groups import Access, GroupMap
from qharbor.security.identity import Principal
from qharbor.security.oidc import IdClaims, OidcConfig, ProviderClient, TokenVerifier
from qharbor.settings import Settings
from qharbor.store.tables import memberships, projects, sso_identities, tokens, users

#: Scopes of a signed-in user: everything their role allows (admin only for admins).
_USER_SCOPES = frozenset({"read", "submit"})
#: How long a token's sign-in (its database write) is reused before it is done again
#: (seconds); the token itself is verified on every request.
_CACHE_S = 30.0
_CACHE_SIZE = 4096


class SingleSignOn:
    """The centre's OpenID provider, its users and their groups.

    Args:
        directory: The users and projects.
        config: The single sign-on settings.
        group_map: Groups to projects and roles.
        provider: The provider's documents and keys (made from ``config`` if omitted).
    """

    def __init__(
        self,
        directory: Directory,
        config: OidcConfig,
        group_map: GroupMap,
        provider: ProviderClient | None = None,
    ) -> None:
        self.directory = directory
        self.config = config
        self.group_map = group_map
        self.provider = provider or ProviderClient(
            config.issuer, refresh_s=config.jwks_refresh_s, max_age_s=config.jwks_max_age_s
        )
        self.verifier = TokenVerifier(config, self.provider)
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str | None], tuple[float, Principal]] = OrderedDict()

    @classmethod
    def from_settings(cls, directory: Directory, settings: Settings) -> SingleSignOn | None:
        """Single sign-on as the settings configure it, or None when it is off."""
        config = OidcConfig.from_settings(settings)
        if config is None:
            return None
        group_map = GroupMap.load(settings.oidc_group_map, settings.oidc_group_map_file)
        return cls(directory, config, group_map)

    def close(self) -> None:
        self.provider.close()

    def authenticate(self, token: str, project: str | None = None) -> Principal:
        """The principal an ID token stands for, in ``project`` or their first project.

        Raises:
            errors.Unauthenticated: a subclass naming what is wrong with the token.
            errors.Forbidden: the user's groups give no project here, or not ``project``.
        """
        # Every request verifies the token (a key the provider withdrew, or an expiry,
        # takes effect at once); only the sign-in's database write is reused.
        claims = self.verifier.verify(token)
        key = (claims.token_id, project)
        now = time.monotonic()
        with self._lock:
            cached = self._seen.get(key)
        if cached is not None and now - cached[0] < _CACHE_S:
            return cached[1]
        principal = self.sign_in(claims, project)
        with self._lock:
            self._seen[key] = (now, principal)
            self._seen.move_to_end(key)
            while len(self._seen) > _CACHE_SIZE:
                self._seen.popitem(last=False)
        return principal

    def sign_in(self, claims: IdClaims, project: str | None = None) -> Principal:
        """Provision the user of verified claims, set their memberships from their groups,
        and return their principal.

        Raises:
            errors.Forbidden: their groups give no project here, or not ``project``.
        """
        access = self.group_map.access(claims.groups)
        with self.directory.db.write() as conn:
            user_id, user_name = self._user(conn, claims, access.is_admin)
            project_ids = self._sync(conn, user_id, access)
        # The user's role, admin right or tokens may have changed with their groups.
        self.directory.principals.forget()
        if not access.projects:
            shown = ", ".join(claims.groups) or "none"
            raise errors.Forbidden(
                f"your groups at the identity provider ({shown}) give you no project on this "
                "centre; ask its operator to map one of them (QHARBOR_OIDC_GROUP_MAP)",
                groups=list(claims.groups),
            )
        if project is None:
            name = next(iter(access.projects))
        elif project in access.projects:
            name = project
        else:
            by_id = {v: k for k, v in project_ids.items()}
            if project not in by_id:
                raise errors.Forbidden(
                    f"your groups give you no role in the project {project!r}; yours: "
                    f"{', '.join(access.projects)}",
                    project=project,
                )
            name = by_id[project]
        role = access.projects[name]
        return Principal(
            user_id=user_id,
            user_name=user_name,
            project_id=project_ids[name],
            project_name=name,
            role=role,
            is_admin=access.is_admin,
            token_id=claims.token_id,
            scopes=_USER_SCOPES | ({"admin"} if access.is_admin else set()),
            expires_at=claims.expires_at,
        )

    def _user(self, conn: sa.Connection, claims: IdClaims, is_admin: bool) -> tuple[str, str]:
        """The user's id and name, created on their first sign-in."""
        now = wire.utcnow()
        key = sa.and_(
            sso_identities.c.issuer == claims.issuer, sso_identities.c.subject == claims.subject
        )
        found = conn.execute(
            sa.select(users.c.id, users.c.name)
            .join(sso_identities, sso_identities.c.user_id == users.c.id)
            .where(key)
        ).first()
        if found is not None:
            conn.execute(sso_identities.update().where(key).values(last_seen_at=now))
            conn.execute(users.update().where(users.c.id == found.id).values(is_admin=is_admin))
            return str(found.id), str(found.name)
        name = claims.username[:100]
        taken = conn.execute(sa.select(users.c.id).where(users.c.name == name)).first()
        if taken is not None:
            # A local user (or another provider's) has the name: keep both, told apart.
            name = f"{name}-{hashlib.sha256(claims.subject.encode()).hexdigest()[:8]}"
        user_id = str(uuid.uuid4())
        conn.execute(
            users.insert().values(id=user_id, name=name, is_admin=is_admin, created_at=now)
        )
        conn.execute(
            sso_identities.insert().values(
                issuer=claims.issuer,
                subject=claims.subject,
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
            )
        )
        return user_id, name

    def _sync(self, conn: sa.Connection, user_id: str, access: Access) -> dict[str, str]:
        """Set the user's memberships to ``access``; the ids of its projects by name."""
        ids: dict[str, str] = {}
        for name in access.projects:
            found = conn.execute(
                sa.select(projects.c.id).where(projects.c.name == name)
            ).scalar_one_or_none()
            if found is None:
                found = str(uuid.uuid4())
                conn.execute(
                    projects.insert().values(id=found, name=name, created_at=wire.utcnow())
                )
            ids[name] = str(found)
        held = {
            str(row.project_id): Role(row.role)
            for row in conn.execute(
                sa.select(memberships.c.project_id, memberships.c.role).where(
                    memberships.c.user_id == user_id
                )
            )
        }
        wanted = {ids[name]: role for name, role in access.projects.items()}
        for project_id, role in held.items():
            if wanted.get(project_id) == role:
                continue
            conn.execute(
                memberships.delete().where(
                    memberships.c.user_id == user_id, memberships.c.project_id == project_id
                )
            )
            if project_id not in wanted:
                # As when an admin removes a member: their tokens there stop working.
                conn.execute(
                    tokens.update()
                    .where(
                        tokens.c.user_id == user_id,
                        tokens.c.project_id == project_id,
                        tokens.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=wire.utcnow())
                )
        for project_id, role in wanted.items():
            if held.get(project_id) != role:
                conn.execute(
                    memberships.insert().values(
                        user_id=user_id, project_id=project_id, role=role.value
                    )
                )
        return ids

"""The operator's map from identity-provider groups to projects and roles.

One mapping per entry, entries separated by commas or lines (``#`` starts a comment)::

    physics-lab=project:physics:member
    physics-leads=project:physics:project-admin
    guests=project:physics:viewer
    hpc-ops=admin

``project:NAME`` alone means the member role; ``admin`` makes the user a centre
admin (with the admin role in the project ``default``). A user in several groups
gets every project they map to, with the strongest role where two meet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qharbor import errors
from qharbor.security.directory import Role

#: Strongest first: where two groups give roles in one project, the earlier wins.
_STRENGTH = (Role.ADMIN, Role.PROJECT_ADMIN, Role.MEMBER, Role.VIEWER)
#: The project a centre admin with no other project works in.
ADMIN_PROJECT = "default"


@dataclass(frozen=True)
class Grant:
    """What one group gives: a role in a project, or centre admin (``project`` None)."""

    group: str
    project: str | None
    role: Role


@dataclass(frozen=True)
class Access:
    """What a user's groups give them together.

    Attributes:
        projects: Project name to role, in the map's order.
        is_admin: Whether they are a centre admin.
    """

    projects: dict[str, Role]
    is_admin: bool


@dataclass(frozen=True)
class GroupMap:
    """Groups to grants, in the order the operator wrote them."""

    grants: tuple[Grant, ...] = ()

    @classmethod
    def parse(cls, text: str, *, source: str = "QHARBOR_OIDC_GROUP_MAP") -> GroupMap:
        """Read mappings from text (see the module's docstring).

        Raises:
            errors.InvalidRequest: an entry that is not ``group=target``, naming the entry.
        """
        grants: list[Grant] = []
        for raw in text.replace("\n", ",").split(","):
            entry = raw.split("#", 1)[0].strip()
            if entry:
                grants.append(_grant(entry, source))
        return cls(tuple(grants))

    @classmethod
    def load(cls, inline: str | None, path: Path | None) -> GroupMap:
        """The map from the settings: the file's entries, then the inline ones."""
        text = ""
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise errors.InvalidRequest(
                    f"the group map file {path} cannot be read ({exc}); fix "
                    "QHARBOR_OIDC_GROUP_MAP_FILE",
                    field="oidc_group_map_file",
                ) from exc
        from_file = cls.parse(text, source=str(path)) if path is not None else cls()
        return cls(from_file.grants + cls.parse(inline or "").grants)

    def access(self, groups: Iterable[str]) -> Access:
        """What membership in ``groups`` gives."""
        member_of = set(groups)
        projects: dict[str, Role] = {}
        is_admin = False
        for grant in self.grants:
            if grant.group not in member_of:
                continue
            if grant.project is None:
                is_admin = True
                name, role = ADMIN_PROJECT, Role.ADMIN
            else:
                name, role = grant.project, grant.role
            held = projects.get(name)
            if held is None or _STRENGTH.index(role) < _STRENGTH.index(held):
                projects[name] = role
        return Access(projects=projects, is_admin=is_admin)


def _grant(entry: str, source: str) -> Grant:
    group, sep, target = (part.strip() for part in entry.partition("="))
    usage = (
        "write 'GROUP=project:NAME[:ROLE]' (ROLE one of "
        f"{', '.join(r.value for r in Role)}) or 'GROUP=admin'"
    )
    if not sep or not group or not target:
        raise errors.InvalidRequest(
            f"{source}: the entry {entry!r} is not GROUP=TARGET; {usage}", entry=entry
        )
    if target == "admin":
        return Grant(group, None, Role.ADMIN)
    kind, _, rest = target.partition(":")
    project, _, role = rest.partition(":")
    if kind != "project" or not project.strip():
        raise errors.InvalidRequest(f"{source}: the entry {entry!r} has no project; {usage}")
    try:
        parsed = Role(role.strip() or Role.MEMBER.value)
    except ValueError:
        raise errors.InvalidRequest(
            f"{source}: the entry {entry!r} names the unknown role {role!r}; {usage}", entry=entry
        ) from None
    return Grant(group, project.strip(), parsed)

"""A project's own members, managed by its project admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from qharbor import errors
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader, Submitter
from qharbor.api.schemas.admin import MembershipSet, ProjectPublic
from qharbor.centre import Centre
from qharbor.security.directory import Role
from qharbor.security.identity import Principal

router = APIRouter(
    prefix="/v1/project",
    tags=["project"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 413),
)

#: The roles a project admin may give; only centre admins make admins.
_GIVEN_BY_PROJECT_ADMINS = {Role.PROJECT_ADMIN, Role.MEMBER, Role.VIEWER}


def get_project_admin(principal: Submitter) -> Principal:
    """The principal, if it leads the token's project (or is a centre admin there), with
    a token that has the ``submit`` scope.

    Raises:
        errors.Forbidden: otherwise.
    """
    if principal.role not in (Role.PROJECT_ADMIN, Role.ADMIN):
        raise errors.Forbidden(
            "only the project's project-admins manage its members", role=str(principal.role)
        )
    return principal


ProjectAdmin = Annotated[Principal, Depends(get_project_admin)]


@router.get("", response_model=ProjectPublic)
def get_own_project(centre: CentreDep, principal: Reader) -> dict[str, Any]:
    """The token's project and its members."""
    return centre.identity.project(principal.project_id)


@router.put("/members/{user_id}", response_model=ProjectPublic)
def set_member_role(
    user_id: str, body: MembershipSet, centre: CentreDep, lead: ProjectAdmin
) -> dict[str, Any]:
    """Change a member's role (project-admin, member or viewer).

    New members are added by the centre's admins; a user who is not a member is
    reported as not found.
    """
    role = Role(body.role)
    if role not in _GIVEN_BY_PROJECT_ADMINS:
        raise errors.Forbidden("only the centre's admins give the admin role", role=body.role)
    member = _member(centre, lead, user_id)
    centre.identity.set_membership(lead.project_id, member, role)
    centre.audit.record(
        "project.member.set",
        actor_id=lead.user_id,
        project_id=lead.project_id,
        token_id=lead.token_id,
        target=f"user:{member}",
        detail={"role": body.role},
    )
    return centre.identity.project(lead.project_id)


@router.delete("/members/{user_id}", response_model=ProjectPublic)
def remove_member(user_id: str, centre: CentreDep, lead: ProjectAdmin) -> dict[str, Any]:
    """Remove a member from the project; their tokens for it are revoked at once."""
    member = _member(centre, lead, user_id)
    centre.identity.set_membership(lead.project_id, member, None)
    centre.audit.record(
        "project.member.remove",
        actor_id=lead.user_id,
        project_id=lead.project_id,
        token_id=lead.token_id,
        target=f"user:{member}",
    )
    return centre.identity.project(lead.project_id)


def _member(centre: Centre, lead: Principal, user_id: str) -> str:
    """The id of a member of the lead's project, given by id or name.

    Raises:
        errors.UserNotFound: no such member (other users are not revealed).
    """
    members = centre.identity.project(lead.project_id)["members"]
    for member in members:
        if user_id in (member["id"], member["name"]):
            if member["role"] == Role.ADMIN.value and lead.role is not Role.ADMIN:
                raise errors.Forbidden("a centre admin's membership is changed by admins only")
            return str(member["id"])
    raise errors.UserNotFound(f"no member {user_id!r} in your project")

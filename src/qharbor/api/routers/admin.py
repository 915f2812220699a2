"""Centre administration: users, projects, memberships, tokens, quotas, the audit log.

Every route needs a centre admin's token with the ``admin`` scope, and every
change is recorded in the audit log with what changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from qharbor.api import bounds
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, CurrentAdmin
from qharbor.api.schemas.admin import (
    AuditPage,
    ExecutorPublic,
    MembershipSet,
    ProjectCreate,
    ProjectList,
    ProjectPublic,
    QuotaPublic,
    QuotaSet,
    UserCreate,
    UserList,
    UserPublic,
)
from qharbor.api.schemas.tokens import AdminTokenCreate, TokenIssued, TokenList, TokenPublic
from qharbor.centre import Centre
from qharbor.security.directory import Role
from qharbor.security.identity import Principal
from qharbor.security.quotas import DeviceClass, Period

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    responses=api_errors.responses(*api_errors.AUTHENTICATED, 404, 409, 413),
)


def _audit(centre: Centre, admin: Principal, action: str, target: str, **detail: Any) -> None:
    centre.audit.record(
        action,
        actor_id=admin.user_id,
        project_id=admin.project_id,
        token_id=admin.token_id,
        target=target,
        detail=detail,
    )


@router.get("/users", response_model=UserList)
def list_users(centre: CentreDep, _admin: CurrentAdmin) -> dict[str, Any]:
    """Every user, with their projects and roles."""
    return {"users": centre.identity.list_users()}


@router.post("/users", status_code=201, response_model=UserPublic)
def create_user(body: UserCreate, centre: CentreDep, admin: CurrentAdmin) -> dict[str, Any]:
    """A new user; with ``project``, also a member of it. Issue a token separately."""
    if body.project is not None:
        centre.identity.project(body.project)  # refuse an unknown project before any change
    user = centre.identity.add_user(body.name, is_admin=body.is_admin)
    _audit(centre, admin, "admin.user.create", f"user:{user['id']}", is_admin=body.is_admin)
    if body.project is not None:
        centre.identity.set_membership(body.project, user["id"], Role(body.role))
        _audit(
            centre,
            admin,
            "admin.member.set",
            f"user:{user['id']}",
            project=body.project,
            role=body.role,
        )
        user = centre.identity.user(user["id"])
    return user


@router.get("/users/{user_id}", response_model=UserPublic)
def get_user(user_id: str, centre: CentreDep, _admin: CurrentAdmin) -> dict[str, Any]:
    """One user, by id or name."""
    return centre.identity.user(user_id)


@router.get("/projects", response_model=ProjectList)
def list_projects(centre: CentreDep, _admin: CurrentAdmin) -> dict[str, Any]:
    """Every project, with its members."""
    return {"projects": centre.identity.list_projects()}


@router.post("/projects", status_code=201, response_model=ProjectPublic)
def create_project(body: ProjectCreate, centre: CentreDep, admin: CurrentAdmin) -> dict[str, Any]:
    """A new project."""
    project = centre.identity.add_project(body.name)
    if body.max_concurrent_jobs is not None:
        centre.quotas.set_max_concurrent_jobs(project["id"], body.max_concurrent_jobs)
    _audit(
        centre,
        admin,
        "admin.project.create",
        f"project:{project['id']}",
        max_concurrent_jobs=body.max_concurrent_jobs,
    )
    return centre.identity.project(project["id"])


@router.get("/projects/{project_id}", response_model=ProjectPublic)
def get_project(project_id: str, centre: CentreDep, _admin: CurrentAdmin) -> dict[str, Any]:
    """One project, by id or name."""
    return centre.identity.project(project_id)


@router.put("/projects/{project_id}/members/{user_id}", response_model=ProjectPublic)
def set_member(
    project_id: str, user_id: str, body: MembershipSet, centre: CentreDep, admin: CurrentAdmin
) -> dict[str, Any]:
    """Add a user to a project, or change their role in it."""
    centre.identity.set_membership(project_id, user_id, Role(body.role))
    project = centre.identity.project(project_id)
    user = centre.identity.user(user_id)
    _audit(
        centre,
        admin,
        "admin.member.set",
        f"user:{user['id']}",
        project=project["id"],
        role=body.role,
    )
    return project


@router.delete("/projects/{project_id}/members/{user_id}", response_model=ProjectPublic)
def remove_member(
    project_id: str, user_id: str, centre: CentreDep, admin: CurrentAdmin
) -> dict[str, Any]:
    """Remove a user from a project; their tokens for it are revoked at once."""
    user = centre.identity.user(user_id)
    centre.identity.set_membership(project_id, user_id, None)
    project = centre.identity.project(project_id)
    _audit(centre, admin, "admin.member.remove", f"user:{user['id']}", project=project["id"])
    return project


@router.get("/projects/{project_id}/quota", response_model=QuotaPublic)
def get_quota(project_id: str, centre: CentreDep, _admin: CurrentAdmin) -> dict[str, Any]:
    """The project's limits, with what is used and reserved this period."""
    return centre.quotas.standing(centre.identity.project(project_id)["id"])


@router.put("/projects/{project_id}/quota", response_model=QuotaPublic)
def set_quota(
    project_id: str, body: QuotaSet, centre: CentreDep, admin: CurrentAdmin
) -> dict[str, Any]:
    """Set the project's limits. Fields left out stay as they are; null removes a limit."""
    project = centre.identity.project(project_id)["id"]
    given = body.model_fields_set
    if "max_concurrent_jobs" in given:
        centre.quotas.set_max_concurrent_jobs(project, body.max_concurrent_jobs)
    for klass in DeviceClass:
        if klass.value in given:
            budget = getattr(body, klass.value)
            centre.quotas.set_budget(
                project,
                klass,
                budget.budget_s if budget else None,
                Period(budget.period) if budget else Period.MONTH,
            )
    _audit(
        centre,
        admin,
        "admin.quota.set",
        f"project:{project}",
        **body.model_dump(include=given, mode="json"),
    )
    return centre.quotas.standing(project)


@router.get("/tokens", response_model=TokenList)
def list_tokens(
    centre: CentreDep,
    _admin: CurrentAdmin,
    user: Annotated[str | None, Query(description="Only this user's (id or name).")] = None,
) -> dict[str, Any]:
    """Tokens' metadata, newest first. Tokens themselves are never shown again."""
    user_id = centre.identity.user(user)["id"] if user else None
    return {"tokens": centre.identity.list_tokens(user_id)}


@router.post("/tokens", status_code=201, response_model=TokenIssued)
def create_token(body: AdminTokenCreate, centre: CentreDep, admin: CurrentAdmin) -> dict[str, Any]:
    """A token for a member of a project. The answer is the only time it is shown.

    An admin-scoped token stays within the admin token that makes it: no scope it lacks,
    and no later expiry.
    """
    expires_at = (
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=body.expires_in_s)
        if body.expires_in_s
        else None
    )
    meta, token = centre.identity.issue_token(
        body.user,
        body.project,
        name=body.name,
        scopes=set(body.scopes),
        expires_at=expires_at,
        within=admin if "admin" in body.scopes else None,
    )
    _audit(
        centre,
        admin,
        "admin.token.create",
        f"user:{meta['user_id']}",
        token=meta["id"],
        project=meta["project_id"],
        scopes=meta["scopes"],
    )
    return {**meta, "token": token}


@router.post("/tokens/{token_id}/revoke", response_model=TokenPublic)
def revoke_token(token_id: str, centre: CentreDep, admin: CurrentAdmin) -> dict[str, Any]:
    """Revoke a token; the next request with it is refused."""
    meta = centre.identity.revoke_token(token_id)
    _audit(centre, admin, "admin.token.revoke", f"user:{meta['user_id']}", token=token_id)
    return meta


@router.get("/audit", response_model=AuditPage)
def audit(
    centre: CentreDep,
    _admin: CurrentAdmin,
    actor: Annotated[str | None, Query(description="Only entries by this user id.")] = None,
    action: Annotated[str | None, Query(description="e.g. http.write, result.read")] = None,
    project: Annotated[str | None, Query(description="Only entries in this project id.")] = None,
    target: Annotated[str | None, Query(description="e.g. user:ID or /v1/jobs/ID")] = None,
    before: Annotated[int | None, Query(ge=1, le=bounds.INT32_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The audit log, newest first. It can be read, never changed."""
    entries, next_before = centre.audit.query(
        actor_id=actor,
        action=action,
        project_id=project,
        target=target,
        before=before,
        limit=limit,
    )
    return {"entries": entries, "next_before": next_before}


@router.get("/executor", response_model=ExecutorPublic)
def executor(centre: CentreDep, _admin: CurrentAdmin) -> dict[str, Any]:
    """The executor on this API process: its workers and what they run, and for Ray the
    cluster's nodes as last seen."""
    return centre.executor_report().to_json()

"""The admin routes (``/v1/admin``), for a centre admin's token with the admin scope."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from qharbor.client.rest import RestSession


def _segment(value: str) -> str:
    """``value`` quoted as one URL path segment, so ids cannot change the route."""
    return quote(str(value), safe="")


class AdminClient:
    """Users, projects, memberships, tokens, quotas and the audit log.

    Users and projects may be named by id or by name wherever one is expected.

    Args:
        session: The HTTP session of an admin's token.
    """

    def __init__(self, session: RestSession) -> None:
        self.session = session

    def users_list(self) -> list[dict[str, Any]]:
        """``GET /v1/admin/users``."""
        return list(self.session.get("/v1/admin/users")["users"])

    def user_create(
        self, name: str, *, project: str | None = None, role: str = "member", is_admin: bool = False
    ) -> dict[str, Any]:
        """``POST /v1/admin/users``: a user, and with ``project`` a member of it."""
        body = {"name": name, "project": project, "role": role, "is_admin": is_admin}
        return dict(self.session.post("/v1/admin/users", json=body))

    def projects_list(self) -> list[dict[str, Any]]:
        """``GET /v1/admin/projects``."""
        return list(self.session.get("/v1/admin/projects")["projects"])

    def project_create(self, name: str, max_concurrent_jobs: int | None = None) -> dict[str, Any]:
        """``POST /v1/admin/projects``."""
        body = {"name": name, "max_concurrent_jobs": max_concurrent_jobs}
        return dict(self.session.post("/v1/admin/projects", json=body))

    def member_set(self, project: str, user: str, role: str) -> dict[str, Any]:
        """``PUT /v1/admin/projects/{project}/members/{user}``: add or change a member."""
        path = f"/v1/admin/projects/{_segment(project)}/members/{_segment(user)}"
        return dict(self.session.request("PUT", path, json={"role": role}, idempotent=True))

    def member_remove(self, project: str, user: str) -> dict[str, Any]:
        """``DELETE /v1/admin/projects/{project}/members/{user}``; revokes their tokens there."""
        path = f"/v1/admin/projects/{_segment(project)}/members/{_segment(user)}"
        return dict(self.session.request("DELETE", path, idempotent=True))

    def quota_get(self, project: str) -> dict[str, Any]:
        """``GET /v1/admin/projects/{project}/quota``."""
        return dict(self.session.get(f"/v1/admin/projects/{_segment(project)}/quota"))

    def quota_set(self, project: str, **limits: Any) -> dict[str, Any]:
        """``PUT /v1/admin/projects/{project}/quota``.

        Args:
            project: The project's id or name.
            **limits: ``max_concurrent_jobs`` (int or None), and ``simulator`` or
                ``qpu`` as ``{"budget_s": ..., "period": "day" | "week" | "month"}``
                or None to remove that budget.
        """
        path = f"/v1/admin/projects/{_segment(project)}/quota"
        return dict(self.session.request("PUT", path, json=limits, idempotent=True))

    def tokens_list(self, user: str | None = None) -> list[dict[str, Any]]:
        """``GET /v1/admin/tokens``: metadata only."""
        return list(self.session.get("/v1/admin/tokens", params={"user": user})["tokens"])

    def token_create(
        self,
        user: str,
        project: str,
        *,
        name: str = "token",
        scopes: list[str] | None = None,
        expires_in_s: float | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/admin/tokens``: the answer's ``token`` is shown only this once."""
        body: dict[str, Any] = {"user": user, "project": project, "name": name}
        if scopes is not None:
            body["scopes"] = scopes
        if expires_in_s is not None:
            body["expires_in_s"] = expires_in_s
        return dict(self.session.post("/v1/admin/tokens", json=body))

    def token_revoke(self, token_id: str) -> dict[str, Any]:
        """``POST /v1/admin/tokens/{id}/revoke``: refused from the next request on."""
        path = f"/v1/admin/tokens/{_segment(token_id)}/revoke"
        return dict(self.session.post(path, idempotent=True))

    def audit_list(self, **filters: Any) -> dict[str, Any]:
        """``GET /v1/admin/audit``: ``entries`` newest first, and ``next_before``.

        Args:
            **filters: ``actor``, ``action``, ``project``, ``target``, ``before``, ``limit``.
        """
        return dict(self.session.get("/v1/admin/audit", params=filters))

"""Every route declares the scope it needs, or is explicitly public."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from qharbor.api.app import create_app
from qharbor.api.deps import RequireScope, get_principal
from qharbor.settings import Settings

#: Routes any caller may use without a token.
PUBLIC = {
    ("GET", "/v1/health"),
    ("GET", "/v1/keys"),
    # Single sign-on: how a caller gets a token in the first place.
    ("GET", "/auth/sso"),
    ("GET", "/auth/login"),
    ("GET", "/auth/callback"),
    ("POST", "/auth/logout"),
    # The console's pages are one static shell; its login checks the token it is given.
    *(("GET", p) for p in ("/", "/login", "/jobs", "/devices", "/usage", "/operators")),
    ("GET", "/jobs/{job_id}"),
    ("GET", "/devices/{name}"),
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
    ("GET", "/v1/health/live"),
    ("GET", "/v1/health/ready"),
}
#: Routes any valid token may use, whatever its scopes.
ANY_TOKEN = {("GET", "/v1/me")}
#: Routes that change keys, tokens or membership: never with a read-only token.
ACCOUNT_CHANGES = {
    ("POST", "/v1/me/keys"): "submit",
    ("DELETE", "/v1/me/keys"): "submit",
    ("POST", "/v1/me/tokens"): "submit",
    ("POST", "/v1/me/tokens/{token_id}/revoke"): "submit",
    ("DELETE", "/v1/me"): "submit",
    ("PUT", "/v1/project/members/{user_id}"): "submit",
    ("DELETE", "/v1/project/members/{user_id}"): "submit",
}


def requirements(dependant: Dependant) -> list[RequireScope]:
    found = [dependant.call] if isinstance(dependant.call, RequireScope) else []
    for sub in dependant.dependencies:
        found += requirements(sub)
    return found


def authenticates(dependant: Dependant) -> bool:
    return dependant.call is get_principal or any(authenticates(d) for d in dependant.dependencies)


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's routes, including those of the routers it includes."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            found += api_routes(included.routes)
    return found


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, APIRoute]]:
    """Every operation of one app (built once: the app is not started)."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("scopes")))
    found = [
        (method, route.path, route)
        for route in api_routes(app.routes)
        for method in sorted(route.methods)
    ]
    # The walk saw every operation the app serves (as its OpenAPI document lists them).
    documented = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert documented <= {(method, path) for method, path, _ in found}
    return found


def test_every_route_declares_a_scope_or_is_explicitly_public(
    ops: list[tuple[str, str, APIRoute]],
) -> None:
    seen = set()
    for method, path, route in ops:
        seen.add((method, path))
        needed = {r.scope for r in requirements(route.dependant)}
        if (method, path) in PUBLIC:
            assert not authenticates(route.dependant), f"{method} {path} is public"
        elif (method, path) in ANY_TOKEN:
            assert needed == {None}, f"{method} {path}: {needed}"
        else:
            assert needed - {None}, f"{method} {path} declares no scope"
            # Writes never get by with the read scope alone.
            if method not in ("GET", "HEAD"):
                assert needed & {"submit", "admin"}, f"{method} {path} needs only {needed}"
    assert PUBLIC | ANY_TOKEN | set(ACCOUNT_CHANGES) <= seen


@pytest.mark.parametrize(("operation", "scope"), sorted(ACCOUNT_CHANGES.items()))
def test_keys_tokens_and_membership_change_only_with_the_submit_scope(
    ops: list[tuple[str, str, APIRoute]], operation: tuple[str, str], scope: str
) -> None:
    [route] = [r for m, p, r in ops if (m, p) == operation]
    assert scope in {r.scope for r in requirements(route.dependant)}


def test_admin_routes_need_the_admin_scope(ops: list[tuple[str, str, APIRoute]]) -> None:
    admin = [(m, p, r) for m, p, r in ops if p.startswith("/v1/admin")]
    assert len(admin) > 10
    for method, path, route in admin:
        assert "admin" in {r.scope for r in requirements(route.dependant)}, (method, path)

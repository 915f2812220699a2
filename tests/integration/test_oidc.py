"""Single sign-on against a real OpenID provider (``oidc-provider`` on Node.js).

Both flows (the console's code flow with PKCE, the CLI's device grant), key rotation,
expiry, group removal, and the tokens the centre must refuse: another issuer's, one
for another audience, one with ``alg: none``.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qharbor.client import HarborService
from tests.integration.conftest import start_centre
from tests.integration.oidc.provider import Browser, TestProvider, env_without_account

GROUP_MAP = "physics-lab=project:physics:member,guests=project:physics:viewer,hpc-ops=admin"


@pytest.fixture(scope="module")
def provider() -> Iterator[TestProvider]:
    started = TestProvider()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def centre(module_database_kind: str, provider: TestProvider) -> Iterator[str]:
    """A centre that trusts the provider; its URL."""
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre(
            module_database_kind,
            Path(tmp),
            workers=1,
            oidc_issuer=provider.issuer,
            oidc_client_id="qharbor-console",
            oidc_client_secret="console-secret",
            oidc_cli_client_id="qharbor-cli",
            oidc_group_map=GROUP_MAP,
            oidc_leeway_seconds=0,
            oidc_jwks_refresh_seconds=0,
        )
        provider.allow_redirect(server.url + "/auth/callback")
        try:
            yield server.url
        finally:
            server.stop()
            if schema is not None:
                schema.drop()


@pytest.fixture(autouse=True)
def _fresh_provider(provider: TestProvider) -> None:
    provider.reset()


def call(centre: str, token: str, path: str = "/v1/me") -> httpx.Response:
    return httpx.get(centre + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


# --- the console: authorization code with PKCE ------------------------------------------


def test_console_login_sets_an_httponly_session_cookie_that_authenticates(
    centre: str, provider: TestProvider
) -> None:
    callbacks: list[httpx.Response] = []

    def record(response: httpx.Response) -> None:
        if response.url.path == "/auth/callback":
            callbacks.append(response)

    with Browser(event_hooks={"response": [record]}) as browser:
        # The provider gets a PKCE challenge and a nonce from the centre.
        started = browser.http.get(centre + "/auth/login", follow_redirects=False)
        query = httpx.URL(started.headers["location"]).params
        assert query["code_challenge_method"] == "S256" and query["nonce"]
        page = browser.get(centre + "/auth/login?next=/v1/me")
        page = browser.sign_in(page, "alice")
        assert page.status_code == 200, page.text
        me = page.json()
        assert (me["user"], me["project"], me["role"]) == ("alice", "physics", "member")
        cookie = callbacks[-1].headers["set-cookie"].lower()
        assert "qh_session=" in cookie and "httponly" in cookie
        assert "samesite=strict" in cookie and "path=/" in cookie
        # Plain HTTP here; under TLS the cookie is also Secure.
        assert "secure" not in cookie
        assert browser.http.cookies.get("qh_session")
        assert browser.http.get(centre + "/v1/devices").status_code == 200
        logged_out = browser.http.post(centre + "/auth/logout")
        assert logged_out.status_code == 204
        assert browser.http.get(centre + "/v1/me").status_code == 401


def test_a_forged_callback_is_refused_without_a_login(centre: str) -> None:
    with Browser() as browser:
        browser.http.get(centre + "/auth/login", follow_redirects=False)
        forged = browser.http.get(centre + "/auth/callback", params={"state": "x", "code": "y"})
    assert forged.status_code == 400
    assert error_code(forged) == "SSO_FAILED"
    assert "qh_session" not in forged.headers.get("set-cookie", "")
    without_cookie = httpx.get(centre + "/auth/callback", params={"state": "x", "code": "y"})
    assert (without_cookie.status_code, error_code(without_cookie)) == (400, "SSO_FAILED")


# --- the CLI: device grant --------------------------------------------------------------


def test_cli_sso_login_prints_a_code_and_saves_private_tokens(
    centre: str, provider: TestProvider, tmp_path: Path
) -> None:
    accounts = tmp_path / "cli-accounts.json"
    env = {**env_without_account(), "QHARBOR_ACCOUNT_FILE": str(accounts), "COLUMNS": "200"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    cli = subprocess.Popen(
        [sys.executable, "-c", "from qharbor.cli import main; main()", "login", "--sso", centre],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert cli.stdout is not None
        link = ""
        printed = ""
        while not link:
            line = cli.stdout.readline()
            assert line, f"the CLI printed no link: {printed}"
            printed += line
            words = [w for w in line.split() if w.startswith("http")]
            link = words[0] if words else ""
        with Browser() as browser:
            browser.approve_device(link, "alice")
        rest, _ = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, printed + rest
    assert "code" in printed and "alice" in rest
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    saved = json.loads(accounts.read_text())["accounts"]["default"]
    assert saved["sso"]["refresh_token"] and saved["token"] == saved["sso"]["id_token"]
    with HarborService(account_file=accounts) as service:
        assert service.me()["user"] == "alice"


def test_group_removal_loses_access_at_the_next_refresh(
    centre: str, provider: TestProvider, tmp_path: Path
) -> None:
    from qharbor.client.accounts import save_account
    from qharbor.client.sso import SsoTokens

    provider.set_ttl(IdToken=4)
    tokens = provider.device_tokens("alice")
    claims = claims_of(tokens["id_token"])
    sso = SsoTokens(
        issuer=provider.issuer,
        client_id="qharbor-cli",
        token_endpoint=provider.issuer + "/token",
        id_token=tokens["id_token"],
        refresh_token=tokens["refresh_token"],
        issued_at=claims["iat"],
        expires_at=claims["exp"],
    )
    accounts = tmp_path / "accounts.json"
    save_account(centre, sso.id_token, path=accounts, sso=sso.to_json())
    with HarborService(account_file=accounts) as service:
        assert service.me()["project"] == "physics"
        provider.set_groups("alice", [])
        # The token in hand still says physics-lab until it is refreshed.
        assert service.me()["project"] == "physics"
        while not sso.needs_refresh(time.time()):
            time.sleep(0.2)
        # The client refreshes before expiry; the new token has no group.
        with pytest.raises(Exception) as refused:
            service.me()
    assert getattr(refused.value, "code", None) == "FORBIDDEN", refused.value
    saved = json.loads(accounts.read_text())["accounts"]["default"]
    assert saved["token"] != sso.id_token
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    provider.set_groups("alice", ["physics-lab"])


# --- keys, expiry, and the tokens to refuse ---------------------------------------------


def test_keys_rotate_without_a_restart(centre: str, provider: TestProvider) -> None:
    before = provider.device_tokens("alice")["id_token"]
    assert call(centre, before).status_code == 200
    rotated = provider.rotate_keys()
    assert (
        json.loads(base64.urlsafe_b64decode(before.split(".")[0] + "=="))["kid"] in (rotated["old"])
    )
    # A token with the new key id makes the centre read the keys again ...
    after = provider.device_tokens("alice")["id_token"]
    assert call(centre, after).status_code == 200
    # ... and the withdrawn key is gone with that.
    stale = call(centre, before)
    assert (stale.status_code, error_code(stale)) == (401, "TOKEN_UNKNOWN_KEY")
    assert "sign in again" in stale.json()["error"]["message"]


def test_an_expired_token_is_refused_as_expired(centre: str, provider: TestProvider) -> None:
    provider.set_ttl(IdToken=1)
    token = provider.device_tokens("alice")["id_token"]
    while time.time() < claims_of(token)["exp"] + 0.1:
        time.sleep(0.2)
    refused = call(centre, token)
    assert (refused.status_code, error_code(refused)) == (401, "TOKEN_EXPIRED")
    assert "expired" in refused.json()["error"]["message"]


def test_a_token_from_another_issuer_is_refused(centre: str, provider: TestProvider) -> None:
    token = provider.device_tokens("alice", issuer=provider.other_issuer)["id_token"]
    refused = call(centre, token)
    assert (refused.status_code, error_code(refused)) == (401, "TOKEN_WRONG_ISSUER")


def test_a_token_for_another_application_is_refused(centre: str, provider: TestProvider) -> None:
    token = provider.device_tokens("alice", client_id="other-app")["id_token"]
    refused = call(centre, token)
    assert (refused.status_code, error_code(refused)) == (401, "TOKEN_WRONG_AUDIENCE")
    assert "other-app" in refused.json()["error"]["message"]


def test_unsigned_and_tampered_tokens_are_refused(centre: str, provider: TestProvider) -> None:
    good = provider.device_tokens("alice")["id_token"]
    header, payload, signature = good.split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    unsigned = call(centre, f"{none_header}.{payload}.")
    assert (unsigned.status_code, error_code(unsigned)) == (401, "TOKEN_ALGORITHM")
    claims = {**claims_of(good), "groups": ["hpc-ops"]}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    tampered = call(centre, f"{header}.{forged}.{signature}")
    assert (tampered.status_code, error_code(tampered)) == (401, "TOKEN_INVALID")
    garbage = call(centre, "not.a.jwt")
    assert (garbage.status_code, error_code(garbage)) == (401, "TOKEN_INVALID")


def test_groups_give_roles_and_api_tokens_still_work(centre: str, provider: TestProvider) -> None:
    viewer = provider.device_tokens("bob")["id_token"]
    assert call(centre, viewer).json()["role"] == "viewer"
    submit = httpx.post(
        centre + "/v1/jobs",
        json={"device": "statevector", "programs": ["OPENQASM 2.0;"], "shots": 1},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert submit.status_code == 403
    admin = provider.device_tokens("carol")["id_token"]
    assert call(centre, admin).json()["is_admin"] is True
    users = call(centre, admin, "/v1/admin/users").json()
    names = {u["name"] for u in (users["users"] if isinstance(users, dict) else users)}
    assert {"alice", "bob", "carol", "admin"} <= names

"""The console's login: OpenID Connect's authorization-code flow with PKCE.

:func:`start` makes a :class:`LoginRequest` (state, nonce, PKCE verifier, where to go
after) and the provider's authorization URL; the request travels in a short-lived,
HMAC-sealed cookie so any API process of the centre can finish the login.
:func:`finish` checks the state, exchanges the code (with the verifier) at the
provider's token endpoint, and verifies the ID token with the nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from qharbor import errors
from qharbor.security.identity import Principal
from qharbor.security.sso import SingleSignOn

#: How long a login may take at the provider (seconds): the login cookie's life.
LOGIN_TTL_S = 600
#: A per-process key for login cookies when the client has no secret to derive one from.
_PROCESS_KEY = secrets.token_bytes(32)


@dataclass(frozen=True)
class LoginRequest:
    """One login in progress.

    Attributes:
        state: Sent to the provider and back; binds the callback to this browser.
        nonce: Must come back inside the ID token.
        verifier: The PKCE code verifier (its S256 hash went to the provider).
        next: The centre's path to return to afterwards.
    """

    state: str
    nonce: str
    verifier: str
    next: str

    def seal(self, key: bytes) -> str:
        """The request as a cookie value, MAC'd with ``key``."""
        body = base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()
        return body + "." + _mac(key, body)

    @classmethod
    def open(cls, key: bytes, value: str | None) -> LoginRequest:
        """The request from a cookie value.

        Raises:
            errors.SsoFailed: no cookie, or one that was altered.
        """
        body, _, mac = (value or "").partition(".")
        if not body or not hmac.compare_digest(mac, _mac(key, body)):
            raise errors.SsoFailed(
                "this browser has no login in progress (its login cookie is missing, expired "
                "or altered); start again at /auth/login"
            )
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
        return cls(**{k: str(data[k]) for k in ("state", "nonce", "verifier", "next")})


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def cookie_key(sso: SingleSignOn) -> bytes:
    """The key that seals login cookies: from the client secret, so every API process
    of the centre shares it; a per-process key for a public client."""
    secret = sso.config.client_secret
    if not secret:
        return _PROCESS_KEY
    return hashlib.sha256(b"qharbor-login-cookie\0" + secret.encode()).digest()


def safe_next(path: str | None) -> str:
    """A path on this centre to return to; anything else (another site) becomes ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def start(sso: SingleSignOn, redirect_uri: str, next_path: str | None) -> tuple[str, LoginRequest]:
    """Begin a login: the provider's authorization URL to send the browser to.

    Raises:
        errors.IdentityProviderUnavailable: the provider's discovery document is unreadable.
    """
    login = LoginRequest(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        next=safe_next(next_path),
    )
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(login.verifier.encode()).digest())
        .decode()
        .rstrip("=")
    )
    query = {
        "response_type": "code",
        "client_id": sso.config.client_id,
        "redirect_uri": redirect_uri,
        "scope": sso.config.scopes,
        "state": login.state,
        "nonce": login.nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    # Refresh tokens need consent at some providers; the console does not use them.
    if "offline_access" in sso.config.scopes.split():
        query["prompt"] = "consent"
    endpoint = sso.provider.endpoint("authorization_endpoint")
    joiner = "&" if "?" in endpoint else "?"
    return endpoint + joiner + urllib.parse.urlencode(query), login


def finish(
    sso: SingleSignOn,
    login: LoginRequest,
    *,
    state: str | None,
    code: str | None,
    redirect_uri: str,
    project: str | None = None,
) -> tuple[str, Principal]:
    """Complete a login: the verified ID token and the principal it stands for.

    Raises:
        errors.SsoFailed: the state does not match, or the provider refused the code.
        errors.Unauthenticated: the ID token does not verify (a subclass says why).
        errors.Forbidden: the user's groups give them no project here.
    """
    if not state or not hmac.compare_digest(state, login.state):
        raise errors.SsoFailed(
            "the login's state does not match this browser's (a forged or stale callback); "
            "start again at /auth/login"
        )
    if not code:
        raise errors.SsoFailed("the provider sent no authorization code; start again")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": login.verifier,
        "client_id": sso.config.client_id,
    }
    auth = None
    if sso.config.client_secret:
        auth = httpx.BasicAuth(
            urllib.parse.quote(sso.config.client_id, safe=""),
            urllib.parse.quote(sso.config.client_secret, safe=""),
        )
    answer = sso.provider.post_form(sso.provider.endpoint("token_endpoint"), form, auth=auth)
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise errors.SsoFailed(
            f"the provider did not exchange the code for an ID token "
            f"({answer.get('error_description') or answer.get('error') or 'no id_token'}); "
            "start again",
            provider_error=answer.get("error"),
        )
    claims = sso.verifier.verify(id_token, nonce=login.nonce)
    return id_token, sso.sign_in(claims, project)

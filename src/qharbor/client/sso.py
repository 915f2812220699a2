"""Signing in through a centre's OpenID provider: the device authorization grant, and
keeping the ID token fresh.

``qharbor login --sso URL`` asks the centre where its provider is (``GET /auth/sso``),
starts the device grant there, prints the code and the link, and polls until the
user has approved. The ID token (the bearer token the centre checks) and the refresh
token go into the account file (mode 0600). :class:`SsoAuth` refreshes them before
the ID token expires, and once more if the centre still answers ``TOKEN_EXPIRED``,
writing the new tokens back to the account file.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from qharbor import errors
from qharbor.client.accounts import update_account_sso

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Refresh when less than this is left of the ID token (seconds), or half its life if less.
REFRESH_MARGIN_S = 60.0


@dataclass(frozen=True)
class SsoTokens:
    """What a sign-in left: the tokens and where to refresh them.

    Attributes:
        issuer: The provider.
        client_id: The public client the tokens were issued to.
        token_endpoint: Where to refresh them.
        id_token: The bearer token for the centre.
        refresh_token: Gets a new ID token; None if the provider gave none.
        issued_at: When the ID token was issued (Unix seconds).
        expires_at: When the ID token expires (Unix seconds).
    """

    issuer: str
    client_id: str
    token_endpoint: str
    id_token: str
    refresh_token: str | None
    issued_at: float
    expires_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SsoTokens:
        return cls(
            issuer=str(data["issuer"]),
            client_id=str(data["client_id"]),
            token_endpoint=str(data["token_endpoint"]),
            id_token=str(data["id_token"]),
            refresh_token=data.get("refresh_token"),
            issued_at=float(data.get("issued_at", 0)),
            expires_at=float(data["expires_at"]),
        )

    def needs_refresh(self, now: float) -> bool:
        """Whether the ID token is close enough to its expiry to refresh it now."""
        margin = min(REFRESH_MARGIN_S, (self.expires_at - self.issued_at) / 2)
        return self.expires_at - now <= margin

    def __repr__(self) -> str:
        return f"SsoTokens(issuer={self.issuer!r}, expires_at={self.expires_at}, tokens='***')"


@dataclass(frozen=True)
class DeviceCode:
    """A device grant in progress: what the user must do, and how to wait for it.

    Attributes:
        user_code: The code the user confirms at the provider.
        verification_uri: Where to enter it.
        verification_uri_complete: The same page with the code filled in, if offered.
        device_code: The secret the CLI polls with.
        interval_s: Seconds between polls.
        expires_in_s: Seconds until the code lapses.
    """

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    device_code: str
    interval_s: float
    expires_in_s: float


def _claims(id_token: str) -> dict[str, Any]:
    """The ID token's claims, unverified: the client only reads its times (the centre
    verifies the token)."""
    try:
        payload = id_token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise errors.Unauthenticated("the provider's ID token is not a JWT") from exc
    return data if isinstance(data, dict) else {}


def _post(http: httpx.Client, url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        response = http.post(url, data=form)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise errors.ConnectionFailed(
            f"the identity provider did not answer {url} ({exc})", url=url
        ) from exc
    return response.status_code, body if isinstance(body, dict) else {}


def _tokens(config: dict[str, Any], answer: dict[str, Any], old: str | None) -> SsoTokens:
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise errors.Unauthenticated(
            "the identity provider gave no ID token; ask for the 'openid' scope"
        )
    claims = _claims(id_token)
    now = time.time()
    return SsoTokens(
        issuer=str(config["issuer"]),
        client_id=str(config["client_id"]),
        token_endpoint=str(config["token_endpoint"]),
        id_token=id_token,
        refresh_token=answer.get("refresh_token") or old,
        issued_at=float(claims.get("iat", now)),
        expires_at=float(claims.get("exp", now)),
    )


class DeviceLogin:
    """The device authorization grant against a centre's provider.

    Args:
        config: The centre's ``GET /auth/sso`` answer.
        http: The HTTP client for the provider.
    """

    def __init__(self, config: dict[str, Any], http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http or httpx.Client(timeout=30.0)

    def close(self) -> None:
        self._http.close()

    def start(self) -> DeviceCode:
        """Ask the provider for a device code.

        Raises:
            errors.Unauthenticated: the provider refused (e.g. the client has no device grant).
        """
        status, body = _post(
            self._http,
            str(self.config["device_authorization_endpoint"]),
            {"client_id": str(self.config["client_id"]), "scope": str(self.config["scopes"])},
        )
        if status != 200 or "device_code" not in body:
            raise errors.Unauthenticated(
                "the identity provider refused to start a device login "
                f"({body.get('error_description') or body.get('error') or status})"
            )
        return DeviceCode(
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            device_code=str(body["device_code"]),
            interval_s=float(body.get("interval", 5)),
            expires_in_s=float(body.get("expires_in", 600)),
        )

    def wait(
        self,
        code: DeviceCode,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> SsoTokens:
        """Poll until the user approves (or denies, or the code lapses).

        Raises:
            errors.Unauthenticated: denied, or the code expired.
        """
        deadline = clock() + code.expires_in_s
        interval = code.interval_s
        form = {
            "grant_type": DEVICE_GRANT,
            "device_code": code.device_code,
            "client_id": str(self.config["client_id"]),
        }
        while True:
            status, body = _post(self._http, str(self.config["token_endpoint"]), form)
            if status == 200:
                return _tokens(self.config, body, None)
            error = body.get("error")
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                raise errors.Unauthenticated(
                    f"the sign-in did not complete ({body.get('error_description') or error}); "
                    "run 'qharbor login --sso URL' again",
                    provider_error=error,
                )
            if clock() + interval > deadline:
                raise errors.Unauthenticated(
                    "the code expired before it was confirmed; run 'qharbor login --sso URL' again"
                )
            sleep(interval)


def refresh(tokens: SsoTokens, http: httpx.Client) -> SsoTokens:
    """New tokens for old, with the refresh token.

    Raises:
        errors.Unauthenticated: no refresh token, or the provider refused it (the user
            must sign in again).
    """
    if not tokens.refresh_token:
        raise errors.TokenExpired(
            "the sign-in has expired and cannot be refreshed; run 'qharbor login --sso URL' again"
        )
    status, body = _post(
        http,
        tokens.token_endpoint,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "client_id": tokens.client_id,
        },
    )
    if status != 200:
        raise errors.TokenExpired(
            "the identity provider would not refresh the sign-in "
            f"({body.get('error_description') or body.get('error') or status}); run "
            "'qharbor login --sso URL' again",
            provider_error=body.get("error"),
        )
    config = {
        "issuer": tokens.issuer,
        "client_id": tokens.client_id,
        "token_endpoint": tokens.token_endpoint,
    }
    return _tokens(config, body, tokens.refresh_token)


class SsoAuth(httpx.Auth):
    """Sends the ID token, refreshing it first when it is about to expire.

    Args:
        tokens: The tokens from the account file.
        account: The account's name, to save refreshed tokens under (None: not saved).
        account_file: The account file.
        clock: Unix seconds.
    """

    def __init__(
        self,
        tokens: SsoTokens,
        *,
        account: str | None = None,
        account_file: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = tokens
        self._account = account
        self._account_file = account_file
        self._clock = clock
        self._lock = threading.Lock()

    def refresh(self) -> SsoTokens:
        """Refresh now, and save the new tokens."""
        with self._lock:
            with httpx.Client(timeout=30.0) as http:
                self.tokens = refresh(self.tokens, http)
            if self._account is not None:
                update_account_sso(self._account, self.tokens.to_json(), path=self._account_file)
            return self.tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.tokens.needs_refresh(self._clock()):
            self.refresh()
        request.headers["Authorization"] = f"Bearer {self.tokens.id_token}"
        response = yield request
        if response.status_code == 401 and self.tokens.refresh_token:
            response.read()
            code = ""
            with contextlib.suppress(ValueError, AttributeError):
                code = str(response.json().get("error", {}).get("code", ""))
            if code == errors.TokenExpired.code:
                self.refresh()
                request.headers["Authorization"] = f"Bearer {self.tokens.id_token}"
                yield request

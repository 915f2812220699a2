"""OpenID Connect: the provider's discovery document and keys, and checking its ID tokens.

A token is checked in an order that names the first thing wrong with it: its
algorithm (never ``none``, never HMAC), its issuer, its signing key (the
provider's JWKS, reloaded when an unknown key id appears, so the provider can
rotate keys without a restart here), its signature, its audience, its times and,
for the console's login, its nonce. Each failure is its own
:class:`~qharbor.errors.Unauthenticated` subclass with a stable code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from qharbor import errors
from qharbor.settings import Settings

log = logging.getLogger(__name__)

#: Algorithms that are never accepted, whatever the settings say: unsigned tokens, and
#: HMAC, whose key (the client secret) the centre shares with every client of it.
FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})
#: The namespace of the ids that audit records give to sign-in tokens.
_TOKEN_ID_NAMESPACE = uuid.UUID("5b0f3d36-3f0e-4c52-9a43-0c6f1c3b7a10")


@dataclass(frozen=True)
class OidcConfig:
    """The centre's single sign-on settings, checked.

    Attributes:
        issuer: The provider's issuer URL, exactly as its tokens name it.
        client_id: The centre's (console's) client id.
        client_secret: The client's secret, or None for a public client.
        cli_client_id: The public client the CLI uses for the device grant.
        audiences: The ``aud`` values a token may carry (one of them).
        scopes: The scopes asked for, space-separated.
        groups_claim: The claim that lists the user's groups.
        algorithms: The signature algorithms accepted.
        leeway_s: Clock skew allowed on ``exp``, ``iat`` and ``nbf`` (seconds).
        redirect_url: The callback URL, or None to derive it from the request.
        jwks_refresh_s: Least time between two reloads of the keys (seconds).
        jwks_max_age_s: Longest time the keys are kept without a reload (seconds).
    """

    issuer: str
    client_id: str
    client_secret: str | None = None
    cli_client_id: str = ""
    audiences: frozenset[str] = frozenset()
    scopes: str = "openid profile email offline_access"
    groups_claim: str = "groups"
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_s: float = 30.0
    redirect_url: str | None = None
    jwks_refresh_s: float = 10.0
    jwks_max_age_s: float = 300.0

    def __post_init__(self) -> None:
        forbidden = {a for a in self.algorithms if a in FORBIDDEN_ALGORITHMS or a.lower() == "none"}
        if forbidden:
            raise errors.InvalidRequest(
                f"QHARBOR_OIDC_ALGORITHMS may not list {sorted(forbidden)}: unsigned and HMAC "
                "tokens are never accepted; list asymmetric ones such as RS256 or ES256",
                field="oidc_algorithms",
            )
        if not self.algorithms:
            raise errors.InvalidRequest(
                "QHARBOR_OIDC_ALGORITHMS is empty; list e.g. RS256", field="oidc_algorithms"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The config in the settings, or None when single sign-on is off.

        Raises:
            errors.InvalidRequest: an issuer without a client id, or a bad algorithm list.
        """
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_client_id:
            raise errors.InvalidRequest(
                "QHARBOR_OIDC_ISSUER is set but QHARBOR_OIDC_CLIENT_ID is not; set the "
                "client id the provider gave the centre",
                field="oidc_client_id",
            )
        cli = settings.oidc_cli_client_id or settings.oidc_client_id
        audiences = _split(settings.oidc_audience) or [settings.oidc_client_id, cli]
        secret = settings.oidc_client_secret
        return cls(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret is not None else None,
            cli_client_id=cli,
            audiences=frozenset(audiences),
            scopes=settings.oidc_scopes,
            groups_claim=settings.oidc_groups_claim,
            algorithms=tuple(_split(settings.oidc_algorithms)),
            leeway_s=settings.oidc_leeway_seconds,
            redirect_url=settings.oidc_redirect_url,
            jwks_refresh_s=settings.oidc_jwks_refresh_seconds,
            jwks_max_age_s=settings.oidc_jwks_max_age_seconds,
        )


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@dataclass(frozen=True)
class IdClaims:
    """What a verified ID token says about its user.

    Attributes:
        issuer: The provider.
        subject: The user's stable id at the provider.
        username: A readable name (``preferred_username``, else ``email``, else the subject).
        groups: The groups in the configured claim.
        expires_at: When the token stops working.
        token_id: A stable id for this token (for the audit log), a UUID.
        claims: Every claim, as the provider sent them.
    """

    issuer: str
    subject: str
    username: str
    groups: tuple[str, ...]
    expires_at: dt.datetime
    token_id: str
    claims: dict[str, Any] = field(repr=False, compare=False)


class ProviderClient:
    """The provider's discovery document and keys, fetched once and cached.

    The keys are reloaded when a token names a key id not among them (at most once
    per ``refresh_s``, so a stream of forged key ids cannot make the centre hammer
    the provider), and whenever they are older than ``max_age_s``, so a key the
    provider withdrew stops working here within that time.

    Args:
        issuer: The issuer URL.
        refresh_s: Least time between two reloads of the keys (seconds).
        max_age_s: Longest time the keys are kept without a reload (seconds).
        http: The HTTP client to use (one of the centre's, or a test's).
        clock: Monotonic seconds, for the reload interval.
    """

    def __init__(
        self,
        issuer: str,
        *,
        refresh_s: float = 10.0,
        max_age_s: float = 300.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.refresh_s = refresh_s
        self.max_age_s = max_age_s
        self._http = http or httpx.Client(timeout=10.0)
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    def close(self) -> None:
        self._http.close()

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise errors.IdentityProviderUnavailable(
                f"the identity provider at {self.issuer} did not answer {url} ({exc}); "
                "check QHARBOR_OIDC_ISSUER and that the provider is up",
                issuer=self.issuer,
            ) from exc
        if not isinstance(body, dict):
            raise errors.IdentityProviderUnavailable(
                f"the identity provider answered {url} with something that is not a JSON object",
                issuer=self.issuer,
            )
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document (``/.well-known/openid-configuration``).

        Raises:
            errors.IdentityProviderUnavailable: it could not be read, or names another issuer.
        """
        if self._metadata is None:
            found = self._get(self.issuer + "/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise errors.IdentityProviderUnavailable(
                    f"the discovery document at {self.issuer} names the issuer "
                    f"{found.get('issuer')!r}; set QHARBOR_OIDC_ISSUER to exactly that",
                    issuer=self.issuer,
                )
            self._metadata = found
        return self._metadata

    def endpoint(self, name: str) -> str:
        """One endpoint from the discovery document, e.g. ``token_endpoint``.

        Raises:
            errors.IdentityProviderUnavailable: the provider does not offer it.
        """
        url = self.metadata().get(name)
        if not isinstance(url, str) or not url:
            raise errors.IdentityProviderUnavailable(
                f"the identity provider at {self.issuer} offers no {name}; enable it there",
                issuer=self.issuer,
            )
        return url

    def post_form(
        self, url: str, form: dict[str, str], *, auth: httpx.Auth | None = None
    ) -> dict[str, Any]:
        """POST a form to one of the provider's endpoints; its JSON answer, errors included.

        Raises:
            errors.IdentityProviderUnavailable: no JSON object came back.
        """
        try:
            response = self._http.post(url, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise errors.IdentityProviderUnavailable(
                f"the identity provider did not answer {url} ({exc})", issuer=self.issuer
            ) from exc
        if not isinstance(body, dict):
            raise errors.IdentityProviderUnavailable(
                f"the identity provider answered {url} with something that is not a JSON object",
                issuer=self.issuer,
            )
        return body

    def key_set(self, kid: str | None) -> KeySet:
        """The provider's keys, reloaded first if ``kid`` is not among them.

        Raises:
            errors.TokenUnknownKey: the provider does not publish ``kid`` (even after a reload).
        """
        with self._lock:
            unknown = kid is not None and kid not in self._kids
            age = self._clock() - self._loaded_at
            if self._keys is None or age >= self.max_age_s or (unknown and age >= self.refresh_s):
                self._load()
            assert self._keys is not None
            if kid is not None and kid not in self._kids:
                raise errors.TokenUnknownKey(
                    f"the token is signed with key {kid!r}, which the identity provider does "
                    "not publish (it may have been retired); sign in again",
                    kid=kid,
                )
            return self._keys

    def _load(self) -> None:
        jwks = self._get(self.endpoint("jwks_uri"))
        try:
            keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise errors.IdentityProviderUnavailable(
                f"the identity provider's key set could not be read ({exc})", issuer=self.issuer
            ) from exc
        self._keys = keys
        self._kids = frozenset(str(k.kid) for k in keys.keys if k.kid)
        self._loaded_at = self._clock()
        log.info("loaded %d signing keys from %s", len(self._kids), self.issuer)


class TokenVerifier:
    """Checks ID tokens from the one provider the centre trusts.

    Args:
        config: The single sign-on settings.
        provider: The provider's documents and keys.
        now: The current time (UTC), for tests of expiry.
    """

    def __init__(
        self,
        config: OidcConfig,
        provider: ProviderClient,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config = config
        self.provider = provider
        self._now = now

    def verify(self, token: str, *, nonce: str | None = None) -> IdClaims:
        """The claims of a valid ID token.

        Args:
            token: The compact JWT.
            nonce: The nonce the login sent, which the token must carry; None when the
                token is presented as a bearer token (no login of ours to match).

        Raises:
            errors.TokenAlgorithm: unsigned, or an algorithm not accepted.
            errors.TokenWrongIssuer: issued by another provider.
            errors.TokenUnknownKey: signed with a key the provider does not publish.
            errors.TokenInvalid: malformed, a bad signature, a missing claim or nonce.
            errors.TokenWrongAudience: issued to another client.
            errors.TokenExpired: past its ``exp``.
        """
        header, unverified = _peek(token)
        algorithm = str(header.get("alg", ""))
        if algorithm not in self.config.algorithms:
            shown = algorithm or "(none given)"
            raise errors.TokenAlgorithm(
                f"the token's algorithm {shown!r} is not accepted; the centre accepts only "
                f"tokens signed with {', '.join(self.config.algorithms)}",
                alg=algorithm,
            )
        issuer = str(unverified.get("iss", "")).rstrip("/")
        if issuer != self.config.issuer:
            raise errors.TokenWrongIssuer(
                f"the token was issued by {unverified.get('iss')!r}; this centre accepts only "
                f"{self.config.issuer!r}",
                issuer=str(unverified.get("iss", "")),
            )
        kid = header.get("kid")
        keys = self.provider.key_set(str(kid) if kid is not None else None)
        try:
            claims = dict(jwt.decode(token, keys, algorithms=[algorithm]).claims)
        except JoseError as exc:
            raise errors.TokenInvalid(
                f"the token's signature does not verify ({exc.error}); sign in again"
            ) from exc
        self._check_audience(claims)
        expires_at = self._check_times(claims)
        if nonce is not None and claims.get("nonce") != nonce:
            raise errors.TokenInvalid(
                "the token's nonce is not the one this login sent (a replayed or mixed-up "
                "login); sign in again"
            )
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise errors.TokenInvalid("the token names no subject ('sub'); sign in again")
        raw_groups = claims.get(self.config.groups_claim, [])
        if isinstance(raw_groups, str):
            raw_groups = [raw_groups]
        groups = tuple(str(g) for g in raw_groups) if isinstance(raw_groups, list) else ()
        username = next(
            (
                str(claims[name])
                for name in ("preferred_username", "email", "sub")
                if isinstance(claims.get(name), str) and claims[name]
            ),
            subject,
        )
        digest = hashlib.sha256(token.encode()).hexdigest()
        return IdClaims(
            issuer=issuer,
            subject=subject,
            username=username,
            groups=groups,
            expires_at=expires_at,
            token_id=str(uuid.uuid5(_TOKEN_ID_NAMESPACE, digest)),
            claims=claims,
        )

    def _check_audience(self, claims: dict[str, Any]) -> None:
        audience = claims.get("aud")
        given = [audience] if isinstance(audience, str) else list(audience or [])
        if not set(map(str, given)) & self.config.audiences:
            raise errors.TokenWrongAudience(
                f"the token was issued to {given!r}, not to this centre "
                f"({', '.join(sorted(self.config.audiences))}); sign in to the centre itself",
                audience=[str(a) for a in given],
            )

    def _check_times(self, claims: dict[str, Any]) -> dt.datetime:
        now = self._now().timestamp()
        leeway = self.config.leeway_s
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise errors.TokenInvalid("the token has no expiry ('exp'); sign in again")
        expires_at = dt.datetime.fromtimestamp(exp, dt.UTC)
        if exp + leeway <= now:
            raise errors.TokenExpired(
                f"the token expired at {expires_at.isoformat()}; refresh it or sign in again",
                expired_at=expires_at.isoformat(),
            )
        for name in ("iat", "nbf"):
            value = claims.get(name)
            if isinstance(value, int | float) and value - leeway > now:
                raise errors.TokenInvalid(
                    f"the token's {name!r} is in the future; check the clocks of the centre "
                    "and the identity provider"
                )
        return expires_at


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWT's header and claims, unverified: only to choose how to verify it."""
    parts = token.split(".")
    if len(parts) != 3:
        raise errors.TokenInvalid(
            "the token is neither an API token nor a signed JWT (header.payload.signature); "
            "check it or sign in again"
        )
    try:
        header, claims = (json.loads(_b64decode(part)) for part in parts[:2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.TokenInvalid(f"the token cannot be decoded ({exc}); sign in again") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise errors.TokenInvalid("the token's header or claims are not JSON objects")
    return header, claims


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token is a JWT (three dot-separated parts), not an API token."""
    return token.count(".") == 2

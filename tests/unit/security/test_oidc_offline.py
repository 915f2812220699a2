"""ID token checks and the group map, with keys made here (the provider tests are in
tests/integration/test_oidc.py)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from qharbor import errors
from qharbor.security.directory import Role
from qharbor.security.groups import GroupMap
from qharbor.security.oidc import OidcConfig, TokenVerifier

ISSUER = "https://sso.example.org/realms/q"


class Keys:
    """A provider's key set without the provider: what ProviderClient.key_set returns."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})

    def key_set(self, kid: str | None) -> KeySet:
        if kid != "k1":
            raise errors.TokenUnknownKey()
        return KeySet([self.key])


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def verifier(keys: Keys) -> TokenVerifier:
    config = OidcConfig(
        issuer=ISSUER, client_id="qharbor", audiences=frozenset({"qharbor"}), leeway_s=0
    )
    return TokenVerifier(config, keys)  # type: ignore[arg-type]


def token(keys: Keys, **claims: object) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "qharbor", "sub": "u1", "iat": now, "exp": now + 60, **claims}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, body, keys.key)


def test_a_valid_token_gives_its_subject_groups_and_expiry(keys: Keys) -> None:
    claims = verifier(keys).verify(token(keys, groups=["a"], preferred_username="ann", nonce="n"))
    assert (claims.subject, claims.username, claims.groups) == ("u1", "ann", ("a",))
    assert claims.expires_at > dt.datetime.now(dt.UTC)
    assert verifier(keys).verify(token(keys, nonce="n"), nonce="n").subject == "u1"


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"aud": "other"}, errors.TokenWrongAudience),
        ({"iss": "https://evil.example"}, errors.TokenWrongIssuer),
        ({"exp": int(time.time()) - 5}, errors.TokenExpired),
        ({"exp": None}, errors.TokenInvalid),
        ({"iat": int(time.time()) + 3600}, errors.TokenInvalid),
    ],
)
def test_bad_claims_are_refused_with_their_own_code(
    keys: Keys, claims: dict[str, object], error: type[errors.QHarborError]
) -> None:
    with pytest.raises(error):
        verifier(keys).verify(token(keys, **claims))


def test_a_wrong_nonce_and_an_unknown_key_are_refused(keys: Keys) -> None:
    with pytest.raises(errors.TokenInvalid, match="nonce"):
        verifier(keys).verify(token(keys, nonce="a"), nonce="b")
    other = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    foreign = jwt.encode({"alg": "RS256", "kid": "k2"}, {"iss": ISSUER}, other)
    with pytest.raises(errors.TokenUnknownKey):
        verifier(keys).verify(foreign)


def test_hmac_and_none_can_never_be_allowed() -> None:
    for algorithms in (("none",), ("HS256", "RS256")):
        with pytest.raises(errors.InvalidRequest, match="never"):
            OidcConfig(issuer=ISSUER, client_id="c", algorithms=algorithms)


def test_the_group_map_gives_the_strongest_role_and_admin() -> None:
    mapping = GroupMap.parse(
        "lab=project:physics:viewer, leads=project:physics:project-admin\n"
        "chem=project:chemistry  # member by default\nops=admin"
    )
    access = mapping.access(["lab", "leads", "chem"])
    assert access.projects == {"physics": Role.PROJECT_ADMIN, "chemistry": Role.MEMBER}
    assert not access.is_admin
    assert mapping.access(["ops"]).is_admin
    assert mapping.access(["nobody"]).projects == {}


@pytest.mark.parametrize("entry", ["lab", "lab=team:x", "lab=project:x:boss", "=admin"])
def test_a_bad_group_map_entry_says_how_to_write_it(entry: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="GROUP="):
        GroupMap.parse(entry)

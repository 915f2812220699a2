"""Users, projects and tokens, and authenticating a bearer token."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.security.identity import Identity, Role
from qharbor.store import Database
from qharbor.store.tables import memberships, projects, tokens, users


@pytest.fixture
def identity(db: Database) -> Identity:
    return Identity(db)


def set_token(db: Database, token: str, **values: object) -> None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with db.write() as conn:
        updated = conn.execute(
            tokens.update().where(tokens.c.token_hash == digest).values(**values)
        ).rowcount
    assert updated == 1


def test_bootstrap_returns_a_token_only_on_the_first_call(identity: Identity) -> None:
    token = identity.bootstrap()
    assert token is not None and token.startswith("qh_")
    assert identity.bootstrap() is None


def test_bootstrap_token_is_an_admin_of_the_default_project(identity: Identity) -> None:
    principal = identity.authenticate(identity.bootstrap())
    assert principal.user_name == "admin"
    assert principal.project_name == "default"
    assert principal.role is Role.ADMIN
    assert principal.is_admin
    assert principal.scopes == {"read", "submit", "admin"}


def test_bootstrap_does_nothing_once_a_user_exists(identity: Identity, db: Database) -> None:
    identity.create_user("alice", "physics")
    assert identity.bootstrap() is None
    with db.read() as conn:
        assert conn.execute(sa.select(users.c.name)).scalars().all() == ["alice"]


def test_only_the_sha256_of_a_token_is_stored(identity: Identity, db: Database) -> None:
    _user_id, token = identity.create_user("alice", "physics")
    with db.read() as conn:
        rows = conn.execute(sa.select(tokens)).all()
    [row] = rows
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(value) for value in row)
    assert token not in stored
    assert token.removeprefix("qh_") not in stored


def test_created_user_authenticates_as_a_member_of_its_project(identity: Identity) -> None:
    user_id, token = identity.create_user("alice", "physics")
    principal = identity.authenticate(token)
    assert principal.user_id == user_id
    assert principal.user_name == "alice"
    assert principal.project_name == "physics"
    assert principal.role is Role.MEMBER
    assert not principal.is_admin
    assert principal.scopes == {"read", "submit"}


def test_users_of_the_same_project_share_it(identity: Identity, db: Database) -> None:
    _a, token_a = identity.create_user("alice", "physics")
    _b, token_b = identity.create_user("bob", "physics", Role.VIEWER)
    _c, token_c = identity.create_user("carol", "chemistry")
    a, b, c = (identity.authenticate(t) for t in (token_a, token_b, token_c))
    assert a.project_id == b.project_id != c.project_id
    assert b.role is Role.VIEWER
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(projects)).scalar_one() == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(memberships)).scalar_one() == 3


@pytest.mark.parametrize("token", [None, "", "qh_not-a-real-token", "Bearer"])
def test_unknown_or_missing_token_is_unauthenticated(identity: Identity, token: str | None) -> None:
    identity.create_user("alice", "physics")
    with pytest.raises(errors.Unauthenticated) as caught:
        identity.authenticate(token)
    assert caught.value.code == "UNAUTHENTICATED"


def test_revoked_token_is_unauthenticated(identity: Identity, db: Database) -> None:
    _user_id, token = identity.create_user("alice", "physics")
    set_token(db, token, revoked_at=dt.datetime.now(dt.UTC))
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        identity.authenticate(token)


def test_expired_token_is_unauthenticated(identity: Identity, db: Database) -> None:
    _user_id, token = identity.create_user("alice", "physics")
    set_token(db, token, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    with pytest.raises(errors.Unauthenticated, match="expired"):
        identity.authenticate(token)


def test_token_with_a_future_expiry_still_works(identity: Identity, db: Database) -> None:
    _user_id, token = identity.create_user("alice", "physics")
    set_token(db, token, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert identity.authenticate(token).user_name == "alice"


def test_another_users_token_does_not_authenticate_as_you(identity: Identity) -> None:
    alice_id, _alice = identity.create_user("alice", "physics")
    _bob_id, bob = identity.create_user("bob", "physics")
    assert identity.authenticate(bob).user_id != alice_id

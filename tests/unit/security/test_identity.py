"""Tokens: issuing, revoking and authenticating them, and recovering admin access."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from qharbor import errors
from qharbor.security import admins
from qharbor.security.directory import Role
from qharbor.security.identity import Identity
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


# --- tokens made by tokens ------------------------------------------------------------------


def test_a_token_makes_no_token_with_more_scopes_or_a_later_expiry(identity: Identity) -> None:
    user_id, token = identity.create_user("erin", "lab")
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    meta, short = identity.issue_token(
        user_id, "lab", name="short", scopes={"read", "submit"}, expires_at=soon
    )
    parent = identity.authenticate(short)
    assert parent.expires_at == soon
    later = soon + dt.timedelta(seconds=1)
    with pytest.raises(errors.Forbidden) as caught:
        identity.issue_token(
            user_id, "lab", name="x", scopes={"read"}, expires_at=later, within=parent
        )
    assert "expire no later" in caught.value.message
    read_only = identity.authenticate(
        identity.issue_token(user_id, "lab", name="r", scopes={"read"})[1]
    )
    with pytest.raises(errors.Forbidden) as caught:
        identity.issue_token(user_id, "lab", name="x", scopes={"submit"}, within=read_only)
    assert caught.value.detail == {"scope": "submit"}
    # Without an expiry of its own, the child expires with its parent; earlier is fine.
    child, _ = identity.issue_token(user_id, "lab", name="c", scopes={"read"}, within=parent)
    assert child["expires_at"] == meta["expires_at"]
    earlier = soon - dt.timedelta(minutes=1)
    child, _ = identity.issue_token(
        user_id, "lab", name="e", scopes={"read"}, expires_at=earlier, within=parent
    )
    assert abs(dt.datetime.fromisoformat(child["expires_at"]) - earlier) < dt.timedelta(seconds=1)
    # A token that never expires may make one that never expires.
    forever, _ = identity.issue_token(
        user_id, "lab", name="f", scopes={"read"}, within=identity.authenticate(token)
    )
    assert forever["expires_at"] is None


# --- the last admin -------------------------------------------------------------------------


def test_the_last_admin_token_cannot_be_revoked_nor_its_membership_removed(
    identity: Identity, db: Database
) -> None:
    token = identity.bootstrap()
    admin = identity.authenticate(token)
    with pytest.raises(errors.LastAdmin):
        identity.revoke_token(admin.token_id)
    with pytest.raises(errors.LastAdmin):
        identity.set_membership("default", "admin", None)
    with pytest.raises(errors.LastAdmin):
        identity.erase_user(admin.user_id)
    # Nothing changed: the token still works.
    assert identity.authenticate(token).token_id == admin.token_id
    with db.read() as conn:
        assert admins.working_tokens(conn) == 1
    # A change of role keeps the access (the admin scope and the user's admin flag
    # grant it), so it is allowed.
    identity.set_membership("default", "admin", Role.MEMBER)
    with db.read() as conn:
        assert admins.working_tokens(conn) == 1


def test_with_a_second_admin_token_the_first_can_go(identity: Identity, db: Database) -> None:
    first = identity.authenticate(identity.bootstrap())
    user = identity.add_user("ops", is_admin=True)
    identity.set_membership("default", "ops", Role.ADMIN)
    identity.issue_token("ops", "default", name="ops", scopes={"read", "admin"})
    identity.revoke_token(first.token_id)
    with db.read() as conn:
        assert admins.working_tokens(conn) == 1
    with pytest.raises(errors.LastAdmin):
        identity.set_membership("default", user["id"], None)


def test_expired_or_non_admin_tokens_do_not_count_as_admin_access(
    identity: Identity, db: Database
) -> None:
    first = identity.authenticate(identity.bootstrap())
    identity.set_membership("default", "admin", Role.ADMIN)
    _meta, expired = identity.issue_token(
        "admin",
        "default",
        name="soon",
        scopes={"admin"},
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
    )
    set_token(db, expired, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    identity.issue_token("admin", "default", name="plain", scopes={"read", "submit"})
    with pytest.raises(errors.LastAdmin):
        identity.revoke_token(first.token_id)


def test_recover_gives_the_first_admin_a_new_admin_token(identity: Identity, db: Database) -> None:
    bootstrap = identity.bootstrap()
    first = identity.authenticate(bootstrap)
    set_token(db, bootstrap, revoked_at=dt.datetime.now(dt.UTC))
    with db.write() as conn:
        conn.execute(memberships.delete())
    with db.read() as conn:
        assert admins.working_tokens(conn) == 0
    user_id, token = identity.recover()
    restored = identity.authenticate(token)
    assert (restored.user_id, restored.project_name, restored.role) == (
        first.user_id,
        "default",
        Role.ADMIN,
    )
    assert restored.is_admin and restored.scopes == {"read", "submit", "admin"}
    assert user_id == first.user_id


def test_recover_makes_an_admin_when_there_is_none(identity: Identity) -> None:
    identity.create_user("admin", "lab")  # a plain user holds the name
    user_id, token = identity.recover(project="ops")
    restored = identity.authenticate(token)
    assert restored.is_admin and restored.project_name == "ops"
    assert restored.user_name.startswith("admin-")
    assert restored.user_id == user_id

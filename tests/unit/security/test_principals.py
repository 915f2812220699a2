"""The authentication cache: kept for seconds, forgotten at once when access changes here."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from qharbor import errors, wire
from qharbor.security import principals
from qharbor.security.directory import Role
from qharbor.security.identity import Identity
from qharbor.store import Database

LIFETIME_S = 2.0


@pytest.fixture
def here(db: Database) -> Identity:
    """This process's directory, which keeps principals."""
    return Identity(db, principal_cache_s=LIFETIME_S)


@pytest.fixture
def elsewhere(db: Database) -> Identity:
    """Another process's directory on the same database."""
    return Identity(db, principal_cache_s=LIFETIME_S)


@pytest.fixture
def alice(here: Identity) -> str:
    """A member's token, authenticated once (so it is kept); an admin exists beside her."""
    assert here.bootstrap() is not None
    _user_id, token = here.create_user("alice", "physics")
    assert here.authenticate(token).role is Role.MEMBER
    return token


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move this process's monotonic clock ``seconds`` ahead."""
    now = time.monotonic()
    monkeypatch.setattr(principals.time, "monotonic", lambda: now + seconds)


def test_a_token_revoked_here_is_refused_at_once(here: Identity, alice: str) -> None:
    here.revoke_token(here.authenticate(alice).token_id)
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        here.authenticate(alice)


def test_a_member_removed_here_is_refused_at_once(here: Identity, alice: str) -> None:
    here.set_membership("physics", "alice", None)
    with pytest.raises(errors.Unauthenticated):
        here.authenticate(alice)


def test_a_role_changed_here_holds_at_once(here: Identity, alice: str) -> None:
    here.set_membership("physics", "alice", Role.VIEWER)
    assert here.authenticate(alice).role is Role.VIEWER


def test_an_erased_user_is_refused_at_once(here: Identity, alice: str) -> None:
    here.erase_user(here.authenticate(alice).user_id)
    with pytest.raises(errors.Unauthenticated):
        here.authenticate(alice)


def test_a_revocation_in_another_process_holds_within_the_lifetime(
    here: Identity, elsewhere: Identity, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere.revoke_token(elsewhere.authenticate(alice).token_id)
    # Kept here: the documented bound, not a read of the database.
    assert here.authenticate(alice).user_name == "alice"
    later(monkeypatch, LIFETIME_S)
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        here.authenticate(alice)


def test_a_kept_token_past_its_expiry_is_refused(
    here: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    here.bootstrap()
    expiry = wire.utcnow() + dt.timedelta(hours=1)
    _meta, token = here.issue_token(
        "admin", "default", name="short", scopes={"read"}, expires_at=expiry
    )
    assert here.authenticate(token).expires_at is not None
    monkeypatch.setattr(wire, "utcnow", lambda: expiry + dt.timedelta(seconds=1))
    with pytest.raises(errors.Unauthenticated, match="expired"):
        here.authenticate(token)


def test_an_answer_read_before_a_change_is_not_kept(here: Identity, alice: str) -> None:
    cache = here.principals
    principal = here.authenticate(alice)
    before = cache.generation
    cache.forget()
    cache.put("some-hash", principal, before)
    assert cache.get("some-hash") is None
    cache.put("some-hash", principal, cache.generation)
    assert cache.get("some-hash") == principal


def test_a_lifetime_of_zero_reads_the_database_every_time(
    db: Database, elsewhere: Identity, alice: str
) -> None:
    uncached = Identity(db)
    assert uncached.authenticate(alice).user_name == "alice"
    elsewhere.revoke_token(elsewhere.authenticate(alice).token_id)
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        uncached.authenticate(alice)


def test_only_a_kept_token_is_known_from_memory(here: Identity, alice: str) -> None:
    # The API asks this on its event loop before sending a token to the thread pool.
    assert here.kept(alice) == here.authenticate(alice)
    assert here.kept("qh_never-issued") is None
    here.revoke_token(here.authenticate(alice).token_id)
    assert here.kept(alice) is None

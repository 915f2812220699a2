"""The account file, and where the service finds its URL and token."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from qharbor import errors
from qharbor.client import HarborService
from qharbor.client.accounts import (
    account_file_path,
    load_account,
    resolve_account,
    save_account,
)


@pytest.fixture
def account_file(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".qharbor" / "accounts.json"


def test_save_account_writes_a_file_only_its_owner_can_read(account_file: Path) -> None:
    save_account("http://a.test", "qh_a", name="a", path=account_file)

    assert stat.S_IMODE(account_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(account_file.parent.stat().st_mode) == 0o700


def test_save_account_keeps_the_file_private_when_replacing_an_account(account_file: Path) -> None:
    save_account("http://a.test", "qh_a", name="a", path=account_file)
    account_file.chmod(0o644)

    save_account("http://a.test", "qh_b", name="a", path=account_file)

    assert stat.S_IMODE(account_file.stat().st_mode) == 0o600
    assert load_account("a", path=account_file).token == "qh_b"


def test_saved_account_loads_back_with_the_documented_file_format(account_file: Path) -> None:
    save_account("http://a.test/", "qh_a", name="local", path=account_file)

    data = json.loads(account_file.read_text())
    assert data == {
        "default": "local",
        "accounts": {"local": {"url": "http://a.test", "token": "qh_a"}},
    }
    account = load_account(path=account_file)
    assert (account.url, account.token, account.name) == ("http://a.test", "qh_a", "local")


def test_make_default_false_keeps_the_earlier_default(account_file: Path) -> None:
    save_account("http://a.test", "qh_a", name="a", path=account_file)
    save_account("http://b.test", "qh_b", name="b", make_default=False, path=account_file)

    assert load_account(path=account_file).name == "a"
    assert load_account("b", path=account_file).url == "http://b.test"


def test_first_account_becomes_the_default_even_without_make_default(account_file: Path) -> None:
    save_account("http://b.test", "qh_b", name="b", make_default=False, path=account_file)

    assert load_account(path=account_file).name == "b"


def test_unknown_account_name_raises_not_configured_listing_saved_names(account_file: Path) -> None:
    save_account("http://a.test", "qh_a", name="a", path=account_file)

    with pytest.raises(errors.NotConfigured, match=r"no account named 'prod'.*saved accounts: a"):
        load_account("prod", path=account_file)


def test_account_file_that_is_not_json_raises_not_configured(account_file: Path) -> None:
    account_file.parent.mkdir(parents=True)
    account_file.write_text("{not json")

    with pytest.raises(errors.NotConfigured, match="not valid JSON"):
        load_account(path=account_file)


def test_account_file_location_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QHARBOR_ACCOUNT_FILE", str(tmp_path / "elsewhere.json"))

    assert account_file_path() == tmp_path / "elsewhere.json"
    save_account("http://a.test", "qh_a")
    assert (tmp_path / "elsewhere.json").exists()


def test_account_repr_never_shows_the_token(account_file: Path) -> None:
    save_account("http://a.test", "qh_secret", path=account_file)

    assert "qh_secret" not in repr(load_account(path=account_file))


def test_service_resolves_url_from_explicit_argument_before_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QHARBOR_URL", "http://env.test")
    monkeypatch.setenv("QHARBOR_TOKEN", "qh_env")

    with HarborService("http://arg.test", "qh_arg") as service:
        assert service.url == "http://arg.test"
    assert resolve_account("http://arg.test", "qh_arg").token == "qh_arg"


def test_service_resolves_url_from_environment_before_account_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save_account("http://file.test", "qh_file")
    monkeypatch.setenv("QHARBOR_URL", "http://env.test")
    monkeypatch.setenv("QHARBOR_TOKEN", "qh_env")

    with HarborService() as service:
        assert service.url == "http://env.test"
    assert resolve_account().token == "qh_env"


def test_service_falls_back_to_the_default_saved_account() -> None:
    save_account("http://file.test", "qh_file", name="local")

    with HarborService() as service:
        assert (service.url, service.account_name) == ("http://file.test", "local")


def test_named_account_outranks_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    save_account("http://prod.test", "qh_prod", name="prod", make_default=False)
    monkeypatch.setenv("QHARBOR_URL", "http://env.test")
    monkeypatch.setenv("QHARBOR_TOKEN", "qh_env")

    account = resolve_account(name="prod")

    assert (account.url, account.token) == ("http://prod.test", "qh_prod")


def test_token_comes_from_the_environment_when_only_the_url_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QHARBOR_TOKEN", "qh_env")

    assert resolve_account("http://arg.test").token == "qh_env"


def test_saved_token_is_used_for_the_url_it_was_saved_with() -> None:
    save_account("http://other.test", "qh_other", name="other")
    save_account("http://a.test/", "qh_a", name="a", make_default=False)

    assert resolve_account("http://a.test").token == "qh_a"


def test_saved_token_is_never_sent_to_a_different_url() -> None:
    save_account("http://file.test", "qh_file")

    with pytest.raises(errors.NotConfigured, match=r"no token for http://elsewhere\.test"):
        resolve_account("http://elsewhere.test")


def test_nothing_configured_raises_not_configured_saying_how_to_fix_it() -> None:
    with pytest.raises(errors.NotConfigured, match="qharbor login"):
        HarborService()

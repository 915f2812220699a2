"""Saved accounts, and where the client finds its centre and token.

The account file is JSON, readable only by its owner (mode 0600)::

    {"default": "local", "accounts": {"local": {"url": "http://127.0.0.1:8000", "token": "qh_..."}}}

It lives at ``$QHARBOR_ACCOUNT_FILE``, or ``~/.qharbor/accounts.json``.

The service resolves each setting in this order: the explicit argument, then the
environment (``QHARBOR_URL``, ``QHARBOR_TOKEN``), then the account file (the named
account, or the file's default).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qharbor import errors

ACCOUNT_FILE_ENV = "QHARBOR_ACCOUNT_FILE"
URL_ENV = "QHARBOR_URL"
TOKEN_ENV = "QHARBOR_TOKEN"
DEFAULT_ACCOUNT_FILE = Path("~") / ".qharbor" / "accounts.json"
DEFAULT_NAME = "default"


@dataclass(frozen=True)
class Account:
    """Where a centre is and the token to use there.

    Attributes:
        url: The centre's base URL, without a trailing slash.
        token: The bearer token.
        name: The account's name in the account file, or None when it came from
            arguments or the environment.
    """

    url: str
    token: str
    name: str | None = None
    sso: dict[str, Any] | None = None  # single sign-on tokens to refresh (see client/sso.py)

    def __repr__(self) -> str:
        # Never print the token: reprs end up in logs and bug reports.
        return f"Account(url={self.url!r}, token='***', name={self.name!r})"


def account_file_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The account file in force: ``path``, else ``$QHARBOR_ACCOUNT_FILE``, else the default."""
    if path is not None:
        return Path(path).expanduser()
    from_env = os.environ.get(ACCOUNT_FILE_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_ACCOUNT_FILE.expanduser()


def read_accounts(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The whole account file, or an empty one if it does not exist.

    Raises:
        errors.NotConfigured: The file exists but is not a valid account file.
    """
    file = account_file_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"default": None, "accounts": {}}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.NotConfigured(
            f"the account file {file} is not valid JSON ({exc}); fix it or delete it and run "
            "'qharbor login URL TOKEN' again",
            path=str(file),
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("accounts", {}), dict):
        raise errors.NotConfigured(
            f"the account file {file} has no 'accounts' object; fix it or delete it and run "
            "'qharbor login URL TOKEN' again",
            path=str(file),
        )
    data.setdefault("accounts", {})
    data.setdefault("default", None)
    return data


def save_account(
    url: str,
    token: str,
    name: str = DEFAULT_NAME,
    make_default: bool = True,
    path: str | os.PathLike[str] | None = None,
    sso: dict[str, Any] | None = None,
) -> Path:
    """Save (or replace) an account in the account file.

    The file is written atomically and is readable only by its owner (0600);
    its folder is created with mode 0700.

    Args:
        url: The centre's base URL.
        token: The bearer token.
        name: The account's name.
        make_default: Whether this becomes the account used when none is named.
            The first account saved always becomes the default.
        path: The account file; by default ``$QHARBOR_ACCOUNT_FILE`` or
            ``~/.qharbor/accounts.json``.
        sso: For a single sign-on, the tokens to refresh (``token`` is then the ID token).

    Returns:
        The path of the account file.
    """
    file = account_file_path(path)
    data = read_accounts(file)
    entry: dict[str, Any] = {"url": normalize_url(url), "token": token}
    if sso is not None:
        entry["sso"] = sso
    data["accounts"][name] = entry
    if make_default or data.get("default") not in data["accounts"]:
        data["default"] = name
    write_private(file, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return file


def load_account(name: str | None = None, path: str | os.PathLike[str] | None = None) -> Account:
    """Load one account from the account file.

    Args:
        name: The account's name; by default the file's default account.
        path: The account file; see :func:`account_file_path`.

    Raises:
        errors.NotConfigured: There is no such account, or no account file.
    """
    file = account_file_path(path)
    data = read_accounts(file)
    accounts: dict[str, Any] = data["accounts"]
    chosen = name if name is not None else data.get("default")
    if chosen is None and len(accounts) == 1:
        chosen = next(iter(accounts))
    entry = accounts.get(chosen) if chosen is not None else None
    if not isinstance(entry, dict) or not entry.get("url") or not entry.get("token"):
        if name is not None:
            known = ", ".join(sorted(accounts)) or "none"
            message = (
                f"no account named {name!r} in {file} (saved accounts: {known}); "
                f"save it with 'qharbor login URL TOKEN --name {name}'"
            )
        else:
            message = errors.NotConfigured().message + f" (no default account in {file})"
        raise errors.NotConfigured(message, path=str(file))
    sso = entry.get("sso") if isinstance(entry.get("sso"), dict) else None
    return Account(
        url=normalize_url(str(entry["url"])), token=str(entry["token"]), name=chosen, sso=sso
    )


def update_account_sso(
    name: str, sso: dict[str, Any], path: str | os.PathLike[str] | None = None
) -> None:
    """Store refreshed single sign-on tokens in a saved account (its token is the ID token)."""
    file = account_file_path(path)
    data = read_accounts(file)
    entry = data["accounts"].get(name)
    if not isinstance(entry, dict):
        return
    entry["sso"] = sso
    entry["token"] = sso["id_token"]
    write_private(file, json.dumps(data, indent=2, sort_keys=True) + "\n")


def resolve_account(
    url: str | None = None,
    token: str | None = None,
    name: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Account:
    """Find the centre and token to use.

    Each of URL and token comes from the explicit argument, then the environment,
    then the account file. Naming an account is an explicit choice, so it
    outranks the environment. A token is taken from the account file only for the
    URL it was saved with, so a token is never sent to a centre it was not made for.

    Raises:
        errors.NotConfigured: No URL or no token could be found.
    """
    if name is None:
        url = url or os.environ.get(URL_ENV) or None
        token = token or os.environ.get(TOKEN_ENV) or None
    if url and token:
        return Account(url=normalize_url(url), token=token)

    saved = _saved_account(url, name, path)
    if saved is not None and (url is None or normalize_url(url) == saved.url):
        return Account(
            url=saved.url,
            token=token or saved.token,
            name=saved.name,
            sso=None if token else saved.sso,
        )
    if url is None:
        raise errors.NotConfigured()
    raise errors.NotConfigured(
        f"no token for {normalize_url(url)}: pass token=..., set {TOKEN_ENV}, or run "
        f"'qharbor login {normalize_url(url)} TOKEN'",
        url=normalize_url(url),
    )


def normalize_url(url: str) -> str:
    """The URL without surrounding blanks or a trailing slash."""
    return url.strip().rstrip("/")


def _saved_account(
    url: str | None, name: str | None, path: str | os.PathLike[str] | None
) -> Account | None:
    if name is not None:
        return load_account(name, path)
    if url is not None:
        # Without a name, use the saved account whose URL matches, preferring the default.
        data = read_accounts(path)
        wanted = normalize_url(url)
        names = sorted(data["accounts"], key=lambda n: n != data.get("default"))
        for candidate in names:
            entry = data["accounts"][candidate]
            if (
                isinstance(entry, dict)
                and entry.get("token")
                and normalize_url(str(entry.get("url", ""))) == wanted
            ):
                sso = entry.get("sso") if isinstance(entry.get("sso"), dict) else None
                return Account(url=wanted, token=str(entry["token"]), name=candidate, sso=sso)
        return None
    try:
        return load_account(None, path)
    except errors.NotConfigured:
        return None


def write_private(file: Path, text: str) -> None:
    """Write ``text`` to ``file`` atomically, readable by its owner only."""
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600, so a secret is never world-readable.
    fd, temp = tempfile.mkstemp(prefix=f".{file.name}-", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, file)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise

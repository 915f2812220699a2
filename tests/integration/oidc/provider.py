"""The test OpenID provider (``provider.mjs``) as a process, and a browser-less user of it.

:class:`TestProvider` starts ``node provider.mjs`` and talks to its control port.
:class:`Browser` fills in the provider's login, consent and device pages with plain
HTTP, as a person would in a browser: it follows redirects, keeps cookies, and
submits the forms it finds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent


class TestProvider:
    """``provider.mjs`` running: its issuer, a second untrusted issuer, and its controls."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
            pytest.fail(
                "the test OpenID provider needs Node.js and its packages: run "
                "'bash scripts/setup.sh test' (it runs 'npm ci' in tests/integration/oidc)"
            )
        self.process = subprocess.Popen(
            [node, str(HERE / "provider.mjs")],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.kill()
            pytest.fail("the test OpenID provider did not start (run provider.mjs by hand)")
        urls = json.loads(line)
        self.issuer: str = urls["issuer"]
        self.other_issuer: str = urls["other_issuer"]
        self.control = httpx.Client(base_url=urls["control"], timeout=30)

    def close(self) -> None:
        self.control.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.control.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def rotate_keys(self) -> dict[str, list[str]]:
        """Replace the signing key; the old one is withdrawn at once."""
        result: dict[str, list[str]] = self._call("POST", "/rotate")
        return result

    def set_groups(self, user: str, groups: list[str]) -> None:
        self._call("PUT", f"/users/{user}", {"groups": groups})

    def set_ttl(self, **seconds: int) -> None:
        """Token lifetimes, e.g. ``IdToken=2``."""
        self._call("PUT", "/ttl", seconds)

    def allow_redirect(self, *uris: str) -> None:
        self._call("PUT", "/redirect_uris", {"redirect_uris": list(uris)})

    def reset(self) -> None:
        """Users' groups and token lifetimes as at start."""
        self._call("POST", "/reset")

    def device_tokens(
        self, user: str, *, client_id: str = "qharbor-cli", issuer: str | None = None
    ) -> dict[str, Any]:
        """Sign ``user`` in with the device grant and return the token response."""
        issuer = issuer or self.issuer
        with httpx.Client(timeout=30) as http:
            meta = http.get(issuer + "/.well-known/openid-configuration").json()
            started = http.post(
                meta["device_authorization_endpoint"],
                data={"client_id": client_id, "scope": "openid profile email offline_access"},
            ).json()
            with Browser() as browser:
                browser.approve_device(started["verification_uri_complete"], user)
            answer = http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                    "device_code": started["device_code"],
                    "client_id": client_id,
                },
            )
            assert answer.status_code == 200, answer.text
            tokens: dict[str, Any] = answer.json()
            return tokens


class _Forms(HTMLParser):
    """The forms of a page: action, method, id, and their named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({**found, "fields": {}})
        elif tag == "input" and self.forms and found.get("name"):
            self.forms[-1]["fields"][found["name"]] = found.get("value", "")


class Browser:
    """A person at a browser, without the browser: follows redirects, keeps cookies."""

    def __init__(self, **kwargs: Any) -> None:
        self.http = httpx.Client(follow_redirects=True, timeout=30, **kwargs)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def close(self) -> None:
        self.http.close()

    def submit(
        self, page: httpx.Response, fill: dict[str, str] | None = None, form_id: str | None = None
    ) -> httpx.Response:
        """Submit the page's form (the one with ``form_id``, else the first) as a person would."""
        parser = _Forms()
        parser.feed(page.text)
        forms = [f for f in parser.forms if form_id is None or f.get("id") == form_id]
        assert forms, f"no form on {page.url}: {page.text[:500]}"
        form = forms[0]
        fields = {**form["fields"], **(fill or {})}
        action = urllib.parse.urljoin(str(page.url), form.get("action") or str(page.url))
        return self.settle(self.http.post(action, data=fields))

    def settle(self, page: httpx.Response) -> httpx.Response:
        """Submit the pages that a browser's script would submit by itself."""
        while "document.forms[0].submit()" in page.text:
            page = self.submit(page)
        return page

    def get(self, url: str) -> httpx.Response:
        return self.settle(self.http.get(url))

    def sign_in(self, page: httpx.Response, user: str) -> httpx.Response:
        """At the provider's login page: sign in as ``user`` and consent."""
        assert 'name="login"' in page.text, page.text[:500]
        page = self.submit(page, {"login": user, "password": "correct horse"})
        if 'value="consent"' in page.text:
            page = self.submit(page)
        return page

    def approve_device(self, link: str, user: str) -> None:
        """Open the device link, confirm the code, sign in and consent."""
        page = self.get(link)
        page = self.submit(page, form_id="op.deviceConfirmForm")
        page = self.sign_in(page, user)
        assert "Sign-in Success" in page.text or "success" in page.text.lower(), page.text[:500]


def env_without_account() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("QHARBOR_URL", "QHARBOR_TOKEN")}

"""The console signs in through a real OpenID provider (``oidc-provider`` on Node.js), in a
real headless Chromium: the code flow with PKCE through the provider's own forms, a
write from the console with the CSRF header, and the session's end when the ID token
expires.

The sign-in's database side runs on SQLite and PostgreSQL in ``tests/integration/test_oidc.py``;
this module checks what the browser does, against the console tests' SQLite centre, which
trusts the provider (``conftest.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from typing import Any

from tests.integration.conftest import RunningCentre
from tests.integration.console.conftest import axe_violations
from tests.integration.oidc.provider import TestProvider

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nh q[0];\nmeasure q -> c;\n'


def expiry_of(token: str) -> float:
    """The ``exp`` claim of a JWT (Unix seconds); the centre checks its signature."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


def sign_in(browser: Any, url: str, user: str, start: str = "/jobs") -> Any:
    """Open ``start`` logged out, and sign in as ``user`` at the provider; returns the page."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(start)
    page.wait_for_url(re.compile(r"/login\?next="))
    page.click("#sso-login")
    # The provider's own pages: its login form, then its consent form.
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_selector("input[name=prompt][value=consent], #who:not(:empty)", state="attached")
    if page.locator("input[name=prompt][value=consent]").count():
        page.click("button[type=submit]")
    page.wait_for_url(f"{url}{start}")
    page.wait_for_selector("#who:not(:empty)")
    return page


def test_the_console_signs_in_through_the_provider_and_cancels_a_job(
    browser: Any, console: RunningCentre, provider: TestProvider
) -> None:
    # A device in maintenance keeps the job queued, so there is something to cancel.
    now = dt.datetime.now(dt.UTC)
    window = console.http.post(
        "/v1/devices/mps/maintenance",
        json={
            "start": now.isoformat(),
            "end": (now + dt.timedelta(hours=1)).isoformat(),
            "reason": "sso test",
        },
    )
    assert window.status_code in (200, 201), window.text

    context = browser.new_context(base_url=console.url)
    page = context.new_page()
    page.goto("/login")
    page.wait_for_selector("#sso-login")
    assert page.get_attribute("#sso-login", "href") == "/auth/login?next=%2Fjobs"
    assert axe_violations(page) == []
    context.close()

    page = sign_in(browser, console.url, "alice")
    try:
        assert page.inner_text("#who").startswith("alice · physics")
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["qh_session"]["httpOnly"] and cookies["qh_session"]["sameSite"] == "Strict"
        assert cookies["qh_session"]["value"].count(".") == 2  # the provider's ID token
        assert "qh_session" not in page.evaluate("document.cookie")

        submitted = page.evaluate(
            """async (program) => {
                const csrf = document.cookie.match(/qh_csrf=([^;]*)/)[1];
                const r = await fetch('/v1/jobs', {method: 'POST', headers: {
                    'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                    body: JSON.stringify({device: 'mps', programs: [program], shots: 5})});
                return [r.status, await r.json()];
            }""",
            BELL,
        )
        assert submitted[0] == 201, submitted
        job_id = submitted[1]["id"]
        page.goto(f"/jobs/{job_id}")
        page.wait_for_selector("text=Waiting")
        with page.expect_response(f"{console.url}/v1/jobs/{job_id}/cancel") as answer:
            page.click("#cancel")  # the console's own write, with the CSRF header
        assert answer.value.status == 200, answer.value.text()
        assert answer.value.json()["status"] == "CANCELLED"
        assert answer.value.request.headers["x-csrf-token"]
        # The page follows the job's events to its end.
        page.wait_for_selector("main .status-cancelled")
    finally:
        page.context.close()


def test_an_expired_sign_in_ends_the_console_session_with_a_notice(
    browser: Any, console: RunningCentre, provider: TestProvider
) -> None:
    provider.set_ttl(IdToken=6)
    try:
        page = sign_in(browser, console.url, "alice", start="/usage")
    finally:
        provider.reset()
    try:
        cookie = next(c for c in page.context.cookies() if c["name"] == "qh_session")
        expiry = expiry_of(cookie["value"])
        # The cookie outlives the token, so the centre can say why it refuses it.
        assert cookie["expires"] > expiry + 600
        while time.time() < expiry + 0.2:
            time.sleep(0.2)
        page.goto("/devices")
        page.wait_for_url(re.compile(r"/login\?next=%2Fdevices&why=TOKEN_EXPIRED$"))
        notice = page.locator("#login-notice")
        assert "sign-in has expired" in notice.inner_text()
        assert page.locator("#sso-login").get_attribute("href") == "/auth/login?next=%2Fdevices"
        assert axe_violations(page) == []
    finally:
        page.context.close()

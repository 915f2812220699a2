"""One headless Chromium, one OpenID provider and one centre (SQLite, with single sign-on)
for every console test, a PostgreSQL centre for the checks that must hold on both
databases, and a logged-in page per module."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RunningCentre, start_centre
from tests.integration.oidc.provider import TestProvider

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "console"
BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)
#: The provider's groups (``provider.mjs``) as the console's centre maps them.
SSO_GROUPS = "physics-lab=project:physics:member,hpc-ops=admin"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _playwright() -> Any:
    """Playwright's sync API; under CI a missing browser or package fails the run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright is not installed: pip install -e '.[test]'")
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: bash scripts/setup.sh test installs it")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return sync_playwright


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for every console test."""
    with _playwright()() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="package")
def provider() -> Iterator[TestProvider]:
    """The real OpenID provider the console's centre trusts."""
    started = TestProvider()
    try:
        yield started
    finally:
        started.close()


@contextlib.contextmanager
def _running_centre(kind: str, **overrides: Any) -> Iterator[RunningCentre]:
    # One worker: the console's jobs are small, and a second one only slows the start.
    overrides.setdefault("workers", 1)
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre(kind, Path(tmp), **overrides)
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()
            if schema is not None:
                schema.drop()


@pytest.fixture(scope="package")
def console(provider: TestProvider) -> Iterator[RunningCentre]:
    """The console tests' centre, on SQLite, with single sign-on through ``provider``.

    What the browser does is the same on either database, so most checks run here
    only; what the database could get wrong (tampering, authorization) also runs on
    PostgreSQL, against :func:`pg_console`.
    """
    with _running_centre(
        "sqlite",
        oidc_issuer=provider.issuer,
        oidc_client_id="qharbor-console",
        oidc_client_secret="console-secret",
        oidc_cli_client_id="qharbor-cli",
        oidc_group_map=SSO_GROUPS,
        oidc_leeway_seconds=0,
    ) as running:
        provider.allow_redirect(running.url + "/auth/callback")
        yield running


@pytest.fixture(scope="package")
def pg_console() -> Iterator[RunningCentre]:
    """A second centre, on PostgreSQL, for the checks that must hold on both databases."""
    with _running_centre("postgresql") as running:
        yield running


def log_in(browser: Any, url: str, token: str) -> Any:
    """A new browser context logged in through the login page; returns its page."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/jobs")
    return page


@pytest.fixture(scope="module")
def admin_page(browser: Any, console: RunningCentre) -> Iterator[Any]:
    page = log_in(browser, console.url, console.token)
    try:
        yield page
    finally:
        page.context.close()


def done_job(console: RunningCentre, **body: Any) -> str:
    """The id of a job submitted through the API and waited for until DONE."""
    body.setdefault("programs", [BELL])
    body.setdefault("shots", 200)
    job = console.submit(**body)
    assert console.wait(job["id"])["status"] == "DONE"
    return str(job["id"])


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """What axe-core finds wrong on the page as it is now (rule id, impact, targets)."""
    # Evaluated through the browser's debugging protocol, so the page's strict CSP
    # (which forbids inline scripts) stays in force for everything else.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact,
                targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return found


def screenshot(page: Any, name: str) -> None:
    """Save the page to docs/console/NAME.png when QHARBOR_SCREENSHOTS=1."""
    if os.environ.get("QHARBOR_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

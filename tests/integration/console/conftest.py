"""One centre and one headless Chromium per module, and a logged-in page."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RunningCentre, start_centre

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "console"
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with _playwright()() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def console(module_database_kind: str) -> Iterator[RunningCentre]:
    """A centre (SQLite or PostgreSQL) for the module's browser tests."""
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre(module_database_kind, Path(tmp))
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()
            if schema is not None:
                schema.drop()


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

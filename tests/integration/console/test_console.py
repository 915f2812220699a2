"""The web console in a real headless Chromium, against a real centre."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from qharbor import HarborService, wire
from qharbor.security.directory import Role
from qharbor.store.tables import results
from tests.integration.conftest import RunningCentre
from tests.integration.console.conftest import axe_violations, log_in, screenshot

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)


def _sdk(console: RunningCentre, token: str | None = None) -> HarborService:
    return HarborService(url=console.url, token=token or console.token)


def _done_job(console: RunningCentre, **body: Any) -> str:
    body.setdefault("programs", [BELL])
    body.setdefault("shots", 200)
    job = console.submit(**body)
    assert console.wait(job["id"])["status"] == "DONE"
    return str(job["id"])


def _assert_accessible(page: Any) -> None:
    assert axe_violations(page) == []


def test_login_keeps_the_token_in_an_httponly_strict_cookie(
    browser: Any, console: RunningCentre
) -> None:
    context = browser.new_context(base_url=console.url)
    page = context.new_page()
    page.goto("/jobs")
    page.wait_for_url(re.compile(r"/login\?next="))
    _assert_accessible(page)
    screenshot(page, "login")
    page.fill("#token", "qh_not-a-token")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "token" in page.locator("#login-error").inner_text().lower()

    page.fill("#token", console.token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{console.url}/jobs")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["qh_session"]["httpOnly"] and cookies["qh_session"]["sameSite"] == "Strict"
    assert not cookies["qh_csrf"]["httpOnly"]
    assert console.token not in page.evaluate("document.cookie")

    page.click("#logout")
    page.wait_for_url(re.compile(r"/login"))
    assert "qh_session" not in {c["name"] for c in context.cookies()}
    context.close()


def test_console_pages_carry_a_strict_content_security_policy(console: RunningCentre) -> None:
    for path in ("/", "/jobs", "/jobs/x", "/devices/sc25", "/console/static/js/app.js"):
        response = httpx.get(console.url + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
    assert "<script>" not in httpx.get(console.url + "/jobs").text


def test_a_write_with_the_cookie_needs_the_csrf_header(
    admin_page: Any, console: RunningCentre
) -> None:
    post = """async ([header, program]) => {
        const headers = {'Content-Type': 'application/json'};
        if (header) headers['X-CSRF-Token'] = document.cookie.match(/qh_csrf=([^;]*)/)[1];
        const r = await fetch('/v1/jobs', {method: 'POST', headers,
            body: JSON.stringify({device: 'statevector', programs: [program], shots: 10})});
        return [r.status, await r.json()];
    }"""
    status, body = admin_page.evaluate(post, [False, BELL])
    assert (status, body["error"]["code"]) == (403, "CSRF_REJECTED")
    status, body = admin_page.evaluate(post, [True, BELL])
    assert status == 201, body
    # The same cookie from another client, without the header, is refused too.
    session = {c["name"]: c["value"] for c in admin_page.context.cookies()}
    refused = httpx.post(
        f"{console.url}/v1/jobs/{body['id']}/cancel", cookies={"qh_session": session["qh_session"]}
    )
    assert refused.status_code == 403


def test_a_job_submitted_from_the_sdk_finishes_live_on_the_jobs_page(
    admin_page: Any, console: RunningCentre
) -> None:
    admin_page.goto("/jobs")
    admin_page.wait_for_selector("#live >> text=Live")
    with _sdk(console) as service:
        job = service.run(BELL, shots=100, tags=["live"])
        row = admin_page.locator(f'tr[data-job="{job.job_id}"]')
        row.wait_for()  # appeared without reloading the page
        admin_page.wait_for_selector(f'tr[data-job="{job.job_id}"][data-status="DONE"]')
    assert "live" in row.inner_text()
    _assert_accessible(admin_page)
    screenshot(admin_page, "jobs")


def test_the_job_page_shows_the_histogram_and_a_verified_signature(
    admin_page: Any, console: RunningCentre
) -> None:
    job_id = _done_job(console, device="sc25", tags=["bell"])
    admin_page.goto(f"/jobs/{job_id}")
    admin_page.wait_for_selector("[data-verified]")
    assert admin_page.get_attribute("#signature [data-verified]", "data-verified") == "true"
    counts = console.result(job_id)["experiments"][0]["counts"]
    bars = admin_page.locator("svg.histogram rect.bar")
    shown = {
        bars.nth(i).get_attribute("data-key"): int(bars.nth(i).get_attribute("data-count") or 0)
        for i in range(bars.count())
    }
    assert shown == counts
    drawings = admin_page.locator("pre.circuit")
    assert drawings.count() == 2  # the program and the circuit compiled for sc25
    assert "┤ H ├" in drawings.first.inner_text()
    for stage in ("queued", "compile", "run"):
        assert stage in admin_page.locator("svg.hbars").get_attribute("aria-label")
    assert "aer" in admin_page.inner_text("main")  # the engine and why it was chosen
    assert "sc25-" in admin_page.inner_text("main")  # the calibration snapshot
    _assert_accessible(admin_page)
    screenshot(admin_page, "job")

    with admin_page.expect_download() as download:
        admin_page.click("#download")
    assert json.loads(download.value.path().read_text())["job_id"] == job_id
    admin_page.click("#rerun")
    admin_page.wait_for_url(re.compile(rf"/jobs/(?!{job_id})[0-9a-f]+$"))


def test_a_result_changed_in_the_database_shows_as_not_verified(
    admin_page: Any, console: RunningCentre
) -> None:
    job_id = _done_job(console)
    db = console.centre.db
    with db.read() as conn:
        text = conn.execute(
            sa.select(sa.cast(results.c.data, sa.Text)).where(results.c.job_id == job_id)
        ).scalar_one()
    data = json.loads(text)
    counts = data["experiments"][0]["counts"]
    first, second = sorted(counts)
    counts[first], counts[second] = counts[first] + 1, counts[second] - 1  # same shots
    value = ":text" if db.is_sqlite else "CAST(:text AS JSON)"
    with db.write() as conn:
        conn.execute(
            sa.text(f"UPDATE results SET data = {value} WHERE job_id = :job"),
            {"text": wire.canonical_json(data), "job": job_id},
        )
    admin_page.goto(f"/jobs/{job_id}")
    verdict = admin_page.locator("#signature [data-verified]")
    verdict.wait_for()
    assert verdict.get_attribute("data-verified") == "false"
    assert "NOT verified" in verdict.inner_text()


def test_a_member_cannot_open_another_projects_job(browser: Any, console: RunningCentre) -> None:
    job_id = _done_job(console)
    _user, token = console.centre.identity.create_user("eve", "elsewhere", Role.MEMBER)
    page = log_in(browser, console.url, token)
    try:
        page.goto(f"/jobs/{job_id}")
        page.wait_for_selector("[role=alert]")
        assert "JOB_NOT_FOUND" in page.inner_text("main")
        assert page.locator("svg.histogram").count() == 0
        status = page.evaluate(
            "async (id) => (await fetch(`/console/api/jobs/${id}/signed`)).status", job_id
        )
        assert status == 404
        page.goto("/jobs")
        page.wait_for_selector("#live >> text=Live")
        assert page.locator(f'tr[data-job="{job_id}"]').count() == 0
        page.goto("/operators")
        page.wait_for_selector("[role=alert]")
        assert page.locator("#nav-operators").is_hidden()
    finally:
        page.context.close()


def test_an_admin_puts_a_device_into_maintenance_and_its_jobs_wait(
    admin_page: Any, console: RunningCentre
) -> None:
    admin_page.goto("/devices/stabilizer")
    admin_page.fill("#m-reason", "cryostat service")
    admin_page.click("#maintenance button[type=submit]")
    admin_page.wait_for_selector("text=cryostat service")
    job = console.submit(device="stabilizer", programs=[BELL], shots=10)
    admin_page.goto(f"/jobs/{job['id']}")
    admin_page.wait_for_selector("text=Waiting")
    assert "QUEUED" in admin_page.inner_text("main")
    assert "MAINTENANCE" in admin_page.inner_text("main")
    assert console.http.get(f"/v1/jobs/{job['id']}").json()["status"] == "QUEUED"


@pytest.mark.parametrize("path", ["/devices", "/devices/sc25", "/usage", "/operators"])
def test_the_other_pages_render_without_accessibility_violations(
    admin_page: Any, console: RunningCentre, path: str
) -> None:
    admin_page.goto(path)
    admin_page.wait_for_selector("main h2, main table")
    admin_page.wait_for_load_state("networkidle")
    assert admin_page.locator("main [role=alert]").count() == 0
    _assert_accessible(admin_page)
    screenshot(admin_page, path.strip("/").replace("/", "-"))

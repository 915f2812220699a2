"""The web console in a real headless Chromium, against a real centre on SQLite."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import httpx
import pytest

from qharbor import HarborService
from qharbor.security.directory import Role
from qharbor.store.tables import jobs
from tests.integration.conftest import RunningCentre
from tests.integration.console.conftest import BELL, axe_violations, done_job, log_in, screenshot


def _sdk(console: RunningCentre, token: str | None = None) -> HarborService:
    return HarborService(url=console.url, token=token or console.token)


def _show_progress(console: RunningCentre, job_id: str, done: int, total: int) -> None:
    """Give the job the progress a cluster reports, and tell the open pages it changed."""
    with console.centre.db.write() as conn:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(progress_done=done, progress_total=total)
        )
    console.centre.events.publish(job_id)


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
    # Progress, as a cluster reports it for a fanned-out job, reaches the open list too.
    _show_progress(console, job.job_id, 3, 8)
    admin_page.wait_for_selector(f'tr[data-job="{job.job_id}"] .job-progress >> text=done 3 of 8')
    assert row.locator("progress").get_attribute("value") == "3"
    _assert_accessible(admin_page)
    screenshot(admin_page, "jobs")


def test_the_job_page_shows_the_histogram_and_a_verified_signature(
    admin_page: Any, console: RunningCentre
) -> None:
    job_id = done_job(console, device="sc25", tags=["bell"])
    _show_progress(console, job_id, 200, 200)
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
    assert admin_page.inner_text("#job-progress").strip() == "done 200 of 200"
    _assert_accessible(admin_page)
    screenshot(admin_page, "job")

    with admin_page.expect_download() as download:
        admin_page.click("#download")
    assert json.loads(download.value.path().read_text())["job_id"] == job_id
    admin_page.click("#rerun")
    admin_page.wait_for_url(re.compile(rf"/jobs/(?!{job_id})[0-9a-f]+$"))


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


def test_an_admin_approves_and_preempts_a_reservation_on_the_device_page(
    admin_page: Any, console: RunningCentre
) -> None:
    admin_page.goto("/devices/sc25")
    admin_page.fill("#r-note", "error budget study")
    admin_page.click("#reservation-book button[type=submit]")
    rows = admin_page.locator("#reservations tr[data-reservation]")
    admin_page.wait_for_selector('#reservations tr[data-status="REQUESTED"]')
    reservation_id = rows.first.get_attribute("data-reservation")
    row = admin_page.locator(f'tr[data-reservation="{reservation_id}"]')
    assert "error budget study" in row.inner_text()
    row.locator("button[data-action=approve]").click()
    admin_page.wait_for_selector(f'tr[data-reservation="{reservation_id}"][data-status="APPROVED"]')
    # Pre-empting needs a reason, which the project sees.
    row.locator("button[data-action=preempt]").click()
    admin_page.wait_for_selector("#reservation-status >> text=Give a reason")
    admin_page.fill("#r-reason", "cryostat fault")
    row.locator("button[data-action=preempt]").click()
    admin_page.wait_for_selector(
        f'tr[data-reservation="{reservation_id}"][data-status="PREEMPTED"]'
    )
    stored = console.http.get(f"/v1/reservations/{reservation_id}").json()
    assert (stored["status"], stored["reason"]) == ("PREEMPTED", "cryostat fault")
    assert "cryostat fault" in row.inner_text()
    admin_page.wait_for_load_state("networkidle")
    assert admin_page.locator("main [role=alert]").count() == 0
    _assert_accessible(admin_page)
    screenshot(admin_page, "devices-sc25")


def test_a_member_books_and_cancels_a_reservation_and_sees_only_their_projects(
    browser: Any, console: RunningCentre
) -> None:
    _user, token = console.centre.identity.create_user("rosa", "optics", Role.MEMBER)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    others = console.http.post(
        "/v1/reservations",
        json={
            "device": "sc72",
            "start": tomorrow.isoformat(),
            "end": (tomorrow + dt.timedelta(hours=1)).isoformat(),
        },
    )
    assert others.status_code == 201, others.text
    page = log_in(browser, console.url, token)
    try:
        page.goto("/usage")
        page.select_option("#r-device", "statevector")
        page.fill("#r-note", "VQE run")
        page.click("#reservation-book button[type=submit]")
        page.wait_for_selector('#reservations tr[data-status="REQUESTED"]')
        rows = page.locator("#reservations tr[data-reservation]")
        assert rows.count() == 1  # not the admin's booking on sc72
        assert "optics" in rows.first.inner_text() and "statevector" in rows.first.inner_text()
        assert page.locator("button[data-action=approve]").count() == 0
        assert page.locator("#r-reason").count() == 0
        _assert_accessible(page)
        rows.first.locator("button[data-action=cancel]").click()
        page.wait_for_selector('#reservations tr[data-status="CANCELLED"]')
        mine = httpx.get(
            console.url + "/v1/reservations", headers={"Authorization": f"Bearer {token}"}
        ).json()["reservations"]
        assert [(r["device"], r["status"]) for r in mine] == [("statevector", "CANCELLED")]
    finally:
        page.context.close()


def test_operators_see_the_worker_processes(admin_page: Any, console: RunningCentre) -> None:
    admin_page.goto("/operators")
    admin_page.wait_for_selector("#s-workers")
    executor = console.http.get("/v1/admin/executor").json()
    assert executor["kind"] == "local" and executor["slots"] == 1
    section = admin_page.locator("section[aria-labelledby=s-workers]")
    assert "worker processes on this host" in section.inner_text()
    assert f"free of {executor['slots']}" in section.inner_text()
    admin_page.wait_for_load_state("networkidle")
    assert admin_page.locator("main [role=alert]").count() == 0
    _assert_accessible(admin_page)
    screenshot(admin_page, "operators")


@pytest.mark.parametrize("path", ["/devices", "/usage"])
def test_the_other_pages_render_without_accessibility_violations(
    admin_page: Any, console: RunningCentre, path: str
) -> None:
    admin_page.goto(path)
    admin_page.wait_for_selector("main h2, main table")
    admin_page.wait_for_load_state("networkidle")
    assert admin_page.locator("main [role=alert]").count() == 0
    _assert_accessible(admin_page)
    screenshot(admin_page, path.strip("/").replace("/", "-"))

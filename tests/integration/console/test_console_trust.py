"""What the console must refuse, on SQLite and PostgreSQL: a cookie write without the
CSRF header, a result changed in the database, another project's job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from qharbor import wire
from qharbor.security.directory import Role
from qharbor.store.tables import results
from tests.conftest import DATABASES
from tests.integration.conftest import RunningCentre
from tests.integration.console.conftest import BELL, done_job, log_in


@pytest.fixture(scope="module", params=DATABASES)
def centre(request: pytest.FixtureRequest) -> RunningCentre:
    """The SQLite console centre, then the PostgreSQL one."""
    name = "console" if request.param == "sqlite" else "pg_console"
    running: RunningCentre = request.getfixturevalue(name)
    return running


@pytest.fixture(scope="module")
def page(browser: Any, centre: RunningCentre) -> Iterator[Any]:
    """The centre's admin, logged in."""
    logged_in = log_in(browser, centre.url, centre.token)
    try:
        yield logged_in
    finally:
        logged_in.context.close()


def test_a_write_with_the_cookie_needs_the_csrf_header(page: Any, centre: RunningCentre) -> None:
    post = """async ([header, program]) => {
        const headers = {'Content-Type': 'application/json'};
        if (header) headers['X-CSRF-Token'] = document.cookie.match(/qh_csrf=([^;]*)/)[1];
        const r = await fetch('/v1/jobs', {method: 'POST', headers,
            body: JSON.stringify({device: 'statevector', programs: [program], shots: 10})});
        return [r.status, await r.json()];
    }"""
    page.goto("/usage")
    status, body = page.evaluate(post, [False, BELL])
    assert (status, body["error"]["code"]) == (403, "CSRF_REJECTED")
    status, body = page.evaluate(post, [True, BELL])
    assert status == 201, body
    # The same cookie from another client, without the header, is refused too.
    session = {c["name"]: c["value"] for c in page.context.cookies()}
    refused = httpx.post(
        f"{centre.url}/v1/jobs/{body['id']}/cancel", cookies={"qh_session": session["qh_session"]}
    )
    assert refused.status_code == 403


def test_a_result_changed_in_the_database_shows_as_not_verified(
    page: Any, centre: RunningCentre
) -> None:
    job_id = done_job(centre)
    db = centre.centre.db
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
    page.goto(f"/jobs/{job_id}")
    verdict = page.locator("#signature [data-verified]")
    verdict.wait_for()
    assert verdict.get_attribute("data-verified") == "false"
    assert "NOT verified" in verdict.inner_text()


def test_a_member_cannot_open_another_projects_job(browser: Any, centre: RunningCentre) -> None:
    job_id = done_job(centre)
    _user, token = centre.centre.identity.create_user("eve", "elsewhere", Role.MEMBER)
    page = log_in(browser, centre.url, token)
    try:
        status = page.evaluate(
            """async (id) => [(await fetch(`/console/api/jobs/${id}/signed`)).status,
                (await fetch('/v1/admin/executor')).status]""",
            job_id,
        )
        assert status == [404, 403]
        page.wait_for_selector("#live >> text=Live")
        assert page.locator(f'tr[data-job="{job_id}"]').count() == 0
        page.goto(f"/jobs/{job_id}")
        page.wait_for_selector("[role=alert]")
        assert "JOB_NOT_FOUND" in page.inner_text("main")
        assert page.locator("svg.histogram").count() == 0
        page.goto("/operators")
        page.wait_for_selector("[role=alert]")
        assert page.locator("#nav-operators").is_hidden()
    finally:
        page.context.close()

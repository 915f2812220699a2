"""Reservations through a real centre over HTTP: the SDK, the CLI, the scheduler's rule
and charging, on SQLite and on PostgreSQL.

Time is real here: long windows are ended by pre-emption, and one short window (a few
seconds, allowed by the test centre's settings) is left to run out.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from qharbor import cli, errors, wire
from qharbor.client import HarborService
from tests.integration.conftest import RunningCentre, start_centre
from tests.programs import BELL_QASM3 as BELL

HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def running(module_database_kind: str) -> Iterator[RunningCentre]:
    """A centre that books windows of a second or more, and needs approval."""
    with tempfile.TemporaryDirectory() as tmp:
        server, schema = start_centre(module_database_kind, Path(tmp), reservation_min_seconds=1.0)
        running = RunningCentre(server)
        try:
            yield running
        finally:
            running.close()
            server.stop()
            if schema is not None:
                schema.drop()


class Member:
    """A project member's SDK service and HTTP client."""

    services: ClassVar[list[HarborService]] = []

    def __init__(self, running: RunningCentre, name: str, project: str) -> None:
        _user, token = running.centre.identity.create_user(name, project)
        self.service = HarborService(running.url, token)
        self.services.append(self.service)
        self.http = running.client_for(token)
        self.token = token


@pytest.fixture(autouse=True)
def _close_services() -> Iterator[None]:
    yield
    while Member.services:
        Member.services.pop().close()


@pytest.fixture(scope="module")
def admin(running: RunningCentre) -> Iterator[HarborService]:
    with HarborService(running.url, running.token) as service:
        yield service


def submit(running: RunningCentre, who: Member, device: str) -> dict[str, Any]:
    return running.submit(who.http, device=device, programs=[BELL], shots=10, seed=1)


def test_another_projects_job_waits_for_the_window_and_runs_once_it_is_preempted(
    running: RunningCentre, admin: HarborService
) -> None:
    alice = Member(running, "alice-w", "lab-window")
    bob = Member(running, "bob-w", "lab-waiting")
    now = wire.utcnow()
    booked = alice.service.reservations.create("stabilizer", now, HOUR, note="VQE campaign")
    assert (booked["status"], booked["project"]) == ("REQUESTED", "lab-window")
    with pytest.raises(errors.ReservationConflict) as clash:
        bob.service.reservations.create("stabilizer", now + HOUR / 2, HOUR)
    assert clash.value.detail["conflict_end"] == booked["end"]
    with pytest.raises(errors.Forbidden):
        alice.service.reservations.approve(booked["id"])
    assert admin.reservations.approve(booked["id"], "go ahead")["status"] == "APPROVED"

    waiting = submit(running, bob, "stabilizer")
    seen = bob.http.get(f"/v1/jobs/{waiting['id']}").json()
    assert seen["status"] == "QUEUED"
    assert f"reserved for another project until {booked['end']}" in seen["waiting_reason"]
    assert seen["estimated_start"] == booked["end"]
    mine = submit(running, alice, "stabilizer")
    assert running.wait(mine["id"], alice.http)["status"] == "DONE"
    assert bob.http.get(f"/v1/jobs/{waiting['id']}").json()["status"] == "QUEUED"

    taken = admin.reservations.preempt(booked["id"], "calibration campaign")
    assert (taken["status"], taken["reason"]) == ("PREEMPTED", "calibration campaign")
    assert running.wait(waiting["id"], bob.http)["status"] == "DONE"
    # The window is charged up to the pre-emption; the job inside it is not charged again.
    assert 0 < taken["charged_s"] < HOUR.total_seconds()
    [row] = alice.service.usage(device="stabilizer")["usage"]
    assert (row["jobs"], row["reservations"]) == (1, 1)
    assert row["device_s"] == pytest.approx(taken["charged_s"])
    assert alice.service.reservations.get(booked["id"])["charged_s"] == taken["charged_s"]


def test_a_job_queued_during_a_short_window_starts_after_it_ends(
    running: RunningCentre, admin: HarborService
) -> None:
    alice = Member(running, "alice-s", "lab-short")
    bob = Member(running, "bob-s", "lab-later")
    booked = alice.service.reservations.create("mps", wire.utcnow(), dt.timedelta(seconds=3))
    admin.reservations.approve(booked["id"])
    job = running.wait(submit(running, bob, "mps")["id"], bob.http)
    assert job["status"] == "DONE"
    assert wire.parse_iso(job["started_at"]) >= wire.parse_iso(booked["end"])
    done = alice.service.reservations.get(booked["id"])
    assert (done["status"], done["charged_s"]) == ("COMPLETED", 3.0)


def test_bad_bookings_get_a_clear_4xx(running: RunningCentre) -> None:
    carol = Member(running, "carol-b", "lab-bad")
    now = wire.utcnow() + HOUR
    cases = [
        (
            {"device": "sc25", "start": wire.iso(now), "end": wire.iso(now)},
            422,
            "RESERVATION_INVALID",
        ),
        (
            {"device": "sc25", "start": wire.iso(now - 2 * HOUR), "end": wire.iso(now)},
            422,
            "RESERVATION_INVALID",
        ),
        (
            {"device": "nope", "start": wire.iso(now), "end": wire.iso(now + HOUR)},
            404,
            "DEVICE_NOT_FOUND",
        ),
        ({"device": "sc25", "start": "tomorrow", "end": wire.iso(now)}, 422, "INVALID_REQUEST"),
    ]
    for body, status, code in cases:
        answer = carol.http.post("/v1/reservations", json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
    missing = carol.http.post("/v1/reservations/nope/cancel", json={})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "RESERVATION_NOT_FOUND")
    preempt = carol.http.post("/v1/reservations/nope/preempt", json={"reason": "mine"})
    assert preempt.status_code == 403


def test_the_cli_books_lists_and_cancels(running: RunningCentre) -> None:
    dave = Member(running, "dave-c", "lab-cli")
    start = wire.iso(wire.utcnow() + 24 * HOUR)
    common = ["--url", running.url, "--token", dave.token, "reservations"]
    runner = CliRunner()
    booked = runner.invoke(
        cli.app, [*common, "book", "nmr3", "--start", start, "--duration", "600", "--json"]
    )
    assert booked.exit_code == 0, booked.output
    window = json.loads(booked.stdout)
    assert (window["device"], window["status"], window["duration_s"]) == ("nmr3", "REQUESTED", 600)
    listed = runner.invoke(cli.app, [*common, "list", "--json"])
    assert [r["id"] for r in json.loads(listed.stdout)] == [window["id"]]
    again = runner.invoke(cli.app, [*common, "book", "nmr3", "--start", start, "--duration", "60"])
    assert again.exit_code == 1
    assert again.stderr.startswith("RESERVATION_CONFLICT: ")
    cancelled = runner.invoke(
        cli.app, [*common, "cancel", window["id"], "--reason", "not needed", "--json"]
    )
    assert json.loads(cancelled.stdout)["status"] == "CANCELLED"

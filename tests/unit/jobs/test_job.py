"""The Job value as the API shows it."""

from __future__ import annotations

import datetime as dt

import pytest

from qharbor.jobs.job import FINAL_STATUSES, Job, JobStatus

CREATED = dt.datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)


def job(**changes) -> Job:
    values = {
        "id": "abc",
        "seq": 1,
        "project_id": "p",
        "project": "physics",
        "user_id": "u",
        "device": "statevector",
        "status": JobStatus.QUEUED,
        "shots": 10,
        "seed": 3,
        "tags": ("a",),
        "num_programs": 1,
        "num_experiments": 2,
        "attempt": 0,
        "cancel_requested": False,
        "error_code": None,
        "error_message": None,
        "created_at": CREATED,
        "started_at": None,
        "finished_at": None,
        "queue_position": 4,
    }
    values.update(changes)
    return Job(**values)


def test_to_json_of_a_queued_job() -> None:
    data = job().to_json()
    assert data["status"] == "QUEUED"
    assert data["created_at"] == "2025-03-01T12:00:00.250000Z"
    assert data["started_at"] is None
    assert data["tags"] == ["a"]
    assert data["queue_position"] == 4
    assert data["error"] is None
    assert "project_id" not in data and "user_id" not in data


def test_to_json_of_a_failed_job_carries_its_error() -> None:
    data = job(status=JobStatus.FAILED, error_code="WORKER_LOST", error_message="gone").to_json()
    assert data["error"] == {"code": "WORKER_LOST", "message": "gone"}


@pytest.mark.parametrize("status", list(JobStatus))
def test_only_done_failed_and_cancelled_are_final(status: JobStatus) -> None:
    expected = status in {JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED}
    assert job(status=status).is_final is expected
    assert (status in FINAL_STATUSES) is expected

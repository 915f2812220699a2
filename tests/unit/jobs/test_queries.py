"""Reads of jobs: one job, pages and cursors, results, queue metrics, quota figures."""

from __future__ import annotations

import pytest

from qharbor import errors
from qharbor.jobs.job import JobStatus
from qharbor.jobs.manager import JobManager
from qharbor.jobs.queries import encode_cursor
from tests.results import a_result
from tests.unit.jobs.test_manager import Member, claim, submit


def test_get_of_an_unknown_job_is_job_not_found(manager: JobManager, alice: Member) -> None:
    with pytest.raises(errors.JobNotFound) as caught:
        manager.get(alice.project_id, "0" * 32)
    assert caught.value.code == "JOB_NOT_FOUND"


def test_another_projects_job_is_job_not_found(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    job = submit(manager, alice)
    with pytest.raises(errors.JobNotFound):
        manager.get(bob.project_id, job.id)
    with pytest.raises(errors.JobNotFound):
        manager.cancel(bob.project_id, job.id)
    with pytest.raises(errors.JobNotFound):
        manager.result(bob.project_id, job.id)
    assert manager.get(alice.project_id, job.id).status is JobStatus.QUEUED


# --- listing ------------------------------------------------------------------------


def test_list_shows_the_projects_jobs_newest_first(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    ids = [submit(manager, alice).id for _ in range(3)]
    submit(manager, bob)
    page, cursor = manager.list(alice.project_id)
    assert [j.id for j in page] == ids[::-1]
    assert cursor is None


def test_list_filters_by_status(manager: JobManager, alice: Member) -> None:
    queued = submit(manager, alice)
    cancelled = submit(manager, alice)
    manager.cancel(alice.project_id, cancelled.id)
    assert [j.id for j in manager.list(alice.project_id, status=JobStatus.QUEUED)[0]] == [queued.id]
    assert [j.id for j in manager.list(alice.project_id, status=JobStatus.CANCELLED)[0]] == [
        cancelled.id
    ]
    assert manager.list(alice.project_id, status=JobStatus.DONE)[0] == []


def test_list_filters_by_device(manager: JobManager, alice: Member) -> None:
    on_mps = submit(manager, alice, "mps")
    submit(manager, alice, "statevector")
    assert [j.id for j in manager.list(alice.project_id, device="mps")[0]] == [on_mps.id]


def test_list_filters_by_tag(manager: JobManager, alice: Member) -> None:
    tagged = submit(manager, alice, tags=("sweep", "night", "sweep"))
    submit(manager, alice, tags=("night",))
    submit(manager, alice)
    assert [j.id for j in manager.list(alice.project_id, tag="sweep")[0]] == [tagged.id]
    assert len(manager.list(alice.project_id, tag="night")[0]) == 2
    assert manager.list(alice.project_id, tag="absent")[0] == []


def test_list_combines_filters(manager: JobManager, alice: Member) -> None:
    wanted = submit(manager, alice, "mps", tags=("x",))
    submit(manager, alice, "statevector", tags=("x",))
    submit(manager, alice, "mps")
    page, _ = manager.list(alice.project_id, device="mps", tag="x", status=JobStatus.QUEUED)
    assert [j.id for j in page] == [wanted.id]


def test_cursor_pages_have_no_duplicates_and_no_gaps(manager: JobManager, alice: Member) -> None:
    ids = [submit(manager, alice).id for _ in range(7)]
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page, cursor = manager.list(alice.project_id, limit=3, cursor=cursor)
        seen.extend(j.id for j in page)
        sizes.append(len(page))
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert seen == ids[::-1]


def test_exactly_full_last_page_has_no_next_cursor(manager: JobManager, alice: Member) -> None:
    for _ in range(4):
        submit(manager, alice)
    first, cursor = manager.list(alice.project_id, limit=2)
    second, cursor = manager.list(alice.project_id, limit=2, cursor=cursor)
    assert len(first) == len(second) == 2
    assert cursor is None


def test_jobs_created_while_paging_do_not_shift_the_pages(
    manager: JobManager, alice: Member
) -> None:
    old = [submit(manager, alice).id for _ in range(4)]
    first, cursor = manager.list(alice.project_id, limit=2)
    submit(manager, alice)
    second, cursor = manager.list(alice.project_id, limit=2, cursor=cursor)
    assert [j.id for j in first + second] == old[::-1]
    assert cursor is None


def test_pagination_respects_filters(manager: JobManager, alice: Member) -> None:
    tagged = []
    for index in range(5):
        tagged.append(submit(manager, alice, tags=("t",)).id)
        if index % 2:
            submit(manager, alice)
    page, cursor = manager.list(alice.project_id, tag="t", limit=3)
    rest, end = manager.list(alice.project_id, tag="t", limit=3, cursor=cursor)
    assert [j.id for j in page + rest] == tagged[::-1]
    assert end is None


@pytest.mark.parametrize(
    "cursor",
    ["", "not a cursor!", "czEyYWI", encode_cursor(5).replace("c", "x", 1), "%%%"],
)
def test_bad_cursor_is_an_invalid_request(manager: JobManager, alice: Member, cursor: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        manager.list(alice.project_id, cursor=cursor)
    assert caught.value.code == "INVALID_REQUEST"
    assert caught.value.detail == {"field": "cursor"}


# --- results ---------------------------------------------------------------------------


def test_result_of_a_failed_job_is_job_failed_with_its_error(
    manager: JobManager, alice: Member
) -> None:
    job = submit(manager, alice)
    [claimed] = claim(manager)
    manager.finish_without_result(job.id, claimed.attempt, JobStatus.FAILED, "ENGINE_ERROR", "x")
    with pytest.raises(errors.JobFailed) as caught:
        manager.result(alice.project_id, job.id)
    assert caught.value.detail["job_error"] == {"code": "ENGINE_ERROR", "message": "x"}


def test_result_of_a_cancelled_job_is_job_cancelled(manager: JobManager, alice: Member) -> None:
    job = submit(manager, alice)
    manager.cancel(alice.project_id, job.id)
    with pytest.raises(errors.JobCancelled):
        manager.result(alice.project_id, job.id)


@pytest.mark.parametrize("running", [False, True], ids=["queued", "running"])
def test_result_of_an_unfinished_job_is_job_not_finished(
    manager: JobManager, alice: Member, running: bool
) -> None:
    job = submit(manager, alice)
    if running:
        claim(manager)
    with pytest.raises(errors.JobNotFinished) as caught:
        manager.result(alice.project_id, job.id)
    assert caught.value.detail["status"] == ("RUNNING" if running else "QUEUED")


# --- queue position and lengths ------------------------------------------------------------


def test_queue_position_counts_older_queued_jobs_on_the_same_device(
    manager: JobManager, alice: Member, bob: Member
) -> None:
    first = submit(manager, alice)
    second = submit(manager, bob)
    on_mps = submit(manager, alice, "mps")
    third = submit(manager, alice)
    assert [manager.get(alice.project_id, j.id).queue_position for j in (first, third)] == [0, 2]
    assert manager.get(bob.project_id, second.id).queue_position == 1
    assert manager.get(alice.project_id, on_mps.id).queue_position == 0
    claim(manager, slots=1)
    assert manager.get(alice.project_id, third.id).queue_position == 1
    manager.cancel(bob.project_id, second.id)
    assert manager.get(alice.project_id, third.id).queue_position == 0


def test_queue_lengths_count_queued_and_running_per_device(
    manager: JobManager, alice: Member
) -> None:
    for _ in range(3):
        submit(manager, alice)
    submit(manager, alice, "mps")
    done = submit(manager, alice, "stabilizer")
    claim(manager, slots=1)
    [claimed] = claim(manager, stabilizer=1)
    manager.complete(done.id, claimed.attempt, a_result(done.id))
    assert manager.queue_lengths() == {
        "statevector": {"queued": 2, "running": 1},
        "mps": {"queued": 1, "running": 0},
    }


# --- figures for the quota check ----------------------------------------------------------

"""1,000 jobs from 8 concurrent clients: every one finishes, none lost or duplicated."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.integration.conftest import RunningCentre
from tests.programs import BELL

CLIENTS = 8
JOBS = 1000


def test_a_thousand_jobs_from_eight_clients_all_finish_exactly_once(
    running: RunningCentre,
) -> None:
    def client_work(client_index: int) -> list[tuple[str, str]]:
        submitted: list[tuple[str, str]] = []
        with httpx.Client(
            base_url=running.url,
            headers={"Authorization": f"Bearer {running.token}"},
            timeout=120,
        ) as http:
            for n in range(client_index, JOBS, CLIENTS):
                key = f"load-{client_index}-{n}"
                response = http.post(
                    "/v1/jobs",
                    json={
                        "device": "statevector",
                        "programs": [BELL],
                        "shots": 16,
                        "seed": n,
                        "tags": ["load"],
                        "idempotency_key": key,
                    },
                )
                assert response.status_code == 201, response.text
                submitted.append((key, response.json()["id"]))
        return submitted

    with ThreadPoolExecutor(CLIENTS) as pool:
        submitted = [pair for part in pool.map(client_work, range(CLIENTS)) for pair in part]
    ids = [job_id for _key, job_id in submitted]
    assert len(ids) == len(set(ids)) == JOBS

    finals: dict[str, dict[str, Any]] = {}

    def await_one(job_id: str) -> tuple[str, dict[str, Any]]:
        with httpx.Client(
            base_url=running.url, headers={"Authorization": f"Bearer {running.token}"}, timeout=120
        ) as http:
            for _ in range(20):
                response = http.get(f"/v1/jobs/{job_id}/result", params={"wait": 30})
                if response.status_code == 200:
                    return job_id, response.json()
                assert response.json()["error"]["code"] == "JOB_NOT_FINISHED", response.text
        raise AssertionError(f"job {job_id} never finished")

    with ThreadPoolExecutor(CLIENTS) as pool:
        finals = dict(pool.map(await_one, ids))
    assert len(finals) == JOBS
    for job_id, result in finals.items():
        assert result["job_id"] == job_id
        counts = result["experiments"][0]["counts"]
        assert sum(counts.values()) == 16
        assert set(counts) <= {"00", "11"}

    # Listing by tag sees each job exactly once, every one DONE on its first attempt.
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": "load", "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = running.http.get("/v1/jobs", params=params).json()
        listed += page["jobs"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(j["id"] for j in listed) == sorted(ids)
    assert {j["status"] for j in listed} == {"DONE"}
    assert {j["attempt"] for j in listed} == {1}

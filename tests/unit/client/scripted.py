"""A scripted centre over ``httpx.MockTransport``, for client tests that need exact answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from qharbor.client import HarborClient, HarborService, RestSession, RetryPolicy

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


class ScriptedCentre:
    """Answers requests from a script, in order, and records what was asked."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def session(self, retries: int = 3, token: str | None = "qh_test") -> RestSession:
        return RestSession(
            "http://centre.test",
            token,
            retry=RetryPolicy(retries=retries),
            transport=httpx.MockTransport(self.handle),
            sleep=self.sleeps.append,
        )

    def client(self, retries: int = 3) -> HarborClient:
        return HarborClient(self.session(retries))

    def service(self, retries: int = 3) -> HarborService:
        return HarborService.from_client(self.client(retries))

    def query(self, index: int) -> dict[str, str]:
        return dict(self.requests[index].url.params)

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index].content)


def error(http_status: int, code: str, message: str = "", **detail: Any) -> httpx.Response:
    """An answer in the centre's one error shape."""
    body = {"error": {"code": code, "message": message or code.lower(), "detail": detail}}
    return httpx.Response(http_status, json=body)


def job_json(job_id: str = "j1", status: str = "QUEUED", **fields: Any) -> dict[str, Any]:
    return {"id": job_id, "status": status, "device": "statevector", "shots": 100, **fields}


def result_json(job_id: str = "j1", counts: list[dict[str, int]] | None = None) -> dict[str, Any]:
    experiments = [
        {"program": 0, "name": None, "parameters": None, "counts": c, "shots": sum(c.values())}
        for c in (counts or [{"00": 60, "11": 40}])
    ]
    return {
        "job_id": job_id,
        "device": "statevector",
        "shots": 100,
        "experiments": experiments,
        "timings": {"queued_s": 0.01, "compile_s": 0.002, "run_s": 0.003, "total_s": 0.02},
        "metadata": {"engine": "aer", "method": "statevector"},
    }

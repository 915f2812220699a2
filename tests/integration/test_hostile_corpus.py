"""The hostile corpus (hostile/corpus.json), fired at a centre through real HTTP.

Every case, sent to ``POST /v1/jobs`` and to ``POST /v1/jobs:dry-run``, must be
answered with its 4xx and stable code in under 2 s, and the API process's memory
must come back to its baseline afterwards: no program text, however built, may
hold the centre. A case's ``program`` is a string, or ``[text, times]`` pieces
joined, so the file stays small while the programs are not.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from qharbor.programs.sandbox import ParserPool
from tests.integration.conftest import RunningCentre

CORPUS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "hostile" / "corpus.json").read_text(encoding="utf-8")
)
#: The requirement: every hostile request is answered within this, in seconds.
ANSWER_WITHIN_S = 2.0
ENDPOINTS = {"jobs": "/v1/jobs", "dry-run": "/v1/jobs:dry-run"}


@pytest.fixture(scope="module")
def module_database_kind() -> str:
    # Program intake never touches the database: one centre, on SQLite, is enough.
    return "sqlite"


def _program(case: dict[str, Any]) -> str:
    program = case["program"]
    if isinstance(program, str):
        return program
    return "".join(text * times for text, times in program)


def _body(case: dict[str, Any]) -> bytes:
    if "raw" in case:
        return str(case["raw"]).encode("utf-8")
    program: dict[str, Any] = {"source": _program(case)}
    if "format" in case:
        program["format"] = case["format"]
    if "parameters_repeat" in case:
        binding, times = case["parameters_repeat"]
        program["parameters"] = [binding] * times
    body = {"device": "statevector", "shots": 10, **case.get("body", {})}
    body["programs"] = [program] * case.get("programs", 1)
    return json.dumps(body).encode("utf-8")


REQUESTS = [
    pytest.param(case, endpoint, id=f"{endpoint}-{case['name']}")
    for case in CORPUS
    for endpoint in ("jobs", "dry-run")
    if endpoint == "jobs" or case.get("dry_run", True)
]


def _send(running: RunningCentre, endpoint: str, body: bytes) -> Any:
    return running.http.post(
        ENDPOINTS[endpoint],
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_the_corpus_is_large_and_names_each_case_once() -> None:
    names = [case["name"] for case in CORPUS]
    assert len(names) >= 100
    assert len(set(names)) == len(names)
    assert len(REQUESTS) >= 200


@pytest.mark.parametrize(("case", "endpoint"), REQUESTS)
def test_hostile_case_is_refused_quickly_with_its_code(
    running: RunningCentre, case: dict[str, Any], endpoint: str
) -> None:
    body = _body(case)
    started = time.monotonic()
    response = _send(running, endpoint, body)
    elapsed = time.monotonic() - started
    assert response.status_code == case["status"], response.text[:400]
    error = response.json()["error"]
    assert error["code"] == case["code"], error
    assert error["message"]
    assert elapsed < ANSWER_WITHIN_S, f"{case['name']} took {elapsed:.2f} s"


def _rss_settled(process: psutil.Process) -> int:
    gc.collect()
    # Freed memory goes back to the system, so RSS measures what is still held.
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return int(process.memory_info().rss)


def test_after_the_corpus_the_api_is_healthy_with_its_baseline_memory(
    running: RunningCentre,
) -> None:
    process = psutil.Process(os.getpid())  # the centre's API runs in this process
    warm = [c for c in CORPUS if c["name"] in ("qasm3-qubit-product", "originir-qwhile-nested-4")]
    for case in warm * 3:
        _send(running, "jobs", _body(case))
    ok = running.submit(programs=["QINIT 1\nCREG 1\nH q[0]\nMEASURE q[0],c[0]\n"], shots=10)
    running.wait(ok["id"])
    baseline = _rss_settled(process)
    for case, endpoint in ((p.values[0], p.values[1]) for p in REQUESTS):
        assert _send(running, endpoint, _body(case)).status_code == case["status"]
    after = _rss_settled(process)
    assert after <= baseline * 1.10, f"RSS {baseline >> 20} MiB before, {after >> 20} MiB after"
    assert running.http.get("/v1/health").json()["status"] == "ok"
    job = running.submit(programs=["QINIT 1\nCREG 1\nX q[0]\nMEASURE q[0],c[0]\n"], shots=50)
    assert running.wait(job["id"])["status"] == "DONE"
    assert running.result(job["id"])["experiments"][0]["counts"] == {"1": 50}


#: A parser start that fails as under a memory limit too small for its imports.
_STARVED_PARSER = (
    "import resource, runpy, sys\n"
    "resource.setrlimit(resource.RLIMIT_AS, (64 << 20, resource.RLIM_INFINITY))\n"
    "sys.argv = ['sandbox', sys.argv[1]]\n"
    "runpy.run_module('qharbor.programs.sandbox', run_name='__main__')\n"
)


def test_a_sandbox_that_cannot_start_is_reported_and_leaves_no_zombies(
    running: RunningCentre,
) -> None:
    centre = running.centre
    broken = ParserPool(size=1)
    broken.command = [sys.executable, "-c", _STARVED_PARSER]
    # Health asks the centre's pool; admission asks the submission service's (the same one).
    working, centre.parsers = centre.parsers, broken
    centre.submission.parsers = broken
    try:
        started = time.monotonic()
        response = running.http.post(
            "/v1/jobs", json={"device": "statevector", "programs": ["QINIT 1\nH q[0]\n"]}
        )
        assert time.monotonic() - started < 30
        assert response.status_code == 503, response.text[:300]
        error = response.json()["error"]
        assert error["code"] == "PARSER_UNAVAILABLE"
        # The reason is the parser's own last words, whichever import ran out first.
        assert "could not start" in error["message"]
        assert "while starting:" in error["detail"]["reason"]
        health = running.http.get("/v1/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        assert "while starting:" in health.json()["problems"]["sandbox"]
        zombies = [
            child
            for child in psutil.Process().children(recursive=True)
            if child.status() == psutil.STATUS_ZOMBIE
        ]
        assert zombies == []
    finally:
        centre.parsers = centre.submission.parsers = working
        broken.close()
    # Once parsers start again, the centre answers as before.
    assert running.http.get("/v1/health").json()["status"] == "ok"

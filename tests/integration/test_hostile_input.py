"""The hostile corpus: programs and bodies built to hurt the centre.

Each item must be answered with a 4xx and a stable code within 2 seconds (the
client's timeout), the centre must stay up with bounded memory, and another
tenant's job must run to completion while the corpus is fired.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from qiskit import QuantumCircuit, qpy

from tests.integration.conftest import RunningCentre
from tests.programs import ghz

HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
TIMEOUT_S = 2.0


def _old_qpy() -> str:
    circuit = QuantumCircuit(1, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    data = bytearray(buffer.getvalue())
    data[6] = 10  # a QPY version from before the unsafe loader was removed
    return base64.b64encode(bytes(data)).decode()


def _definitions(levels: int, calls: int) -> str:
    lines = ["gate g0 a { h a; }"]
    lines += [
        f"gate g{i + 1} a {{ {' '.join(f'g{i} a;' for _ in range(calls))} }}" for i in range(levels)
    ]
    return HEADER + "\n".join(lines) + f"\nqubit q;\ng{levels} q;\n"


def _programs(*sources: str, **extra: Any) -> dict[str, Any]:
    return {"device": "statevector", "programs": list(sources), "shots": 10, **extra}


# (name, JSON body or raw bytes, expected status, expected code)
CORPUS: list[tuple[str, Any, int, str]] = [
    (
        "parentheses-1e5",
        _programs("OPENQASM 3.0;\nqubit q;\nx = " + "(" * 100_000 + "1" + ")" * 100_000 + ";"),
        400,
        "PROGRAM_LIMIT",
    ),
    (
        "gate-cycle-direct",
        _programs(HEADER + "gate g a { g a; }\nqubit q;\ng q;\n"),
        400,
        "PROGRAM_SYNTAX",
    ),
    (
        "gate-cycle-indirect",
        _programs(HEADER + "gate a x { b x; }\ngate b x { a x; }\nqubit q;\na q;\n"),
        400,
        "PROGRAM_SYNTAX",
    ),
    ("qubits-1e6", _programs(HEADER + "qubit[1000000] q;\nh q[0];\n"), 400, "PROGRAM_LIMIT"),
    (
        "qreg-1e6",
        _programs('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1000000];\n'),
        400,
        "PROGRAM_LIMIT",
    ),
    ("while-true", _programs(HEADER + "qubit q;\nwhile (true) { h q; }\n"), 400, "PROGRAM_LIMIT"),
    (
        "for-1e9",
        _programs(HEADER + "qubit q;\nfor uint i in [1:1000000000] { h q; }\n"),
        400,
        "PROGRAM_LIMIT",
    ),
    (
        "nested-for-1e9",
        _programs(
            HEADER + "qubit q;\nfor uint i in [1:1000] { for uint j in [1:1000] "
            "{ for uint k in [1:1000] { h q; } } }\n"
        ),
        400,
        "PROGRAM_LIMIT",
    ),
    (
        "include-relative",
        _programs('OPENQASM 3.0;\ninclude "../../etc/passwd";\nqubit q;\n'),
        400,
        "PROGRAM_UNSUPPORTED",
    ),
    (
        "include-absolute",
        _programs('OPENQASM 2.0;\ninclude "/etc/passwd";\nqreg q[1];\n'),
        400,
        "PROGRAM_SYNTAX",
    ),
    (
        "include-qasm3-absolute",
        _programs('OPENQASM 3.0;\ninclude "/etc/hostname";\n'),
        400,
        "PROGRAM_UNSUPPORTED",
    ),
    ("definitions-doubling-40", _programs(_definitions(40, 2)), 400, "PROGRAM_LIMIT"),
    ("definitions-slow-to-expand", _programs(_definitions(5, 7)), 400, "PROGRAM_LIMIT"),
    ("nan-angle-text", _programs(HEADER + "qubit q;\nrx(1e999) q;\n"), 400, "PROGRAM_PARAMETERS"),
    (
        "nan-binding",
        b'{"device": "statevector", "shots": 10, "programs": [{"source": '
        b'"OPENQASM 3.0;\\ninclude \\"stdgates.inc\\";\\ninput float[64] theta;\\nqubit q;\\n'
        b'rx(theta) q;", "parameters": [[NaN]]}]}',
        400,
        "PROGRAM_PARAMETERS",
    ),
    (
        "infinite-binding",
        b'{"device": "statevector", "shots": 10, "programs": [{"source": '
        b'"OPENQASM 3.0;\\ninclude \\"stdgates.inc\\";\\ninput float[64] theta;\\nqubit q;\\n'
        b'rx(theta) q;", "parameters": [[Infinity]]}]}',
        400,
        "PROGRAM_PARAMETERS",
    ),
    (
        "non-utf8-body",
        b'{"device": "statevector", "programs": ["\xff\xfe\xfd"]}',
        422,
        "INVALID_REQUEST",
    ),
    (
        "lone-surrogate",
        b'{"device": "statevector", "programs": ["OPENQASM 3.0;\\nqubit q;\\n\\udc80"]}',
        400,
        "PROGRAM_SYNTAX",
    ),
    ("programs-1e5", _programs(*(["QINIT 1\n"] * 100_000)), 400, "PROGRAM_LIMIT"),
    ("body-50MB", b"{" + b" " * (50 * 1024 * 1024) + b"}", 413, "PAYLOAD_TOO_LARGE"),
    ("qpy-old-version", _programs(_old_qpy()), 400, "PROGRAM_UNSUPPORTED"),
    ("originir-huge-qinit", _programs("QINIT 1000000\nH q[0]\n"), 400, "PROGRAM_LIMIT"),
    (
        "originir-deep-angle",
        _programs("QINIT 1\nRX q[0],(" + "(" * 50_000 + "1" + ")" * 50_000 + ")\n"),
        400,
        "PROGRAM_LIMIT",
    ),
]


def _send(client: httpx.Client, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return client.post(
            "/v1/jobs",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT_S,
        )
    return client.post("/v1/jobs", json=body, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def tenant_job(running: RunningCentre) -> Iterator[tuple[httpx.Client, str]]:
    """A job of another project's, submitted before the corpus is fired."""
    other = running.new_user("bystander", "bystanders")
    job = running.submit(other, programs=[ghz(18)] * 4, shots=20_000, seed=1)
    yield other, job["id"]


@pytest.mark.parametrize(("name", "body", "status", "code"), CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_item_is_refused_with_a_stable_code(
    running: RunningCentre,
    tenant_job: tuple[httpx.Client, str],
    name: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    response = _send(running.http, body)
    assert response.status_code == status, f"{name}: {response.text[:300]}"
    error = response.json()["error"]
    assert error["code"] == code, f"{name}: {error}"
    assert error["message"]


def test_the_corpus_leaves_the_centre_up_with_bounded_memory(
    running: RunningCentre, tenant_job: tuple[httpx.Client, str]
) -> None:
    process = psutil.Process(os.getpid())
    _send(running.http, CORPUS[0][1])  # warm the paths once before measuring
    before = process.memory_info().rss
    for _name, body, status, _code in CORPUS * 2:
        assert _send(running.http, body).status_code == status
    after = process.memory_info().rss
    assert after - before < 300 * 1024 * 1024, f"RSS grew by {(after - before) >> 20} MiB"
    assert running.http.get("/v1/health").json()["status"] == "ok"
    # Parsers replaced after a timeout are back: a sandboxed program still parses.
    good = HEADER + "gate g a { h a; }\nqubit q;\nbit c;\ng q;\nc = measure q;\n"
    job = running.submit(programs=[good], shots=100)
    assert running.wait(job["id"])["status"] == "DONE"


def test_another_tenant_s_job_completes_while_the_corpus_is_fired(
    running: RunningCentre, tenant_job: tuple[httpx.Client, str]
) -> None:
    client, job_id = tenant_job
    finished = running.wait(job_id, client)
    assert finished["status"] == "DONE", finished
    result = running.result(job_id, client)
    for row in result["experiments"]:
        assert set(row["counts"]) == {"0" * 18, "1" * 18}
        assert sum(row["counts"].values()) == 20_000

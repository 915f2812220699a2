"""What ``HarborService.run`` sends: program objects, bindings, and the job body."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from qharbor import errors
from qharbor.client.programs import build_programs, format_for_path, program_from_file
from tests.unit.client.scripted import ScriptedCentre, job_json

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; measure q -> c;'


def test_text_becomes_a_program_object() -> None:
    assert build_programs(BELL) == [{"source": BELL}]


def test_program_objects_pass_through_and_lists_keep_their_order() -> None:
    given = [{"source": "a", "format": "qasm3", "name": "first"}, "b"]

    assert build_programs(given) == [
        {"source": "a", "format": "qasm3", "name": "first"},
        {"source": "b"},
    ]


def test_parameters_apply_to_programs_without_their_own() -> None:
    built = build_programs(["a", {"source": "b", "parameters": [[9.0]]}], parameters=[[1], 2.5])

    assert built[0]["parameters"] == [[1.0], [2.5]]
    assert built[1]["parameters"] == [[9.0]]


def test_an_unsendable_type_is_refused_before_any_request() -> None:
    with pytest.raises(errors.InvalidRequest, match="cannot send a int"):
        build_programs([BELL, 42])


def test_an_empty_program_list_is_refused() -> None:
    with pytest.raises(errors.InvalidRequest):
        build_programs([])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bell.qasm", "auto"),
        ("BELL.QASM", "auto"),
        ("x.qasm2", "qasm2"),
        ("x.qasm3", "qasm3"),
        ("x.txt", "auto"),
    ],
)
def test_program_format_comes_from_the_file_extension(name: str, expected: str) -> None:
    assert format_for_path(name) == expected


def test_program_file_is_read_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(BELL)

    assert program_from_file(path) == {"source": BELL, "format": "auto", "name": "bell"}


def test_circuit_is_sent_as_openqasm3_with_bindings_by_exported_name() -> None:
    qiskit = pytest.importorskip("qiskit")
    from qiskit.circuit import Parameter

    t, a = Parameter("t"), Parameter("a")  # "t" is also a gate, so the exporter renames it
    circuit = qiskit.QuantumCircuit(1, name="rot")
    circuit.rx(t, 0)
    circuit.ry(a, 0)

    [program] = build_programs(circuit, parameters=[[0.5, 1.5], {"t": 2.0, a: 3.0}])

    assert program["format"] == "qasm3" and program["name"] == "rot"
    assert "input float[64] t_0;" in program["source"]
    # A list follows circuit.parameters (a, t), Qiskit's order, whatever the exported names.
    assert program["parameters"] == [{"a": 0.5, "t_0": 1.5}, {"t_0": 2.0, "a": 3.0}]


def test_circuit_binding_of_the_wrong_length_is_refused_naming_the_parameters() -> None:
    qiskit = pytest.importorskip("qiskit")
    from qiskit.circuit import Parameter

    circuit = qiskit.QuantumCircuit(1)
    circuit.rx(Parameter("theta"), 0)

    with pytest.raises(errors.ProgramParameters, match=r"2 values.*1 parameters \(theta\)"):
        build_programs(circuit, parameters=[[1.0, 2.0]])


def test_run_sends_device_shots_seed_tags_and_programs() -> None:
    centre = ScriptedCentre(httpx.Response(201, json=job_json("j9")))

    job = centre.service().run(
        BELL, device="mps", shots=10, seed=7, tags=["bell"], idempotency_key="k"
    )

    assert job.job_id == "j9"
    assert json.loads(centre.requests[0].content) == {
        "device": "mps",
        "programs": [{"source": BELL}],
        "shots": 10,
        "seed": 7,
        "tags": ["bell"],
    }
    assert centre.requests[0].headers["Idempotency-Key"] == "k"


def test_jobs_follows_cursors_until_the_limit() -> None:
    centre = ScriptedCentre(
        httpx.Response(200, json={"jobs": [job_json("a"), job_json("b")], "next_cursor": "c1"}),
        httpx.Response(200, json={"jobs": [job_json("c"), job_json("d")], "next_cursor": "c2"}),
    )

    jobs = centre.service().jobs(status="done", tag="x", limit=3)

    assert [j.job_id for j in jobs] == ["a", "b", "c"]
    assert centre.query(0) == {"status": "DONE", "tag": "x", "limit": "3"}
    assert centre.query(1) == {"status": "DONE", "tag": "x", "limit": "1", "cursor": "c1"}


def test_jobs_stops_on_the_last_page() -> None:
    centre = ScriptedCentre(
        httpx.Response(200, json={"jobs": [job_json("a")], "next_cursor": None}),
    )

    assert [j.job_id for j in centre.service().jobs(limit=50)] == ["a"]
    assert len(centre.requests) == 1

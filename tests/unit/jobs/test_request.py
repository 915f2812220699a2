"""Preparing a submission: every program parsed and checked before anything is stored."""

from __future__ import annotations

import dataclasses

import pytest

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.jobs.request import JobRequest, ProgramSpec, prepare
from tests.programs import BELL
from tests.programs import ROTATION as RX

DEVICES = default_catalogue(max_shots=10_000)


def run_prepare(request: JobRequest, device: str = "statevector", **limits: int):
    return prepare(
        request,
        DEVICES.get(device),
        max_program_bytes=limits.get("max_program_bytes", 100_000),
        max_experiments=limits.get("max_experiments", 100),
    )


def test_prepared_programs_record_format_name_and_bindings() -> None:
    prepared = run_prepare(
        JobRequest(
            "statevector",
            (
                ProgramSpec(BELL, name="bell"),
                ProgramSpec(RX, "qasm3", parameters=([0.5], {"theta": 1.5})),
            ),
            seed=77,
        )
    )
    assert prepared.programs == [
        {"source": BELL, "format": "qasm2", "name": "bell", "bindings": []},
        {
            "source": RX,
            "format": "qasm3",
            "name": None,
            "bindings": [{"theta": 0.5}, {"theta": 1.5}],
        },
    ]
    assert prepared.num_experiments == 3
    assert prepared.seed == 77


def test_missing_seed_is_drawn_at_random_within_31_bits() -> None:
    seeds = {run_prepare(JobRequest("statevector", (ProgramSpec(BELL),))).seed for _ in range(8)}
    assert len(seeds) > 1
    assert all(0 <= s < 2**31 for s in seeds)


def test_program_error_names_the_program_by_index() -> None:
    bad = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\n  foo q;\n'
    with pytest.raises(errors.ProgramSyntax) as caught:
        run_prepare(JobRequest("statevector", (ProgramSpec(BELL), ProgramSpec(bad))))
    assert caught.value.message.startswith("program 1: line 4, column 2:")
    assert caught.value.detail == {"program": 1, "line": 4, "column": 2}


def test_program_over_the_byte_limit_is_refused() -> None:
    with pytest.raises(errors.ProgramLimit) as caught:
        run_prepare(JobRequest("statevector", (ProgramSpec(BELL),)), max_program_bytes=10)
    assert caught.value.detail["program"] == 0


def test_program_too_wide_for_the_device_names_the_program() -> None:
    wide = "OPENQASM 3.0;\nqubit[15] q;\n"
    with pytest.raises(errors.DeviceLimit) as caught:
        run_prepare(
            JobRequest("density-matrix", (ProgramSpec(BELL), ProgramSpec(wide))), "density-matrix"
        )
    assert caught.value.detail["program"] == 1


def test_non_clifford_program_is_refused_for_the_stabilizer_device() -> None:
    t_gate = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit q;\nt q;\n'
    with pytest.raises(errors.DeviceUnsupportedOperation):
        run_prepare(JobRequest("stabilizer", (ProgramSpec(t_gate),)), "stabilizer")


def test_more_shots_than_the_device_allows_is_an_invalid_request() -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        run_prepare(JobRequest("statevector", (ProgramSpec(BELL),), shots=10_001))
    assert caught.value.detail == {"field": "shots", "max_shots": 10_000}


def test_too_many_experiments_is_a_program_limit() -> None:
    bindings = tuple([float(i)] for i in range(4))
    request = JobRequest("statevector", (ProgramSpec(BELL), ProgramSpec(RX, parameters=bindings)))
    assert run_prepare(request, max_experiments=5).num_experiments == 5
    with pytest.raises(errors.ProgramLimit) as caught:
        run_prepare(request, max_experiments=4)
    assert caught.value.detail == {"max_experiments": 4}


def test_fingerprint_ignores_the_idempotency_key() -> None:
    request = JobRequest("statevector", (ProgramSpec(BELL),), idempotency_key="a")
    assert request.fingerprint() == dataclasses.replace(request, idempotency_key="b").fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        {"device": "mps"},
        {"shots": 2048},
        {"seed": 1},
        {"tags": ("x",)},
        {"programs": (ProgramSpec(BELL, name="other"),)},
        {"programs": (ProgramSpec(RX, parameters=([0.1],)),)},
    ],
)
def test_fingerprint_changes_with_the_body(change: dict) -> None:
    request = JobRequest("statevector", (ProgramSpec(BELL),))
    assert dataclasses.replace(request, **change).fingerprint() != request.fingerprint()

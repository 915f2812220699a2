"""A job of plain programs runs from its gate lists to the result its circuits give."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from qiskit import QuantumCircuit, qpy

from qharbor.devices import catalogue
from qharbor.devices.operations import STRUCTURAL
from qharbor.jobs.claims import Claim
from qharbor.jobs.parsed import ParsedProgram, pack_circuit
from qharbor.jobs.preparation import parse_here
from qharbor.jobs.result import Result
from qharbor.workers.circuits import execute_circuits
from tests.unit.engines.test_gatelist import random_program

SHOTS = 500
HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
#: A gate after a measurement of its qubit: qulacs refuses it, Aer runs it.
MID_CIRCUIT = HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\ncx q[0], q[1];\n"
MID_CIRCUIT += "measure q[1] -> c[1];\n"
#: Wide, with idle qubits the statevector device drops before running it.
WIDE = HEADER + "qreg q[14];\ncreg c[2];\nh q[3];\ncx q[3], q[9];\nmeasure q[3] -> c[0];\n"
WIDE += "measure q[9] -> c[1];\n"


def _native_programs(count: int) -> list[ParsedProgram]:
    """Random plain programs of the gates the statevector device runs without compiling."""
    native = set(_device().basis_gates) | STRUCTURAL
    programs = []
    for seed in range(4 * count):
        program = parse_here(random_program(seed), name=f"p{seed}")
        gates = program.gates()
        assert gates is not None
        if gates.count_ops().keys() <= native:
            programs.append(program)
    return programs[:count]


def _device(name: str = "statevector") -> Any:
    return next(d for d in catalogue.simulator_devices() if d.name == name)


def _as_qpy(program: ParsedProgram) -> ParsedProgram:
    """The same program as an older release stored it: its circuit as QPY."""
    buffer = io.BytesIO()
    qpy.dump(program.circuit(), buffer)
    return ParsedProgram(
        program.source, program.format, program.name, program.bindings,
        circuit_qpy=pack_circuit(buffer.getvalue()),
    )  # fmt: skip


def _run(programs: list[ParsedProgram], device: str = "statevector") -> Result:
    stored = [p.to_json() for p in programs]
    claim = Claim("job", 1, device, SHOTS, 7, stored).prepared(_device(device))
    return execute_circuits(claim, [ParsedProgram.from_json(body) for body in stored])


def _rows(result: Result) -> list[tuple[Any, ...]]:
    return [
        (r.program, r.name, r.counts, r.seed, r.num_qubits, r.num_clbits, r.depth, r.extra)
        for r in result.experiments
    ]


def _same(one: Result, other: Result) -> None:
    assert _rows(one) == _rows(other)
    mine, theirs = one.metadata, other.metadata
    assert (mine.engine, mine.engine_reason, mine.precision, mine.seed, mine.versions) == (
        theirs.engine,
        theirs.engine_reason,
        theirs.precision,
        theirs.seed,
        theirs.versions,
    )
    assert mine.extra.keys() == theirs.extra.keys()


def _refuse(self: ParsedProgram) -> Any:
    raise AssertionError(f"program {self.name} was read as a circuit")


def test_a_batch_of_plain_programs_runs_without_circuits_as_its_circuits_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    programs = _native_programs(16)
    by_circuits = _run([_as_qpy(p) for p in programs])
    with monkeypatch.context() as patch:
        patch.setattr(ParsedProgram, "circuit", _refuse)
        by_gates = _run(programs)
    _same(by_gates, by_circuits)
    assert by_gates.metadata.engine == "qulacs"
    assert [r.seed for r in by_gates.experiments] == list(range(7, 7 + len(programs)))


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(MID_CIRCUIT, id="an engine that takes no gate lists"),
        pytest.param(WIDE, id="idle qubits to drop first"),
        pytest.param(random_program(0), id="gates the device compiles"),
    ],
)
def test_jobs_the_gate_lists_cannot_run_take_the_circuits(extra: str) -> None:
    programs = [*_native_programs(3), parse_here(extra)]
    assert all(p.circuit_gates is not None for p in programs)
    _same(_run(programs), _run([_as_qpy(p) for p in programs]))


def test_a_job_mixing_gate_lists_and_qpy_runs_as_before() -> None:
    plain = _native_programs(3)
    mixed = [plain[0], _as_qpy(plain[1]), plain[2]]
    _same(_run(mixed), _run([_as_qpy(p) for p in plain]))


def test_plain_programs_of_other_formats_run_from_gate_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    qasm3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\n'
    qasm3 += "h q[0];\ncx q[0], q[1];\nrz(-pi/3) q[2];\nsx q[2];\nc = measure q;\n"
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cz(0, 1)
    circuit.measure([0, 1], [1, 0])
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    sent = base64.b64encode(buffer.getvalue()).decode()
    programs = [parse_here(qasm3, "qasm3"), parse_here(sent, "qpy")]
    assert all(p.circuit_gates is not None for p in programs)
    by_circuits = _run([_as_qpy(p) for p in programs])
    with monkeypatch.context() as patch:
        patch.setattr(ParsedProgram, "circuit", _refuse)
        by_gates = _run(programs)
    _same(by_gates, by_circuits)

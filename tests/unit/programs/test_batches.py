"""Programs admitted together, in chunks over every parser at once, as each alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qharbor import errors
from qharbor.programs import batches
from qharbor.programs.batches import Item, admit_programs
from qharbor.programs.intake import Admitted, admit_program, load_circuit
from qharbor.programs.sandbox import ParserPool

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'


def program(k: int) -> str:
    return HEADER + f"rx({k / 7}) q[{k % 3}];\ncx q[0],q[{1 + k % 2}];\nmeasure q -> c;\n"


def circuit_of(admitted: Admitted | errors.QHarborError):  # type: ignore[no-untyped-def]
    assert isinstance(admitted, Admitted), admitted
    return load_circuit(admitted.stored)


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    parsers = ParserPool(size=2, timeout_s=1.0)
    parsers.start()
    yield parsers
    parsers.close()


def test_a_batch_in_several_chunks_is_admitted_as_each_program_alone(pool: ParserPool) -> None:
    count = 2 * batches.CHUNK_PROGRAMS + 5
    admitted = admit_programs([Item(program(k)) for k in range(count)], sandbox=pool)
    assert len(admitted) == count
    for k in (0, batches.CHUNK_PROGRAMS, count - 1):
        alone = admit_program(program(k), sandbox=None)
        assert circuit_of(admitted[k]) == load_circuit(alone.stored)


def test_the_refused_program_is_the_one_reported_in_its_place(pool: ParserPool) -> None:
    sources = [program(k) for k in range(100)]
    sources[70] = HEADER + "cx q[0];\n"  # one argument short
    admitted = admit_programs([Item(s) for s in sources], sandbox=pool)
    assert all(isinstance(a, Admitted) for a in admitted[:70])
    refused = admitted[70]
    assert isinstance(refused, errors.ProgramError)
    assert refused.code == "PROGRAM_SYNTAX"


def test_parameters_are_bound_per_program(pool: ParserPool) -> None:
    with_angle = HEADER.replace("OPENQASM 2.0;", "OPENQASM 3.0;").replace(
        'include "qelib1.inc";\nqreg q[3];\ncreg c[3];',
        'include "stdgates.inc";\ninput float theta;\nqubit[3] q;\nbit[3] c;',
    )
    source = with_angle + "rx(theta) q[0];\nc = measure q;\n"
    items = [Item(source, "qasm3", [[0.5], [1.5]]), Item(source, "qasm3"), Item(program(1))]
    admitted = admit_programs(items, sandbox=pool)
    first = admitted[0]
    assert isinstance(first, Admitted)
    assert [dict(b) for b in first.bindings] == [{"theta": 0.5}, {"theta": 1.5}]
    assert isinstance(admitted[1], errors.ProgramParameters)
    assert isinstance(admitted[2], Admitted)


def test_a_chunk_out_of_time_is_admitted_again_one_by_one(
    pool: ParserPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk's limit is its programs' limits together; when it runs out, each
    program is tried alone, so only the one that takes too long is refused."""
    # Far more than the chunk's 0.15 s to read, even as a plain gate list on an idle host.
    heavy = HEADER + "h q[0];\ncx q[0],q[1];\n" * 90_000  # just under the 2 MiB limit
    monkeypatch.setattr(pool, "timeout_s", 0.05)
    admitted = admit_programs(
        [Item(program(1)), Item(heavy), Item(program(2))], sandbox=pool, max_bytes=10**7
    )
    assert isinstance(admitted[0], Admitted)
    assert isinstance(admitted[1], errors.ProgramLimit)
    assert "took more than" in admitted[1].message or "time" in admitted[1].message
    assert isinstance(admitted[2], Admitted)

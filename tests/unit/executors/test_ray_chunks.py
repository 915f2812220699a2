"""Fan-out: chunks of a batch or sweep, gathered, give what one worker gives."""

from __future__ import annotations

import random

import pytest

from qharbor.devices import default_catalogue
from qharbor.executors import ray_chunks
from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Result
from qharbor.workers.execution import execute
from tests.programs import BELL, ghz, stored

DEVICES = default_catalogue()

SWEEP = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[3] q;
bit[3] c;
h q[0];
rx(theta) q[1];
cx q[0], q[2];
c = measure q;
"""


def spec(source: str, bindings: list | None = None) -> dict:
    return stored(source, bindings)


def claim(*programs: dict, seed: int = 11) -> Claim:
    return Claim(
        job_id="job-fan",
        attempt=1,
        device="statevector",
        target=DEVICES.get("statevector"),
        shots=64,
        seed=seed,
        programs=list(programs),
    )


def fanned(task: Claim, chunk_runs: int, max_chunks: int) -> tuple[Result, int]:
    chunks = ray_chunks.plan(task, chunk_runs, max_chunks)
    parts = [ray_chunks.run_chunk(task, chunk) for chunk in chunks]
    gathered = ray_chunks.gather(task, chunks, parts)
    assert isinstance(gathered, Result)
    return gathered, len(chunks)


def rows(result: Result) -> list[tuple]:
    return [
        (e.program, e.parameters, e.counts, e.seed, e.num_qubits, e.num_clbits)
        for e in result.experiments
    ]


def test_a_sweep_split_in_chunks_gives_the_rows_one_worker_gives() -> None:
    rng = random.Random(5)
    bindings = [{"theta": rng.uniform(0, 3.14)} for _ in range(150)]
    task = claim(spec(SWEEP, bindings), spec(BELL))
    whole = execute(task)
    assert isinstance(whole, Result)
    gathered, count = fanned(task, 64, 4)
    assert count == 2
    assert rows(gathered) == rows(whole)
    assert gathered.metadata.seed == task.seed
    assert gathered.metadata.extra["chunks"] == 2


def test_a_batch_of_mixed_widths_keeps_its_order_and_bit_layout() -> None:
    rng = random.Random(9)
    sources = [ghz(rng.randint(2, 5)) for _ in range(140)]
    task = claim(*(spec(s) for s in sources), seed=rng.randint(0, 10_000))
    whole = execute(task)
    assert isinstance(whole, Result)
    gathered, count = fanned(task, 64, 8)
    assert count == 2
    assert rows(gathered) == rows(whole)
    assert [e.program for e in gathered.experiments] == list(range(140))


@pytest.mark.parametrize("runs", [1, 63, 127])
def test_small_jobs_stay_whole(runs: int) -> None:
    task = claim(*(spec(BELL) for _ in range(runs)))
    [chunk] = ray_chunks.plan(task, 64, 8)
    assert chunk.runs == runs and chunk.seed == task.seed


def test_chunks_cover_every_run_once_from_its_own_seed() -> None:
    task = claim(spec(SWEEP, [{"theta": 0.1 * i} for i in range(130)]), spec(BELL), spec(BELL))
    chunks = ray_chunks.plan(task, 64, 3)
    assert [c.runs for c in chunks] == [66, 66]
    assert [c.seed for c in chunks] == [task.seed, task.seed + 66]
    assert chunks[1].origin == (0, 1, 2)
    assert sum(len(p.get("bindings") or ()) or 1 for c in chunks for p in c.programs) == 132


def test_a_twin_or_primitive_job_is_never_split() -> None:
    task = claim(*(spec(BELL) for _ in range(200)))
    assert len(ray_chunks.plan(task, 64, 4)) == 3
    twin = Claim(**{**task.__dict__, "twin": {"name": "x"}})
    assert len(ray_chunks.plan(twin, 64, 4)) == 1
    sampler = Claim(**{**task.__dict__, "kind": "sampler"})
    assert len(ray_chunks.plan(sampler, 64, 4)) == 1


def test_a_wide_aer_sweep_split_in_chunks_gives_the_rows_one_worker_gives() -> None:
    # Aer numbers the seeds of one call's runs by its own rule; each run is seeded
    # by its place in the job instead, so a chunk starting mid-sweep agrees.
    import dataclasses

    from qharbor.jobs.options import JobOptions
    from tests.integration.test_ray_executor import sweep

    program = sweep(12, 200)
    task = dataclasses.replace(
        claim(spec(program["source"], program["parameters"]), seed=3),
        shots=100,
        options=JobOptions(engine="aer"),
    )
    whole = execute(task)
    assert isinstance(whole, Result)
    gathered, count = fanned(task, 64, 4)
    assert count == 3
    assert rows(gathered) == rows(whole)
    assert [e.seed for e in whole.experiments] == [task.seed + k for k in range(200)]


def test_chunks_share_the_slots_evenly() -> None:
    task = claim(spec(SWEEP, [{"theta": 0.01 * i} for i in range(200)]))
    # 3 chunks on 2 slots would take two rounds; 2 take one.
    assert [c.runs for c in ray_chunks.plan(task, 64, 4, slots=2)] == [100, 100]
    assert [c.runs for c in ray_chunks.plan(task, 64, 4, slots=1)] == [67, 67, 66]
    assert len(ray_chunks.plan(task, 64, 8, slots=3)) == 3


def test_gathered_chunks_say_where_and_when_each_ran() -> None:
    task = claim(spec(SWEEP, [{"theta": 0.01 * i} for i in range(128)]))
    chunks = ray_chunks.plan(task, 64, 2)
    parts = [ray_chunks.run_chunk(task, c, node=f"node-{c.index}abcdef") for c in chunks]
    gathered = ray_chunks.gather(task, chunks, parts)
    extra = gathered.metadata.extra
    assert extra["chunk_nodes"] == ["node-0ab", "node-1ab"]
    (start0, end0), (start1, end1) = extra["chunk_window"]
    assert start0 == 0.0 and start0 <= end0 <= start1 <= end1
    # The stamps are the chunks' own, not the job's.
    assert not set(ray_chunks.CHUNK_STAMP) & set(extra)

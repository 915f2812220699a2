"""Fan-out: a large batch or sweep split into chunks that run apart, and gathered again.

A circuit job's runs are its programs times their parameter bindings, in order;
the k-th run samples with ``seed + k``. A chunk is a contiguous slice of those
runs (whole programs, or a slice of one program's bindings) that starts at the
seed its first run has in the whole job, so the gathered result has the same
rows, in the same order, with the same seeds and bit layout as one worker would
have produced. Engine choice sees at most 64 circuits of a batch at once
(:mod:`qharbor.engines.selection`), so chunks of at least that many runs choose
as the whole batch would.

This module is plain Python: the Ray executor runs :func:`run_chunk` as Ray tasks
and :func:`gather` in its driver, and the tests call them directly.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

from qharbor.jobs.claims import Claim
from qharbor.jobs.result import Result, SealedResult, Timings

#: The fewest runs a chunk holds: engine choice looks at batches of up to 64 circuits.
MIN_CHUNK_RUNS = 64


@dataclass(frozen=True)
class Chunk:
    """A contiguous slice of a job's runs.

    Attributes:
        index: its place among the job's chunks.
        programs: the program specs it runs (a program's ``bindings`` may be a slice).
        origin: for each of ``programs``, the index of the job's program it comes from.
        seed: the seed of its first run in the whole job.
        runs: how many runs it holds.
    """

    index: int
    programs: tuple[dict[str, Any], ...]
    origin: tuple[int, ...]
    seed: int
    runs: int


def runs_of(spec: dict[str, Any]) -> int:
    """How many runs a program spec makes: one per binding, or one."""
    return len(spec.get("bindings") or ()) or 1


def total_runs(claim: Claim) -> int:
    """How many runs a claim's programs make together."""
    return sum(runs_of(spec) for spec in claim.programs)


def can_fan_out(claim: Claim) -> bool:
    """Whether a claim's runs may be split: plain circuit jobs on a simulator.

    A twin's job (one calibration, one device timeline), a primitive's PUBs and a
    sealed batch (one envelope) stay whole.
    """
    return (
        claim.kind == "circuits"
        and claim.twin is None
        and claim.program_key is None
        and not claim.sealed
        and all("source" in spec for spec in claim.programs)
    )


def plan(claim: Claim, chunk_runs: int, max_chunks: int, slots: int = 1) -> list[Chunk]:
    """Split a claim's runs into at most ``max_chunks`` chunks of at least ``chunk_runs`` runs.

    Where there are more chunks than ``slots`` (tasks the cluster runs at once),
    their number is a multiple of ``slots``, so every slot has the same share:
    3 chunks on 2 slots would take two rounds of a third each, 2 chunks one
    round of a half.

    Returns:
        The chunks in order; one chunk (the whole job) when it is too small to split
        or cannot be split (:func:`can_fan_out`).
    """
    total = total_runs(claim)
    chunk_runs = max(chunk_runs, MIN_CHUNK_RUNS)
    count = min(max_chunks, total // chunk_runs) if can_fan_out(claim) else 1
    if slots > 1 and count > slots:
        count -= count % slots
    if count <= 1:
        whole = tuple(claim.programs)
        return [Chunk(0, whole, tuple(range(len(whole))), claim.seed, total)]
    size = math.ceil(total / count)
    chunks: list[Chunk] = []
    programs: list[dict[str, Any]] = []
    origin: list[int] = []
    held = 0
    offset = 0

    def close() -> None:
        nonlocal programs, origin, held, offset
        chunks.append(Chunk(len(chunks), tuple(programs), tuple(origin), claim.seed + offset, held))
        offset += held
        programs, origin, held = [], [], 0

    for index, spec in enumerate(claim.programs):
        bindings = list(spec.get("bindings") or ())
        if not bindings:
            programs.append(spec)
            origin.append(index)
            held += 1
        else:
            start = 0
            while start < len(bindings):
                take = min(size - held, len(bindings) - start)
                programs.append({**spec, "bindings": bindings[start : start + take]})
                origin.append(index)
                held += take
                start += take
                if held >= size:
                    close()
            continue
        if held >= size:
            close()
    if held:
        close()
    return chunks


def chunk_claim(claim: Claim, chunk: Chunk) -> Claim:
    """The claim one chunk's worker runs: its programs, from its seed, unsealed.

    The result is sealed once, after the chunks are gathered.
    """
    return dataclasses.replace(
        claim, programs=list(chunk.programs), seed=chunk.seed, result_key=None
    )


#: Where and when each chunk ran: kept per chunk by :func:`gather`, not as the job's own.
CHUNK_STAMP = ("chunk_node", "chunk_start", "chunk_end")


def run_chunk(claim: Claim, chunk: Chunk, node: str = "") -> Result:
    """Run one chunk of a claim (in a worker on ``node``), stamped with where and when."""
    from qharbor.workers.execution import execute

    started = time.time()
    result = execute(chunk_claim(claim, chunk))
    assert isinstance(result, Result)
    stamp = dict(zip(CHUNK_STAMP, (node, started, time.time()), strict=True))
    return dataclasses.replace(result, metadata=result.metadata.adding(**stamp))


def chunk_timeline(parts: list[Result]) -> dict[str, list[Any]]:
    """Each chunk's node and its start and end (seconds after the first chunk started).

    Two chunks on two nodes that overlap ran at once; ``chunk_s`` against the
    window's length shows a chunk that waited for its worker.
    """
    if any(p.metadata.extra.get("chunk_start") is None for p in parts):
        return {}
    first = min(float(p.metadata.extra["chunk_start"]) for p in parts)
    return {
        "chunk_nodes": [str(p.metadata.extra.get("chunk_node", ""))[:8] for p in parts],
        "chunk_window": [
            [
                round(p.metadata.extra["chunk_start"] - first, 3),
                round(p.metadata.extra["chunk_end"] - first, 3),
            ]
            for p in parts
        ],
    }


def gather(claim: Claim, chunks: list[Chunk], parts: list[Result]) -> Result | SealedResult:
    """One result from the chunks' results, as one worker would have built it.

    Rows keep the job's order and program numbers; timings add up (the device
    time the job used); the record is the first chunk's, with the job's seed, how
    many chunks ran, and each chunk's runs and seconds. A result for a registered
    key is sealed here.
    """
    rows = []
    for chunk, part in zip(chunks, parts, strict=True):
        for row in part.experiments:
            rows.append(dataclasses.replace(row, program=chunk.origin[row.program]))
    first = parts[0]
    engines = sorted({name for p in parts for name in p.metadata.extra.get("engines") or ()})
    own = {k: v for k, v in first.metadata.extra.items() if k not in CHUNK_STAMP}
    metadata = dataclasses.replace(first.metadata, seed=claim.seed, extra=own)
    extra: dict[str, Any] = {
        "chunks": len(parts),
        # What each chunk cost its worker (seconds) and how many runs it held:
        # the figures a model of larger clusters starts from.
        "chunk_s": [round(p.timings.compile_s + p.timings.run_s, 4) for p in parts],
        "chunk_runs": [c.runs for c in chunks],
        **chunk_timeline(parts),
    }
    if len(engines) > 1:
        extra["engines"] = engines
    if "selection_s" in first.metadata.extra:
        extra["selection_s"] = sum(p.metadata.extra.get("selection_s", 0.0) for p in parts)
    result = Result(
        job_id=claim.job_id,
        device=first.device,
        shots=first.shots,
        experiments=tuple(rows),
        timings=Timings(
            compile_s=sum(p.timings.compile_s for p in parts),
            run_s=sum(p.timings.run_s for p in parts),
        ),
        metadata=metadata.adding(**extra),
        kind=first.kind,
        pubs=first.pubs,
    )
    if claim.result_key is None:
        return result
    key_id, public_key = claim.result_key
    return result.sealed_to(key_id, public_key)

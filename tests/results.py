"""Results for tests of the store: typed, as workers hand them over."""

from __future__ import annotations

from qharbor.jobs.result import ExperimentResult, Record, Result, Timings


def a_result(
    job_id: str,
    *,
    attempt: int = 1,
    run_s: float = 0.0,
    qpu_s: float | None = None,
    experiments: tuple[ExperimentResult, ...] = (),
) -> Result:
    """A result of ``job_id`` that took ``run_s`` seconds to run (``qpu_s`` on a device)."""
    return Result(
        job_id=job_id,
        device="statevector",
        shots=sum(sum(e.counts.values()) for e in experiments),
        experiments=experiments,
        timings=Timings(compile_s=0.0, run_s=run_s, qpu_s=qpu_s),
        metadata=Record(
            engine="aer",
            engine_reason="the device's engine",
            precision="double",
            method="statevector",
            seed=0,
            attempt=attempt,
            options={},
            versions={},
        ),
    )

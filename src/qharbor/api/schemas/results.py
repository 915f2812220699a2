"""Results: what a DONE job produced, per experiment."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ExperimentPublic(BaseModel):
    program: int
    name: str | None
    parameters: dict[str, float] | None
    counts: dict[str, int] = Field(description="Outcomes in Qiskit's bit order: clbit 0 rightmost.")
    shots: int
    seed: int
    num_qubits: int
    num_clbits: int
    depth: int
    run_s: float
    two_qubit_gates: int | None = None
    physical_qubits: list[int] | None = None
    compiled_qasm3: str | None = Field(default=None, description="Device twins: what ran.")
    compile_cached: bool | None = None
    quasi_probabilities: dict[str, float] | None = None
    mitigation: str | None = None
    result_types: list[dict[str, Any]] | None = Field(
        default=None,
        description="Result types the program asked for ('#pragma braket result'), "
        "each with its exact 'value'.",
    )
    verbatim: bool | None = Field(
        default=None, description="True when the program ran without compilation."
    )
    engine: str | None = Field(
        default=None,
        description="When the job's circuits went to different engines: the one that ran this.",
    )
    engine_reason: str | None = Field(default=None, description="Why that engine, one sentence.")
    precision: str | None = Field(default=None, description="The precision it computed in.")
    simulated_qubits: int | None = Field(
        default=None,
        description="When idle qubits were dropped before simulation: how many were simulated.",
    )
    probabilities: dict[str, float] | None = Field(
        default=None,
        description="With ?shape=origin: outcome probabilities keyed by hex, as Origin's "
        "cloud returns them ('0x3' is c[0]=1, c[1]=1).",
    )


class ResultPublic(BaseModel):
    job_id: str
    device: str
    kind: str = "circuits"
    shots: int
    experiments: list[ExperimentPublic]
    pubs: list[dict[str, Any]] | None = Field(
        default=None,
        description="Sampler: per PUB, counts per binding. Estimator: per PUB, evs and stds.",
    )
    timings: dict[str, float]
    metadata: dict[str, Any]

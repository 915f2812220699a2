"""Request and response models. Requests forbid unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from qharbor.jobs.request import JobRequest, ProgramSpec

Tag = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ProgramIn(BaseModel):
    """One program: its text, format, optional label and parameter bindings."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, description="The program text.")
    format: Literal["auto", "qasm2", "qasm3", "originir", "qpy"] = Field(
        default="auto",
        description="The program's format; 'auto' tells them apart by their first line. "
        "QPY is sent as base64 text. GET /v1/formats lists them.",
    )
    name: str | None = Field(default=None, max_length=128)
    parameters: list[list[float] | dict[str, float]] | None = Field(
        default=None,
        description="Bindings: each a list in the order of the parameters sorted by name, "
        "or an object from name to value. The program runs once per binding.",
    )


class JobCreate(BaseModel):
    """A job submission."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "device": "statevector",
                    "programs": [
                        'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; '
                        "h q[0]; cx q[0],q[1]; measure q -> c;"
                    ],
                    "shots": 1000,
                    "seed": 7,
                    "tags": ["bell"],
                }
            ]
        },
    )

    device: str = Field(min_length=1, max_length=128)
    programs: list[ProgramIn | str] = Field(min_length=1)
    shots: int = Field(default=1024, ge=1, description="Shots per experiment, at least 1.")
    seed: int | None = Field(default=None, ge=0, le=2**62)
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)

    def to_request(self, idempotency_header: str | None) -> JobRequest:
        programs = tuple(
            ProgramSpec(source=p)
            if isinstance(p, str)
            else ProgramSpec(
                source=p.source,
                format=p.format,
                name=p.name,
                parameters=tuple(p.parameters) if p.parameters is not None else None,
            )
            for p in self.programs
        )
        return JobRequest(
            device=self.device,
            programs=programs,
            shots=self.shots,
            seed=self.seed,
            tags=tuple(self.tags),
            idempotency_key=self.idempotency_key or idempotency_header,
        )


class JobError(BaseModel):
    code: str
    message: str | None


class JobPublic(BaseModel):
    """A job as the API shows it."""

    id: str
    status: Literal["QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED"]
    device: str
    project: str
    shots: int
    seed: int
    tags: list[str]
    num_programs: int
    num_experiments: int
    attempt: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    cancel_requested: bool
    queue_position: int | None
    error: JobError | None


class JobList(BaseModel):
    jobs: list[JobPublic]
    next_cursor: str | None


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
    result_types: list[dict[str, Any]] | None = Field(
        default=None,
        description="Result types the program asked for ('#pragma braket result'), "
        "each with its exact 'value'.",
    )
    verbatim: bool | None = Field(
        default=None, description="True when the program ran without compilation."
    )
    probabilities: dict[str, float] | None = Field(
        default=None,
        description="With ?shape=origin: outcome probabilities keyed by hex, as Origin's "
        "cloud returns them ('0x3' is c[0]=1, c[1]=1).",
    )


class ResultPublic(BaseModel):
    job_id: str
    device: str
    shots: int
    experiments: list[ExperimentPublic]
    timings: dict[str, float]
    metadata: dict[str, Any]


class FormatPublic(BaseModel):
    name: str
    title: str
    versions: list[str]
    description: str
    encoding: Literal["text", "base64"]


class FormatList(BaseModel):
    formats: list[FormatPublic]
    limits: dict[str, float]


class DevicePublic(BaseModel):
    name: str
    kind: str
    description: str
    engine: str
    method: str
    max_qubits: int
    max_shots: int
    basis_gates: list[str]
    noisy: bool
    concurrency: int
    clifford_only: bool
    status: str
    queue_length: int
    running: int


class DeviceList(BaseModel):
    devices: list[DevicePublic]


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Me(BaseModel):
    user: str
    project: str
    role: str
    is_admin: bool
    scopes: list[str]

"""Request and response models. Requests forbid unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from qharbor.jobs.options import JobOptions
from qharbor.jobs.request import JobRequest, ProgramSpec

#: The most programs any centre accepts in one job.
MAX_PROGRAMS_PER_JOB = 10_000

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


class JobOptionsIn(BaseModel):
    """How the job is compiled, run and post-processed."""

    model_config = ConfigDict(extra="forbid")

    optimization_level: int = Field(
        default=1, ge=0, le=3, description="Transpiler optimisation level for device twins."
    )
    skip_compilation: bool = Field(
        default=False,
        description="Run the programs as sent; they must be ISA circuits (native gates on "
        "coupled qubits, qubit i = physical qubit i), else 400 PROGRAM_NOT_ISA.",
    )
    mitigate_readout: bool = Field(
        default=False,
        description="Also return readout-mitigated quasi-probabilities (device twins).",
    )

    def to_options(self) -> JobOptions:
        return JobOptions(**self.model_dump())


class SealedIn(BaseModel):
    """Programs sealed to the centre's ML-KEM-768 key (see docs/security.md)."""

    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["ML-KEM-768+AES-256-GCM"]
    key_id: str = Field(min_length=1, max_length=64, description="The centre key sealed to.")
    encapsulated: str = Field(
        min_length=1, max_length=4096, description="Base64 ML-KEM ciphertext."
    )
    nonce: str = Field(min_length=1, max_length=64, description="Base64 AES-GCM nonce.")
    ciphertext: str = Field(min_length=1, description="Base64 AES-256-GCM ciphertext and tag.")


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
    programs: list[ProgramIn | str] | None = Field(
        default=None,
        min_length=1,
        # A hard ceiling, so an absurd list is refused before its items are validated;
        # the centre's own limit (max_programs_per_job) is checked after.
        max_length=MAX_PROGRAMS_PER_JOB,
        description="The programs; or send them in `sealed`.",
    )
    sealed: SealedIn | None = Field(
        default=None,
        description="The programs list, sealed to the centre's ML-KEM key, instead of `programs`.",
    )
    shots: int = Field(default=1024, ge=1, description="Shots per experiment, at least 1.")
    seed: int | None = Field(default=None, ge=0, le=2**62)
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    options: JobOptionsIn = Field(default_factory=JobOptionsIn)

    @model_validator(mode="after")
    def _one_program_source(self) -> JobCreate:
        if (self.programs is None) == (self.sealed is None):
            raise ValueError("send the programs either in 'programs' or sealed in 'sealed'")
        return self

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
            for p in self.programs or ()
        )
        return JobRequest(
            device=self.device,
            programs=programs,
            shots=self.shots,
            seed=self.seed,
            tags=tuple(self.tags),
            idempotency_key=self.idempotency_key or idempotency_header,
            options=self.options.to_options(),
        )


ProgramList = list[ProgramIn | str]


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
    sealed: bool = Field(description="The programs are stored sealed (ciphertext only).")
    result_sealed: bool = Field(description="The result is sealed to the submitter's key.")
    error: JobError | None
    options: dict[str, Any] = Field(default_factory=dict)
    waiting_reason: str | None = Field(
        default=None, description="Why a queued job waits: its device is not ONLINE."
    )
    estimated_start: str | None = Field(
        default=None, description="When the device is expected back (UTC), if known."
    )


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
    status_reason: str | None = None
    status_until: str | None = None
    queue_length: int
    running: int
    twin: dict[str, Any] | None = Field(
        default=None, description="Device twins: topology, gates, timing, calibration plan."
    )
    maintenance: list[dict[str, Any]] = Field(default_factory=list)


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


class DryRunPublic(BaseModel):
    """What a job would do, without queueing it."""

    device: str
    valid: bool
    device_status: str
    status_reason: str | None
    estimated_start: str | None
    queue_position: int
    estimated_qpu_s: float | None = Field(
        description="Device twins: estimated device time, in seconds."
    )
    calibration: str | None = Field(description="The snapshot the estimate used.")
    experiments: list[dict[str, Any]]


class MaintenanceIn(BaseModel):
    """A maintenance window, in UTC (RFC 3339 with a zone)."""

    model_config = ConfigDict(extra="forbid")

    start: str
    end: str
    reason: str = Field(default="maintenance", max_length=256)


class WarmupIn(BaseModel):
    """A cryostat warm-up; omitted fields take the device file's values."""

    model_config = ConfigDict(extra="forbid")

    peak: float | None = Field(default=None, gt=0, le=1)
    rise_s: float | None = Field(default=None, gt=0)
    hold_s: float | None = Field(default=None, ge=0)
    recover_s: float | None = Field(default=None, gt=0)


class CalibrationScaleIn(BaseModel):
    """Scale every error by ``factor`` and divide T1 and T2 by it (a worse day)."""

    model_config = ConfigDict(extra="forbid")

    factor: float = Field(gt=0, le=100)


class KeyPublic(BaseModel):
    """A public key the centre publishes, or one a user registered."""

    id: str = Field(description="Derived from the public key: algorithm and SHA-256 prefix.")
    purpose: Literal["signing", "sealing", "user-sealing"]
    algorithm: Literal["ML-DSA-65", "ML-KEM-768"]
    public_key: str = Field(description="Base64 of the raw public key.")
    created_at: str
    retired_at: str | None


class KeyList(BaseModel):
    keys: list[KeyPublic]
    signing_key_id: str = Field(description="The key that signs new results.")
    sealing_key_id: str = Field(description="The key to seal new submissions to.")


class UserKeyCreate(BaseModel):
    """Your ML-KEM-768 public key: results of your jobs are sealed to it."""

    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["ML-KEM-768"] = "ML-KEM-768"
    public_key: str = Field(min_length=1, max_length=4096, description="Base64, raw encoding.")

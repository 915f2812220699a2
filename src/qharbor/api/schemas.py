"""Request and response models. Requests forbid unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from qharbor.jobs.options import JobOptions
from qharbor.jobs.request import JobRequest, ProgramSpec

Tag = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ProgramIn(BaseModel):
    """One program: its text, format, optional label and parameter bindings."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, description="The program text.")
    format: Literal["auto", "qasm2", "qasm3"] = "auto"
    name: str | None = Field(default=None, max_length=128)
    parameters: list[list[float] | dict[str, float]] | None = Field(
        default=None,
        description="Bindings: each a list in the order of the parameters sorted by name, "
        "or an object from name to value. The program runs once per binding.",
    )


class PubIn(BaseModel):
    """One primitive unified bloc (PUB) of a sampler or estimator job.

    Arrays travel flat with their shapes: ``parameter_values`` holds
    ``prod(shape)`` rows of values in the order of the circuit's parameters
    sorted by name; ``observables`` holds ``prod(observables_shape)``
    observables, each ``{pauli_label: coefficient}`` with qubit 0 rightmost.
    """

    model_config = ConfigDict(extra="forbid")

    circuit: str = Field(min_length=1, description="The circuit, as OpenQASM 3 (or 2).")
    format: Literal["auto", "qasm2", "qasm3"] = "auto"
    parameter_values: list[float] = Field(default_factory=list)
    shape: list[int] = Field(default_factory=list, description="Shape of the bindings.")
    observables: list[dict[str, float] | str] | None = Field(
        default=None, description="Estimator only: the observables, flat."
    )
    observables_shape: list[int] | None = None
    shots: int | None = Field(default=None, ge=1, description="Sampler only.")
    precision: float | None = Field(default=None, ge=0, description="Estimator only.")


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
    kind: Literal["circuits", "sampler", "estimator"] = Field(
        default="circuits",
        description="'circuits' runs programs for counts; 'sampler' and 'estimator' run PUBs.",
    )
    programs: list[ProgramIn | str] = Field(default_factory=list)
    pubs: list[PubIn] = Field(default_factory=list, max_length=1000)
    shots: int = Field(default=1024, ge=1, description="Shots per experiment, at least 1.")
    precision: float | None = Field(
        default=None,
        ge=0,
        description="Estimator: target standard error. Exact devices give exact values "
        "when it is left out.",
    )
    seed: int | None = Field(default=None, ge=0, le=2**62)
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    session_id: str | None = Field(
        default=None, max_length=36, description="An open session or batch on this device."
    )
    options: JobOptionsIn = Field(default_factory=JobOptionsIn)

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
            kind=self.kind,
            pubs=tuple(p.model_dump(exclude_none=True) for p in self.pubs),
            precision=self.precision,
            session_id=self.session_id,
            options=self.options.to_options(),
        )


class JobError(BaseModel):
    code: str
    message: str | None


class JobPublic(BaseModel):
    """A job as the API shows it."""

    id: str
    kind: str
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
    session_id: str | None
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


class SessionCreate(BaseModel):
    """Open a session (priority, for iterative work) or a batch (grouping)."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(min_length=1, max_length=128)
    mode: Literal["session", "batch"] = "session"
    max_ttl_s: float | None = Field(
        default=None, gt=0, description="Lifetime in seconds, at most the centre's limit."
    )
    idle_ttl_s: float | None = Field(
        default=None, gt=0, description="Idle timeout in seconds, at most the centre's limit."
    )


class SessionPublic(BaseModel):
    id: str
    device: str
    mode: Literal["session", "batch"]
    status: Literal["OPEN", "CLOSED", "EXPIRED"]
    max_ttl_s: float
    idle_ttl_s: float
    created_at: str
    last_activity_at: str
    expires_at: str
    closed_at: str | None
    close_reason: str | None
    jobs: dict[str, int] | None = Field(description="The session's jobs, counted by status.")


class SessionList(BaseModel):
    sessions: list[SessionPublic]


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

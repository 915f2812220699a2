"""Request and response models. Requests forbid unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from qharbor.api import bounds
from qharbor.jobs.options import JobOptions
from qharbor.jobs.request import JobRequest, ProgramSpec

#: The most programs any centre accepts in one job.
MAX_PROGRAMS_PER_JOB = 10_000

Tag = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ErrorBody(BaseModel):
    """What went wrong: a stable code (docs/errors.md), what to fix, and details."""

    code: str = Field(description="A stable code, e.g. INVALID_REQUEST; see docs/errors.md.")
    message: str = Field(description="What was wrong and how to fix it.")
    detail: dict[str, Any] = Field(
        description="Machine-readable details, e.g. the offending fields as `errors`."
    )


class ErrorResponse(BaseModel):
    """The one shape of every error answer."""

    error: ErrorBody


#: One parameter value of a program's binding; checked for finiteness by the intake.
BindingValue = Annotated[float, Field(allow_inf_nan=True)]


class RequestBody(BaseModel):
    """A request body: unknown fields are refused, and so are NaN and infinities."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: An estimator's target standard error.


def _exact_or_in_range(precision: float) -> float:
    """0 asks for exact values (as Qiskit's reference estimator reads it); any other
    precision is a target standard error the centre can reach with shots."""
    if 0 < precision < bounds.MIN_PRECISION:
        raise ValueError(f"precision must be 0 (exact values) or at least {bounds.MIN_PRECISION:f}")
    return precision


Precision = Annotated[
    float,
    Field(ge=0, le=bounds.MAX_PRECISION),
    AfterValidator(_exact_or_in_range),
]


class ProgramIn(RequestBody):
    """One program: its text, format, optional label and parameter bindings."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, description="The program text.")
    format: Literal["auto", "qasm2", "qasm3", "originir", "qpy"] = Field(
        default="auto",
        description="The program's format; 'auto' tells them apart by their first line. "
        "QPY is sent as base64 text. GET /v1/formats lists them.",
    )
    name: str | None = Field(default=None, max_length=128)
    # A value that is not finite passes here so that the intake refuses it with
    # PROGRAM_PARAMETERS, naming the binding and the parameter, not the union's branches.
    parameters: list[list[BindingValue] | dict[str, BindingValue]] | None = Field(
        default=None,
        description="Bindings: each a list in the order of the parameters sorted by name, "
        "or an object from name to value. The program runs once per binding.",
    )


class PubIn(RequestBody):
    """One primitive unified bloc (PUB) of a sampler or estimator job.

    Arrays travel flat with their shapes: ``parameter_values`` holds
    ``prod(shape)`` rows of values in the order of the circuit's parameters
    sorted by name; ``observables`` holds ``prod(observables_shape)``
    observables, each ``{pauli_label: coefficient}`` with qubit 0 rightmost.
    """

    model_config = ConfigDict(extra="forbid")

    circuit: str = Field(
        min_length=1, description="The circuit, as OpenQASM 3 (or 2), or base64 QPY."
    )
    format: Literal["auto", "qasm2", "qasm3", "qpy"] = "auto"
    parameter_values: list[float] = Field(default_factory=list)
    shape: list[int] = Field(default_factory=list, description="Shape of the bindings.")
    observables: list[dict[str, float] | str] | None = Field(
        default=None, description="Estimator only: the observables, flat."
    )
    observables_shape: list[int] | None = None
    shots: int | None = Field(
        default=None,
        ge=1,
        le=bounds.INT32_MAX,
        description="Sampler: this PUB's shots. Estimator: shots per basis on sampled "
        "devices, instead of a precision.",
    )
    precision: Precision | None = Field(
        default=None,
        description="Estimator only: target standard error, 1e-6 to 1, or 0 for exact values.",
    )


class JobOptionsIn(RequestBody):
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
    engine: str = Field(
        default="auto",
        min_length=1,
        max_length=64,
        description="'auto' picks the fastest engine per circuit; a name from GET /v1/engines "
        "pins it (else 422 ENGINE_NOT_FOUND or ENGINE_NOT_ON_DEVICE).",
    )
    precision: str = Field(
        default="double",
        min_length=1,
        max_length=16,
        description="'double' runs only double-precision engines; 'single' also allows "
        "single-precision ones (else 422 PRECISION_INVALID).",
    )

    def to_options(self) -> JobOptions:
        return JobOptions(**self.model_dump())


class SealedIn(RequestBody):
    """Programs sealed to the centre's ML-KEM-768 key (see docs/security.md)."""

    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["ML-KEM-768+AES-256-GCM"]
    key_id: str = Field(min_length=1, max_length=64, description="The centre key sealed to.")
    encapsulated: str = Field(
        min_length=1, max_length=4096, description="Base64 ML-KEM ciphertext."
    )
    nonce: str = Field(min_length=1, max_length=64, description="Base64 AES-GCM nonce.")
    ciphertext: str = Field(min_length=1, description="Base64 AES-256-GCM ciphertext and tag.")


class JobCreate(RequestBody):
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
    programs: list[ProgramIn | str] | None = Field(
        default=None,
        # A hard ceiling, so an absurd list is refused before its items are validated;
        # the centre's own limit (max_programs_per_job) is checked after.
        max_length=MAX_PROGRAMS_PER_JOB,
        description="The programs of a 'circuits' job; or send them in `sealed`.",
    )
    sealed: SealedIn | None = Field(
        default=None,
        description="The programs list, sealed to the centre's ML-KEM key, instead of `programs`.",
    )
    pubs: list[PubIn] = Field(default_factory=list, max_length=1000)
    shots: int = Field(
        default=1024,
        ge=1,
        le=bounds.INT32_MAX,
        description="Shots per experiment, at least 1 (and at most the device's max_shots).",
    )
    precision: Precision | None = Field(
        default=None,
        description="Estimator: target standard error, 1e-6 to 1. Exact devices give exact "
        "values when it is left out.",
    )
    seed: int | None = Field(default=None, ge=0, le=2**62)
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    session_id: str | None = Field(
        default=None, max_length=36, description="An open session or batch on this device."
    )
    options: JobOptionsIn = Field(default_factory=JobOptionsIn)

    @model_validator(mode="after")
    def _one_program_source(self) -> JobCreate:
        if self.programs is not None and self.sealed is not None:
            raise ValueError("send the programs either in 'programs' or sealed in 'sealed'")
        if self.sealed is not None and self.kind != "circuits":
            raise ValueError(
                "only 'circuits' jobs can be sealed; send sampler and estimator PUBs in 'pubs'"
            )
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
            kind=self.kind,
            pubs=tuple(p.model_dump(exclude_none=True) for p in self.pubs),
            precision=self.precision,
            session_id=self.session_id,
            options=self.options.to_options(),
        )


ProgramList = list[ProgramIn | str]


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
    sealed: bool = Field(description="The programs are stored sealed (ciphertext only).")
    result_sealed: bool = Field(description="The result is sealed to the submitter's key.")
    session_id: str | None
    error: JobError | None
    options: dict[str, Any] = Field(default_factory=dict)
    waiting_reason: str | None = Field(
        default=None, description="Why a queued job waits: its device is not ONLINE."
    )
    estimated_start: str | None = Field(
        default=None, description="When the device is expected back (UTC), if known."
    )


class JobSubmitted(JobPublic):
    """A submitted job; with ``?wait=``, a job that ended DONE in time carries its result."""

    result: dict[str, Any] | None = Field(
        default=None,
        description="The result (as GET /v1/jobs/{id}/result returns it), when the "
        "submission asked to wait and the job was DONE in time.",
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
        description="Sampler: per PUB, counts per binding. Estimator: per PUB, evs and stds. "
        "Both: 'simulated_qubits' when idle qubits were dropped before simulation.",
    )
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
    engines: list[str] = Field(
        default_factory=list,
        description="Engines that may run its jobs (options.engine); 'auto' chooses among them.",
    )
    status: str
    status_reason: str | None = None
    status_until: str | None = None
    queue_length: int
    running: int
    twin: dict[str, Any] | None = Field(
        default=None, description="Device twins: topology, gates, timing, calibration plan."
    )
    maintenance: list[dict[str, Any]] = Field(default_factory=list)


class EnginePublic(BaseModel):
    name: str
    available: bool = Field(description="Its library is installed on this centre.")
    why: str | None = Field(default=None, description="Why it is not available.")
    precisions: list[str]
    versions: dict[str, str]
    calibrated: bool = Field(description="Its cost models were measured on this host.")
    models: dict[str, dict[str, Any]] = Field(
        description="By 'engine:form:precision': coefficients (seconds per unit of each "
        "term), rel_error of the fit, probes, and source ('host' or 'default')."
    )


class EngineList(BaseModel):
    fingerprint: str = Field(description="This host's fingerprint (CPU, cores, engine versions).")
    calibrated: bool = Field(description="A fit measured on this host is in force.")
    fitted_at: str | None
    terms: list[str] = Field(description="The cost model's terms; see docs/engines.md.")
    engines: list[EnginePublic]


class DeviceList(BaseModel):
    devices: list[DevicePublic]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    #: What is broken, by part (``sandbox``), when the status is not ok.
    problems: dict[str, str] | None = None


class KeyChange(BaseModel):
    action: str  # user.key.register or user.key.retire
    at: str
    key_id: str | None
    token_id: str | None  # the token that made the change


class Me(BaseModel):
    user: str
    project: str
    role: str
    is_admin: bool
    scopes: list[str]
    expires_at: str | None = None
    sealing_key_id: str | None = None
    key_changes: list[KeyChange] = []


class SessionCreate(RequestBody):
    """Open a session (priority, for iterative work) or a batch (grouping)."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(min_length=1, max_length=128)
    mode: Literal["session", "batch"] = "session"
    max_ttl_s: float | None = Field(
        default=None,
        gt=0,
        le=bounds.MAX_LIFETIME_S,
        description="Lifetime in seconds, at most the centre's limit.",
    )
    idle_ttl_s: float | None = Field(
        default=None,
        gt=0,
        le=bounds.MAX_LIFETIME_S,
        description="Idle timeout in seconds, at most the centre's limit.",
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


class MaintenanceIn(RequestBody):
    """A maintenance window, in UTC (RFC 3339 with a zone)."""

    model_config = ConfigDict(extra="forbid")

    start: str
    end: str
    reason: str = Field(default="maintenance", max_length=256)


class WarmupIn(RequestBody):
    """A cryostat warm-up; omitted fields take the device file's values."""

    model_config = ConfigDict(extra="forbid")

    peak: float | None = Field(default=None, gt=0, le=1)
    rise_s: float | None = Field(default=None, gt=0, le=bounds.MAX_FAULT_PHASE_S)
    hold_s: float | None = Field(default=None, ge=0, le=bounds.MAX_FAULT_PHASE_S)
    recover_s: float | None = Field(default=None, gt=0, le=bounds.MAX_FAULT_PHASE_S)


class CalibrationScaleIn(RequestBody):
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


class UserKeyCreate(RequestBody):
    """Your ML-KEM-768 public key: results of your jobs are sealed to it."""

    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["ML-KEM-768"] = "ML-KEM-768"
    public_key: str = Field(min_length=1, max_length=4096, description="Base64, raw encoding.")


# --- tenancy: users, projects, memberships, tokens, quotas -------------------------------

Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.@-]+$")]
RoleName = Literal["admin", "project-admin", "member", "viewer"]
ScopeName = Literal["read", "submit", "admin"]


class UserCreate(RequestBody):
    """A new user; with ``project``, also a member of it with ``role``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    is_admin: bool = False
    project: str | None = Field(default=None, description="A project's id or name.")
    role: RoleName = "member"


class MembershipSet(RequestBody):
    model_config = ConfigDict(extra="forbid")

    role: RoleName


class ProjectCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: Name
    max_concurrent_jobs: int | None = Field(default=None, ge=1, le=bounds.INT32_MAX)


class BudgetSet(RequestBody):
    model_config = ConfigDict(extra="forbid")

    budget_s: float = Field(ge=0, le=bounds.MAX_BUDGET_S, description="Device-seconds per period.")
    period: Literal["day", "week", "month"] = "month"


class QuotaSet(RequestBody):
    """A project's limits. Fields left out are unchanged; null removes a limit."""

    model_config = ConfigDict(extra="forbid")

    max_concurrent_jobs: int | None = Field(default=None, ge=1, le=bounds.INT32_MAX)
    simulator: BudgetSet | None = None
    qpu: BudgetSet | None = None


class TokenCreate(RequestBody):
    """A token for a user in a project (admins) or for yourself (``/v1/me/tokens``)."""

    model_config = ConfigDict(extra="forbid")

    name: Name = "token"
    scopes: list[ScopeName] = Field(default=["read", "submit"], min_length=1)
    expires_in_s: float | None = Field(
        default=None,
        gt=0,
        le=bounds.MAX_LIFETIME_S,
        description="Seconds until the token expires (at most ten years); none by default.",
    )


class AdminTokenCreate(TokenCreate):
    user: str = Field(description="The user's id or name.")
    project: str = Field(description="The project's id or name; the user must be a member.")


class TokenPublic(BaseModel):
    id: str
    name: str
    user_id: str
    project_id: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class TokenIssued(TokenPublic):
    token: str = Field(description="The token itself. It is shown only this once.")


class TokenList(BaseModel):
    tokens: list[TokenPublic]


class MembershipPublic(BaseModel):
    id: str
    name: str
    role: str


class UserPublic(BaseModel):
    id: str
    name: str
    is_admin: bool
    created_at: str
    projects: list[MembershipPublic]


class UserList(BaseModel):
    users: list[UserPublic]


class ProjectPublic(BaseModel):
    id: str
    name: str
    created_at: str
    max_concurrent_jobs: int | None
    members: list[MembershipPublic]


class ProjectList(BaseModel):
    projects: list[ProjectPublic]


class BudgetPublic(BaseModel):
    device_class: str
    period: str
    period_start: str
    budget_s: float
    used_s: float
    reserved_s: float
    remaining_s: float


class QuotaPublic(BaseModel):
    max_concurrent_jobs: int | None
    active_jobs: int
    budgets: list[BudgetPublic]


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor_id: str | None
    project_id: str | None
    token_id: str | None
    action: str
    target: str | None
    status: int | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_before: int | None = Field(description="Pass as ?before= for the next, older page.")


class UsageRow(BaseModel):
    project: str
    device: str
    day: str
    device_s: float
    jobs: int


class UsageReport(BaseModel):
    usage: list[UsageRow]
    quota: QuotaPublic | None = Field(description="The project's limits (one project only).")


class Erased(BaseModel):
    erased: bool
    jobs: int
    record: str = Field(description="The pseudonym under which the audit log records this.")

"""Jobs: submissions, jobs as shown, results and dry runs."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from qharbor import errors, wire
from qharbor.api import bounds
from qharbor.api.schemas.common import RequestBody
from qharbor.jobs.options import JobOptions
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.jobs.submission import JobSubmission, SealedPrograms

#: The most programs any centre accepts in one job.
MAX_PROGRAMS_PER_JOB = 10_000

Tag = Annotated[str, StringConstraints(min_length=1, max_length=64)]

#: One parameter value of a program's binding; checked for finiteness by the intake.
BindingValue = Annotated[float, Field(allow_inf_nan=True)]


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


Extrapolator = Literal[
    "linear",
    "exponential",
    "double_exponential",
    "polynomial_degree_1",
    "polynomial_degree_2",
    "polynomial_degree_3",
    "polynomial_degree_4",
    "polynomial_degree_5",
    "polynomial_degree_6",
    "polynomial_degree_7",
]


class ZneIn(RequestBody):
    """``resilience.zne``: zero-noise extrapolation's settings."""

    model_config = ConfigDict(extra="forbid")

    noise_factors: list[float] | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description="Factors the two-qubit gate noise is amplified by (1 to 9); default [1, 3, 5].",
    )
    extrapolator: Extrapolator | list[Extrapolator] | None = Field(
        default=None,
        description="Fitted to the values per factor; a list is tried in order. "
        "Default ['exponential', 'linear'].",
    )


class ResilienceIn(RequestBody):
    """``resilience``: switches that override the level (null: the level decides)."""

    model_config = ConfigDict(extra="forbid")

    measure_mitigation: bool | None = Field(
        default=None, description="TREX: twirled readout error extinction (level >= 1)."
    )
    zne_mitigation: bool | None = Field(
        default=None, description="Zero-noise extrapolation (level 2)."
    )
    pec_mitigation: bool = Field(
        default=False, description="Not offered: true is refused (422 MITIGATION_INVALID)."
    )
    zne: ZneIn = Field(default_factory=ZneIn)


class TwirlingIn(RequestBody):
    """``twirling``: Pauli twirling of two-qubit gates and of measurements."""

    model_config = ConfigDict(extra="forbid")

    enable_gates: bool | None = Field(default=None, description="Twirl two-qubit gates (level 2).")
    enable_measure: bool | None = Field(
        default=None, description="Twirl measurements (with measure mitigation)."
    )
    num_randomizations: Annotated[int, Field(ge=1, le=1024)] | Literal["auto"] = "auto"
    shots_per_randomization: Annotated[int, Field(ge=1, le=bounds.INT32_MAX)] | Literal["auto"] = (
        "auto"
    )


class DynamicalDecouplingIn(RequestBody):
    """``dynamical_decoupling``: pulse sequences in idle periods (device twins)."""

    model_config = ConfigDict(extra="forbid")

    enable: bool = False
    sequence_type: Literal["XX", "XpXm", "XY4"] = "XX"


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
    resilience_level: int = Field(
        default=0,
        ge=0,
        le=2,
        description="Estimator error mitigation: 0 none, 1 TREX, 2 TREX + ZNE + gate "
        "twirling (docs/mitigation.md).",
    )
    resilience: ResilienceIn = Field(default_factory=ResilienceIn)
    twirling: TwirlingIn = Field(default_factory=TwirlingIn)
    dynamical_decoupling: DynamicalDecouplingIn = Field(default_factory=DynamicalDecouplingIn)

    def to_options(self) -> JobOptions:
        return JobOptions.from_json(self.model_dump())


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

    def to_submission(self, idempotency_header: str | None = None) -> JobSubmission:
        """The submission as the jobs service takes it.

        Raises:
            errors.InvalidRequest: the Idempotency-Key header and field differ.
        """
        key = self.idempotency_key
        if key and idempotency_header and key != idempotency_header:
            raise errors.InvalidRequest(
                "the Idempotency-Key header and the idempotency_key field differ; send one"
            )
        sealed = None
        if self.sealed is not None:
            # A sealed job is fingerprinted by its ciphertext, for idempotent replays.
            body = self.model_dump(exclude={"programs", "idempotency_key"})
            sealed = SealedPrograms(
                envelope=self.sealed.model_dump(),
                fingerprint=hashlib.sha256(wire.canonical(body)).hexdigest(),
                read=read_programs,
            )
        return JobSubmission(self.to_request(idempotency_header), sealed)

    def to_request(self, idempotency_header: str | None) -> JobRequest:
        programs = tuple(_spec(p) for p in self.programs or ())
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
_PROGRAMS: TypeAdapter[ProgramList] = TypeAdapter(ProgramList)


def read_programs(plaintext: Any) -> tuple[ProgramSpec, ...]:
    """A sealed payload's opened programs, validated as ``programs`` would be.

    Raises:
        errors.SealedPayloadInvalid: the plaintext is not a list of programs.
    """
    try:
        programs = _PROGRAMS.validate_python(plaintext)
    except ValidationError as exc:
        raise errors.SealedPayloadInvalid(
            "the sealed payload opened, but it is not a list of programs "
            "(each OpenQASM text or {source, format, name, parameters})",
            errors=[
                {"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False)
            ],
        ) from None
    return tuple(_spec(p) for p in programs)


def _spec(program: ProgramIn | str) -> ProgramSpec:
    if isinstance(program, str):
        return ProgramSpec(source=program)
    return ProgramSpec(
        source=program.source,
        format=program.format,
        name=program.name,
        parameters=tuple(program.parameters) if program.parameters is not None else None,
    )


class JobError(BaseModel):
    code: str
    message: str | None


class JobProgress(BaseModel):
    done: int = Field(description="Runs (circuits times bindings) finished so far.")
    total: int = Field(description="Runs in all.")


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
        default=None,
        description="Why a queued job waits: its device is not ONLINE, or is reserved for "
        "another project.",
    )
    estimated_start: str | None = Field(
        default=None,
        description="When the device is expected back, or its reservation ends (UTC), if known.",
    )
    progress: JobProgress | None = Field(
        default=None,
        description="Runs done of runs in all, for a batch or sweep split over a cluster.",
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

"""What a submission asks for, and its preparation before anything is stored."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from qharbor import errors
from qharbor.devices import Device, operations
from qharbor.jobs.options import JobOptions
from qharbor.programs import parse_program

Binding = Sequence[float] | Mapping[str, float]


@dataclass(frozen=True)
class ProgramSpec:
    """One program as submitted."""

    source: str
    format: str = "auto"
    name: str | None = None
    parameters: tuple[Binding, ...] | None = None


@dataclass(frozen=True)
class JobRequest:
    """A validated submission, before its programs are parsed."""

    device: str
    programs: tuple[ProgramSpec, ...]
    shots: int = 1024
    seed: int | None = None
    tags: tuple[str, ...] = ()
    idempotency_key: str | None = None
    options: JobOptions = field(default_factory=JobOptions)

    def fingerprint(self) -> str:
        """SHA-256 of the request without its idempotency key, for replay checks."""
        body = asdict(self)
        body.pop("idempotency_key")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=list)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class PreparedJob:
    """A request whose programs all parsed and fit the device."""

    request: JobRequest
    seed: int
    programs: list[dict[str, Any]] = field(default_factory=list)
    num_experiments: int = 0
    circuits: list[Any] = field(default_factory=list, compare=False, repr=False)


def prepare(
    request: JobRequest,
    device: Device,
    *,
    max_program_bytes: int,
    max_experiments: int,
) -> PreparedJob:
    """Parse every program and check it against the device.

    Raises:
        errors.QHarborError: the first problem found, naming the program by index.
    """
    if request.shots > device.max_shots:
        raise errors.InvalidRequest(
            f"shots={request.shots} is more than device {device.name!r} allows "
            f"({device.max_shots}); lower shots",
            field="shots",
            max_shots=device.max_shots,
        )
    if request.options.mitigate_readout and device.twin is None:
        raise errors.InvalidRequest(
            f"mitigate_readout needs a device twin; {device.name!r} is a noiseless simulator",
            field="options.mitigate_readout",
        )
    stored: list[dict[str, Any]] = []
    circuits: list[Any] = []
    experiments = 0
    for index, spec in enumerate(request.programs):
        try:
            program = parse_program(
                spec.source, spec.format, spec.parameters, max_bytes=max_program_bytes
            )
        except errors.ProgramError as exc:
            raise _in_program(exc, index) from None
        operations.check_circuit(device, program.circuit, index)
        if device.twin is not None:
            operations.check_active_qubits(device.twin, program.circuit, index)
            if request.options.skip_compilation:
                operations.check_isa(device.twin, program.circuit, index)
        circuits.append(program.circuit)
        experiments += program.num_experiments
        if experiments > max_experiments:
            raise errors.ProgramLimit(
                f"the job would run more than {max_experiments} experiments "
                "(programs times parameter bindings); split it into several jobs",
                max_experiments=max_experiments,
            )
        stored.append(
            {
                "source": spec.source,
                "format": program.format,
                "name": spec.name,
                "bindings": [dict(b) for b in program.bindings],
            }
        )
    seed = request.seed if request.seed is not None else secrets.randbits(31)
    return PreparedJob(
        request=request,
        seed=seed,
        programs=stored,
        num_experiments=experiments,
        circuits=circuits,
    )


def _in_program(exc: errors.ProgramError, index: int) -> errors.ProgramError:
    """The same error, with the program's index in the message and detail."""
    again = type(exc)(f"program {index}: {exc.message}", program=index, **exc.detail)
    return again

"""What a submission asks for, and what admission hands the store once it has been checked."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qharbor import wire
from qharbor.jobs.options import JobOptions
from qharbor.jobs.parsed import ParsedProgram

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
    kind: str = "circuits"
    pubs: tuple[dict[str, Any], ...] = ()
    precision: float | None = None
    session_id: str | None = None
    options: JobOptions = field(default_factory=JobOptions)

    def fingerprint(self) -> str:
        """SHA-256 of the request without its idempotency key, for replay checks."""
        body = wire.plain(dataclasses.replace(self, pubs=()))
        body.pop("idempotency_key")
        body["pubs"] = [_hashable_pub(pub) for pub in self.pubs]
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=list)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _hashable_pub(pub: Mapping[str, Any]) -> dict[str, Any]:
    """A PUB for the fingerprint, its parameter values hashed in binary.

    Writing thousands of floats as JSON text cost more than the rest of the
    admission of a VQE iteration; their IEEE 754 bytes say the same, exactly
    (``-0.0``, infinities and NaNs included), and hash in microseconds.
    """
    out = wire.plain({k: v for k, v in pub.items() if k != "parameter_values"})
    values = pub.get("parameter_values")
    if isinstance(values, list) and all(type(v) is float for v in values):
        packed = struct.pack(f"<{len(values)}d", *values)
        out["parameter_values"] = {
            "float64_le_sha256": hashlib.sha256(packed).hexdigest(),
            "count": len(values),
        }
    elif values is not None:
        out["parameter_values"] = wire.plain(values)
    return out


@dataclass(frozen=True)
class PreparedJob:
    """A request whose programs all parsed and fit the device: what the store keeps.

    Built by :func:`qharbor.jobs.preparation.prepare`; a sealed job's programs are
    then sealed again (``sealed_programs``) and dropped from ``programs``.
    """

    request: JobRequest
    seed: int
    programs: tuple[ParsedProgram, ...] = ()
    num_experiments: int = 0
    #: Every shot a primitive job will run, its error mitigation's included (None:
    #: a circuits job, or exact values); its device-time estimate counts them.
    shots: int | None = None
    primitive: dict[str, Any] | None = None
    #: Claimed before lower priorities on the device (1: a job in an open session).
    priority: int = 0
    #: A sealed job's programs: one envelope of their JSON, sealed to the centre.
    sealed_programs: dict[str, Any] | None = None
    #: Replaces the request's fingerprint (a sealed job's is over its ciphertext).
    fingerprint: str | None = None
    #: The submitter's ML-KEM key id the result is sealed to.
    result_key_id: str | None = None
    #: How many programs a sealed job holds.
    sealed_count: int = 0
    #: The memory its worker needs (bytes), reserved while it runs.
    memory_bytes: int = 0

    @property
    def sealed(self) -> bool:
        return self.sealed_programs is not None

    def stored_programs(self) -> list[dict[str, Any]]:
        """The job row's ``programs``: each program's JSON, or the one sealed envelope."""
        if self.sealed_programs is not None:
            # "parsed": the envelope holds each program's circuit (see ParsedProgram).
            return [{"sealed": self.sealed_programs, "parsed": True}]
        return [program.to_json() for program in self.programs]

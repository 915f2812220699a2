"""The parsed program: what admission stores and a worker runs, parsed once.

Admission parses every program in the sandbox and keeps the circuit it parsed
to as QPY, compressed, beside the text the user sent. A worker reads the
circuit back from that QPY (tens of microseconds) and never parses the text
again: the checks that admitted the program hold for what runs.

The text stays for what people read (the job's export, the console) and for
the compile cache's key; the circuit is the program's meaning.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qharbor import errors
from qharbor.engines import gatelist

#: zlib level for stored circuits: the fastest, which already shrinks QPY about 3.5×.
_LEVEL = 1


def pack_circuit(stored: bytes) -> str:
    """A stored circuit (QPY or gate list bytes) as kept in JSON: compressed, then base64."""
    return base64.b64encode(zlib.compress(stored, _LEVEL)).decode("ascii")


def packed_fields(stored: bytes) -> dict[str, str]:
    """The :class:`ParsedProgram` field that keeps ``stored``: ``circuit_gates`` for a
    gate list, ``circuit_qpy`` for QPY."""
    key = "circuit_gates" if gatelist.is_gate_list(stored) else "circuit_qpy"
    return {key: pack_circuit(stored)}


def load_circuit(packed: str) -> Any:
    """The circuit a :func:`pack_circuit` string holds, QPY or gate list.

    Raises:
        errors.ExecutionError: the stored form cannot be read (a job stored by a
            release that kept no parsed circuit, or a damaged row).
    """
    from qiskit import qpy

    try:
        raw = zlib.decompress(base64.b64decode(packed, validate=True))
        if gatelist.is_gate_list(raw):
            return gatelist.GateList.from_bytes(raw).to_circuit()
        return qpy.load(io.BytesIO(raw))[0]
    except Exception as exc:  # a damaged row fails its job, never the worker
        raise _unreadable(exc) from None


#: Packed gate lists up to this many characters are kept once read (see :func:`load_gates`).
_KEPT_CHARS = 16_384


def load_gates(packed: str) -> gatelist.GateList:
    """The gate list a :func:`pack_circuit` string of one holds.

    Small ones are kept once read (their arrays are read-only): an in-process tiny
    job's engine is predicted from its gate list and then run from it, and loops
    send the same circuit again and again.

    Raises:
        errors.ExecutionError: the stored form cannot be read.
    """
    if len(packed) <= _KEPT_CHARS:
        return _kept_gates(packed)
    return _read_gates(packed)


@functools.lru_cache(maxsize=256)
def _kept_gates(packed: str) -> gatelist.GateList:
    return _read_gates(packed)


def _read_gates(packed: str) -> gatelist.GateList:
    try:
        raw = zlib.decompress(base64.b64decode(packed, validate=True))
        return gatelist.GateList.from_bytes(raw)
    except Exception as exc:  # a damaged row fails its job, never the worker
        raise _unreadable(exc) from None


def _unreadable(exc: Exception) -> errors.ExecutionError:
    return errors.ExecutionError(
        f"the job's stored circuit cannot be read ({type(exc).__name__}); submit it again"
    )


@dataclass(frozen=True)
class ParsedProgram:
    """One program of a circuit job, as admitted.

    Attributes:
        source: the text (base64 for QPY) as submitted.
        format: the format it was read as (``qasm2``, ``qasm3``, ``originir``, ``qpy``).
        name: the name the submitter gave it, if any.
        bindings: one mapping of parameter name to value per run; empty when the
            circuit has no parameters.
        circuit_qpy: the parsed circuit as QPY, packed by :func:`pack_circuit`;
            None when it is kept as a gate list.
        extras: ``verbatim`` (run without compilation) and ``result_types``
            (Braket result types to compute), when the program asked for them.
        circuit_gates: the parsed circuit as a gate list, packed by
            :func:`pack_circuit`; None when it is kept as QPY.
    """

    source: str
    format: str
    name: str | None
    bindings: tuple[Mapping[str, float], ...]
    circuit_qpy: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    circuit_gates: str | None = None

    @property
    def packed(self) -> str:
        """The stored circuit, gate list or QPY: what :func:`load_circuit` reads."""
        packed = self.circuit_gates or self.circuit_qpy
        if packed is None:
            raise errors.ExecutionError("the program was stored without its parsed circuit")
        return packed

    def circuit(self) -> Any:
        """A fresh ``QuantumCircuit`` of the program, read from its stored form."""
        return load_circuit(self.packed)

    def gates(self) -> gatelist.GateList | None:
        """The program's gate list, or None for a program kept as QPY."""
        return load_gates(self.circuit_gates) if self.circuit_gates is not None else None

    @property
    def verbatim(self) -> bool:
        return bool(self.extras.get("verbatim"))

    @property
    def result_types(self) -> list[dict[str, Any]]:
        return list(self.extras.get("result_types", ()))

    @property
    def num_experiments(self) -> int:
        return max(1, len(self.bindings))

    @property
    def digest(self) -> str:
        """SHA-256 of the text and format: the compile cache's circuit key."""
        return hashlib.sha256(f"{self.format}\n{self.source}".encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": self.source,
            "format": self.format,
            "name": self.name,
            "bindings": [dict(b) for b in self.bindings],
        }
        if self.circuit_gates is not None:
            body["circuit_gates"] = self.circuit_gates
        else:
            body["circuit_qpy"] = self.circuit_qpy
        if self.extras:
            body["extras"] = dict(self.extras)
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ParsedProgram:
        """The program as a job row (or its opened envelope) holds it.

        Raises:
            errors.ExecutionError: the row keeps no parsed circuit.
        """
        if "circuit_qpy" not in body and "circuit_gates" not in body:
            raise errors.ExecutionError(
                "the job was stored without its parsed circuit; submit it again"
            )
        return cls(
            source=body["source"],
            format=body["format"],
            name=body.get("name"),
            bindings=tuple(body.get("bindings") or ()),
            circuit_qpy=body.get("circuit_qpy"),
            extras=dict(body.get("extras") or {}),
            circuit_gates=body.get("circuit_gates"),
        )

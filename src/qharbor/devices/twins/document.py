"""The twin document: everything needed to emulate a device at one calibration.

``GET /v1/devices/{name}/twin`` returns it as JSON; the centre's workers and the
client's ``HarborService.local_twin`` read it back with :meth:`TwinDocument.from_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qharbor.devices.twins.calibration import Calibration
from qharbor.devices.twins.spec import TwinSpec


@dataclass(frozen=True)
class Timing:
    """How long a job takes on the device, besides its circuits.

    Attributes:
        shot_overhead_us: per shot, reset and repetition delay, in microseconds.
        job_overhead_s: once per job, in seconds.
        jitter: relative spread of the modelled device time around its expectation.
    """

    shot_overhead_us: float
    job_overhead_s: float
    jitter: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "shot_overhead_us": self.shot_overhead_us,
            "job_overhead_s": self.job_overhead_s,
            "jitter": self.jitter,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timing:
        return cls(
            shot_overhead_us=float(data["shot_overhead_us"]),
            job_overhead_s=float(data["job_overhead_s"]),
            jitter=float(data.get("jitter", 0.0)),
        )


@dataclass(frozen=True)
class TwinDocument:
    """A device twin with the calibration snapshot in force.

    Attributes:
        device: the device's name.
        technology: e.g. ``superconducting``, ``trapped-ion``.
        num_qubits: physical qubits.
        native_gates: the gates the device executes.
        edges: pairs of physical qubits that two-qubit gates may act on, either way.
        measure_duration_ns: a measurement (and a reset), in nanoseconds.
        max_run_s: the longest predicted simulation the twin admits (seconds); a
            run predicted longer may share each noise trajectory among a few shots.
        max_shots: the most shots one job may ask for.
        timing: the timing model's overheads.
        calibration: the snapshot whose values give the noise, errors and durations.
    """

    device: str
    technology: str
    num_qubits: int
    native_gates: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    measure_duration_ns: float
    max_run_s: float | None
    max_shots: int | None
    timing: Timing
    calibration: Calibration

    @classmethod
    def of(cls, spec: TwinSpec, snapshot: Calibration) -> TwinDocument:
        """The document of a device's twin file with a calibration snapshot."""
        return cls(
            device=spec.name,
            technology=spec.technology,
            num_qubits=spec.num_qubits,
            native_gates=tuple(spec.native_gates),
            edges=tuple((int(a), int(b)) for a, b in spec.edges),
            measure_duration_ns=spec.measure_duration_ns,
            max_run_s=spec.max_run_s,
            max_shots=spec.max_shots,
            timing=Timing(spec.shot_overhead_us, spec.job_overhead_s, spec.jitter),
            calibration=snapshot,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "technology": self.technology,
            "num_qubits": self.num_qubits,
            "native_gates": list(self.native_gates),
            "edges": [list(e) for e in self.edges],
            "measure_duration_ns": self.measure_duration_ns,
            "max_run_s": self.max_run_s,
            "max_shots": self.max_shots,
            "timing": self.timing.to_json(),
            "calibration": self.calibration.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TwinDocument:
        max_run = data.get("max_run_s")
        max_shots = data.get("max_shots")
        return cls(
            device=str(data["device"]),
            technology=str(data.get("technology", "")),
            num_qubits=int(data["num_qubits"]),
            native_gates=tuple(str(g) for g in data.get("native_gates", ())),
            edges=tuple((int(a), int(b)) for a, b in data.get("edges", ())),
            measure_duration_ns=float(data["measure_duration_ns"]),
            max_run_s=float(max_run) if max_run is not None else None,
            max_shots=int(max_shots) if max_shots is not None else None,
            timing=Timing.from_json(data["timing"]),
            calibration=Calibration.from_json(data["calibration"]),
        )

    def gate_table(self) -> dict[str, dict[tuple[int, ...], tuple[float, float]]]:
        """Per gate, per qubit tuple: (error, duration in seconds), from the calibration."""
        table: dict[str, dict[tuple[int, ...], tuple[float, float]]] = {}
        for entry in self.calibration.gates:
            table.setdefault(entry.gate, {})[tuple(entry.qubits)] = (
                float(entry.error),
                float(entry.duration_ns) * 1e-9,
            )
        return table


#: A twin document, or its JSON as it crosses to a worker or a client.
DocumentLike = TwinDocument | Mapping[str, Any]


def read(document: DocumentLike) -> TwinDocument:
    """The typed document, from itself or from its JSON (as a job's task carries it)."""
    if isinstance(document, TwinDocument):
        return document
    return TwinDocument.from_json(document)

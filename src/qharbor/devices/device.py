"""The ``Device`` value type."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qharbor.devices.twins.spec import TwinSpec


class DeviceStatus(enum.StrEnum):
    ONLINE = "ONLINE"  # accepting and running jobs
    CALIBRATING = "CALIBRATING"  # accepting jobs; they wait until calibration ends
    MAINTENANCE = "MAINTENANCE"  # accepting jobs; they wait until the window ends
    OFFLINE = "OFFLINE"  # accepting jobs; they wait until the device returns


#: Fields kept from users: the twin is shown on its own, the host's memory never.
_PRIVATE = frozenset({"twin", "memory_bytes", "memory_where"})


@dataclass(frozen=True)
class Device:
    """A device as users see it.

    Attributes:
        name: the name users pass as ``device``.
        kind: ``simulator``, ``twin`` or ``qpu``.
        engine: the engine that executes it, by registered name.
        method: the engine's method (for Aer: ``statevector``, ``stabilizer``, ...).
        max_qubits: the widest circuit it runs.
        max_shots: the most shots one experiment may ask for.
        basis_gates: the operations it executes natively.
        noisy: whether it can apply a noise model.
        concurrency: how many of its jobs may run at the same time.
        clifford_only: whether it refuses non-Clifford operations.
        twin: for a device twin, its file's content (topology, calibration
            means, spreads and drifts, telemetry).
        engines: the engines automatic selection chooses among for this device,
            in order of preference on a tie; empty means ``engine`` only. A job
            may pin any of them (or ``engine``) with ``options.engine``.
        memory_bytes: the memory this host's jobs may use together (bytes),
            against which each job's need is admitted; None when not limited.
        memory_where: what ``memory_bytes`` is the memory of, as refusals name it
            (a cluster's largest node); None for this host's jobs together.
    """

    name: str
    kind: str
    engine: str
    method: str
    description: str
    max_qubits: int
    max_shots: int
    basis_gates: tuple[str, ...]
    noisy: bool = False
    concurrency: int = 2
    clifford_only: bool = False
    status: DeviceStatus = DeviceStatus.ONLINE
    options: dict[str, Any] = field(default_factory=dict)
    twin: TwinSpec | None = None
    engines: tuple[str, ...] = ()
    memory_bytes: int | None = None
    memory_where: str | None = None

    @property
    def candidate_engines(self) -> tuple[str, ...]:
        """The engines that may run this device's jobs: ``engine`` first."""
        return (self.engine, *(e for e in self.engines if e != self.engine))

    @property
    def drops_idle_qubits(self) -> bool:
        """Whether outcomes stay the same when idle qubits are dropped before running:
        a noise-free simulator (a noise model names physical qubits)."""
        return self.kind == "simulator" and not self.noisy

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _PRIVATE}
        data["options"] = dict(self.options)
        data["basis_gates"] = list(self.basis_gates)
        data["engines"] = list(self.candidate_engines)
        data["status"] = str(self.status)
        return data

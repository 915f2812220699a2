"""Device twin files: one TOML file per device, read and checked into a ``TwinSpec``.

The format is described, with a complete example, in ``docs/devices.md``. Every
problem found names the file and the field, so an operator can fix it without
reading code.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qiskit.circuit.library import get_standard_gate_name_mapping

from qharbor import errors, wire

#: Where the shipped twins live.
BUILTIN_DIR = Path(__file__).parent

QUBIT_PARAMETERS = ("t1_us", "t2_us", "frequency_ghz", "readout_p01", "readout_p10")

#: Per-qubit noise of idle periods that files may leave out (then 0): the
#: quasi-static detuning of the qubit from its drive frame, in kHz.
IDLE_PARAMETERS = ("detuning_khz",)

DeviceFileError = errors.DeviceFileError


@dataclass(frozen=True)
class Varying:
    """A calibrated quantity: its mean, its spread and its drift.

    Attributes:
        mean: the typical value, in the unit the field's name gives.
        spread: half-width of the range a recalibration draws values from.
        drift: the largest step of the random walk per drift interval.
    """

    mean: float
    spread: float = 0.0
    drift: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "spread": self.spread, "drift": self.drift}


@dataclass(frozen=True)
class GateSpec:
    """A native gate: its error (a ``Varying``) and its duration in nanoseconds."""

    name: str
    num_qubits: int
    error: Varying
    duration_ns: float


@dataclass(frozen=True)
class Window:
    """A maintenance window, in UTC."""

    start: dt.datetime
    end: dt.datetime
    reason: str = "maintenance"

    def to_json(self) -> dict[str, Any]:
        return {
            "start": wire.iso(self.start),
            "end": wire.iso(self.end),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Channel:
    """A telemetry channel: nominal value, relative noise, value when warm."""

    name: str
    unit: str
    nominal: float
    noise: float
    warm: float


@dataclass(frozen=True)
class Warmup:
    """The shape of a warm-up fault, in seconds; ``peak`` is the share of a full warm-up."""

    peak: float
    rise_s: float
    hold_s: float
    recover_s: float

    @property
    def total_s(self) -> float:
        return self.rise_s + self.hold_s + self.recover_s

    def level(self, elapsed_s: float) -> float:
        """How far warmed up the cryostat is, from 0 (cold) to ``peak``."""
        if elapsed_s < 0 or elapsed_s >= self.total_s:
            return 0.0
        if elapsed_s < self.rise_s:
            return self.peak * elapsed_s / self.rise_s
        if elapsed_s < self.rise_s + self.hold_s:
            return self.peak
        return self.peak * (1 - (elapsed_s - self.rise_s - self.hold_s) / self.recover_s)


@dataclass(frozen=True)
class TwinSpec:
    """One device twin, as its file describes it."""

    name: str
    description: str
    technology: str
    seed: int
    num_qubits: int
    edges: tuple[tuple[int, int], ...]
    native_gates: tuple[str, ...]
    gates: tuple[GateSpec, ...]
    qubits: Mapping[str, Varying]
    measure_duration_ns: float
    max_shots: int
    concurrency: int
    shot_overhead_us: float
    job_overhead_s: float
    jitter: float
    calibration_interval_s: float
    calibration_duration_s: float
    drift_step_s: float
    maintenance: tuple[Window, ...]
    channels: tuple[Channel, ...]
    offline_channel: str | None
    offline_threshold: float
    warmup: Warmup
    source: str
    engine: str = "aer"
    #: Longest predicted simulation of one circuit admitted (seconds).
    max_run_s: float = 120.0
    #: ZZ crosstalk between coupled qubits while both idle, in kHz (``[couplers]``).
    zz_khz: Varying = Varying(0.0)
    #: ``twin``, or ``qpu`` for a processor driven through the twin engine: its
    #: runs are real, so a run lost with its worker is failed, never repeated.
    kind: str = "twin"

    def gate(self, name: str) -> GateSpec:
        return next(g for g in self.gates if g.name == name)

    def gate_sites(self, gate: GateSpec) -> list[tuple[int, ...]]:
        """Every qubit tuple the gate acts on: each qubit, or each edge both ways."""
        if gate.num_qubits == 1:
            return [(q,) for q in range(self.num_qubits)]
        return [pair for a, b in self.edges for pair in ((a, b), (b, a))]

    def to_json(self) -> dict[str, Any]:
        """The file's content as the device API shows it."""
        return {
            "name": self.name,
            "technology": self.technology,
            "num_qubits": self.num_qubits,
            "edges": [list(e) for e in self.edges],
            "native_gates": list(self.native_gates),
            "gates": {
                g.name: {"error": g.error.to_json(), "duration_ns": g.duration_ns}
                for g in self.gates
            },
            "qubits": {k: v.to_json() for k, v in self.qubits.items()},
            "couplers": {"zz_khz": self.zz_khz.to_json()},
            "measure_duration_ns": self.measure_duration_ns,
            "max_run_s": self.max_run_s,
            "timing": {
                "shot_overhead_us": self.shot_overhead_us,
                "job_overhead_s": self.job_overhead_s,
                "jitter": self.jitter,
            },
            "calibration": {
                "interval_s": self.calibration_interval_s,
                "duration_s": self.calibration_duration_s,
                "drift_step_s": self.drift_step_s,
            },
            "telemetry": [
                {"name": c.name, "unit": c.unit, "nominal": c.nominal} for c in self.channels
            ],
        }


class _Reader:
    """Reads fields of one table, with errors that name the file and the field."""

    def __init__(self, source: str, data: Mapping[str, Any], prefix: str = "") -> None:
        self.source = source
        self.data = data
        self.prefix = prefix

    def fail(self, field: str, message: str) -> DeviceFileError:
        where = f"{self.prefix}{field}"
        return DeviceFileError(f"{self.source}: {where}: {message}", file=self.source, field=where)

    def sub(self, field: str, required: bool = True) -> _Reader:
        value = self.data.get(field)
        if value is None and not required:
            return _Reader(self.source, {}, f"{self.prefix}{field}.")
        if not isinstance(value, Mapping):
            raise self.fail(field, "expected a table")
        return _Reader(self.source, value, f"{self.prefix}{field}.")

    def get(self, field: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if field not in self.data:
            if default is ...:
                raise self.fail(field, "is required")
            return default
        value = self.data[field]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            name = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(field, f"expected {name}, got {value!r}")
        return value

    def number(self, field: str, default: Any = ..., minimum: float = 0.0) -> float:
        value = float(self.get(field, float, default))
        if value < minimum:
            raise self.fail(field, f"must be at least {minimum}, got {value}")
        return value

    def varying(self, field: str, signed: bool = False) -> Varying:
        table = self.sub(field)
        return Varying(
            mean=table.number("mean", minimum=-float("inf") if signed else 0.0),
            spread=table.number("spread", 0.0),
            drift=table.number("drift", 0.0),
        )


def _edges(reader: _Reader, n: int) -> tuple[tuple[int, int], ...]:
    topology = reader.sub("topology")
    if topology.get("all_to_all", bool, False):
        return tuple(itertools.combinations(range(n), 2))
    if "grid" in topology.data:
        grid = topology.get("grid", list)
        if len(grid) != 2 or not all(isinstance(v, int) and v > 0 for v in grid):
            raise topology.fail("grid", "expected [rows, columns]")
        rows, columns = grid
        if rows * columns != n:
            raise topology.fail("grid", f"{rows}×{columns} is not num_qubits={n}")
        edges = []
        for r in range(rows):
            for c in range(columns):
                q = r * columns + c
                if c + 1 < columns:
                    edges.append((q, q + 1))
                if r + 1 < rows:
                    edges.append((q, q + columns))
        return tuple(edges)
    pairs = topology.get("edges", list)
    out = []
    for index, pair in enumerate(pairs):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(q, int) and 0 <= q < n for q in pair)
            or pair[0] == pair[1]
        ):
            raise topology.fail(f"edges[{index}]", f"expected two distinct qubits below {n}")
        out.append((pair[0], pair[1]))
    return tuple(out)


def parse(data: Mapping[str, Any], source: str) -> TwinSpec:
    """Check a parsed device file and build its spec.

    Raises:
        DeviceFileError: naming the file and the field at fault.
    """
    top = _Reader(source, data)
    name = top.get("name", str)
    n = int(top.sub("topology").number("num_qubits", minimum=1))
    edges = _edges(top, n)
    native = tuple(top.get("native_gates", list))
    standard = get_standard_gate_name_mapping()
    gates_table = top.sub("gates")
    gates: list[GateSpec] = []
    for gate in native:
        if not isinstance(gate, str) or gate not in standard:
            raise top.fail("native_gates", f"{gate!r} is not a standard Qiskit gate name")
        entry = gates_table.sub(gate)
        width = standard[gate].num_qubits
        if width > 2:
            raise top.fail("native_gates", f"{gate!r} acts on {width} qubits; at most 2")
        if width == 2 and not edges:
            raise top.fail("topology", f"two-qubit gate {gate!r} needs edges")
        gates.append(GateSpec(gate, width, entry.varying("error"), entry.number("duration_ns")))
    qubits_table = top.sub("qubits")
    qubits = {p: qubits_table.varying(p) for p in QUBIT_PARAMETERS}
    for p in IDLE_PARAMETERS:
        qubits[p] = qubits_table.varying(p, signed=True) if p in qubits_table.data else Varying(0.0)
    couplers = top.sub("couplers", required=False)
    zz = couplers.varying("zz_khz") if "zz_khz" in couplers.data else Varying(0.0)
    timing = top.sub("timing")
    calibration = top.sub("calibration")
    windows = []
    maintenance = top.get("maintenance", list, [])
    for index, window in enumerate(maintenance):
        reader = _Reader(source, window, f"maintenance[{index}].")
        start = _utc(reader, "start")
        end = _utc(reader, "end")
        if end <= start:
            raise reader.fail("end", "must be after start")
        windows.append(Window(start, end, reader.get("reason", str, "maintenance")))
    telemetry = top.sub("telemetry", required=False)
    channels = []
    for index, channel in enumerate(telemetry.get("channels", list, [])):
        reader = _Reader(source, channel, f"telemetry.channels[{index}].")
        channels.append(
            Channel(
                name=reader.get("name", str),
                unit=reader.get("unit", str),
                nominal=reader.number("nominal"),
                noise=reader.number("noise", 0.0),
                warm=reader.number("warm", reader.number("nominal")),
            )
        )
    offline_channel = telemetry.get("offline_channel", str, None)
    if offline_channel is not None and offline_channel not in {c.name for c in channels}:
        raise telemetry.fail("offline_channel", f"no channel named {offline_channel!r}")
    warm = telemetry.sub("warmup", required=False)
    return TwinSpec(
        name=name,
        description=top.get("description", str, f"device twin {name}"),
        technology=top.get("technology", str, "superconducting"),
        seed=int(top.number("seed", 0)),
        num_qubits=n,
        edges=edges,
        native_gates=native,
        gates=tuple(gates),
        qubits=qubits,
        measure_duration_ns=top.sub("measure").number("duration_ns"),
        max_shots=int(top.number("max_shots", 100_000, minimum=1)),
        concurrency=int(top.number("concurrency", 1, minimum=1)),
        max_run_s=float(top.number("max_run_s", 120.0, minimum=0.001)),
        kind=_kind(top),
        shot_overhead_us=timing.number("shot_overhead_us"),
        job_overhead_s=timing.number("job_overhead_s"),
        jitter=timing.number("jitter", 0.0),
        calibration_interval_s=calibration.number("interval_s", minimum=0.001),
        calibration_duration_s=calibration.number("duration_s"),
        drift_step_s=calibration.number("drift_step_s", minimum=0.001),
        maintenance=tuple(windows),
        channels=tuple(channels),
        offline_channel=offline_channel,
        offline_threshold=telemetry.number("offline_threshold", float("inf")),
        warmup=Warmup(
            peak=warm.number("peak", 0.5),
            rise_s=warm.number("rise_s", 600.0, minimum=0.001),
            hold_s=warm.number("hold_s", 600.0),
            recover_s=warm.number("recover_s", 3600.0, minimum=0.001),
        ),
        source=source,
        engine=top.get("engine", str, "aer"),
        zz_khz=zz,
    )


def _utc(reader: _Reader, field: str) -> dt.datetime:
    value = reader.get(field, (dt.datetime, str))
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise reader.fail(field, f"not a date and time: {value!r}") from None
    if value.tzinfo is None:
        raise reader.fail(field, "give a time zone, e.g. 2027-01-05T06:00:00Z")
    return value.astimezone(dt.UTC)


#: The kinds a device file may declare.
KINDS = ("twin", "qpu")


def _kind(top: _Reader) -> str:
    kind: str = top.get("kind", str, "twin")
    if kind not in KINDS:
        raise top.fail("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    return kind


def load(path: Path) -> TwinSpec:
    """Read one device file.

    Raises:
        DeviceFileError: the file is not TOML or not a valid device.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviceFileError(f"{path}: cannot read: {exc}", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise DeviceFileError(f"{path}: not valid TOML: {exc}", file=str(path)) from None
    return parse(data, str(path))


def load_dir(directory: Path) -> list[TwinSpec]:
    """Every ``*.toml`` device file in a directory, in name order."""
    return [load(p) for p in sorted(directory.glob("*.toml"))]

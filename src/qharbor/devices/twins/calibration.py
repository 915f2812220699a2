"""Calibration snapshots, how a recalibration draws them, and how they drift.

A recalibration draws every value from its mean ± spread, seeded by the device's
seed and the snapshot's version. Between recalibrations each value takes a
random walk: one step (at most ``drift``) per drift interval, staying within half
the spread of the recalibrated value. The walk is seeded by the same pair, so the
values in force at any moment follow from (device seed, version, steps elapsed):
a snapshot's id names all three, and any run can be reproduced from it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qharbor import errors, wire
from qharbor.devices.twins.spec import QUBIT_PARAMETERS, TwinSpec, Varying

#: The most drift steps computed; a device left that long without a recalibration
#: simply stops drifting further.
MAX_STEPS = 100_000

_ID = re.compile(r"^(?P<device>.+)-v(?P<version>\d+)-s(?P<step>\d+)$")


@dataclass(frozen=True)
class QubitCalibration:
    """One qubit: T1 and T2 in microseconds, frequency in GHz, assignment errors.

    ``readout_p01`` is the probability of reading 1 when 0 was prepared,
    ``readout_p10`` of reading 0 when 1 was prepared.
    """

    t1_us: float
    t2_us: float
    frequency_ghz: float
    readout_p01: float
    readout_p10: float
    #: Quasi-static detuning from the drive frame, in kHz: a Z rotation while idle.
    detuning_khz: float = 0.0


@dataclass(frozen=True)
class CouplerCalibration:
    """ZZ crosstalk of one coupled pair while both qubits idle, in kHz."""

    qubits: tuple[int, int]
    zz_khz: float


@dataclass(frozen=True)
class GateCalibration:
    """One gate on one qubit tuple: average gate error and duration in nanoseconds."""

    gate: str
    qubits: tuple[int, ...]
    error: float
    duration_ns: float


@dataclass(frozen=True)
class Calibration:
    """The calibration values in force on a device at one moment.

    Attributes:
        id: ``{device}-v{version}-s{step}``; names the snapshot exactly.
        version: the recalibration it descends from (1, 2, ...).
        step: drift steps since that recalibration.
        taken_at: when the recalibration finished (UTC).
        valid_at: the moment these values describe (UTC).
        reason: why the recalibration ran (``initial``, ``scheduled``, ...).
    """

    id: str
    device: str
    version: int
    step: int
    taken_at: dt.datetime
    valid_at: dt.datetime
    qubits: tuple[QubitCalibration, ...]
    gates: tuple[GateCalibration, ...]
    reason: str = "scheduled"
    couplers: tuple[CouplerCalibration, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device": self.device,
            "version": self.version,
            "step": self.step,
            "taken_at": wire.iso(self.taken_at),
            "valid_at": wire.iso(self.valid_at),
            "reason": self.reason,
            "qubits": [
                {
                    "t1_us": q.t1_us,
                    "t2_us": q.t2_us,
                    "frequency_ghz": q.frequency_ghz,
                    "readout_p01": q.readout_p01,
                    "readout_p10": q.readout_p10,
                    "detuning_khz": q.detuning_khz,
                }
                for q in self.qubits
            ],
            "couplers": [{"qubits": list(c.qubits), "zz_khz": c.zz_khz} for c in self.couplers],
            "gates": [
                {
                    "gate": g.gate,
                    "qubits": list(g.qubits),
                    "error": g.error,
                    "duration_ns": g.duration_ns,
                }
                for g in self.gates
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(
            id=data["id"],
            device=data["device"],
            version=int(data["version"]),
            step=int(data.get("step", 0)),
            taken_at=wire.parse_iso(data["taken_at"]),
            valid_at=wire.parse_iso(data.get("valid_at", data["taken_at"])),
            reason=data.get("reason", "scheduled"),
            qubits=tuple(QubitCalibration(**q) for q in data["qubits"]),
            gates=tuple(
                GateCalibration(g["gate"], tuple(g["qubits"]), g["error"], g["duration_ns"])
                for g in data["gates"]
            ),
            couplers=tuple(
                CouplerCalibration((int(c["qubits"][0]), int(c["qubits"][1])), float(c["zz_khz"]))
                for c in data.get("couplers", ())
            ),
        )


def snapshot_id(device: str, version: int, step: int) -> str:
    return f"{device}-v{version}-s{step}"


def parse_id(value: str) -> tuple[str, int, int]:
    """The device, version and step a snapshot id names.

    Raises:
        errors.InvalidRequest: the text is not a snapshot id.
    """
    match = _ID.match(value)
    if match is None:
        raise errors.InvalidRequest(
            f"{value!r} is not a calibration snapshot id; expected DEVICE-vVERSION-sSTEP",
            field="snapshot",
        )
    version, step = int(match["version"]), int(match["step"])
    # No snapshot the centre names lies outside these (versions are a 32-bit column).
    if not (1 <= version <= 2**31 - 1 and 0 <= step <= MAX_STEPS):
        raise errors.InvalidRequest(
            f"{value!r} names no calibration snapshot: versions run from 1, steps from 0 "
            f"to {MAX_STEPS}",
            field="snapshot",
        )
    return match["device"], version, step


def _series(spec: TwinSpec) -> list[tuple[str, Varying]]:
    """Every calibrated value, in a fixed order: (key, its Varying)."""
    keys: list[tuple[str, Varying]] = []
    for q in range(spec.num_qubits):
        keys += [(f"q{q}.{p}", spec.qubits[p]) for p in QUBIT_PARAMETERS]
    for gate in spec.gates:
        keys += [(f"{gate.name}{site}", gate.error) for site in spec.gate_sites(gate)]
    return keys


def _bounded(key: str, value: float) -> float:
    if key.endswith(("readout_p01", "readout_p10")):
        return float(min(max(value, 0.0), 0.45))
    if key.endswith(("t1_us", "t2_us", "frequency_ghz")):
        return float(max(value, 1e-3))
    return float(min(max(value, 0.0), 0.5))  # a gate error


def _assemble(
    spec: TwinSpec,
    values: np.ndarray,
    version: int,
    step: int,
    taken_at: dt.datetime,
    valid_at: dt.datetime,
    reason: str,
) -> Calibration:
    keys = _series(spec)
    named = {k: _bounded(k, float(v)) for (k, _), v in zip(keys, values, strict=True)}
    qubits = []
    for q in range(spec.num_qubits):
        p = {name: named[f"q{q}.{name}"] for name in QUBIT_PARAMETERS}
        p["t2_us"] = min(p["t2_us"], 2 * p["t1_us"])
        qubits.append(QubitCalibration(**p))
    gates = [
        GateCalibration(g.name, site, named[f"{g.name}{site}"], g.duration_ns)
        for g in spec.gates
        for site in spec.gate_sites(g)
    ]
    # Both directions of an edge share one calibration: the physical coupler.
    by_site = {(g.gate, tuple(sorted(g.qubits))): g.error for g in gates}
    gates = [replace(g, error=by_site[(g.gate, tuple(sorted(g.qubits)))]) for g in gates]
    return Calibration(
        id=snapshot_id(spec.name, version, step),
        device=spec.name,
        version=version,
        step=step,
        taken_at=taken_at,
        valid_at=valid_at,
        qubits=tuple(qubits),
        gates=tuple(gates),
        reason=reason,
    )


def _values(calibration: Calibration, spec: TwinSpec) -> np.ndarray:
    values = []
    for q in calibration.qubits:
        values += [getattr(q, p) for p in QUBIT_PARAMETERS]
    index = {(g.gate, g.qubits): g.error for g in calibration.gates}
    for gate in spec.gates:
        values += [index[(gate.name, site)] for site in spec.gate_sites(gate)]
    return np.array(values, dtype=float)


def recalibrate(
    spec: TwinSpec, version: int, taken_at: dt.datetime, reason: str = "scheduled"
) -> Calibration:
    """A fresh snapshot: every value drawn from its mean ± spread, seeded by version."""
    keys = _series(spec)
    rng = np.random.default_rng([spec.seed, version, 0])
    draws = rng.uniform(-1.0, 1.0, size=len(keys))
    values = np.array([v.mean + v.spread * d for (_, v), d in zip(keys, draws, strict=True)])
    return _with_idle(spec, _assemble(spec, values, version, 0, taken_at, taken_at, reason), 0)


def scaled(
    base: Calibration, spec: TwinSpec, factor: float, version: int, at: dt.datetime
) -> Calibration:
    """A worse (factor > 1) or better calibration: errors times ``factor``, T1 and T2
    divided by it. Written as a new version, as an operator's recalibration would be."""
    qubits = tuple(
        QubitCalibration(
            t1_us=q.t1_us / factor,
            t2_us=q.t2_us / factor,
            frequency_ghz=q.frequency_ghz,
            readout_p01=_bounded("readout_p01", q.readout_p01 * factor),
            readout_p10=_bounded("readout_p10", q.readout_p10 * factor),
            detuning_khz=q.detuning_khz,
        )
        for q in base.qubits
    )
    gates = tuple(replace(g, error=_bounded("error", g.error * factor)) for g in base.gates)
    return replace(
        base,
        id=snapshot_id(spec.name, version, 0),
        version=version,
        step=0,
        taken_at=at,
        valid_at=at,
        qubits=qubits,
        gates=gates,
        reason=f"scaled by {factor:g}",
    )


def steps_at(spec: TwinSpec, base: Calibration, at: dt.datetime) -> int:
    """Drift steps between a recalibration and a moment."""
    elapsed = (at - base.taken_at).total_seconds()
    return int(min(max(elapsed, 0.0) // spec.drift_step_s, MAX_STEPS))


def drifted(
    spec: TwinSpec, base: Calibration, step: int, at: dt.datetime | None = None
) -> Calibration:
    """The values ``step`` drift steps after the recalibration ``base``.

    Each value walks by uniform steps in ±drift, bounded to half its spread
    around the recalibrated value.
    """
    if step <= 0:
        return replace(base, valid_at=at or base.taken_at) if at else base
    keys = _series(spec)
    rng = np.random.default_rng([spec.seed, base.version, 1])
    steps = rng.uniform(-1.0, 1.0, size=(min(step, MAX_STEPS), len(keys)))
    drift = np.array([v.drift for _, v in keys])
    bound = np.array([v.spread / 2 for _, v in keys])
    walk = np.clip(steps.sum(axis=0) * drift, -bound, bound)
    valid_at = at or base.taken_at + dt.timedelta(seconds=step * spec.drift_step_s)
    drifted = _assemble(
        spec, _values(base, spec) + walk, base.version, step, base.taken_at, valid_at, base.reason
    )
    return _with_idle(spec, drifted, step)


def _with_idle(spec: TwinSpec, calibration: Calibration, step: int) -> Calibration:
    """The calibration with its idle-period noise: each qubit's detuning, each
    coupler's ZZ crosstalk.

    They are drawn and walk like the other values, from their own random
    streams, so that adding them left every other value of a snapshot as it was.
    """
    detuning = spec.qubits.get("detuning_khz", Varying(0.0))
    series = [detuning] * spec.num_qubits + [spec.zz_khz] * len(spec.edges)
    rng = np.random.default_rng([spec.seed, calibration.version, 2])
    draws = rng.uniform(-1.0, 1.0, size=len(series))
    values = np.array([v.mean + v.spread * d for v, d in zip(series, draws, strict=True)])
    if step > 0:
        walk_rng = np.random.default_rng([spec.seed, calibration.version, 3])
        steps = walk_rng.uniform(-1.0, 1.0, size=(min(step, MAX_STEPS), len(series)))
        drift = np.array([v.drift for v in series])
        bound = np.array([v.spread / 2 for v in series])
        values = values + np.clip(steps.sum(axis=0) * drift, -bound, bound)
    n = spec.num_qubits
    qubits = tuple(
        replace(q, detuning_khz=float(values[i])) for i, q in enumerate(calibration.qubits)
    )
    couplers = tuple(
        CouplerCalibration((int(a), int(b)), float(max(values[n + i], 0.0)))
        for i, (a, b) in enumerate(spec.edges)
    )
    return replace(calibration, qubits=qubits, couplers=couplers)

"""Cryostat telemetry of a twin: time series generated from the device file.

The readings are a deterministic function of (device seed, channel, time bucket)
plus the warm-up faults injected so far, so the same query always gives the same
series and nothing has to be stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from qharbor import errors, wire
from qharbor.devices.twins.spec import Channel, TwinSpec, Warmup

#: Seconds between the twin's sensor readings.
READING_S = 1.0
#: The longest phase (rise, hold, recovery) of a warm-up, in seconds (30 days).
MAX_PHASE_S = 30 * 86_400.0


@dataclass(frozen=True)
class Fault:
    """A warm-up injected at ``start``, following ``shape``."""

    start: dt.datetime
    shape: Warmup

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.shape.total_s)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "warmup",
            "start": wire.iso(self.start),
            "end": wire.iso(self.end),
            "peak": self.shape.peak,
            "rise_s": self.shape.rise_s,
            "hold_s": self.shape.hold_s,
            "recover_s": self.shape.recover_s,
        }


def check_warmup(shape: Warmup) -> None:
    """Refuse a warm-up whose shape cannot be timed: a peak outside (0, 1], or a phase
    that is negative, not finite, or longer than :data:`MAX_PHASE_S`.

    Raises:
        errors.InvalidRequest: naming the field and its range.
    """
    if not (math.isfinite(shape.peak) and 0 < shape.peak <= 1):
        raise errors.InvalidRequest(
            f"peak={shape.peak!r} is out of range; it is a share of a full warm-up, "
            "greater than 0 and at most 1",
            field="peak",
        )
    for name in ("rise_s", "hold_s", "recover_s"):
        value = getattr(shape, name)
        low_ok = value >= 0 if name == "hold_s" else value > 0
        if not (math.isfinite(value) and low_ok and value <= MAX_PHASE_S):
            raise errors.InvalidRequest(
                f"{name}={value!r} is out of range; a warm-up phase lasts "
                f"{'0' if name == 'hold_s' else 'more than 0'} to {MAX_PHASE_S:.0f} seconds",
                field=name,
            )


def warmth(faults: Sequence[Fault], at: dt.datetime) -> float:
    """How far warmed up the cryostat is at ``at``: the largest fault level."""
    return max((f.shape.level((at - f.start).total_seconds()) for f in faults), default=0.0)


def _noise(seed: int, channel: str, bucket: int) -> float:
    digest = hashlib.sha256(f"{seed}|{channel}|{bucket}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 2 - 1  # in [-1, 1)


def reading(spec: TwinSpec, channel: Channel, faults: Sequence[Fault], at: dt.datetime) -> float:
    """One channel's value at a moment, in the channel's unit."""
    bucket = int(at.timestamp() // READING_S)
    cold = channel.nominal * (1 + channel.noise * _noise(spec.seed, channel.name, bucket))
    return cold + warmth(faults, at) * (channel.warm - channel.nominal)


def series(
    spec: TwinSpec,
    faults: Sequence[Fault],
    start: dt.datetime,
    end: dt.datetime,
    step_s: float,
) -> dict[str, object]:
    """Every channel from ``start`` to ``end``, one point each ``step_s`` seconds."""
    times = []
    at = start
    while at <= end:
        times.append(at)
        at += dt.timedelta(seconds=step_s)
    return {
        "device": spec.name,
        "start": wire.iso(start),
        "end": wire.iso(end),
        "step_s": step_s,
        "offline_channel": spec.offline_channel,
        "offline_threshold": spec.offline_threshold,
        "times": [wire.iso(t) for t in times],
        "channels": [
            {
                "name": c.name,
                "unit": c.unit,
                "values": [reading(spec, c, faults, t) for t in times],
            }
            for c in spec.channels
        ],
        "faults": [f.to_json() for f in faults if f.end >= start and f.start <= end],
    }

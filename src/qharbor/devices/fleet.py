"""The fleet: the live state of a centre's devices.

One thread, owned by the centre, watches every twin. It runs the scheduled
recalibrations (the device is ``CALIBRATING`` meanwhile, and a new snapshot is
stored at the end), takes a device ``OFFLINE`` when its cryostat's watched
channel passes the threshold, and brings it back, through a recalibration, once
the fault is over. Maintenance windows (from the device file or added by an
admin) make a device ``MAINTENANCE`` while they last.

Statuses are worked out from state and the clock whenever asked, so the API and
the scheduler always agree.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from qharbor import errors, wire
from qharbor.devices.catalogue import Catalogue
from qharbor.devices.device import DeviceStatus
from qharbor.devices.records import DeviceRecords
from qharbor.devices.twins import calibration as calib
from qharbor.devices.twins import telemetry
from qharbor.devices.twins.document import TwinDocument
from qharbor.devices.twins.spec import TwinSpec, Warmup, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceState:
    """A device's status now, why, and when it is expected back (UTC)."""

    status: DeviceStatus
    reason: str | None = None
    until: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "reason": self.reason,
            "until": wire.iso(self.until),
        }


@dataclass
class _Twin:
    spec: TwinSpec
    base: calib.Calibration
    calibrating_until: dt.datetime | None = None
    calibration_reason: str = "scheduled"
    faults: list[telemetry.Fault] = field(default_factory=list)
    offline_since: dt.datetime | None = None


class Fleet:
    """Status, calibration, maintenance and telemetry of every device.

    Args:
        catalogue: the devices; twins are those with a spec.
        records: where snapshots and maintenance windows are stored.
        tick_s: seconds between the fleet thread's looks at the devices.
        clock: the time source (UTC).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        records: DeviceRecords,
        *,
        tick_s: float = 1.0,
        clock: wire.Clock = wire.utcnow,
    ) -> None:
        self._catalogue = catalogue
        self._records = records
        self._tick_s = tick_s
        self._clock = clock
        self._lock = threading.RLock()
        self._twins: dict[str, _Twin] = {}
        self._windows: dict[str, list[Window]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._seen: dict[str, DeviceStatus] = {}  # the status each tick last saw

    # --- life -------------------------------------------------------------------------

    def start(self, *, run_thread: bool = True) -> None:
        """Load or create each twin's first snapshot, then start watching."""
        now = self._clock()
        for device in self._catalogue:
            if device.twin is None:
                continue
            base = self._records.latest(device.name)
            if base is None:
                first = calib.recalibrate(device.twin, 1, now, reason="initial")
                self._records.add_calibration(first)
                base = self._records.latest(device.name) or first
            self._twins[device.name] = _Twin(device.twin, base)
        self._reload_windows(now)
        if run_thread:
            self._thread = threading.Thread(target=self._loop, name="qharbor-fleet", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(device)`` whenever a device's status may have changed."""
        self._listeners.append(listener)

    def _loop(self) -> None:
        failing: str | None = None  # the last failure, logged once until a tick succeeds
        while not self._stop.wait(self._tick_s):
            try:
                self.tick()
            except Exception as exc:  # the database may be briefly unreachable; keep going
                what = f"{type(exc).__name__}: {exc}"
                if what != failing:
                    log.exception("fleet tick failed; retrying every %g s", self._tick_s)
                    failing = what
            else:
                if failing is not None:
                    log.warning("fleet ticks again after: %s", failing)
                    failing = None

    def tick(self) -> None:
        """Look at every device once: faults, recalibrations, windows."""
        now = self._clock()
        self._reload_windows(now)
        changed: list[str] = []
        with self._lock:
            for twin in self._twins.values():
                self._watch_cryostat(twin, now)
                self._finish_calibration(twin, now)
                self._schedule_calibration(twin, now)
            for name in self._catalogue.names():
                status = self.state(name, now).status
                if status is not self._seen.get(name, DeviceStatus.ONLINE):
                    changed.append(name)
                self._seen[name] = status
        for name in changed:
            log.info("device %s is now %s", name, self.state(name).status)
            for listener in self._listeners:
                listener(name)

    # --- status -------------------------------------------------------------------------

    def state(self, name: str, now: dt.datetime | None = None) -> DeviceState:
        """The device's status, reason and expected return."""
        now = now or self._clock()
        with self._lock:
            twin = self._twins.get(name)
            if twin is not None and twin.offline_since is not None:
                back = max(f.end for f in twin.faults) if twin.faults else now
                return DeviceState(
                    DeviceStatus.OFFLINE,
                    f"cryostat warm-up: {twin.spec.offline_channel} above "
                    f"{twin.spec.offline_threshold:g}; the device recalibrates once it is cold",
                    back + dt.timedelta(seconds=twin.spec.calibration_duration_s),
                )
            window = self._window_at(name, now)
            if window is not None:
                return DeviceState(DeviceStatus.MAINTENANCE, window.reason, window.end)
            until = twin.calibrating_until if twin is not None else None
            if twin is not None and until is not None and until > now:
                return DeviceState(
                    DeviceStatus.CALIBRATING, f"{twin.calibration_reason} recalibration", until
                )
        return DeviceState(DeviceStatus.ONLINE)

    def status(self, name: str) -> DeviceStatus:
        return self.state(name).status

    # --- maintenance ----------------------------------------------------------------------

    def _window_at(self, name: str, now: dt.datetime) -> Window | None:
        for window in self.windows(name):
            if window.start <= now < window.end:
                return window
        return None

    def windows(self, name: str) -> list[Window]:
        """The device's maintenance windows that have not ended, soonest first."""
        now = self._clock()
        device = self._catalogue.get(name)
        planned = list(device.twin.maintenance) if device.twin is not None else []
        with self._lock:
            planned += self._windows.get(name, [])
        return sorted((w for w in planned if w.end > now), key=lambda w: w.start)

    def add_window(self, name: str, window: Window) -> None:
        """Plan a maintenance window (stored, so every centre sharing the database sees it)."""
        self._catalogue.get(name)
        self._records.add_window(name, window)
        self._reload_windows(self._clock())

    def _reload_windows(self, now: dt.datetime) -> None:
        windows = self._records.windows(now)
        with self._lock:
            self._windows = windows

    # --- calibration ------------------------------------------------------------------------

    def _twin(self, name: str) -> _Twin:
        self._catalogue.get(name)  # DeviceNotFound for unknown names
        twin = self._twins.get(name)
        if twin is None:
            raise errors.DeviceNotTwin(
                f"device {name!r} is a simulator without calibration; twins: "
                f"{', '.join(sorted(self._twins)) or 'none'}",
                device=name,
            )
        return twin

    def spec(self, name: str) -> TwinSpec:
        return self._twin(name).spec

    def calibration(self, name: str, at: dt.datetime | None = None) -> calib.Calibration:
        """The snapshot in force at ``at`` (now when omitted), drift included.

        Raises:
            errors.DeviceNotTwin: the device has no calibration.
            errors.InvalidRequest: ``at`` is before the device's first snapshot.
        """
        twin = self._twin(name)
        now = self._clock()
        at = at or now
        with self._lock:
            base = twin.base if at >= twin.base.taken_at else None
        if base is None:
            base = self._records.latest(name, at)
        if base is None:
            raise errors.InvalidRequest(
                f"device {name!r} has no calibration before {wire.iso(at)}", field="at"
            )
        return calib.drifted(twin.spec, base, calib.steps_at(twin.spec, base, at), at)

    def snapshot(self, snapshot_id: str) -> calib.Calibration:
        """A snapshot by id, rebuilt exactly from its recalibration and drift step.

        Raises:
            errors.InvalidRequest: no such snapshot.
        """
        name, version, step = calib.parse_id(snapshot_id)
        twin = self._twin(name)
        base = self._records.version(name, version)
        if base is None:
            raise errors.InvalidRequest(
                f"device {name!r} has no calibration version {version}", field="snapshot"
            )
        return calib.drifted(twin.spec, base, step)

    def history(self, name: str, limit: int = 50) -> list[calib.Calibration]:
        self._twin(name)
        return self._records.history(name, limit)

    def recalibrate(self, name: str, reason: str = "requested") -> DeviceState:
        """Start a recalibration now; the device is CALIBRATING for its duration."""
        twin = self._twin(name)
        with self._lock:
            self._start_calibration(twin, self._clock(), reason)
        self._notify(name)
        return self.state(name)

    def scale(self, name: str, factor: float) -> calib.Calibration:
        """Store a new calibration with errors times ``factor`` and T1/T2 over it."""
        twin = self._twin(name)
        now = self._clock()
        with self._lock:
            current = calib.drifted(twin.spec, twin.base, calib.steps_at(twin.spec, twin.base, now))
            version = self._next_version(twin)
            scaled = calib.scaled(current, twin.spec, factor, version, now)
            self._store(twin, scaled)
        return twin.base

    def _next_version(self, twin: _Twin) -> int:
        latest = self._records.latest(twin.spec.name)
        return max(twin.base.version, latest.version if latest else 0) + 1

    def _store(self, twin: _Twin, snapshot: calib.Calibration) -> None:
        if not self._records.add_calibration(snapshot):
            log.info("calibration %s was written by another centre", snapshot.id)
        twin.base = self._records.latest(twin.spec.name) or snapshot

    def _start_calibration(self, twin: _Twin, now: dt.datetime, reason: str) -> None:
        twin.calibrating_until = now + dt.timedelta(seconds=twin.spec.calibration_duration_s)
        twin.calibration_reason = reason
        if twin.spec.calibration_duration_s <= 0:
            self._finish_calibration(twin, now)

    def _finish_calibration(self, twin: _Twin, now: dt.datetime) -> None:
        until = twin.calibrating_until
        if until is None or until > now:
            return
        version = self._next_version(twin)
        self._store(twin, calib.recalibrate(twin.spec, version, until, twin.calibration_reason))
        twin.calibrating_until = None

    def _schedule_calibration(self, twin: _Twin, now: dt.datetime) -> None:
        if twin.calibrating_until is not None or twin.offline_since is not None:
            return
        if self._window_at(twin.spec.name, now) is not None:
            return  # recalibrate after maintenance, not during it
        due = twin.base.taken_at + dt.timedelta(seconds=twin.spec.calibration_interval_s)
        if now >= due:
            self._start_calibration(twin, now, "scheduled")

    # --- faults and telemetry -------------------------------------------------------------

    def inject_warmup(self, name: str, shape: dict[str, float] | None = None) -> telemetry.Fault:
        """Start a cryostat warm-up now; the device goes offline once it is too warm.

        Args:
            shape: overrides of the file's warm-up: ``peak``, ``rise_s``, ``hold_s``,
                ``recover_s``.
        """
        twin = self._twin(name)
        if twin.spec.offline_channel is None:
            raise errors.InvalidRequest(
                f"device {name!r} has no cryostat telemetry to warm up", device=name
            )
        unknown = set(shape or {}) - {"peak", "rise_s", "hold_s", "recover_s"}
        if unknown:
            raise errors.InvalidRequest(
                f"a warm-up has no {sorted(unknown)}; give peak, rise_s, hold_s, recover_s",
                field=sorted(unknown)[0],
            )
        warmup: Warmup = replace(twin.spec.warmup, **(shape or {}))
        # Checked before it is kept: a fault the fleet cannot time would break every
        # status read and every tick from then on.
        telemetry.check_warmup(warmup)
        fault = telemetry.Fault(self._clock(), warmup)
        with self._lock:
            twin.faults.append(fault)
        return fault

    def _watch_cryostat(self, twin: _Twin, now: dt.datetime) -> None:
        spec = twin.spec
        if spec.offline_channel is None or not twin.faults:
            return
        channel = next(c for c in spec.channels if c.name == spec.offline_channel)
        value = telemetry.reading(spec, channel, twin.faults, now)
        if value > spec.offline_threshold:
            if twin.offline_since is None:
                twin.offline_since = now
                twin.calibrating_until = None
                log.warning(
                    "device %s offline: %s at %.1f %s", spec.name, channel.name, value, channel.unit
                )
        elif twin.offline_since is not None and all(f.end <= now for f in twin.faults):
            twin.offline_since = None
            self._start_calibration(twin, now, "recovery")

    def telemetry(
        self, name: str, start: dt.datetime, end: dt.datetime, step_s: float
    ) -> dict[str, Any]:
        twin = self._twin(name)
        with self._lock:
            faults = list(twin.faults)
        return telemetry.series(twin.spec, faults, start, end, step_s)

    def twins(self) -> list[str]:
        """The names of the devices that are twins (have calibration and telemetry)."""
        with self._lock:
            return sorted(self._twins)

    def calibrated_at(self, name: str) -> dt.datetime:
        """When the device's calibration in force was taken (UTC), drift aside."""
        twin = self._twin(name)
        with self._lock:
            return twin.base.taken_at

    def readings(self, name: str) -> list[tuple[str, str, float]]:
        """Every telemetry channel's value now, as ``(channel, unit, value)``."""
        twin = self._twin(name)
        now = self._clock()
        with self._lock:
            faults = list(twin.faults)
        return [
            (c.name, c.unit, telemetry.reading(twin.spec, c, faults, now))
            for c in twin.spec.channels
        ]

    # --- the twin document -------------------------------------------------------------------

    def twin_document(
        self, name: str, calibration: calib.Calibration | None = None
    ) -> TwinDocument:
        """Everything needed to emulate the device: see :mod:`qharbor.engines.twin`."""
        spec = self._twin(name).spec
        snapshot = calibration or self.calibration(name)
        return TwinDocument.of(spec, snapshot)

    def _notify(self, name: str) -> None:
        for listener in self._listeners:
            listener(name)

"""The fleet on a real database, with a clock the test moves."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from qharbor import errors
from qharbor.devices import DeviceStatus
from qharbor.devices.catalogue import Catalogue, load_twins, simulator_devices, twin_device
from qharbor.devices.fleet import Fleet
from qharbor.devices.records import DeviceRecords
from qharbor.devices.twins.spec import Window
from qharbor.store import Database

T0 = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(db: Database, clock: Clock) -> Fleet:
    specs = [
        replace(s, calibration_interval_s=100.0, calibration_duration_s=10.0, drift_step_s=5.0)
        for s in load_twins()
        if s.name in ("sc25", "nmr3")
    ]
    catalogue = Catalogue([*simulator_devices(), *(twin_device(s) for s in specs)])
    fleet = Fleet(catalogue, DeviceRecords(db), clock=clock)
    fleet.start(run_thread=False)
    return fleet


def test_a_scheduled_recalibration_calibrates_then_stores_a_new_snapshot(
    fleet: Fleet, clock: Clock
) -> None:
    first = fleet.calibration("sc25")
    assert first.version == 1 and fleet.status("sc25") is DeviceStatus.ONLINE
    clock.advance(100)
    fleet.tick()
    state = fleet.state("sc25")
    assert state.status is DeviceStatus.CALIBRATING
    assert state.until == clock.now + dt.timedelta(seconds=10)
    clock.advance(10)
    fleet.tick()
    assert fleet.status("sc25") is DeviceStatus.ONLINE
    second = fleet.calibration("sc25")
    assert second.version == 2 and second.taken_at == clock.now
    assert [c.version for c in fleet.history("sc25")] == [2, 1]
    # The past stays readable: 50 s in, version 1 had drifted 10 steps.
    past = fleet.calibration("sc25", T0 + dt.timedelta(seconds=50))
    assert past.id == "sc25-v1-s10"
    assert fleet.snapshot("sc25-v1-s10") == replace(past, valid_at=past.valid_at)


def test_a_fresh_fleet_on_the_same_database_continues_the_history(
    db: Database, fleet: Fleet, clock: Clock
) -> None:
    fleet.scale("sc25", 2.0)
    again = Fleet(fleet._catalogue, DeviceRecords(db), clock=clock)
    again.start(run_thread=False)
    assert again.calibration("sc25").version == 2
    assert again.calibration("sc25").reason == "scaled by 2"


def test_a_maintenance_window_makes_the_device_wait_until_it_ends(
    fleet: Fleet, clock: Clock
) -> None:
    end = T0 + dt.timedelta(seconds=30)
    fleet.add_window("nmr3", Window(T0 + dt.timedelta(seconds=10), end, "magnet shim"))
    assert fleet.status("nmr3") is DeviceStatus.ONLINE
    assert fleet.windows("nmr3")[0].reason == "magnet shim"
    clock.advance(10)
    state = fleet.state("nmr3")
    assert (state.status, state.reason, state.until) == (
        DeviceStatus.MAINTENANCE,
        "magnet shim",
        end,
    )
    clock.advance(20)
    assert fleet.status("nmr3") is DeviceStatus.ONLINE
    assert fleet.windows("nmr3") == []


def test_a_warm_up_takes_the_device_offline_then_back_through_a_recalibration(
    fleet: Fleet, clock: Clock
) -> None:
    changes: list[str] = []
    fleet.on_change(changes.append)
    fault = fleet.inject_warmup("sc25", {"peak": 0.01, "rise_s": 10, "hold_s": 10, "recover_s": 10})
    fleet.tick()
    assert fleet.status("sc25") is DeviceStatus.ONLINE  # still cold at the start
    clock.advance(5)
    fleet.tick()
    state = fleet.state("sc25")
    assert state.status is DeviceStatus.OFFLINE
    assert state.until == fault.end + dt.timedelta(seconds=10)
    clock.advance(25)  # the fault is over and the cryostat cold again
    fleet.tick()
    assert fleet.status("sc25") is DeviceStatus.CALIBRATING
    clock.advance(10)
    fleet.tick()
    assert fleet.status("sc25") is DeviceStatus.ONLINE
    assert fleet.calibration("sc25").reason == "recovery"
    assert changes == ["sc25", "sc25", "sc25"]
    series = fleet.telemetry("sc25", T0, T0 + dt.timedelta(seconds=30), 5.0)
    mixing = next(c for c in series["channels"] if c["name"] == "mixing_chamber")
    assert mixing["values"][0] == pytest.approx(10, rel=0.05)
    assert max(mixing["values"]) > 50 > mixing["values"][-1]


def test_simulators_are_always_online_and_have_no_calibration(fleet: Fleet) -> None:
    assert fleet.status("statevector") is DeviceStatus.ONLINE
    with pytest.raises(errors.DeviceNotTwin):
        fleet.calibration("statevector")
    with pytest.raises(errors.DeviceNotFound):
        fleet.calibration("nope")


def test_a_tick_that_keeps_failing_is_logged_once_and_its_recovery_once(
    db: Database, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import threading

    specs = [s for s in load_twins() if s.name == "sc25"]
    catalogue = Catalogue([*simulator_devices(), *(twin_device(s) for s in specs)])
    fleet = Fleet(catalogue, DeviceRecords(db), tick_s=0.01, clock=clock)
    fleet.start(run_thread=False)
    ticks = {"n": 0}
    healthy = threading.Event()
    done = threading.Event()

    def tick() -> None:
        ticks["n"] += 1
        if ticks["n"] >= 60:
            done.set()
        if not healthy.is_set():
            raise OverflowError("date value out of range")

    fleet.tick = tick  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="qharbor.devices.fleet"):
        thread = threading.Thread(target=fleet._loop)
        thread.start()
        try:
            assert done.wait(30)
            healthy.set()
            ticks["n"], done = 0, threading.Event()
            assert done.wait(30)
        finally:
            fleet._stop.set()
            thread.join(10)
    failures = [r for r in caplog.records if "tick failed" in r.getMessage()]
    recoveries = [r for r in caplog.records if "ticks again" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert len(recoveries) == 1


def test_a_warm_up_that_cannot_be_timed_is_refused_and_not_kept(fleet: Fleet) -> None:
    for shape in ({"rise_s": 1e14}, {"hold_s": float("inf")}, {"peak": 0.0}, {"recover_s": -1}):
        with pytest.raises(errors.InvalidRequest) as refused:
            fleet.inject_warmup("sc25", shape)
        assert refused.value.detail["field"] == next(iter(shape))
    assert fleet.telemetry("sc25", T0, T0 + dt.timedelta(minutes=1), 10.0)["faults"] == []
    assert fleet.status("sc25") is DeviceStatus.ONLINE

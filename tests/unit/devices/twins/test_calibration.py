"""Calibration snapshots: seeded recalibration, bounded reproducible drift."""

from __future__ import annotations

import datetime as dt

import pytest

from qharbor import errors
from qharbor.devices.catalogue import load_twins
from qharbor.devices.twins import calibration as calib

T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
SC25 = next(s for s in load_twins() if s.name == "sc25")


def test_a_recalibration_draws_values_within_mean_and_spread() -> None:
    snapshot = calib.recalibrate(SC25, 3, T0)
    assert snapshot.id == "sc25-v3-s0"
    t1 = SC25.qubits["t1_us"]
    assert all(t1.mean - t1.spread <= q.t1_us <= t1.mean + t1.spread for q in snapshot.qubits)
    assert all(q.t2_us <= 2 * q.t1_us for q in snapshot.qubits)
    cz = SC25.gate("cz").error
    errors_cz = [g.error for g in snapshot.gates if g.gate == "cz"]
    assert len(errors_cz) == 80  # 40 couplers, both directions
    assert all(cz.mean - cz.spread <= e <= cz.mean + cz.spread for e in errors_cz)
    assert len(set(errors_cz)) > 10  # values differ between couplers


def test_recalibrations_are_seeded_by_version() -> None:
    assert calib.recalibrate(SC25, 2, T0) == calib.recalibrate(SC25, 2, T0)
    assert calib.recalibrate(SC25, 2, T0).qubits != calib.recalibrate(SC25, 3, T0).qubits


def test_drift_is_reproducible_and_bounded_by_half_the_spread() -> None:
    base = calib.recalibrate(SC25, 1, T0)
    later = calib.drifted(SC25, base, 400)
    assert later == calib.drifted(SC25, base, 400)
    assert later.id == "sc25-v1-s400"
    assert later.qubits != base.qubits
    half = SC25.qubits["t1_us"].spread / 2
    for before, after in zip(base.qubits, later.qubits, strict=True):
        assert abs(after.t1_us - before.t1_us) <= half + 1e-9


def test_steps_count_drift_intervals_since_the_recalibration() -> None:
    base = calib.recalibrate(SC25, 1, T0)
    assert calib.steps_at(SC25, base, T0 + dt.timedelta(seconds=SC25.drift_step_s * 3.5)) == 3
    assert calib.steps_at(SC25, base, T0 - dt.timedelta(seconds=5)) == 0


def test_snapshots_round_trip_through_json() -> None:
    snapshot = calib.drifted(SC25, calib.recalibrate(SC25, 1, T0), 7)
    assert calib.Calibration.from_json(snapshot.to_json()) == snapshot


def test_a_scaled_calibration_is_worse_by_the_factor() -> None:
    base = calib.recalibrate(SC25, 1, T0)
    worse = calib.scaled(base, SC25, 4.0, 2, T0)
    assert worse.version == 2 and worse.id == "sc25-v2-s0"
    assert worse.gates[-1].error == pytest.approx(min(base.gates[-1].error * 4, 0.5))
    assert worse.qubits[0].t1_us == pytest.approx(base.qubits[0].t1_us / 4)


def test_snapshot_ids_parse_and_bad_ones_are_refused() -> None:
    assert calib.parse_id("sc25-v12-s3") == ("sc25", 12, 3)
    with pytest.raises(errors.InvalidRequest):
        calib.parse_id("sc25-latest")

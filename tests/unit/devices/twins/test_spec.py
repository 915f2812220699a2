"""Device twin files: the shipped twins load, and bad files name file and field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from qharbor import errors
from qharbor.devices.catalogue import default_catalogue, load_twins
from qharbor.devices.twins import spec

SC25 = spec.BUILTIN_DIR / "sc25.toml"


def test_the_shipped_twins_have_the_advertised_shapes() -> None:
    twins = {s.name: s for s in load_twins()}
    assert set(twins) == {"sc25", "sc72", "nmr3", "ion11"}
    assert twins["sc25"].num_qubits == 25 and len(twins["sc25"].edges) == 40
    assert twins["sc25"].native_gates == ("rz", "sx", "x", "cz")
    assert twins["sc72"].num_qubits == 72 and len(twins["sc72"].edges) == 6 * 11 + 5 * 12
    assert twins["nmr3"].max_shots <= 2000 and len(twins["nmr3"].edges) == 3
    assert twins["ion11"].native_gates == ("rx", "ry", "rxx") and len(twins["ion11"].edges) == 55
    assert twins["sc25"].gate("cz").error.mean == pytest.approx(0.01)
    assert {c.name for c in twins["sc25"].channels} >= {"mixing_chamber", "still", "plate_4k"}


def test_an_operator_file_adds_a_device_and_replaces_a_shipped_one(tmp_path: Path) -> None:
    text = SC25.read_text()
    (tmp_path / "mine.toml").write_text(text.replace('name = "sc25"', 'name = "mine"'))
    (tmp_path / "sc25.toml").write_text(text.replace("max_shots = 100000", "max_shots = 77"))
    catalogue = default_catalogue(devices_dir=tmp_path)
    assert "mine" in catalogue
    assert catalogue.get("sc25").max_shots == 77


def test_settings_overrides_replace_the_calibration_plan() -> None:
    (sc25,) = [s for s in load_twins(calibration_interval_s=5.0) if s.name == "sc25"]
    assert sc25.calibration_interval_s == 5.0
    assert sc25.calibration_duration_s == 900  # not overridden


def _broken(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            'native_gates = ["rz", "sx", "x", "cz"]',
            'native_gates = ["rz", "sx", "foo"]',
            "native_gates",
        ),
        ("grid = [5, 5]", "grid = [5, 4]", "topology.grid"),
        ("t1_us = { mean = 85.0", "t1_us = { mean = -85.0", "qubits.t1_us.mean"),
        ("duration_ns = 220", 'duration_ns = "long"', "gates.cz.duration_ns"),
        ("end = 2027-01-06T10:00:00Z", "end = 2027-01-06T05:00:00Z", "maintenance[0].end"),
        (
            'offline_channel = "mixing_chamber"',
            'offline_channel = "nope"',
            "telemetry.offline_channel",
        ),
    ],
)
def test_a_bad_file_names_the_file_and_the_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_broken(SC25.read_text(), old, new))
    with pytest.raises(errors.DeviceFileError) as caught:
        spec.load(path)
    assert caught.value.detail["field"] == field
    assert str(path) in caught.value.message and field in caught.value.message


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("name = ")
    with pytest.raises(errors.DeviceFileError, match="not valid TOML"):
        spec.load(path)
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(path.read_text())

"""The built-in simulator devices and the catalogue that names them."""

from __future__ import annotations

import pytest

from qharbor import errors
from qharbor.devices import Catalogue, DeviceStatus, default_catalogue
from qharbor.devices.catalogue import check_memory, memory_qubit_limit, simulator_devices
from qharbor.engines import memory

GiB = 2**30


def test_the_four_simulator_devices_exist() -> None:
    devices = {d.name: d for d in default_catalogue() if d.kind == "simulator"}
    assert set(devices) == {"statevector", "density-matrix", "mps", "stabilizer"}
    assert {name: d.method for name, d in devices.items()} == {
        "statevector": "statevector",
        "density-matrix": "density_matrix",
        "mps": "matrix_product_state",
        "stabilizer": "stabilizer",
    }
    assert all(d.engine == "aer" and d.kind == "simulator" for d in devices.values())
    assert all(d.status is DeviceStatus.ONLINE for d in devices.values())


def test_only_the_stabilizer_device_is_clifford_only() -> None:
    assert [d.name for d in default_catalogue() if d.clifford_only] == ["stabilizer"]


def test_only_the_density_matrix_simulator_and_the_twins_are_noisy() -> None:
    noisy = [d for d in default_catalogue() if d.noisy]
    assert [d.name for d in noisy if d.kind == "simulator"] == ["density-matrix"]
    assert all(d.kind == "twin" for d in noisy if d.name != "density-matrix")


def test_max_shots_caps_every_device() -> None:
    devices = list(default_catalogue(max_shots=5000))
    assert {d.max_shots for d in devices if d.kind == "simulator"} == {5000}
    assert all(d.max_shots <= 5000 for d in devices)
    assert {d.name: d.max_shots for d in devices}["nmr3"] == 2000


@pytest.mark.parametrize(
    ("capacity", "statevector", "density_matrix"),
    [
        # 32 MiB fixed, then 16.5 bytes per amplitude (Aer, double precision).
        (1 * GiB, 25, 12),
        (12 * GiB, 29, 14),
        (18 * GiB, 30, 15),
        (100 * GiB, 32, 16),
    ],
)
def test_memory_qubit_limit_is_the_widest_aer_state_that_fits(
    capacity: int, statevector: int, density_matrix: int
) -> None:
    assert memory_qubit_limit(1, capacity) == statevector
    assert memory_qubit_limit(2, capacity) == density_matrix


def test_memory_qubit_limit_is_exact_at_the_boundary() -> None:
    need = memory.FIXED_BYTES + int(16.5 * 2**20)
    assert memory_qubit_limit(1, need) == 20
    assert memory_qubit_limit(1, need - 1) == 19
    need = memory.FIXED_BYTES + int(16.5 * 4**10)
    assert memory_qubit_limit(2, need) == 10
    assert memory_qubit_limit(2, need - 1) == 9


def test_statevector_and_density_matrix_limits_follow_host_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Memory:
        total = 24 * GiB

    monkeypatch.setattr(memory.psutil, "virtual_memory", lambda: Memory())
    devices = {d.name: d for d in simulator_devices()}
    # 80 % of 24 GiB: a 30-qubit state on Aer (16.5 bytes per amplitude; from 27 qubits
    # automatic selection leaves qulacs's sampler out) fits, 31 do not.
    assert devices["statevector"].max_qubits == 30
    assert devices["statevector"].memory_bytes == int(24 * GiB * 0.8)
    assert devices["density-matrix"].max_qubits == 14


def test_density_matrix_limit_is_capped_on_a_large_host() -> None:
    devices = {d.name: d for d in simulator_devices(memory_bytes=4096 * GiB)}
    assert devices["statevector"].max_qubits == 37
    assert devices["density-matrix"].max_qubits == 14


def test_every_device_carries_the_capacity_it_admits_jobs_against() -> None:
    devices = list(default_catalogue(memory_bytes=5 * GiB))
    assert {d.memory_bytes for d in devices} == {5 * GiB}
    assert all("memory_bytes" not in d.to_json() for d in devices)


def test_a_need_beyond_the_capacity_is_a_device_limit_naming_both() -> None:
    device = default_catalogue(memory_bytes=1 * GiB).get("statevector")
    check_memory(device, 1 * GiB)  # exactly full fits
    with pytest.raises(errors.DeviceLimit) as caught:
        check_memory(device, 3 * GiB, program=2, qubits=40)
    assert caught.value.code == "DEVICE_LIMIT"
    assert caught.value.detail == {
        "program": 2,
        "qubits": 40,
        "device": "statevector",
        "memory_bytes": 3 * GiB,
        "capacity_bytes": 1 * GiB,
        "max_qubits": device.max_qubits,
    }
    assert caught.value.message.startswith("program 2 (40 qubits) needs about 3.0 GiB")
    assert "1.0 GiB" in caught.value.message


def test_get_returns_the_named_device() -> None:
    assert default_catalogue().get("mps").name == "mps"


def test_get_of_an_unknown_device_lists_the_available_names() -> None:
    with pytest.raises(errors.DeviceNotFound) as caught:
        default_catalogue().get("ibm_kyiv")
    assert caught.value.code == "DEVICE_NOT_FOUND"
    assert caught.value.detail == {
        "device": "ibm_kyiv",
        "available": [
            "density-matrix",
            "ion11",
            "mps",
            "nmr3",
            "sc25",
            "sc72",
            "stabilizer",
            "statevector",
        ],
    }
    for name in ("density-matrix", "mps", "stabilizer", "statevector"):
        assert name in caught.value.message


def test_catalogue_membership_and_names_keep_the_given_order() -> None:
    devices = simulator_devices()
    cat = Catalogue(list(reversed(devices)))
    assert "stabilizer" in cat
    assert "nope" not in cat
    assert cat.names() == [d.name for d in reversed(devices)]


def test_device_to_json_is_plain_json() -> None:
    data = default_catalogue().get("stabilizer").to_json()
    assert data["status"] == "ONLINE"
    assert isinstance(data["basis_gates"], list)
    assert "t" not in data["basis_gates"]
    assert data["clifford_only"] is True

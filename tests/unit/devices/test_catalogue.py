"""The built-in simulator devices and the catalogue that names them."""

from __future__ import annotations

import pytest

from qharbor import errors
from qharbor.devices import Catalogue, DeviceStatus, catalogue, default_catalogue
from qharbor.devices.catalogue import memory_qubit_limit, simulator_devices

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
    ("memory", "statevector", "density_matrix"),
    [
        (1 * GiB, 25, 12),
        (16 * GiB, 29, 14),
        (24 * GiB, 29, 14),
        (32 * GiB, 30, 15),
        (128 * GiB, 32, 16),
    ],
)
def test_memory_qubit_limit_uses_half_the_memory_at_16_bytes_per_amplitude(
    memory: int, statevector: int, density_matrix: int
) -> None:
    assert memory_qubit_limit(1, memory) == statevector
    assert memory_qubit_limit(2, memory) == density_matrix


def test_memory_qubit_limit_is_exact_at_a_power_of_two() -> None:
    # 2^20 amplitudes of 16 bytes fill exactly half of 2 * 16 * 2^20 bytes.
    exact = 2 * 16 * 2**20
    assert memory_qubit_limit(1, exact) == 20
    assert memory_qubit_limit(1, exact - 1) == 19
    # A density matrix of n qubits holds 4^n amplitudes.
    exact = 2 * 16 * 4**10
    assert memory_qubit_limit(2, exact) == 10
    assert memory_qubit_limit(2, exact - 1) == 9


def test_statevector_and_density_matrix_limits_follow_host_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Memory:
        total = 24 * GiB

    monkeypatch.setattr(catalogue.psutil, "virtual_memory", lambda: Memory())
    devices = {d.name: d for d in simulator_devices()}
    assert devices["statevector"].max_qubits == 29
    assert devices["density-matrix"].max_qubits == 14


def test_density_matrix_limit_is_capped_on_a_large_host(monkeypatch: pytest.MonkeyPatch) -> None:
    class Memory:
        total = 4096 * GiB

    monkeypatch.setattr(catalogue.psutil, "virtual_memory", lambda: Memory())
    devices = {d.name: d for d in simulator_devices()}
    assert devices["statevector"].max_qubits == 37
    assert devices["density-matrix"].max_qubits == 14


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

"""The simulator devices as the API shows them."""

from __future__ import annotations

import psutil

from qharbor.devices.catalogue import memory_need
from qharbor.engines import memory
from qharbor.engines.memory import Workload
from tests.integration.conftest import RunningCentre
from tests.programs import slow


def test_the_four_simulator_devices_are_listed_with_their_fields(running: RunningCentre) -> None:
    devices = {d["name"]: d for d in running.http.get("/v1/devices").json()["devices"]}
    assert {"statevector", "density-matrix", "mps", "stabilizer"} <= set(devices)
    for device in devices.values():
        assert device["kind"] in ("simulator", "twin")
        assert device["status"] == "ONLINE"
        assert device["max_qubits"] > 0
        assert device["basis_gates"]
        assert device["queue_length"] >= 0
    assert devices["density-matrix"]["noisy"] is True
    assert devices["stabilizer"]["max_qubits"] >= 1000
    assert devices["stabilizer"]["clifford_only"] is True
    assert devices["mps"]["max_qubits"] > devices["statevector"]["max_qubits"]


def test_statevector_limit_is_the_widest_job_that_fits_in_the_hosts_memory(
    running: RunningCentre,
) -> None:
    device = running.http.get("/v1/devices/statevector").json()
    width = device["max_qubits"]
    # 80 % of the host's memory, less the two idle workers' own.
    capacity = int(psutil.virtual_memory().total * 0.8) - 2 * memory.WORKER_IDLE_BYTES
    statevector = running.centre.catalogue.get("statevector")
    assert memory_need(statevector, [Workload(width)]) <= capacity
    assert memory_need(statevector, [Workload(width + 1)]) > capacity
    # The worst engine automatic selection may pick: below 27 qubits qulacs, which keeps its
    # state and a sampling buffer (24 bytes per amplitude); from 27, engines that keep the
    # state alone (16).
    per_amplitude = 24 if width < memory.LEAN_QUBITS else 16
    assert per_amplitude * 2**width <= capacity < 25 * 2 ** (width + 1)


def test_unknown_device_is_404(running: RunningCentre) -> None:
    response = running.http.get("/v1/devices/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DEVICE_NOT_FOUND"


def test_queue_length_and_running_count_follow_the_jobs(running: RunningCentre) -> None:
    jobs = [running.submit(device="mps", programs=[slow(layers=40)], shots=5) for _ in range(3)]
    seen = running.http.get("/v1/devices/mps").json()
    assert seen["queue_length"] + seen["running"] == 3
    for job in jobs:
        running.http.post(f"/v1/jobs/{job['id']}/cancel")
    for job in jobs:
        assert running.wait(job["id"])["status"] == "CANCELLED"
    after = running.http.get("/v1/devices/mps").json()
    assert after["queue_length"] == after["running"] == 0

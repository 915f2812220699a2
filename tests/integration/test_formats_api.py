"""Every format from its user's own SDK, through a running centre."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest
from braket.circuits import Circuit, Observable
from braket.circuits.serialization import IRType
from braket.devices import LocalSimulator
from qiskit import QuantumCircuit, qpy

from qharbor.braket import QHarborDevice
from qharbor.client import HarborService
from qharbor.programs import qpy as qpy_format
from tests.integration.conftest import RunningCentre


def test_formats_lists_every_format_with_versions_and_limits(running: RunningCentre) -> None:
    response = running.http.get("/v1/formats")
    assert response.status_code == 200
    body = response.json()
    formats = {f["name"]: f for f in body["formats"]}
    assert set(formats) == {"qasm2", "qasm3", "originir", "qpy"}
    assert formats["qasm3"]["versions"] == ["3.0", "3.1"]
    assert formats["qpy"]["encoding"] == "base64"
    assert formats["qpy"]["versions"][0] == str(qpy_format.MIN_VERSION)
    assert body["limits"]["max_qubits"] == 1024
    assert body["limits"]["max_while_iterations"] == 64


def test_originir_runs_and_returns_origin_shaped_probabilities(running: RunningCentre) -> None:
    source = "QINIT 2\nCREG 2\nX q[0]\nH q[1]\nMEASURE q[0],c[0]\nMEASURE q[1],c[1]\n"
    job = running.submit(programs=[{"source": source, "format": "originir"}], shots=2000, seed=3)
    response = running.http.get(
        f"/v1/jobs/{job['id']}/result", params={"wait": 60, "shape": "origin"}
    )
    assert response.status_code == 200, response.text
    row = response.json()["experiments"][0]
    # c[0] is always 1: outcomes 0x1 (c[1]=0) and 0x3 (c[1]=1), half each.
    assert set(row["probabilities"]) == {"0x1", "0x3"}
    assert abs(sum(row["probabilities"].values()) - 1) < 1e-12
    assert row["probabilities"]["0x1"] == row["counts"]["01"] / 2000


def test_unknown_result_shape_is_invalid(running: RunningCentre) -> None:
    job = running.submit(programs=["QINIT 1\nCREG 1\nMEASURE q[0],c[0]\n"], shots=10)
    response = running.http.get(f"/v1/jobs/{job['id']}/result", params={"shape": "cirq"})
    assert response.status_code == 422


def test_qpy_runs_through_the_centre(running: RunningCentre) -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.x(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    source = base64.b64encode(buffer.getvalue()).decode()
    job = running.submit(programs=[{"source": source, "format": "qpy"}], shots=100)
    assert running.result(job["id"])["experiments"][0]["counts"] == {"11": 100}


@pytest.fixture
def device(running: RunningCentre) -> Iterator[QHarborDevice]:
    service = HarborService(running.url, running.token)
    yield QHarborDevice("statevector", service=service)
    service.close()


def test_braket_device_runs_a_circuit_with_braket_counts(device: QHarborDevice) -> None:
    circuit = Circuit().x(0).h(1).cnot(1, 2)
    result = device.run(circuit, shots=1000, seed=11).result()
    counts = result.measurement_counts
    assert sum(counts.values()) == 1000
    # Braket's bit order: qubit 0 first, so it is always the leading 1.
    assert set(counts) == {"100", "111"}
    assert result.measured_qubits == [0, 1, 2]


def test_braket_result_types_match_the_local_simulator(device: QHarborDevice) -> None:
    circuit = (
        Circuit()
        .h(0)
        .cnot(0, 1)
        .rx(2, 0.6)
        .expectation(Observable.Z() @ Observable.Z(), target=[0, 1])
        .variance(Observable.X(), target=[2])
        .probability(target=[2])
    )
    # shots=0 asks for exact values, as on Braket's simulators; with shots they are
    # estimated from the samples (tests/integration/test_braket_device.py).
    ours = device.run(circuit, shots=0).result()
    theirs = LocalSimulator().run(circuit, shots=0).result()
    for result_type in circuit.result_types:
        mine = ours.get_value_by_result_type(result_type)
        reference = theirs.get_value_by_result_type(result_type)
        assert mine == pytest.approx(reference, abs=1e-9)


def test_braket_verbatim_program_is_marked_in_the_result(running: RunningCentre) -> None:
    circuit = Circuit().add_verbatim_box(Circuit().h(0).cnot(0, 1))
    job = running.submit(programs=[circuit.to_ir(IRType.OPENQASM).source], shots=100)
    row = running.result(job["id"])["experiments"][0]
    assert row["verbatim"] is True
    assert set(row["counts"]) <= {"00", "11"}

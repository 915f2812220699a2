"""Primitive jobs over HTTP: PUB checks with stable codes, raw results, old jobs by id,
and ``backend.run`` with standard Qiskit results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.result import Result

from qharbor.qiskit import QHarborJob, QHarborPrimitiveJob, QHarborProvider, SamplerV2
from tests.integration.conftest import RunningCentre

RY = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] a;
qubit[2] q;
ry(a) q[0];
cx q[0], q[1];
"""
MEASURED = RY + "bit[2] meas;\nmeas = measure q;\n"


def post(running: RunningCentre, **body: Any) -> Any:
    body.setdefault("device", "statevector")
    return running.http.post("/v1/jobs", json=body)


def error_of(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def test_an_estimator_job_over_http_gives_exact_values(running: RunningCentre) -> None:
    pub = {
        "circuit": RY,
        "parameter_values": [0.0, np.pi / 2, np.pi],
        "shape": [3],
        "observables": [{"ZZ": 1.0}, {"IZ": 1.0, "XX": 0.5}],
        "observables_shape": [2, 1],
    }
    job = running.submit(kind="estimator", pubs=[pub])
    assert job["kind"] == "estimator" and job["num_experiments"] == 3
    result = running.result(job["id"])
    [out] = result["pubs"]
    assert out["shape"] == [2, 3] and out["exact"] is True
    np.testing.assert_allclose(out["evs"], [[1, 1, 1], [1, 0.5, -1]], atol=1e-12)
    assert result["metadata"]["mode"] == "exact"


def test_a_sampler_circuit_without_registers_gives_an_empty_result(
    running: RunningCentre,
) -> None:
    """Qiskit's samplers return an empty DataBin here (with a warning), not an error."""
    pub = {"circuit": RY, "parameter_values": [1.0, 2.0], "shape": [2], "shots": 5}
    job = running.submit(kind="sampler", pubs=[pub])
    [out] = running.result(job["id"])["pubs"]
    assert out["registers"] == [] and out["shape"] == [2]
    assert out["counts"] == [{"": 5}, {"": 5}]


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (
            {"kind": "estimator", "pubs": [{"circuit": RY, "parameter_values": [1]}]},
            422,
            "INVALID_REQUEST",
            "observables",
        ),
        (
            {"kind": "estimator", "pubs": [{"circuit": RY, "observables": ["ZZ"]}]},
            400,
            "PROGRAM_PARAMETERS",
            "0 parameter values",
        ),
        (
            {
                "kind": "estimator",
                "pubs": [
                    {
                        "circuit": RY,
                        "parameter_values": [1, 2, 3],
                        "shape": [3],
                        "observables": ["ZZ", "XX"],
                    }
                ],
            },
            422,
            "INVALID_REQUEST",
            "broadcast",
        ),
        (
            {
                "kind": "estimator",
                "pubs": [{"circuit": RY, "parameter_values": [1], "observables": ["ZQ"]}],
            },
            422,
            "INVALID_REQUEST",
            "Pauli",
        ),
        (
            {
                "kind": "estimator",
                "pubs": [{"circuit": RY, "parameter_values": [1], "observables": ["Z"]}],
            },
            422,
            "INVALID_REQUEST",
            "one Pauli letter per qubit",
        ),
        (
            {"kind": "sampler", "pubs": [{"circuit": "OPENQASM 3.0; qubit q; hh q;"}]},
            400,
            "PROGRAM_SYNTAX",
            "PUB 0",
        ),
        (
            {
                "kind": "estimator",
                "pubs": [
                    {
                        "circuit": MEASURED + "x q[0];\n",
                        "parameter_values": [1],
                        "observables": ["ZZ"],
                    }
                ],
            },
            400,
            "PROGRAM_UNSUPPORTED",
            "mid-circuit",
        ),
        ({"kind": "sampler", "programs": [MEASURED]}, 422, "INVALID_REQUEST", "pubs"),
        ({"kind": "sampler", "pubs": []}, 422, "INVALID_REQUEST", "at least one PUB"),
        ({"pubs": [{"circuit": MEASURED}]}, 422, "INVALID_REQUEST", "kind"),
    ],
    ids=[
        "no-observables",
        "no-values",
        "no-broadcast",
        "bad-label",
        "short-label",
        "syntax",
        "estimator-mid-circuit",
        "programs-in-sampler",
        "no-pubs",
        "pubs-without-kind",
    ],
)
def test_bad_pubs_are_refused_before_anything_is_queued(
    running: RunningCentre, body: dict[str, Any], status: int, code: str, words: str
) -> None:
    before = len(running.http.get("/v1/jobs", params={"limit": 500}).json()["jobs"])
    response = post(running, **body)
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code
    assert words in error_of(response)["message"]
    assert len(running.http.get("/v1/jobs", params={"limit": 500}).json()["jobs"]) == before


@pytest.fixture(scope="module")
def provider(running: RunningCentre) -> Iterator[QHarborProvider]:
    with QHarborProvider(running.url, running.token) as provider:
        yield provider


def test_an_old_sampler_job_is_read_back_by_id(provider: QHarborProvider) -> None:
    q = QuantumRegister(2)
    flags, data = ClassicalRegister(1, "flags"), ClassicalRegister(2, "data")
    circuit = QuantumCircuit(q, flags, data)
    circuit.x(0)
    circuit.measure(0, flags[0])
    circuit.measure([0, 1], data)
    sampler = SamplerV2(mode=provider.backend("statevector"))
    sampler.options.tags = ["read-back"]
    job_id = sampler.run([circuit], shots=30).job_id()
    again = provider.job(job_id)
    assert isinstance(again, QHarborPrimitiveJob)
    result = again.result()
    assert result[0].data.flags.get_counts() == {"1": 30}
    assert result[0].data.data.get_counts() == {"01": 30}
    assert job_id in [j.job_id() for j in provider.jobs(tag="read-back")]


def test_backend_run_returns_a_standard_qiskit_result(provider: QHarborProvider) -> None:
    backend = provider.backend("statevector")
    bell = QuantumCircuit(2, name="bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    flip = QuantumCircuit(1, 1, name="flip")
    flip.x(0)
    flip.measure(0, 0)
    job = backend.run(transpile([bell, flip], backend), shots=200, seed_simulator=3)
    assert isinstance(job, QHarborJob)
    result = job.result()
    assert isinstance(result, Result) and result.success
    assert set(result.get_counts("bell")) <= {"00", "11"}
    assert result.get_counts(1) == {"1": 200}
    again = provider.job(job.job_id())
    assert isinstance(again, QHarborJob)
    assert again.result().get_counts(1) == {"1": 200}


def test_backend_run_refuses_unbound_parameters(provider: QHarborProvider) -> None:
    circuit = QuantumCircuit(1)
    circuit.rx(Parameter("t"), 0)
    circuit.measure_all()
    with pytest.raises(ValueError, match="unbound parameters"):
        provider.backend("statevector").run(circuit)


def test_a_sampled_estimate_ignores_unused_classical_registers(running: RunningCentre) -> None:
    circuit = RY.replace("qubit[2] q;", "qubit[2] q;\nbit[3] spare;")
    job = running.submit(
        device="density-matrix",
        kind="estimator",
        pubs=[{"circuit": circuit, "parameter_values": [np.pi], "observables": [{"IZ": 1.0}]}],
        precision=0.05,
        seed=4,
    )
    [out] = running.result(job["id"])["pubs"]
    # |11>: qubit 0 reads 1 in every shot, whatever the spare register holds.
    assert out["exact"] is False and out["evs"] == [-1.0] and out["stds"] == [0.0]


def test_primitives_run_on_a_device_twin_with_its_noise(provider: QHarborProvider) -> None:
    from qiskit.quantum_info import SparsePauliOp
    from qiskit.transpiler import generate_preset_pass_manager

    from qharbor.qiskit import EstimatorV2

    backend = provider.backend("sc25")
    assert backend.target.num_qubits == 25
    assert backend.target.build_coupling_map() is not None
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
    isa = pm.run(bell)
    observables = [
        SparsePauliOp("ZZ").apply_layout(isa.layout),
        SparsePauliOp("XX").apply_layout(isa.layout),
    ]
    result = (
        EstimatorV2(mode=backend, options={"seed": 3})
        .run([(isa, observables)], precision=0.05)
        .result()[0]
    )
    assert result.metadata["exact"] is False and result.metadata["shots"] == 400
    assert np.all(result.data.stds > 0)
    # Noise pulls the Bell correlations below 1, but not far.
    assert np.all(result.data.evs > 0.6) and np.all(result.data.evs < 1.0 + 5 * result.data.stds)
    measured = bell.copy()
    measured.measure_all()
    counts = (
        SamplerV2(mode=backend)
        .run([pm.run(measured)], shots=300)
        .result()[0]
        .data.meas.get_counts()
    )
    assert sum(counts.values()) == 300
    assert counts.get("00", 0) + counts.get("11", 0) > 240

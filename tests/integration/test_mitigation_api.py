"""Error mitigation through real HTTP: a Qiskit script that sets
``estimator.options.resilience_level = 2`` runs unchanged against the ``sc25``
twin, and options that cannot be honoured are refused before anything queues.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler.preset_passmanagers import generate_preset_pass_manager

from qharbor.qiskit import EstimatorV2, QHarborProvider, SamplerV2
from qharbor.security import quotas
from tests.integration.conftest import RunningCentre
from tests.integration.test_fair_use import member_of_new_project

BELL_QASM = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; h q[0]; cx q[0], q[1];'


@pytest.fixture(scope="module")
def provider(running: RunningCentre) -> Iterator[QHarborProvider]:
    provider = QHarborProvider(running.url, running.token)
    yield provider
    provider.service.close()


def test_a_qiskit_script_at_resilience_level_2_runs_unchanged_on_sc25(
    provider: QHarborProvider,
) -> None:
    # As written for IBM's runtime: transpile for the backend, set the level, run.
    backend = provider.backend("sc25")
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(bell)
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)
    estimator = EstimatorV2(mode=backend)
    estimator.options.resilience_level = 2
    estimator.options.default_shots = 4  # few randomizations: this test checks the path
    estimator.options.seed_estimator = 3
    result = estimator.run([(isa, observable)]).result()
    pub = result[0]
    assert pub.data.evs.shape == ()
    record = pub.metadata["resilience"]
    assert record["applied"] == ["gate_twirling", "zne", "measure_twirling", "trex"]
    assert record["noise_factors"] == [1.0, 3.0, 5.0]
    assert record["randomizations"] == 4 and record["shots_per_randomization"] == 1
    assert record["calibration_snapshot_id"].startswith("sc25-v")


def _invalid(running: RunningCentre, options: dict[str, Any], kind: str = "estimator") -> Any:
    body: dict[str, Any] = {
        "device": "sc25",
        "kind": kind,
        "pubs": [
            {
                "circuit": 'OPENQASM 3.0; include "stdgates.inc"; qubit[1] q; h q[0];',
                "observables": [{"Z": 1.0}] if kind == "estimator" else None,
            }
        ],
        "options": options,
    }
    if kind != "estimator":
        body["pubs"][0].pop("observables")
    return running.http.post("/v1/jobs", json=body)


@pytest.mark.parametrize(
    ("options", "code", "says"),
    [
        ({"resilience": {"pec_mitigation": True}}, "MITIGATION_INVALID", "probabilistic"),
        (
            {"resilience_level": 2, "resilience": {"zne": {"noise_factors": [1]}}},
            "MITIGATION_INVALID",
            "at least 2 noise factors",
        ),
        ({"resilience": {"zne": {"extrapolator": "cubic"}}}, "INVALID_REQUEST", ""),
        ({"twirling": {"enable_measure": True, "colour": 1}}, "INVALID_REQUEST", ""),
        ({"dynamical_decoupling": {"enable": True, "sequence_type": "UR8"}}, "INVALID_REQUEST", ""),
    ],
)
def test_options_that_cannot_be_honoured_are_refused_with_a_stable_code(
    running: RunningCentre, options: dict[str, Any], code: str, says: str
) -> None:
    response = _invalid(running, options)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code
    assert says in error["message"]


def test_a_sampler_asking_for_trex_is_told_to_use_m3(running: RunningCentre) -> None:
    response = _invalid(running, {"resilience_level": 1}, kind="sampler")
    assert response.status_code == 422
    assert "mitigate_readout" in response.json()["error"]["message"]


def test_the_sampler_returns_m3_quasi_probabilities_through_qiskit(
    provider: QHarborProvider,
) -> None:
    backend = provider.backend("sc25")
    circuit = QuantumCircuit(2)
    circuit.x(0)
    circuit.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    sampler = SamplerV2(mode=backend, options={"measure_mitigation": True, "seed": 4})
    pub = sampler.run([isa], shots=500).result()[0]
    (quasi,) = pub.metadata["quasi_dists"]
    assert abs(sum(quasi["quasi_dist"].values()) - 1) < 1e-4
    assert quasi["stddev_upper_bound"] > 0
    assert max(quasi["quasi_dist"], key=quasi["quasi_dist"].get) == "01"


def test_the_admission_estimate_counts_the_shots_mitigation_adds(running: RunningCentre) -> None:
    project, client = member_of_new_project(running)
    quota = running.http.put(
        f"/v1/admin/projects/{project['id']}/quota",
        json={"qpu": {"budget_s": 0.5, "period": "day"}},
    )
    assert quota.status_code == 200, quota.text

    def estimate_s(level: int) -> float:
        response = client.post(
            "/v1/jobs",
            json={
                "device": "sc25",
                "kind": "estimator",
                "pubs": [{"circuit": BELL_QASM, "observables": [{"ZZ": 1.0}], "shots": 64}],
                "options": {"resilience_level": level},
            },
        )
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "QUOTA_EXCEEDED"
        return float(error["detail"]["estimate_s"])

    # Level 2: 32 randomizations of 2 shots, for 3 noise factors and TREX's calibration.
    extra_shots = 32 * 2 * (3 + 1) - 64
    per_shot_s = quotas.COST_MODELS[quotas.DeviceClass.QPU].per_shot_s
    assert estimate_s(2) - estimate_s(0) == pytest.approx(extra_shots * per_shot_s)


def test_a_pub_mitigation_makes_too_long_for_the_twin_is_refused_saying_why(
    running: RunningCentre,
) -> None:
    wide = QuantumCircuit(14)
    for layer in range(10):
        for q in range(14):
            wide.rx(0.3 + 0.1 * q, q)
        for q in range(layer % 2, 13, 2):
            wide.cx(q, q + 1)

    def submit(options: dict[str, Any]) -> Any:
        pub = {"circuit": qasm3.dumps(wide), "observables": [{"Z" * 14: 1.0}]}
        body = {"device": "sc25", "kind": "estimator", "pubs": [pub], "options": options}
        return running.http.post("/v1/jobs:dry-run", json=body)

    fits = submit({"resilience_level": 0})
    assert fits.status_code == 200, fits.text
    one_long_randomization = {"num_randomizations": 1, "shots_per_randomization": 4096}
    refused = submit({"resilience_level": 2, "twirling": one_long_randomization})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "DEVICE_LIMIT"
    assert "error mitigation makes it that long" in error["message"]
    assert "noise factor" in error["message"]


def test_a_qiskit_sampler_with_twirling_gets_every_shot_in_one_result(
    provider: QHarborProvider,
) -> None:
    backend = provider.backend("sc25")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    twirling = {
        "enable_gates": True,
        "enable_measure": True,
        "num_randomizations": 4,
        "shots_per_randomization": 25,
    }
    sampler = SamplerV2(mode=backend, options={"twirling": twirling, "seed": 2})
    pub = sampler.run([isa], shots=100).result()[0]
    assert pub.data.meas.num_shots == 100
    counts = pub.data.meas.get_counts()
    assert counts.get("00", 0) + counts.get("11", 0) > 80  # a Bell state, with some noise
    record = pub.metadata["resilience"]
    assert record["applied"] == ["gate_twirling", "measure_twirling"]
    assert record["randomizations"] == 4 and record["shots_per_randomization"] == 25


def test_a_sampler_twirling_its_measurements_under_m3_is_refused(running: RunningCentre) -> None:
    options = {"mitigate_readout": True, "twirling": {"enable_measure": True}}
    response = _invalid(running, options, kind="sampler")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "MITIGATION_INVALID"
    assert "enable_measure" in error["message"]


def test_the_dry_run_estimate_of_a_mitigated_job_is_within_20_percent_of_its_charge(
    running: RunningCentre,
) -> None:
    observables = [{"ZZ": 1.0}, {"XX": 1.0}]  # two bases
    pub = {"circuit": BELL_QASM, "observables": observables, "shots": 2048}
    overhead_s = running.http.get("/v1/devices/sc25/twin").json()["timing"]["job_overhead_s"]
    estimates = {}
    for level in (0, 2):
        options: dict[str, Any] = {"resilience_level": level}
        if level:
            options["twirling"] = {"num_randomizations": 4}
        body = {"device": "sc25", "kind": "estimator", "pubs": [pub], "seed": 3, "options": options}
        dry = running.http.post("/v1/jobs:dry-run", json=body)
        assert dry.status_code == 200, dry.text
        estimates[level] = dry.json()["estimated_qpu_s"]
        job = running.submit(**body)
        assert running.wait(job["id"])["status"] == "DONE"
        recorded = running.result(job["id"])["timings"]["qpu_s"]
        assert abs(estimates[level] - recorded) <= 0.2 * recorded, (level, estimates, recorded)
    # Level 2 runs 4x the shots (3 noise factors and TREX's calibration).
    ratio = (estimates[2] - overhead_s) / (estimates[0] - overhead_s)
    assert 3.9 < ratio < 4.5, estimates

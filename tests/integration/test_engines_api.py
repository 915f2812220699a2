"""Engine options over real HTTP: pinning, precision, the reasons in the result, the 422s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qiskit import qasm3

from qharbor.client import HarborService
from qharbor.engines import base
from tests.integration.conftest import RunningCentre
from tests.programs import BELL
from tests.unit.engines import differential
from tests.unit.engines.fakes import FakeEngine

T_GATE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nt q[0];\nmeasure q -> c;\n'


def refused(running: RunningCentre, **body) -> dict:
    body.setdefault("device", "statevector")
    body.setdefault("programs", [BELL])
    response = running.http.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    error: dict = response.json()["error"]
    return error


def test_a_job_pinned_to_aer_in_single_precision_says_so_in_its_result(
    running: RunningCentre,
) -> None:
    job = running.submit(
        programs=[BELL], shots=200, seed=5, options={"engine": "aer", "precision": "single"}
    )
    assert job["options"]["engine"] == "aer" and job["options"]["precision"] == "single"
    result = running.result(job["id"])
    meta = result["metadata"]
    assert meta["engine"] == "aer"
    assert meta["engine_reason"] == "pinned by the job"
    assert meta["precision"] == "single"
    counts = result["experiments"][0]["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 200


def test_an_automatic_job_records_the_engine_and_why(running: RunningCentre) -> None:
    job = running.submit(programs=[BELL], shots=10)
    meta = running.result(job["id"])["metadata"]
    assert meta["engine"] in base.registered()
    assert meta["engine_reason"].startswith(f"{meta['engine']}: ")
    assert meta["precision"] == "double"


def test_the_sdk_maps_engine_and_precision_into_the_options(running: RunningCentre) -> None:
    with HarborService(running.url, running.token) as service:
        job = service.run(BELL, shots=20, engine="aer", precision="single")
        found = job.result(timeout=60)
    assert found.metadata["engine"] == "aer"
    assert found.metadata["precision"] == "single"


def test_an_unknown_engine_is_refused(running: RunningCentre) -> None:
    error = refused(running, options={"engine": "quokka"})
    assert error["code"] == "ENGINE_NOT_FOUND"
    assert "aer" in error["detail"]["available"]


def test_an_unknown_precision_is_refused(running: RunningCentre) -> None:
    error = refused(running, options={"precision": "half"})
    assert error["code"] == "PRECISION_INVALID"
    assert "'double'" in error["message"]


@pytest.fixture
def extra_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Clifford-only ``stim`` (a fake where it is not installed), and an engine no device uses."""
    base.registered()
    engines = [FakeEngine("elsewhere")]
    if "stim" not in base._FACTORIES:
        engines.append(FakeEngine("stim", ("double", "single"), clifford_only=True))
    for engine in engines:
        monkeypatch.setitem(base._FACTORIES, engine.name, lambda engine=engine: engine)
        monkeypatch.setitem(base._INSTANCES, engine.name, engine)
    yield


def test_an_engine_the_device_does_not_run_on_is_refused(
    running: RunningCentre, extra_engines: None
) -> None:
    error = refused(running, device="density-matrix", options={"engine": "stim"})
    assert error["code"] == "ENGINE_NOT_ON_DEVICE"
    assert error["detail"]["engines"] == ["aer"]
    assert refused(running, options={"engine": "elsewhere"})["code"] == "ENGINE_NOT_ON_DEVICE"


def test_a_pinned_engine_that_cannot_run_a_program_is_refused_at_submission(
    running: RunningCentre, extra_engines: None
) -> None:
    error = refused(running, programs=[BELL, T_GATE], options={"engine": "stim"})
    assert error["code"] == "ENGINE_CANNOT_RUN"
    assert error["detail"]["program"] == 1
    assert "use engine 'auto'" in error["message"].lower()


def test_engines_are_listed_with_their_precisions_and_costs(running: RunningCentre) -> None:
    response = running.http.get("/v1/engines")
    assert response.status_code == 200
    data = response.json()
    aer = next(e for e in data["engines"] if e["name"] == "aer")
    assert aer["available"] is True
    assert aer["precisions"] == ["double", "single"]
    model = aer["models"]["aer:dense:double"]
    assert set(model["coefficients"]) == set(data["terms"])
    assert model["source"] in ("host", "default")
    assert isinstance(data["calibrated"], bool) and data["fingerprint"]


def test_devices_list_the_engines_they_may_run_on(running: RunningCentre) -> None:
    devices = {d["name"]: d for d in running.http.get("/v1/devices").json()["devices"]}
    assert devices["statevector"]["engines"][0] == "aer"
    assert "stim" in devices["stabilizer"]["engines"]
    assert devices["density-matrix"]["engines"] == ["aer"]


def test_workers_use_the_cost_fits_the_centre_is_configured_with(tmp_path) -> None:
    from qharbor.engines import costs
    from tests.integration.conftest import start_centre
    from tests.unit.engines.fakes import model

    path = tmp_path / "fits.json"
    models = {"aer:dense:double": model(call=0.00123)}
    for other in set(base.registered()) - {"aer"}:
        for form in ("dense", "tableau"):
            models[f"{other}:{form}:double"] = model(call=10.0)
            models[f"{other}:{form}:single"] = model(call=10.0)
    costs.save_fit(costs.HostFit(costs.current_fingerprint(), {}, models), path)
    server, _schema = start_centre("sqlite", tmp_path, engine_costs_path=path, workers=1)
    running = RunningCentre(server)
    try:
        job = running.submit(programs=[BELL], shots=10)
        meta = running.result(job["id"])["metadata"]
        assert meta["engine"] == "aer"
        assert meta["engine_reason"].startswith("aer: predicted 1.23 ms")
        engines = running.http.get("/v1/engines").json()
        assert engines["calibrated"] is True
        aer = next(e for e in engines["engines"] if e["name"] == "aer")
        assert aer["models"]["aer:dense:double"]["source"] == "host"
    finally:
        running.close()
        server.stop()


#: cu with a controlled global phase γ ≠ 0, on four qubits: γ becomes a relative phase.
CU_GAMMA = """OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
bit[4] c;
h q;
cu(0.7, 0.3, -1.1, 0.9) q[2], q[0];
cu(1.9, -0.4, 0.2, -2.3) q[1], q[3];
h q;
c = measure q;
"""


#: OriginIR's CU(α, β, γ, δ) is Qiskit's cu with the phase α - (β + δ)/2.
CU_ORIGINIR = """QINIT 3
CREG 3
H q[0]
H q[1]
H q[2]
CU q[0],q[2],(2.0,0.7,1.1,-0.4)
H q[0]
H q[2]
MEASURE q[0],c[0]
MEASURE q[1],c[1]
MEASURE q[2],c[2]
"""
REFERENCE_CU_ORIGINIR = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
bit[3] c;
h q;
cu(1.1, 0.7, -0.4, 1.85) q[0], q[2];
h q[0];
h q[2];
c = measure q;
"""


@pytest.mark.parametrize(
    ("engine", "precision"), [("aer", "double"), ("qulacs", "double"), ("qsim", "single")]
)
@pytest.mark.parametrize(
    ("program", "reference"),
    [
        pytest.param({"source": CU_GAMMA}, CU_GAMMA, id="openqasm3"),
        pytest.param(
            {"source": CU_ORIGINIR, "format": "originir"}, REFERENCE_CU_ORIGINIR, id="originir"
        ),
    ],
)
def test_cu_with_a_phase_gives_qiskits_distribution_on_every_engine(
    running: RunningCentre, engine: str, precision: str, program: dict, reference: str
) -> None:
    shots = 4000
    job = running.submit(
        programs=[program],
        shots=shots,
        seed=17,
        options={"engine": engine, "precision": precision},
    )
    result = running.result(job["id"])
    assert result["metadata"]["engine"] == engine
    expected = differential.exact_distribution(qasm3.loads(reference))
    counts = result["experiments"][0]["counts"]
    assert differential.counts_mismatch(counts, expected, shots) is None, counts


#: A circuit as transpiled for a 25-qubit device: 2 active qubits (7 and 19), a
#: barrier over all, measured into three clbits of which one is never written.
WIDE = """OPENQASM 3.0;
include "stdgates.inc";
qubit[25] q;
bit[3] c;
ry(1.1) q[19];
cu(0.7, 0.3, -1.1, 0.9) q[19], q[7];
barrier q;
c[0] = measure q[19];
c[2] = measure q[7];
"""
PAIR = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[3] c;
ry(1.1) q[1];
cu(0.7, 0.3, -1.1, 0.9) q[1], q[0];
c[0] = measure q[1];
c[2] = measure q[0];
"""


@pytest.mark.parametrize(
    ("engine", "precision"),
    [("auto", "double"), ("aer", "double"), ("qulacs", "double"), ("qsim", "single")],
)
def test_a_wide_circuit_simulates_only_its_active_qubits_with_the_same_bit_layout(
    running: RunningCentre, engine: str, precision: str
) -> None:
    shots = 4000
    job = running.submit(
        programs=[WIDE], shots=shots, seed=3, options={"engine": engine, "precision": precision}
    )
    result = running.result(job["id"])
    experiment = result["experiments"][0]
    assert experiment["num_qubits"] == 25
    assert experiment["simulated_qubits"] == 2
    assert experiment["num_clbits"] == 3
    assert experiment["depth"] == 3  # ry, cu, measure: the circuit as submitted
    counts = experiment["counts"]
    assert all(len(key) == 3 for key in counts)
    expected = differential.exact_distribution(qasm3.loads(PAIR))
    assert differential.counts_mismatch(counts, expected, shots) is None, counts

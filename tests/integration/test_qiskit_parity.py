"""The primitives behave like Qiskit's reference primitives in the corner cases.

Each test runs the same PUB through ``qharbor.qiskit`` against a real centre and
through Qiskit's ``StatevectorSampler``/``StatevectorEstimator`` (or
``BackendEstimatorV2`` on Aer, for a sampled device) and compares results,
errors and warnings. Exact values of circuits with reset are compared with
``qiskit.quantum_info.DensityMatrix``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit
from qiskit.circuit.library import real_amplitudes
from qiskit.primitives import BackendEstimatorV2, StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import DensityMatrix, SparsePauliOp
from qiskit_aer import AerSimulator

from qharbor.qiskit import Batch, EstimatorV2, QHarborProvider, SamplerV2, Session
from tests.integration.conftest import RunningCentre

SHOTS = 400


@pytest.fixture(scope="module")
def provider(running: RunningCentre) -> Iterator[QHarborProvider]:
    provider = QHarborProvider(running.url, running.token)
    yield provider
    provider.service.close()


def _composite() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.append(real_amplitudes(2, reps=1), [0, 1])
    return qc


def _aliased() -> QuantumCircuit:
    """Registers ``a`` (bits 0, 1) and ``b`` (bits 1, 2) share bit 1."""
    bits = [Clbit() for _ in range(3)]
    qc = QuantumCircuit(QuantumRegister(3, "q"), bits)
    qc.add_register(ClassicalRegister(bits=bits[:2], name="a"))
    qc.add_register(ClassicalRegister(bits=bits[1:], name="b"))
    qc.x([1, 2])
    qc.measure([0, 1, 2], bits)
    return qc


def _with_idle_registers() -> QuantumCircuit:
    """A Bell pair measured into ``c``; ``unused`` is never written; ``empty`` has no bits."""
    q = QuantumRegister(2, "q")
    qc = QuantumCircuit(
        q, ClassicalRegister(2, "c"), ClassicalRegister(3, "unused"), ClassicalRegister(0, "empty")
    )
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(q, qc.cregs[0])
    return qc


def test_a_composite_instruction_runs_and_matches_the_reference(
    provider: QHarborProvider,
) -> None:
    circuit = _composite()
    values = np.linspace(0.1, 1.2, circuit.num_parameters)
    observable = SparsePauliOp(["ZZ", "XI", "IY"], [1.0, 0.5, -0.3])
    ours = EstimatorV2(provider.backend("statevector")).run([(circuit, observable, values)])
    theirs = StatevectorEstimator().run([(circuit, observable, values)])
    np.testing.assert_allclose(ours.result()[0].data.evs, theirs.result()[0].data.evs, atol=1e-9)

    measured = circuit.measure_all(inplace=False)
    sampled = SamplerV2(provider.backend("statevector"), options={"default_shots": 4000})
    counts = sampled.run([(measured, values)]).result()[0].data.meas.get_counts()
    probs = StatevectorSampler().run([(measured, values)], shots=1).result()
    assert probs[0].data.meas.num_bits == 2
    exact = DensityMatrix(
        measured.remove_final_measurements(inplace=False).assign_parameters(values)
    ).probabilities_dict()
    for key, p in exact.items():
        assert abs(counts.get(key, 0) / 4000 - p) < 5 * np.sqrt(p * (1 - p) / 4000) + 1e-9


def test_registers_that_share_bits_read_as_in_qiskit(provider: QHarborProvider) -> None:
    circuit = _aliased()
    ours = SamplerV2(provider.backend("statevector")).run([circuit], shots=SHOTS).result()[0]
    theirs = StatevectorSampler().run([circuit], shots=SHOTS).result()[0]
    for name in ("a", "b"):
        assert getattr(ours.data, name).get_counts() == getattr(theirs.data, name).get_counts()
    assert ours.data.a.get_counts() == {"10": SHOTS} and ours.data.b.get_counts() == {"11": SHOTS}


@pytest.mark.parametrize("device", ["statevector", "sc25"])
def test_unwritten_and_empty_registers_read_as_in_qiskit(
    provider: QHarborProvider, device: str
) -> None:
    circuit = _with_idle_registers()
    ours = SamplerV2(provider.backend(device)).run([circuit], shots=SHOTS).result()[0].data
    theirs = StatevectorSampler(seed=1).run([circuit], shots=SHOTS).result()[0].data
    assert list(ours) == list(theirs) == ["c", "unused", "empty"]
    assert ours.unused.get_counts() == theirs.unused.get_counts() == {"000": SHOTS}
    assert ours.empty.num_bits == theirs.empty.num_bits == 0
    assert ours.empty.array.shape == theirs.empty.array.shape == (SHOTS, 0)
    assert set(ours.c.get_counts()) <= {"00", "01", "10", "11"}
    assert sum(ours.c.get_counts().values()) == SHOTS


def test_a_register_nothing_measures_into_is_all_zeros(provider: QHarborProvider) -> None:
    circuit = QuantumCircuit(QuantumRegister(2), ClassicalRegister(2, "c"))
    circuit.h(0)
    for device in ("statevector", "sc25"):
        ours = SamplerV2(provider.backend(device)).run([circuit], shots=SHOTS).result()[0]
        theirs = StatevectorSampler().run([circuit], shots=SHOTS).result()[0]
        assert ours.data.c.get_counts() == theirs.data.c.get_counts() == {"00": SHOTS}


def test_a_circuit_without_registers_warns_and_gives_an_empty_databin(
    provider: QHarborProvider,
) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = StatevectorSampler().run([circuit], shots=SHOTS).result()[0]
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = SamplerV2(provider.backend("statevector")).run([circuit], shots=SHOTS).result()[0]
    assert [w.category for w in ours_warned] == [w.category for w in theirs_warned]
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    assert len(ours.data) == len(theirs.data) == 0
    assert ours.metadata["shots"] == theirs.metadata["shots"] == SHOTS


def test_zero_shots_raise_as_in_qiskit(provider: QHarborProvider) -> None:
    circuit = _with_idle_registers()
    backend = provider.backend("statevector")
    with pytest.raises(ValueError) as theirs:
        StatevectorSampler().run([circuit], shots=0)
    with pytest.raises(ValueError) as ours:
        SamplerV2(backend).run([circuit], shots=0)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="shots"):
        SamplerV2(backend).run([(circuit, None, 0)])
    with pytest.raises(ValueError, match="shots"):
        backend.run(circuit, shots=0)
    with pytest.raises(ValueError, match="default_shots"):
        SamplerV2(backend, options={"default_shots": 0})


def test_precision_zero_on_a_sampled_device_raises_as_backend_estimator_does(
    provider: QHarborProvider, running: RunningCentre
) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    with pytest.raises(ValueError, match="precision"):
        BackendEstimatorV2(backend=AerSimulator()).run([(circuit, "ZI")], precision=0)
    with pytest.raises(ValueError, match="precision must be larger than 0"):
        EstimatorV2(provider.backend("density-matrix")).run([(circuit, "ZI")], precision=0)
    # The centre refuses it too, for clients that do not check.
    qasm = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; h q[0];'
    body = {"device": "density-matrix", "kind": "estimator", "precision": 0}
    body["pubs"] = [{"circuit": qasm, "observables": [{"ZI": 1.0}]}]
    response = running.http.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert "precision must be larger than 0" in response.json()["error"]["message"]


def test_target_precision_is_reported_as_qiskit_reports_it(provider: QHarborProvider) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    exact = EstimatorV2(provider.backend("statevector")).run([(circuit, "ZI")]).result()[0]
    reference = StatevectorEstimator().run([(circuit, "ZI")]).result()[0]
    assert exact.metadata["target_precision"] == reference.metadata["target_precision"] == 0
    sampled = EstimatorV2(provider.backend("density-matrix"), options={"seed_estimator": 3})
    ours = sampled.run([(circuit, "ZI")]).result()[0]
    aer = BackendEstimatorV2(backend=AerSimulator()).run([(circuit, "ZI")]).result()[0]
    assert ours.metadata["target_precision"] == aer.metadata["target_precision"]
    assert ours.metadata["shots"] == aer.metadata["shots"] == 4096


def test_exact_values_after_a_reset_are_the_mixture(provider: QHarborProvider) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.reset(0)
    observables = [SparsePauliOp("ZI"), SparsePauliOp("IZ"), SparsePauliOp("ZZ")]
    estimator = EstimatorV2(provider.backend("statevector"))
    for seed in (1, 2, 3):
        estimator.options.seed = seed
        result = estimator.run([(circuit, observables)]).result()[0]
        state = DensityMatrix(circuit)
        expected = [float(np.real(state.expectation_value(o))) for o in observables]
        np.testing.assert_allclose(result.data.evs, expected, atol=1e-12)
        assert result.metadata["exact"] is True
    assert abs(result.data.evs[0]) < 1e-12  # ⟨ZI⟩ of the mixture, not a ±1 trajectory


def test_options_are_set_as_in_qiskit_ibm_runtime(provider: QHarborProvider) -> None:
    backend = provider.backend("statevector")
    circuit = _with_idle_registers()
    sampler = SamplerV2(mode=backend)
    sampler.options.default_shots = 300
    sampler.options.simulator.seed_simulator = 11
    sampler.options.environment.job_tags = ["ibm-style"]
    sampler.options.dynamical_decoupling.enable = True  # no noise to decouple from
    sampler.options.twirling.enable_gates = True
    called: list[str] = []
    sampler.options.environment.callback = lambda job_id, _result: called.append(job_id)
    first = sampler.run([circuit]).result()
    assert called == [first.metadata["job_id"]]
    again = SamplerV2(
        backend,
        options={"default_shots": 300, "simulator": {"seed_simulator": 11}},
    ).run([circuit])
    assert first[0].data.c.get_counts() == again.result()[0].data.c.get_counts()
    assert first[0].metadata["shots"] == 300
    assert any(j.job_id() == first.metadata["job_id"] for j in provider.jobs(tag="ibm-style"))

    sampler.options.update(default_shots=200, execution={"rep_delay": 0.0001})
    assert sampler.options.default_shots == 200 and sampler.options.execution.rep_delay == 1e-4
    with pytest.raises(AttributeError, match="no option 'shots'"):
        sampler.options.shots = 5
    with pytest.raises(AttributeError, match="no option 'seed_sim'"):
        sampler.options.simulator.seed_sim = 5
    with pytest.raises(ValueError, match="meas_type"):
        sampler.options.execution.meas_type = "raw"

    sampled = EstimatorV2(provider.backend("density-matrix"), options={"default_shots": 1000})
    sampled.options.default_precision = 0.5  # default_shots overrides it, as in the runtime
    plus = QuantumCircuit(1)
    plus.h(0)
    estimate = sampled.run([(plus, "X")]).result()[0]
    assert estimate.metadata["shots"] == 1000
    assert estimate.metadata["target_precision"] == pytest.approx(1000**-0.5)
    assert estimate.data.evs == pytest.approx(1.0)

    estimator = EstimatorV2(backend, options={"resilience_level": 1, "default_precision": 0})
    estimator.options.resilience.measure_mitigation = True
    value = estimator.run([(circuit.remove_final_measurements(inplace=False), "ZZ")]).result()
    assert value[0].data.evs == pytest.approx(1.0)


def test_options_a_device_cannot_honour_are_refused(provider: QHarborProvider) -> None:
    circuit = QuantumCircuit(1)
    circuit.h(0)
    # Mitigation on a noiseless device changes nothing and is accepted, as Qiskit's
    # local mode accepts it; what no device of the centre can do is refused.
    estimator = EstimatorV2(provider.backend("density-matrix"))
    estimator.options.resilience_level = 1
    [estimate] = estimator.run([(circuit, "Z")]).result()
    assert estimate.metadata["resilience"]["applied"] == []
    assert "nothing to mitigate" in estimate.metadata["resilience"]["reason"]
    assert abs(float(estimate.data.evs)) < 5 * float(estimate.data.stds) + 1e-9
    estimator.options.resilience.pec_mitigation = True
    with pytest.raises(ValueError, match="pec_mitigation"):
        estimator.run([(circuit, "Z")])
    sampler = SamplerV2(provider.backend("statevector"))
    sampler.options.simulator.noise_model = object()
    with pytest.raises(ValueError, match=r"simulator\.noise_model"):
        sampler.run([circuit.measure_all(inplace=False)])
    sampler = SamplerV2(provider.backend("statevector"))
    sampler.options.execution.init_qubits = False
    with pytest.raises(ValueError, match="init_qubits"):
        sampler.run([circuit.measure_all(inplace=False)])
    sampler = SamplerV2(provider.backend("statevector"), options={"experimental": {"x": 1}})
    with pytest.raises(ValueError, match="experimental"):
        sampler.run([circuit.measure_all(inplace=False)])


def test_mode_is_a_backend_session_or_batch_positionally_too(
    provider: QHarborProvider,
) -> None:
    backend = provider.backend("statevector")
    circuit = QuantumCircuit(1)
    circuit.x(0)
    circuit.measure_all()
    with Session(backend) as session:
        assert SamplerV2(session).mode is session
        result = SamplerV2(session).run([circuit], shots=10).result()
    assert result[0].data.meas.get_counts() == {"1": 10}
    with Batch(backend=backend) as batch:
        job = EstimatorV2(mode=batch).run([(circuit.remove_final_measurements(False), "Z")])
    assert job.result()[0].data.evs == pytest.approx(-1.0)
    with pytest.raises(TypeError, match="mode"):
        SamplerV2("statevector")

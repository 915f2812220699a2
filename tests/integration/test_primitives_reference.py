"""The primitives agree with Qiskit's reference implementations on ``statevector``.

Every PUB below runs through ``qharbor.qiskit`` against a real centre and
through ``StatevectorSampler`` / ``StatevectorEstimator`` locally. Exact
expectation values must match to rounding; sampled distributions must agree
within five standard deviations of the difference of two samples, per outcome.
``StatevectorSampler`` refuses mid-circuit measurements, so the PUBs that have
them are compared with Qiskit Aer's reference ``SamplerV2`` instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.library import efficient_su2
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.primitives.containers import BitArray
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer.primitives import SamplerV2 as AerSampler

from qharbor.qiskit import EstimatorV2, QHarborProvider, SamplerV2
from tests.integration.conftest import RunningCentre

SHOTS = 2000
SEED = 1234


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    return qc


def rotations() -> QuantumCircuit:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.rx(b, 1)
    qc.cx(0, 1)
    qc.rz(a + 2 * b, 1)
    return qc


def wide_vector() -> QuantumCircuit:
    """Eleven parameters, so θ[10] must not sort before θ[2]."""
    theta = ParameterVector("θ", 11)
    qc = QuantumCircuit(3)
    for i, p in enumerate(theta):
        getattr(qc, ("rx", "ry", "rz")[i % 3])(p * (i + 1) / 5, i % 3)
        if i % 4 == 3:
            qc.cx(i % 3, (i + 1) % 3)
    return qc


def measured(qc: QuantumCircuit) -> QuantumCircuit:
    out = qc.copy()
    out.measure_all()
    return out


def mid_circuit_feedforward() -> QuantumCircuit:
    """A measurement steering a later gate, into two registers."""
    q = QuantumRegister(2, "q")
    first, second = ClassicalRegister(1, "first"), ClassicalRegister(2, "second")
    qc = QuantumCircuit(q, first, second)
    qc.h(0)
    qc.measure(0, first[0])
    with qc.if_test((first[0], 1)):
        qc.x(1)
    qc.ry(0.6, 0)
    qc.measure([0, 1], second)
    return qc


def mid_circuit_reset() -> QuantumCircuit:
    theta = Parameter("t")
    qc = QuantumCircuit(2, 3)
    qc.rx(theta, 0)
    qc.cx(0, 1)
    qc.measure(0, 0)
    qc.reset(0)
    qc.h(0)
    qc.measure(0, 1)
    qc.measure(1, 2)
    return qc


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    return measured(qc)


def h2() -> SparsePauliOp:
    from examples.vqe_h2 import hamiltonian

    return hamiltonian()


MID_CIRCUIT = {"feedforward", "reset-params"}


def sampler_pubs() -> list[tuple[str, Any]]:
    rng = np.random.default_rng(3)
    vector = measured(wide_vector())
    return [
        ("bell", (measured(bell()),)),
        ("ghz-5", (ghz(5),)),
        ("params-1d", (measured(rotations()), rng.uniform(0, np.pi, (4, 2)))),
        ("params-2d", (measured(rotations()), rng.uniform(0, np.pi, (2, 3, 2)))),
        ("pub-shots", (measured(rotations()), [0.3, 1.2], 700)),
        ("vector-11", (vector, rng.uniform(-1, 1, (3, 11)))),
        ("feedforward", (mid_circuit_feedforward(),)),
        ("reset-params", (mid_circuit_reset(), [[0.4], [2.0]])),
        ("su2", (measured(efficient_su2(3, reps=1)), rng.uniform(-2, 2, (2, 12)))),
        ("never-flipped", (QuantumCircuit(3, 3).compose(ghz(2), [0, 1], [0, 1]),)),
    ]


def estimator_pubs() -> list[tuple[str, Any]]:
    rng = np.random.default_rng(5)
    zz_xx = SparsePauliOp(["ZZ", "XX"], [1.0, 0.5])
    return [
        ("bell-one", (bell(), "ZZ")),
        ("bell-list", (bell(), [zz_xx, SparsePauliOp("IZ"), "YY"])),
        ("broadcast-5x3", (rotations(), [[zz_xx, "ZI", "XY"]], rng.uniform(0, 3, (5, 1, 2)))),
        ("params-2x3", (rotations(), zz_xx, rng.uniform(0, 3, (2, 3, 2)))),
        ("obs-2x1-params-3", (rotations(), [["ZZ"], ["XI"]], rng.uniform(0, 3, (3, 2)))),
        ("identity-term", (rotations(), SparsePauliOp(["II", "ZX"], [2.5, -1.5]), [1.0, 0.2])),
        ("vector-11", (wide_vector(), ["ZII", "IXI", "YYZ"], rng.uniform(-1, 1, (2, 1, 11)))),
        ("h2", (QuantumCircuit(4).compose(efficient_su2(4, reps=1)), h2(), rng.uniform(-1, 1, 16))),
        ("final-measure", (measured(bell()), ["ZZ", "XX"])),
        ("five-qubits", (ghz(5).remove_final_measurements(inplace=False), ["XXXXX", "ZZIII"])),
        ("precision", (rotations(), zz_xx, [[0.4, 0.9], [1.1, 0.3]], 0.01)),
    ]


@pytest.fixture(scope="module")
def provider(running: RunningCentre) -> Iterator[QHarborProvider]:
    provider = QHarborProvider(running.url, running.token)
    yield provider
    provider.service.close()


@pytest.fixture(scope="module")
def sampled(provider: QHarborProvider) -> tuple[Any, Any]:
    sampler = SamplerV2(mode=provider.backend("statevector"))
    sampler.options.seed = SEED
    pubs = [pub for _name, pub in sampler_pubs()]
    ours = sampler.run(pubs, shots=SHOTS).result()
    reference = [
        (AerSampler(seed=SEED) if name in MID_CIRCUIT else StatevectorSampler(seed=SEED))
        .run([pub], shots=SHOTS)
        .result()[0]
        for name, pub in sampler_pubs()
    ]
    return ours, reference


@pytest.fixture(scope="module")
def estimated(provider: QHarborProvider) -> tuple[Any, Any]:
    estimator = EstimatorV2(mode=provider.backend("statevector"), options={"seed": SEED})
    pubs = [pub for _name, pub in estimator_pubs()]
    ours = estimator.run(pubs).result()
    # The centre drops final measurements; the reference refuses them.
    plain = [(pub[0].remove_final_measurements(inplace=False), *pub[1:]) for pub in pubs]
    reference = StatevectorEstimator(seed=SEED).run(plain).result()
    return ours, reference


def assert_same_distribution(ours: dict[str, int], theirs: dict[str, int]) -> None:
    n1, n2 = sum(ours.values()), sum(theirs.values())
    for outcome in set(ours) | set(theirs):
        c1, c2 = ours.get(outcome, 0), theirs.get(outcome, 0)
        pooled = (c1 + c2) / (n1 + n2)
        sigma = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        gap = abs(c1 / n1 - c2 / n2)
        assert gap <= 5 * sigma + 1e-12, f"{outcome}: {c1}/{n1} against {c2}/{n2}"


SAMPLER_NAMES = [name for name, _ in sampler_pubs()]
ESTIMATOR_NAMES = [name for name, _ in estimator_pubs()]


def test_the_suite_covers_at_least_twenty_pubs() -> None:
    assert len(SAMPLER_NAMES) + len(ESTIMATOR_NAMES) >= 20


@pytest.mark.parametrize("index", range(len(SAMPLER_NAMES)), ids=SAMPLER_NAMES)
def test_sampler_matches_statevector_sampler(sampled: tuple[Any, Any], index: int) -> None:
    ours, reference = sampled[0][index], sampled[1][index]
    names = sorted(reference.data.keys())
    assert sorted(ours.data.keys()) == names
    assert ours.data.shape == reference.data.shape
    for name in names:
        mine, theirs = ours.data[name], reference.data[name]
        assert (mine.num_bits, mine.num_shots, mine.shape) == (
            theirs.num_bits,
            theirs.num_shots,
            theirs.shape,
        )
    # The registers of one shot stay together: compare the joined bits.
    mine = BitArray.concatenate_bits([ours.data[n] for n in names])
    theirs = BitArray.concatenate_bits([reference.data[n] for n in names])
    for position in np.ndindex(*reference.data.shape):
        assert_same_distribution(mine.get_counts(position), theirs.get_counts(position))


@pytest.mark.parametrize("index", range(len(ESTIMATOR_NAMES)), ids=ESTIMATOR_NAMES)
def test_estimator_matches_statevector_estimator(estimated: tuple[Any, Any], index: int) -> None:
    ours, reference = estimated[0][index], estimated[1][index]
    assert ours.data.evs.shape == reference.data.evs.shape
    precision = estimator_pubs()[index][1][3] if len(estimator_pubs()[index][1]) > 3 else 0
    if precision:
        # Both add noise of this standard deviation around the exact value.
        exact = StatevectorEstimator().run([estimator_pubs()[index][1][:3]]).result()[0]
        assert np.all(np.abs(ours.data.evs - exact.data.evs) <= 5 * precision)
        assert np.all(ours.data.stds == precision)
    else:
        np.testing.assert_allclose(ours.data.evs, reference.data.evs, atol=1e-9)
        assert np.all(ours.data.stds == 0)


def test_estimator_on_a_transpiled_circuit_with_its_layout(provider: QHarborProvider) -> None:
    backend = provider.backend("statevector")
    circuit = rotations()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=2).run(circuit)
    observable = SparsePauliOp(["ZZ", "XI"], [0.7, 0.3]).apply_layout(isa.layout)
    values = [[0.3, 0.8], [1.9, 0.1]]
    ours = EstimatorV2(mode=backend).run([(isa, observable, values)]).result()[0]
    reference = StatevectorEstimator().run([(circuit, observable, values)]).result()[0]
    np.testing.assert_allclose(ours.data.evs, reference.data.evs, atol=1e-9)


def test_sampled_estimates_on_a_noisy_capable_device_are_within_their_errors(
    provider: QHarborProvider,
) -> None:
    """``density-matrix`` estimates from shots, grouping terms into bases."""
    estimator = EstimatorV2(mode=provider.backend("density-matrix"), options={"seed": SEED})
    circuit = QuantumCircuit(4).compose(efficient_su2(4, reps=1))
    values = np.random.default_rng(9).uniform(-1, 1, (3, 16))
    result = estimator.run([(circuit, h2(), values)], precision=0.01).result()[0]
    exact = StatevectorEstimator().run([(circuit, h2(), values)]).result()[0]
    assert result.metadata["shots"] == 10_000
    assert result.metadata["exact"] is False
    assert np.all(result.data.stds > 0) and np.all(result.data.stds < 0.02)
    assert np.all(np.abs(result.data.evs - exact.data.evs) <= 5 * result.data.stds)

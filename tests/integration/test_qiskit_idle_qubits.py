"""Circuits laid out on a wide device run in the time of their active qubits
through ``SamplerV2``, ``EstimatorV2`` and ``backend.run`` too.

A 2-qubit circuit transpiled for the 25-qubit ``sc25`` twin is 25 qubits wide.
On the noiseless ``statevector`` device the centre simulates its 2 active
qubits only; the registers, and observables given on all 25 qubits, read as
Qiskit's reference primitives read them on the full circuit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm3, transpile
from qiskit.circuit import Parameter
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator

from qharbor.qiskit import EstimatorV2, QHarborProvider, SamplerV2
from tests.integration.conftest import RunningCentre

SHOTS = 2000
VALUES = [[0.3], [1.1], [2.5]]


@pytest.fixture(scope="module")
def provider(running: RunningCentre) -> Iterator[QHarborProvider]:
    provider = QHarborProvider(running.url, running.token)
    yield provider
    provider.service.close()


@pytest.fixture(scope="module")
def logical() -> QuantumCircuit:
    """The 2-qubit circuit as written, with one parameter."""
    circuit = QuantumCircuit(2)
    circuit.ry(Parameter("θ"), 0)
    circuit.cx(0, 1)
    circuit.rx(0.7, 1)
    return circuit


def _measured_logical(logical: QuantumCircuit) -> QuantumCircuit:
    """``logical`` measured into ``c``, with a register ``flag`` nothing writes."""
    measured = QuantumCircuit(
        QuantumRegister(2, "q"), ClassicalRegister(2, "c"), ClassicalRegister(1, "flag")
    )
    measured.compose(logical, inplace=True)
    measured.measure([0, 1], [0, 1])
    return measured


@pytest.fixture(scope="module")
def wide(
    provider: QHarborProvider, logical: QuantumCircuit
) -> tuple[QuantumCircuit, QuantumCircuit]:
    """An unmeasured and a measured ``logical``, transpiled for the 25-qubit ``sc25``."""
    sc25 = provider.backend("sc25")
    unmeasured = transpile(logical, backend=sc25, seed_transpiler=11)
    measured = transpile(_measured_logical(logical), backend=sc25, seed_transpiler=11)
    assert unmeasured.num_qubits == measured.num_qubits == 25
    return unmeasured, measured


LOGICAL = SparsePauliOp(["ZZ", "XI", "IY", "XX"], [1.0, 0.5, -0.25, 0.8])


def _observables(circuit: QuantumCircuit) -> SparsePauliOp:
    """Observables on the full 25-qubit layout, with letters on idle qubits too."""
    physical = circuit.layout.final_index_layout()
    idle = next(q for q in range(circuit.num_qubits) if q not in physical)

    def at(letters: dict[int, str]) -> str:
        label = ["I"] * circuit.num_qubits
        for qubit, letter in letters.items():
            label[circuit.num_qubits - 1 - qubit] = letter
        return "".join(label)

    # Z on an idle qubit reads +1; X or Y there reads 0.
    idle_terms = SparsePauliOp(
        [at({idle: "Z", physical[0]: "Z"}), at({idle: "X", physical[1]: "Z"}), at({idle: "Y"})],
        [0.7, 3.0, 2.0],
    )
    return LOGICAL.apply_layout(circuit.layout) + idle_terms


#: StatevectorEstimator's values on the full 25-qubit circuit (2^25 amplitudes,
#: some seconds), keyed by the circuit's text: computed once for both centres.
_FULL: dict[str, np.ndarray] = {}


def _full_reference(circuit: QuantumCircuit, observables: SparsePauliOp) -> np.ndarray:
    key = qasm3.dumps(circuit) + str(observables)
    if key not in _FULL:
        result = StatevectorEstimator().run([(circuit, observables, VALUES[0])]).result()
        _FULL[key] = np.asarray(result[0].data.evs)
    return _FULL[key]


def test_estimator_values_on_a_wide_circuit_equal_the_full_reference(
    provider: QHarborProvider, wide: tuple[QuantumCircuit, QuantumCircuit]
) -> None:
    circuit, _measured = wide
    observables = _observables(circuit)
    estimator = EstimatorV2(provider.backend("statevector"))
    result = estimator.run([(circuit, observables, VALUES[0])]).result()[0]
    np.testing.assert_allclose(
        result.data.evs, _full_reference(circuit, observables), rtol=0, atol=1e-12
    )
    # Qiskit's own key keeps Qiskit's value; qharbor's says what was simulated.
    assert result.metadata["target_precision"] == 0
    assert result.metadata["simulated_qubits"] == 2


def test_estimator_bindings_on_a_wide_circuit_equal_the_logical_reference(
    provider: QHarborProvider,
    wide: tuple[QuantumCircuit, QuantumCircuit],
    logical: QuantumCircuit,
) -> None:
    circuit, _measured = wide
    on_layout = LOGICAL.apply_layout(circuit.layout)
    estimator = EstimatorV2(provider.backend("statevector"))
    ours = estimator.run([(circuit, on_layout, VALUES)]).result()[0]
    theirs = StatevectorEstimator().run([(logical, LOGICAL, VALUES)]).result()[0]
    np.testing.assert_allclose(ours.data.evs, theirs.data.evs, rtol=0, atol=1e-12)
    assert ours.data.evs.shape == theirs.data.evs.shape == (3,)
    assert ours.metadata["simulated_qubits"] == 2


def test_sampler_registers_of_a_wide_circuit_read_as_the_reference(
    provider: QHarborProvider,
    wide: tuple[QuantumCircuit, QuantumCircuit],
    logical: QuantumCircuit,
) -> None:
    _circuit, measured = wide
    sampler = SamplerV2(provider.backend("statevector"))
    ours = sampler.run([(measured, VALUES)], shots=SHOTS).result()[0]
    reference = _measured_logical(logical)
    theirs = StatevectorSampler(seed=5).run([(reference, VALUES)], shots=SHOTS).result()[0]
    assert list(ours.data) == list(theirs.data) == ["c", "flag"]
    for name in ("c", "flag"):
        mine, expected = getattr(ours.data, name), getattr(theirs.data, name)
        assert mine.num_bits == expected.num_bits and mine.shape == expected.shape
    assert ours.data.flag.get_counts() == theirs.data.flag.get_counts() == {"0": SHOTS * 3}
    for slot, values in enumerate(VALUES):
        exact = Statevector(logical.assign_parameters(values)).probabilities_dict()
        counts = ours.data.c[slot].get_counts()
        assert set(counts) <= set(exact)
        for key, p in exact.items():
            sigma = np.sqrt(p * (1 - p) / SHOTS)
            assert abs(counts.get(key, 0) / SHOTS - p) <= 5 * sigma + 1e-9, (values, key)
    assert ours.metadata["simulated_qubits"] == 2


def test_backend_run_of_a_wide_circuit_reports_its_simulated_qubits(
    running: RunningCentre, provider: QHarborProvider, wide: tuple[QuantumCircuit, QuantumCircuit]
) -> None:
    _circuit, measured = wide
    bound = measured.assign_parameters(VALUES[1])
    job = provider.backend("statevector").run(bound, shots=SHOTS, seed_simulator=2)
    counts = job.result().get_counts()
    theirs = AerSimulator(seed_simulator=2).run(bound, shots=SHOTS).result().get_counts()
    # Same layout of keys as Aer's ("flag c"), the same outcomes.
    assert set(counts) == set(theirs) == {"0 00", "0 01", "0 10", "0 11"}
    row = running.result(job.job_id())["experiments"][0]
    assert row["simulated_qubits"] == 2 and row["num_qubits"] == 25


def test_estimates_from_shots_on_a_wide_circuit_agree_with_the_full_reference(
    provider: QHarborProvider, wide: tuple[QuantumCircuit, QuantumCircuit]
) -> None:
    circuit, _measured = wide
    observables = _observables(circuit)
    estimator = EstimatorV2(provider.backend("mps"), options={"seed_estimator": 4})
    result = estimator.run([(circuit, observables, VALUES[0])], precision=0.02).result()[0]
    expected = _full_reference(circuit, observables)
    assert abs(result.data.evs - expected) <= 5 * result.data.stds + 1e-9
    # The basis that reads Z on an idle qubit measures it, so it is simulated too.
    assert result.metadata["simulated_qubits"] == 3

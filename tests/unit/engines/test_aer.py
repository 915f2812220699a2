"""The Aer engine: correct outcomes, Qiskit's bit order, seeds and bindings."""

from __future__ import annotations

import math

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit_aer import AerSimulator

from qharbor.engines import Experiment
from qharbor.engines.aer import AerEngine

SHOTS = 500


@pytest.fixture(scope="module")
def engine() -> AerEngine:
    return AerEngine()


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    return circuit


def rx_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1)
    circuit.rx(Parameter("theta"), 0)
    circuit.measure(0, 0)
    return circuit


def run_one(engine: AerEngine, circuit: QuantumCircuit, method: str = "statevector", seed: int = 7):
    [[outcome]] = engine.run([Experiment(circuit)], method=method, shots=SHOTS, seed=seed)
    return outcome


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("method", ["statevector", "density_matrix", "matrix_product_state"])
def test_bell_and_ghz_give_only_correlated_outcomes(engine: AerEngine, n: int, method: str) -> None:
    counts = run_one(engine, ghz(n), method).counts
    assert set(counts) == {"0" * n, "1" * n}
    assert sum(counts.values()) == SHOTS


def test_stabilizer_method_runs_a_wide_ghz_state(engine: AerEngine) -> None:
    counts = run_one(engine, ghz(60), "stabilizer").counts
    assert set(counts) == {"0" * 60, "1" * 60}


def test_bit_order_and_register_spacing_match_qiskit_aer(engine: AerEngine) -> None:
    q = QuantumRegister(3, "q")
    low, high = ClassicalRegister(2, "low"), ClassicalRegister(1, "high")
    circuit = QuantumCircuit(q, low, high)
    circuit.x(q[1])
    circuit.measure(q[0], low[0])
    circuit.measure(q[1], low[1])
    circuit.measure(q[2], high[0])
    expected = AerSimulator().run(circuit, shots=SHOTS, seed_simulator=1).result().get_counts()
    counts = run_one(engine, circuit, seed=1).counts
    assert counts == dict(expected)
    assert list(counts) == ["0 10"]


def test_same_seed_gives_identical_counts(engine: AerEngine) -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.h([0, 1, 2])
    circuit.measure([0, 1, 2], [0, 1, 2])
    first = engine.run([Experiment(circuit)] * 2, method="statevector", shots=SHOTS, seed=42)
    again = engine.run([Experiment(circuit)] * 2, method="statevector", shots=SHOTS, seed=42)
    assert [o[0].counts for o in first] == [o[0].counts for o in again]
    assert len(first[0][0].counts) == 8  # a uniform state, so the test can tell seeds apart


def test_different_seeds_give_different_counts(engine: AerEngine) -> None:
    circuit = QuantumCircuit(4, 4)
    circuit.h(range(4))
    circuit.measure(range(4), range(4))
    assert run_one(engine, circuit, seed=1).counts != run_one(engine, circuit, seed=2).counts


def test_reported_seed_reproduces_each_outcome_on_its_own(engine: AerEngine) -> None:
    uniform = QuantumCircuit(3, 3)
    uniform.h(range(3))
    uniform.measure(range(3), range(3))
    runs = engine.run(
        [Experiment(uniform), Experiment(uniform), Experiment(rx_circuit(), ({"theta": 1.0},))],
        method="statevector",
        shots=SHOTS,
        seed=11,
    )
    second = runs[1][0]
    assert run_one(engine, uniform, seed=second.seed).counts == second.counts
    bound = runs[2][0]
    [[alone]] = engine.run(
        [Experiment(rx_circuit(), ({"theta": 1.0},))],
        method="statevector",
        shots=SHOTS,
        seed=bound.seed,
    )
    assert alone.counts == bound.counts


def test_each_binding_gives_its_own_outcome_in_order(engine: AerEngine) -> None:
    bindings = ({"theta": math.pi}, {"theta": 0.0}, {"theta": math.pi / 2})
    [outcomes] = engine.run(
        [Experiment(rx_circuit(), bindings)], method="statevector", shots=SHOTS, seed=3
    )
    assert len(outcomes) == 3
    assert outcomes[0].counts == {"1": SHOTS}
    assert outcomes[1].counts == {"0": SHOTS}
    half = outcomes[2].counts
    assert set(half) == {"0", "1"}
    # rx(pi/2) gives each outcome with probability 1/2; 6 sigma is about 67 here.
    assert abs(half["1"] - SHOTS / 2) < 6 * math.sqrt(SHOTS / 4)


def test_plain_and_bound_experiments_keep_their_order(engine: AerEngine) -> None:
    runs = engine.run(
        [
            Experiment(ghz(2)),
            Experiment(rx_circuit(), ({"theta": math.pi}, {"theta": 0.0})),
            Experiment(ghz(3)),
        ],
        method="statevector",
        shots=SHOTS,
        seed=5,
    )
    assert [len(r) for r in runs] == [1, 2, 1]
    assert set(runs[0][0].counts) == {"00", "11"}
    assert runs[1][0].counts == {"1": SHOTS}
    assert runs[1][1].counts == {"0": SHOTS}
    assert set(runs[2][0].counts) == {"000", "111"}


def test_circuit_without_classical_bits_gives_empty_counts(engine: AerEngine) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    assert run_one(engine, circuit).counts == {}


def test_outcome_records_engine_time(engine: AerEngine) -> None:
    outcome = run_one(engine, ghz(2))
    assert isinstance(outcome.run_s, float)
    assert outcome.run_s >= 0


def test_versions_name_the_libraries_that_decide_results(engine: AerEngine) -> None:
    versions = engine.versions()
    assert set(versions) == {"qiskit", "qiskit-aer"}
    assert all(versions.values())

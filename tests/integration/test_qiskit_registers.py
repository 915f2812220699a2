"""``backend.run`` counts for any register layout read as Qiskit Aer's do.

Registers may share bits, leave bits out, hold no bits, or never be written;
Aer's ``AerSimulator().run(circuit).result().get_counts()`` is the reference,
its space-separated register layout included. The circuits are deterministic
(X gates and measurements), so counts compare exactly.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit
from qiskit.exceptions import QiskitError
from qiskit_aer import AerSimulator

from qharbor.client.qiskit.encoding import FORMAT, circuit_source
from qharbor.engines import base
from qharbor.qiskit import QHarborProvider
from tests.integration.conftest import RunningCentre

SHOTS = 20
LAYOUTS = 20


@pytest.fixture(scope="module")
def provider(running: RunningCentre) -> Iterator[QHarborProvider]:
    provider = QHarborProvider(running.url, running.token)
    yield provider
    provider.service.close()


def _random_layout(rng: random.Random, index: int) -> QuantumCircuit:
    """Registers over random (possibly shared, possibly no) bits, some bits in
    none; X on random qubits, each measured (or not) into a random bit."""
    num_clbits = rng.randint(0, 5)
    bits = [Clbit() for _ in range(num_clbits)]
    circuit = QuantumCircuit(QuantumRegister(rng.randint(1, 4), "q"), name=f"layout-{index}")
    for r in range(rng.randint(0, 3)):
        chosen = rng.sample(bits, rng.randint(0, num_clbits))
        circuit.add_register(ClassicalRegister(bits=chosen, name=f"r{r}"))
    circuit.add_bits([bit for bit in bits if bit not in circuit.clbits])
    for qubit in range(circuit.num_qubits):
        if rng.random() < 0.5:
            circuit.x(qubit)
    if bits:
        for qubit in range(circuit.num_qubits):
            if rng.random() < 0.7:
                circuit.measure(qubit, rng.choice(bits))
    return circuit


def _layouts() -> list[QuantumCircuit]:
    rng = random.Random(2026)
    circuits = [_random_layout(rng, i) for i in range(LAYOUTS)]
    # The shapes the random draw must not miss: shared bits, a register of no
    # bits next to loose bits, an unwritten register, and no measurement at all.
    shared = [Clbit() for _ in range(3)]
    aliased = QuantumCircuit(QuantumRegister(3, "q"), shared, name="aliased")
    aliased.add_register(ClassicalRegister(bits=shared[:2], name="a"))
    aliased.add_register(ClassicalRegister(bits=shared[1:], name="b"))
    aliased.x([1, 2])
    aliased.measure([0, 1, 2], shared)
    loose = [Clbit() for _ in range(3)]
    empty = QuantumCircuit(QuantumRegister(2, "q"), loose, name="empty")
    empty.add_register(ClassicalRegister(bits=loose[:2], name="r"))
    empty.add_register(ClassicalRegister(0, "none"))
    empty.x(1)
    empty.measure([0, 1], [loose[2], loose[0]])
    unwritten = QuantumCircuit(
        QuantumRegister(2, "q"), ClassicalRegister(2, "c"), ClassicalRegister(3, "idle")
    )
    unwritten.x(0)
    unwritten.measure([0, 1], [0, 1])
    silent = QuantumCircuit(QuantumRegister(1), ClassicalRegister(2, "c"))
    silent.x(0)
    return [*circuits, aliased, empty, unwritten, silent]


def _counts(result: object, index: int) -> dict[str, int] | str:
    """The counts, or Qiskit's error when an experiment has none."""
    try:
        counts: dict[str, int] = result.get_counts(index)  # type: ignore[attr-defined]
    except QiskitError as error:
        return str(error)
    return dict(counts)


@pytest.mark.parametrize("device", ["statevector", "stabilizer"])
def test_counts_of_random_register_layouts_equal_aer(
    provider: QHarborProvider, device: str
) -> None:
    circuits = _layouts()
    ours = provider.backend(device).run(circuits, shots=SHOTS).result()
    theirs = AerSimulator().run(circuits, shots=SHOTS).result()
    differing = {
        circuit.name: (_counts(ours, i), _counts(theirs, i))
        for i, circuit in enumerate(circuits)
        if _counts(ours, i) != _counts(theirs, i)
    }
    assert not differing
    # The draw covers what it is meant to: shared, loose and empty layouts.
    assert any(sum(r.size for r in c.cregs) > c.num_clbits for c in circuits)
    assert any(sum(r.size for r in c.cregs) < c.num_clbits for c in circuits)
    assert any(any(r.size == 0 for r in c.cregs) for c in circuits)


def test_a_twin_keeps_every_bit_of_registers_that_share_them(provider: QHarborProvider) -> None:
    circuit = _layouts()[LAYOUTS]  # "aliased"
    expected = AerSimulator().run(circuit, shots=SHOTS).result().get_counts()
    ours = provider.backend("sc25").run(circuit, shots=400, seed_simulator=3).result()
    counts = ours.get_counts()
    # The twin is noisy: its most frequent outcome is the noiseless one.
    assert max(counts, key=counts.__getitem__) == next(iter(expected))


@pytest.mark.parametrize("engine", ["aer", "qulacs", "qsim", "stim"])
def test_every_engine_keeps_the_whole_classical_state(running: RunningCentre, engine: str) -> None:
    if engine not in base.registered():
        pytest.fail(f"engine {engine!r} is not installed")
    circuits = _layouts()
    measured = [c for c in circuits if any(i.operation.name == "measure" for i in c.data)]
    job = running.submit(
        programs=[{"source": circuit_source(c), "format": FORMAT} for c in measured],
        shots=SHOTS,
        # qsim computes in single precision only; 0/1 outcomes are exact in either.
        options={"engine": engine, "precision": "single" if engine == "qsim" else "double"},
    )
    assert running.wait(job["id"])["status"] == "DONE"
    rows = running.result(job["id"])["experiments"]
    raw = AerSimulator().run(measured, shots=SHOTS).result()
    for index, row in enumerate(rows):
        # Aer's raw counts are the whole classical state as hex.
        ours = {hex(int(key.replace(" ", ""), 2)): n for key, n in row["counts"].items()}
        assert ours == raw.data(index)["counts"], measured[index].name

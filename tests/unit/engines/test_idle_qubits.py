"""Idle qubits are dropped before exact simulation without changing any outcome or key."""

from __future__ import annotations

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter

from qharbor.engines import base
from qharbor.engines.idle_qubits import MIN_QUBITS, active_qubits, drop_idle_qubits
from tests.unit.engines import differential as d


def _wide() -> QuantumCircuit:
    """25 qubits, 2 active (7 and 19), measured into permuted bits of two registers."""
    q = QuantumRegister(25, "q")
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    circuit = QuantumCircuit(q, a, b, global_phase=0.4)
    circuit.ry(1.1, 19)
    circuit.cu(0.7, 0.3, -1.1, 0.9, 19, 7)
    circuit.barrier()
    circuit.delay(50, 3, unit="ns")
    circuit.measure(19, a[1])
    circuit.measure(7, b[0])
    return circuit


def _pair() -> QuantumCircuit:
    """The same operations on the two active qubits alone (7 -> 0, 19 -> 1)."""
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    circuit = QuantumCircuit(QuantumRegister(2, "q"), a, b, global_phase=0.4)
    circuit.ry(1.1, 1)
    circuit.cu(0.7, 0.3, -1.1, 0.9, 1, 0)
    circuit.measure(1, a[1])
    circuit.measure(0, b[0])
    return circuit


def test_only_the_active_qubits_remain_in_order_with_every_clbit() -> None:
    wide = _wide()
    assert active_qubits(wide) == [7, 19]
    narrow, simulated = drop_idle_qubits(wide)
    assert simulated == narrow.num_qubits == 2
    assert [r.name for r in narrow.cregs] == ["a", "b"] and narrow.num_clbits == 3
    assert float(narrow.global_phase) == float(wide.global_phase)
    assert d.exact_distribution(narrow) == d.exact_distribution(_pair())


def test_every_engine_gives_the_wide_circuits_distribution_from_the_narrow_one() -> None:
    narrow, _ = drop_idle_qubits(_wide())
    expected = d.exact_distribution(_pair())
    assert all(len(key) == 4 for key in expected)  # "b aa": two registers, three bits
    for name, precision in d.engine_cases():
        engine = base.get_engine(name)
        if not d.accepts(engine, precision, narrow):
            continue
        counts = d.sample(engine, precision, narrow, 4000, 3)
        assert d.counts_mismatch(counts, expected, 4000) is None, (name, precision, counts)


def test_narrow_circuits_and_circuits_without_idle_qubits_are_kept_as_they_are() -> None:
    small = QuantumCircuit(MIN_QUBITS - 1, 1)
    small.h(0)
    small.measure(0, 0)
    assert drop_idle_qubits(small) == (small, MIN_QUBITS - 1)
    busy = QuantumCircuit(MIN_QUBITS)
    busy.h(range(MIN_QUBITS))
    assert drop_idle_qubits(busy) == (busy, MIN_QUBITS)


def test_control_flow_and_parameters_keep_their_qubits_and_names() -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(16, 2)
    circuit.rx(theta, 3)
    circuit.measure(3, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(12)
    circuit.measure(12, 1)
    narrow, simulated = drop_idle_qubits(circuit)
    assert simulated == 2
    assert [p.name for p in narrow.parameters] == ["theta"]
    bound = narrow.assign_parameters({theta: 2.0})
    reference = circuit.assign_parameters({theta: 2.0})
    assert d.exact_distribution(bound) == d.exact_distribution(reference)

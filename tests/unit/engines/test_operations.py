"""Engines receive only the operations they declare: anything else is decomposed first."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import GlobalPhaseGate, HGate, MCXGate, RXGate

from qharbor.engines import base, operations, qsim_circuits, qulacs_circuits
from tests.unit.engines import differential as d

#: Engines whose translators decompose (stim refuses non-Clifford names instead).
DECOMPOSING = ["aer", "qulacs", "qsim"]


def _unusual() -> QuantumCircuit:
    custom = QuantumCircuit(2, name="mine")
    custom.h(0)
    custom.crx(0.4, 0, 1)
    circuit = QuantumCircuit(5, 2)
    circuit.append(custom.to_gate(), [3, 1])
    circuit.append(HGate().control(3, annotated=False), [0, 1, 2, 4])
    circuit.append(RXGate(0.3).control(1, annotated=True), [2, 0])
    circuit.append(RXGate(0.7).power(0.5), [4])
    circuit.append(MCXGate(4), [0, 1, 2, 3, 4])
    circuit.append(GlobalPhaseGate(0.2), [])
    circuit.measure([0, 4], [0, 1])
    return circuit


def test_a_circuit_of_declared_operations_is_kept_as_it_is() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.cu(0.1, 0.2, 0.3, 0.4, 0, 1)
    circuit.measure([0, 1], [0, 1])
    assert operations.conform(circuit, qulacs_circuits.OPERATIONS) is circuit


@pytest.mark.parametrize("name", DECOMPOSING)
def test_other_operations_are_decomposed_into_declared_ones(name: str) -> None:
    engine = base.get_engine(name)
    circuit = _unusual()
    assert not set(circuit.count_ops()) <= engine.operations
    conformed = operations.conform(circuit, engine.operations)
    assert set(conformed.count_ops()) <= engine.operations | operations.NOT_DECOMPOSED
    assert d.exact_distribution(conformed) == pytest.approx(d.exact_distribution(circuit))


@pytest.mark.parametrize("module", [qulacs_circuits, qsim_circuits], ids=["qulacs", "qsim"])
def test_the_translator_itself_sees_only_declared_operations(
    module, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[set[str]] = []
    translate = module._translate

    def spy(circuit: QuantumCircuit, *how: bool):  # type: ignore[no-untyped-def]
        seen.append(set(circuit.count_ops()))
        return translate(circuit, *how)

    monkeypatch.setattr(module, "_translate", spy)
    module.translate(_unusual())
    assert seen and all(names <= module.OPERATIONS for names in seen)


def test_every_registered_engine_declares_its_operations() -> None:
    for name in base.registered():
        declared = base.get_engine(name).operations
        assert isinstance(declared, frozenset) and "measure" in declared, name

"""The OriginIR gate table agrees with pyqpanda3 on every gate's qubits and angles."""

from __future__ import annotations

import pytest

from qharbor.programs.originir_gates import GATES, KEYWORDS
from tests.unit.programs.test_originir_pyqpanda3 import GATES as PYQPANDA3_GATES


def test_the_table_holds_exactly_the_gates_pyqpanda3_writes() -> None:
    assert set(GATES) == set(PYQPANDA3_GATES)


@pytest.mark.parametrize("name", sorted(PYQPANDA3_GATES))
def test_each_gate_takes_the_qubits_and_angles_pyqpanda3_gives_it(name: str) -> None:
    qubits, angles, _ = GATES[name]
    reference_qubits, reference_angles, _ = PYQPANDA3_GATES[name]
    assert qubits == reference_qubits
    assert reference_angles in (angles if isinstance(angles, tuple) else (angles,))


@pytest.mark.parametrize("name", sorted(PYQPANDA3_GATES))
def test_each_gate_builds_a_qiskit_gate_on_its_qubits(name: str) -> None:
    qubits, angles, factory = GATES[name]
    count = angles[-1] if isinstance(angles, tuple) else angles
    assert factory(*[0.25] * count).num_qubits == qubits


def test_no_gate_is_named_like_a_statement() -> None:
    assert set(GATES) & KEYWORDS == set()

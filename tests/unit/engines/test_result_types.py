"""Result types from an engine's final state equal those computed from the circuit."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit

from qharbor import errors
from qharbor.engines import get_engine, result_types

REQUESTS = [
    {"type": "expectation", "observable": ["z", "z"], "targets": [0, 1]},
    {"type": "expectation", "observable": ["x"], "targets": None},
    {"type": "variance", "observable": ["y"], "targets": [2]},
    {"type": "probability", "targets": [2, 0]},
    {"type": "amplitude", "states": ["000", "110", "011"]},
    {"type": "state_vector"},
]


def circuit() -> QuantumCircuit:
    c = QuantumCircuit(3, 3)
    c.h(0)
    c.cx(0, 1)
    c.ry(0.8, 2)
    c.rz(0.3, 1)
    c.global_phase = 0.4
    c.measure(range(3), range(3))
    return c


@pytest.mark.parametrize(
    ("engine", "precision", "atol"), [("qulacs", "double", 1e-12), ("qsim", "single", 1e-6)]
)
def test_an_engine_state_gives_the_same_result_types(
    engine: str, precision: str, atol: float
) -> None:
    [state] = get_engine(engine).statevectors(circuit(), [], precision=precision)
    given = result_types.evaluate(circuit(), REQUESTS, state=state)
    computed = result_types.evaluate(circuit(), REQUESTS)
    for mine, reference in zip(given, computed, strict=True):
        if mine["type"] == "amplitude":  # amplitudes carry the global phase
            for key, value in reference["value"].items():
                np.testing.assert_allclose(mine["value"][key], value, atol=atol)
        else:
            np.testing.assert_allclose(mine["value"], reference["value"], atol=atol)


def test_state_vector_is_in_braket_order() -> None:
    c = QuantumCircuit(3)
    c.x(0)  # Qiskit index 1 (0b001); Braket "100", index 4
    [entry] = result_types.evaluate(c, [{"type": "state_vector"}])
    assert np.argmax(np.abs(np.array(entry["value"])[:, 0])) == 4


def test_a_state_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(errors.ExecutionError):
        result_types.evaluate(circuit(), REQUESTS, state=np.ones(4) / 2)

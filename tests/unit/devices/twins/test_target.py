"""A twin's Qiskit target: native gates on the coupling map, with calibrated durations."""

from __future__ import annotations

import pytest

from qharbor.devices.twins.target import readout_error, target
from tests.unit.devices.twins.documents import document


def test_the_target_has_the_native_gates_on_the_coupling_map() -> None:
    built = target(document())
    assert {"rz", "sx", "x", "cz", "measure"} <= set(built.operation_names)
    assert built.instruction_supported("cz", (0, 1))
    assert not built.instruction_supported("cz", (0, 2))
    assert built["cz"][(0, 1)].duration == pytest.approx(220e-9)


def test_measure_errors_are_the_mean_assignment_errors() -> None:
    doc = document()
    built = target(doc)
    q0 = doc.calibration.qubits[0]
    assert built["measure"][(0,)].error == pytest.approx(readout_error(q0))
    assert readout_error(q0) == pytest.approx((q0.readout_p01 + q0.readout_p10) / 2)

"""Idle-period noise: drawn and drifting like other calibrated values, without
changing them, and applied by the twin where qubits wait."""

from __future__ import annotations

import dataclasses

from qiskit import QuantumCircuit

from qharbor.devices.twins import calibration as calib
from qharbor.devices.twins.spec import Varying
from qharbor.engines import noise
from tests.unit.devices.twins.documents import SPECS, T0, document


def test_detuning_and_zz_come_from_the_file_and_leave_other_values_as_they_were() -> None:
    spec = SPECS["sc25"]
    plain = dataclasses.replace(
        spec,
        qubits={**spec.qubits, "detuning_khz": Varying(0.0)},
        zz_khz=Varying(0.0),
    )
    with_idle = calib.drifted(spec, calib.recalibrate(spec, 2, T0), 30)
    without = calib.drifted(plain, calib.recalibrate(plain, 2, T0), 30)
    assert [dataclasses.replace(q, detuning_khz=0.0) for q in with_idle.qubits] == list(
        without.qubits
    )
    assert with_idle.gates == without.gates
    detunings = [q.detuning_khz for q in with_idle.qubits]
    assert all(abs(d) <= 20.0 + 10.0 for d in detunings) and len(set(detunings)) > 1
    assert len(with_idle.couplers) == len(spec.edges)
    assert all(c.zz_khz >= 0 for c in with_idle.couplers)
    # Drift moves them, and a snapshot's JSON keeps them.
    later = calib.drifted(spec, calib.recalibrate(spec, 2, T0), 300)
    assert [q.detuning_khz for q in later.qubits] != detunings
    assert calib.Calibration.from_json(later.to_json()) == later


def test_waiting_qubits_get_relaxation_detuning_and_zz_where_they_wait() -> None:
    doc = document()
    circuit = QuantumCircuit(3)
    circuit.sx(0)
    circuit.sx(1)
    circuit.cz(0, 1)
    for _ in range(3):
        circuit.cz(1, 2)  # 0 waits; 0 and 1 are not both idle
    circuit.cz(0, 1)
    noisy = noise.with_idle_noise(doc, circuit, [0, 1, 2])
    names = [i.operation.name for i in noisy.data]
    assert names.count("kraus") == 1  # q0's wait; q2 waits before its first gate only
    assert "rzz" not in names
    # Local qubits 0, 1, 2, 3 stand for physical 0, 1, 2, 5 (0-1, 1-2 and 0-5 coupled).
    # After their CZs with 5 and 2, qubits 0 and 1 both wait for 5 and 2 to finish.
    two_waiting = QuantumCircuit(4)
    two_waiting.cz(0, 3)
    two_waiting.cz(1, 2)
    for _ in range(10):
        two_waiting.sx(3)
        two_waiting.sx(2)
    two_waiting.cz(0, 1)
    waited = [i.operation.name for i in noise.with_idle_noise(doc, two_waiting, [0, 1, 2, 5]).data]
    assert waited.count("rzz") == 1
    assert waited.count("kraus") == 2

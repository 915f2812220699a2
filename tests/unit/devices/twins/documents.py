"""Twin documents of the shipped twins, at a fixed calibration, and a GHZ circuit."""

from __future__ import annotations

import datetime as dt

from qiskit import QuantumCircuit

from qharbor.devices.catalogue import load_twins
from qharbor.devices.twins import calibration as calib
from qharbor.devices.twins.document import TwinDocument

SPECS = {s.name: s for s in load_twins()}
T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def document(name: str = "sc25", version: int = 1) -> TwinDocument:
    return TwinDocument.of(SPECS[name], calib.recalibrate(SPECS[name], version, T0))


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    circuit.measure(range(n), range(n))
    return circuit

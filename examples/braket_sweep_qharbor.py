"""A parameter sweep with run_batch and device properties, written as Braket's docs write it.

This copy runs on Braket's LocalSimulator; ``braket_sweep_qharbor.py`` is the
same script with only its device lines changed, and runs on a qharbor centre
(set QHARBOR_URL and QHARBOR_TOKEN, or save an account with ``qharbor login``).
"""

import numpy as np
from braket.circuits import Circuit, FreeParameter, Observable
from braket.device_schema import DeviceActionType
from qharbor.braket import QHarborDevice

device = QHarborDevice("statevector")

# What the device offers, from its properties.
action = device.properties.action[DeviceActionType.OPENQASM]
result_types = sorted(rt.name for rt in action.supportedResultTypes)
print("result types:", result_types)
print("qubits:", device.properties.paradigm.qubitCount)
assert "Expectation" in result_types and "cnot" in action.supportedOperations

# Exact expectation values over a sweep of one free parameter, as one batch.
theta = FreeParameter("theta")
circuit = (
    Circuit()
    .rx(0, theta)
    .ry(1, theta)
    .cnot(0, 1)
    .expectation(Observable.Z() @ Observable.Z(), target=[0, 1])
    .expectation(Observable.Y(), target=[0])
)
angles = np.linspace(0, np.pi, 5)
batch = device.run_batch(circuit, shots=0, inputs=[{"theta": t} for t in angles])
for angle, result in zip(angles, batch.results(), strict=True):
    zz, y = result.values
    print(f"theta={angle:.4f} <ZZ>={zz:.9f} <Y0>={y:.9f}")

# Sampled Bell pairs, a batch of two circuits.
bells = [Circuit().h(0).cnot(0, 1), Circuit().x(0).h(1).cnot(1, 0)]
for result in device.run_batch(bells, shots=1000).results():
    print("counts:", dict(result.measurement_counts))

"""Aer's Kraus conversion fails on some calibrations' noise models; twins no longer use it."""

from __future__ import annotations

import subprocess
import sys

from qiskit import QuantumCircuit

from qharbor.engines import twin

#: The old way: the calibration's noise model on a trajectory method. Aer converts
#: every error to canonical Kraus form first, and for the cz error of physical
#: qubits 10 and 11 of sc25's first calibration that conversion fails.
OLD_WAY = """
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator
from qharbor.engines import noise
from tests.unit.devices.twins.documents import document
circuit = QuantumCircuit(2, 2)
circuit.sx(0)
circuit.cz(0, 1)
circuit.measure([0, 1], [0, 1])
model = noise.noise_model(document("sc25"), [10, 11])
result = AerSimulator(method="statevector", noise_model=model).run(
    circuit, shots=200, seed_simulator=1
).result()
print("SUCCESS" if result.success else "FAILED", result.status)
"""


def _circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2)
    circuit.sx(0)
    circuit.cz(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def test_the_old_noise_model_fails_on_a_trajectory_method() -> None:
    done = subprocess.run(
        [sys.executable, "-c", OLD_WAY], capture_output=True, text=True, timeout=120
    )
    # Aer raises from LAPACK's zheevx, reports the lost conversion, or dies of it.
    said = done.stdout + done.stderr
    assert done.returncode < 0 or "heevx" in said or "Kraus is empty" in said, said


def test_the_twin_runs_the_same_circuit_on_every_method() -> None:
    from tests.unit.devices.twins.documents import document

    local = twin.LocalTwin(document("sc25"))
    for method in ("statevector", "matrix_product_state", "density_matrix", "stabilizer"):
        run = local.execute(_circuit(), [10, 11], shots=200, seed=1, method=method)
        assert sum(run.counts.values()) == 200, method

"""A twin's noise as an Aer ``NoiseModel``, built from a calibration snapshot.

Each calibrated gate gets thermal relaxation over its duration followed by the
depolarizing noise that makes up the rest of its calibrated error; each measured
qubit gets its assignment errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from qiskit.quantum_info import average_gate_fidelity
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    ReadoutError,
    depolarizing_error,
    thermal_relaxation_error,
)

from qharbor.devices.twins import document as documents
from qharbor.devices.twins.calibration import QubitCalibration


def _relaxation(qubit: QubitCalibration, duration_s: float) -> QuantumError:
    t1 = float(qubit.t1_us) * 1e-6
    t2 = min(float(qubit.t2_us) * 1e-6, 2 * t1)  # physical bound T2 <= 2 T1
    return thermal_relaxation_error(t1, t2, duration_s)


def gate_error(error: float, relaxation: QuantumError | None, num_qubits: int) -> QuantumError:
    """Relaxation followed by depolarizing noise, together matching the gate's error.

    The depolarizing part makes up what relaxation alone leaves of the
    calibrated average gate infidelity ``error``.
    """
    dim = 2**num_qubits
    relaxed = 0.0
    if relaxation is not None:
        relaxed = 1 - average_gate_fidelity(relaxation.to_quantumchannel())
    depolarizing = max(0.0, error - relaxed) * dim / (dim - 1)
    depolarizing = min(depolarizing, dim**2 / (dim**2 - 1))
    channel = depolarizing_error(depolarizing, num_qubits)
    return channel if relaxation is None else relaxation.compose(channel)


def noise_model(document: documents.DocumentLike, qubits: Sequence[int]) -> NoiseModel:
    """The Aer noise model of the calibration, for the given physical qubits.

    Args:
        document: the twin document.
        qubits: for each simulated qubit, the physical qubit it stands for.
    """
    twin = documents.read(document)
    calibration = twin.calibration.qubits
    where = {physical: index for index, physical in enumerate(qubits)}
    gates = twin.gate_table()
    model = NoiseModel(basis_gates=sorted(gates))
    for name, entries in gates.items():
        for physical, (error, duration) in entries.items():
            if not all(p in where for p in physical):
                continue
            if error <= 0 and duration <= 0:
                continue  # a virtual gate (rz): exact and instantaneous
            relaxation: QuantumError | None = None
            if duration > 0:
                parts = [_relaxation(calibration[p], duration) for p in physical]
                relaxation = parts[0]
                for part in parts[1:]:
                    relaxation = part.expand(relaxation)
            model.add_quantum_error(
                gate_error(error, relaxation, len(physical)),
                name,
                [where[p] for p in physical],
            )
    for site, index in where.items():
        q = calibration[site]
        p01, p10 = float(q.readout_p01), float(q.readout_p10)
        model.add_readout_error(ReadoutError([[1 - p01, p01], [p10, 1 - p10]]), [index])
    return model


def simulator(document: documents.DocumentLike, qubits: Sequence[int]) -> AerSimulator:
    """An Aer simulator with the device's noise on the given physical qubits."""
    # Always a density matrix: exact noise, and shots cost nothing extra. (Aer's
    # trajectory method crashed with some of these noise models.)
    return AerSimulator(method="density_matrix", noise_model=noise_model(document, qubits))

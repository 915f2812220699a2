"""A twin's gate noise written into the circuit, for Aer's trajectory methods.

The density-matrix method takes the twin's noise as an Aer ``NoiseModel``
(:mod:`qharbor.engines.noise`). The trajectory methods (state vector, matrix
product state, stabilizer) take it here instead: after each calibrated gate the
circuit carries that gate's error as instructions of its own, and the noise
model keeps only the readout errors.

Why not a noise model for those too: given any Kraus error (the relaxation of a
qubit whose T2 exceeds T1 is one), Aer 0.18 converts every gate error of the
model to canonical Kraus form before a trajectory run, through LAPACK's
``zheevx`` on the error's Choi matrix. For some near-identity two-qubit errors
that call fails ("Something went wrong in heevx call"), seen with the cz of sc25's
qubits 10 and 11 at its first calibration. In a single-threaded run the error
is raised; where the conversion runs in Aer's thread pool, Aer stores the
exception at ``exs[omp_get_num_threads()]``, one past the end of its array, so
the failure is lost ("QuantumError: Kraus is empty" later) or corrupts the heap
and kills the process
(``NoiseModel::enable_kraus_method``). Which errors fail depends on the T1 and
T2 a calibration drew, so noise models of some calibrations crashed a worker
and others did not. Written into the circuit, a relaxation is a ``kraus``
instruction with the matrices computed here, which Aer applies as given.

For Clifford circuits the stabilizer method needs Pauli noise: each gate's
error is replaced by its Pauli twirl (:func:`pauli_twirl`), the Pauli channel
with the same Pauli-transfer diagonal. It keeps each error's average gate
fidelity and its Pauli error rates, and drops the coherent and non-unital parts
(amplitude damping's drift towards 0 becomes symmetric bit and phase flips).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ControlFlowOp
from qiskit.quantum_info import Chi, Kraus, average_gate_fidelity
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    ReadoutError,
    depolarizing_error,
)

from qharbor.devices.twins import document as documents
from qharbor.devices.twins.calibration import QubitCalibration
from qharbor.engines import noise


def pauli_twirl(error: QuantumError) -> QuantumError:
    """The Pauli channel with the same Pauli-transfer diagonal as ``error``.

    Its probabilities are the diagonal of the error's process (chi) matrix in
    the Pauli basis, so the twirl keeps the process fidelity exactly.
    """
    return noise.pauli_mixture(np.real(np.diag(Chi(error.to_quantumchannel()).data)))


def twirled_error(
    qubits: Sequence[QubitCalibration], duration_s: float, error: float
) -> QuantumError:
    """The Pauli twirl of a gate's error (relaxation then depolarizing), computed directly.

    The Pauli-transfer diagonal of a relaxation over ``duration_s`` is
    (1, e^(-t/T2), e^(-t/T2), e^(-t/T1)) per qubit; the depolarizing rest scales
    every non-identity entry by (1 - p). The twirl's probabilities are that
    diagonal transformed by the commutation signs. Equal to :func:`pauli_twirl`
    of :func:`qharbor.engines.noise.gate_error`, a hundred times faster.

    Args:
        qubits: the calibrations of the gate's physical qubits, in gate order.
        duration_s: the gate's duration (seconds).
        error: its calibrated average gate infidelity.
    """
    fidelities: np.ndarray = np.ones(1)
    for qubit in reversed(qubits):  # Qiskit's labels put qubit 0 rightmost
        one = np.ones(4)
        if duration_s > 0:
            t1 = float(qubit.t1_us) * 1e-6
            t2 = min(float(qubit.t2_us) * 1e-6, 2 * t1)
            one = np.array([1.0, math.exp(-duration_s / t2), math.exp(-duration_s / t2),
                            math.exp(-duration_s / t1)])  # fmt: skip
        fidelities = np.kron(fidelities, one)
    n = len(qubits)
    dim = 2**n
    process = fidelities.sum() / dim**2
    relaxed = 1 - (dim * process + 1) / (dim + 1)
    depolarizing = max(0.0, error - relaxed) * dim / (dim - 1)
    depolarizing = min(depolarizing, dim**2 / (dim**2 - 1))
    fidelities[1:] *= 1 - depolarizing
    return noise.pauli_channel(fidelities)


def has_control_flow(circuit: QuantumCircuit) -> bool:
    return any(isinstance(i.operation, ControlFlowOp) for i in circuit.data)


class NoisyCircuits:
    """Writes one calibration's gate noise into circuits on given physical qubits.

    Args:
        document: the twin document.
        pauli: twirl every error to a Pauli channel (for the stabilizer method).
    """

    def __init__(self, document: documents.DocumentLike, *, pauli: bool = False) -> None:
        self.document = documents.read(document)
        self.pauli = pauli
        self._table = self.document.gate_table()
        self._errors: dict[tuple[str, tuple[int, ...]], list[tuple[object, tuple[int, ...]]]] = {}

    def _channel(
        self, name: str, physical: tuple[int, ...]
    ) -> list[tuple[object, tuple[int, ...]]]:
        """Instructions (operation, positions among the gate's qubits) of one gate's error."""
        key = (name, physical)
        found = self._errors.get(key)
        if found is not None:
            return found
        error, duration = self._table.get(name, {}).get(physical, (0.0, 0.0))
        parts: list[tuple[object, tuple[int, ...]]] = []
        if error > 0 or duration > 0:
            calibration = [self.document.calibration.qubits[p] for p in physical]
            everywhere = tuple(range(len(physical)))
            if self.pauli:
                parts.append((twirled_error(calibration, duration, error), everywhere))
            else:
                # Relaxation qubit by qubit, as given matrices; then the depolarizing rest.
                combined = None
                if duration > 0:
                    for position, qubit in enumerate(calibration):
                        relaxation = noise._relaxation(qubit, duration)
                        parts.append((_as_instruction(relaxation), (position,)))
                    combined = noise.relaxation_during(calibration, duration)
                depolarizing = _depolarizing(error, combined, len(physical))
                if depolarizing.probabilities[0] < 1.0:
                    parts.append((depolarizing, everywhere))
        self._errors[key] = parts
        return parts

    def write(self, circuit: QuantumCircuit, qubits: Sequence[int]) -> QuantumCircuit:
        """The circuit with each calibrated gate followed by its error.

        Args:
            circuit: a compiled circuit narrowed to its active qubits, without control flow.
            qubits: for each of its qubits, the physical qubit it stands for.
        """
        out = circuit.copy_empty_like()
        for instruction in circuit.data:
            out.append(instruction)
            op = instruction.operation
            if op.name in ("measure", "barrier", "reset", "delay"):
                continue
            where = [circuit.find_bit(q).index for q in instruction.qubits]
            physical = tuple(qubits[i] for i in where)
            for channel, positions in self._channel(op.name, physical):
                out.append(channel, [instruction.qubits[p] for p in positions])
        return out


def _as_instruction(relaxation: QuantumError) -> object:
    """A relaxation as an instruction Aer applies without converting it.

    A relaxation with T2 <= T1 is a mixture of identity, Z and resets (sampled
    as circuits); one with T2 > T1 is a Kraus channel, given as its matrices.
    """
    if any(i.operation.name == "kraus" for c in relaxation.circuits for i in c.data):
        return Kraus(relaxation.to_quantumchannel()).to_instruction()
    return relaxation


def _depolarizing(error: float, relaxation: QuantumError | None, num_qubits: int) -> QuantumError:
    """The depolarizing part of :func:`qharbor.engines.noise.gate_error`, alone."""
    dim = 2**num_qubits
    relaxed = 0.0
    if relaxation is not None:
        relaxed = 1 - average_gate_fidelity(relaxation.to_quantumchannel())
    p = max(0.0, error - relaxed) * dim / (dim - 1)
    return depolarizing_error(min(p, dim**2 / (dim**2 - 1)), num_qubits)


def readout_model(document: documents.DocumentLike, qubits: Sequence[int]) -> NoiseModel:
    """A noise model with only the readout errors of the given physical qubits."""
    twin = documents.read(document)
    model = NoiseModel()
    for index, site in enumerate(qubits):
        q = twin.calibration.qubits[site]
        p01, p10 = float(q.readout_p01), float(q.readout_p10)
        model.add_readout_error(ReadoutError([[1 - p01, p01], [p10, 1 - p10]]), [index])
    return model

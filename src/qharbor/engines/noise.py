"""A twin's noise as an Aer ``NoiseModel``, built from a calibration snapshot.

Each calibrated gate gets thermal relaxation over its duration followed by the
depolarizing noise that makes up the rest of its calibrated error; each measured
qubit gets its assignment errors.

Idle periods carry noise of their own (:func:`with_idle_noise`): the circuit is
scheduled with the twin's durations, and each period a qubit waits between two
of its operations gets thermal relaxation (T1, T2) and the coherent Z rotation of
its quasi-static detuning; each coupled pair waiting together gets the coherent
ZZ rotation of its crosstalk. The coherent parts are what dynamical decoupling
removes; relaxation stays. For the stabilizer method the same periods get the
Pauli twirl of that noise (:func:`pauli_channel`): dephasing and the detuning's
rotation become Z errors, amplitude damping symmetric X, Y and Z errors, and a
ZZ rotation by θ a ZZ error with probability sin²(θ/2).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction
from qiskit.circuit.library import RZGate, RZZGate
from qiskit.quantum_info import Kraus, average_gate_fidelity, pauli_basis
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    ReadoutError,
    depolarizing_error,
    pauli_error,
    thermal_relaxation_error,
)

from qharbor.devices.twins import document as documents
from qharbor.devices.twins import timing
from qharbor.devices.twins.calibration import QubitCalibration

#: Idle periods shorter than this (seconds) are left noiseless.
_MIN_IDLE_S = 1e-10
#: Pauli probabilities below this are dropped from a twirled error.
_NEGLIGIBLE = 1e-12
#: Signs of the single-qubit Pauli (rows I, X, Y, Z) against each Pauli
#: (columns): +1 where they commute.
_SIGNS = np.array([[1, 1, 1, 1], [1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]], dtype=float)


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


def relaxation_during(qubits: Sequence[QubitCalibration], duration: float) -> QuantumError:
    """Each qubit's thermal relaxation over a gate's duration (seconds), qubit i on wire i.

    Qiskit orders tensor products little-endian: in ``a.tensor(b)``, ``b`` acts on
    wire 0. Each qubit's channel is therefore added on the left of the ones before.
    """
    parts = [_relaxation(qubit, duration) for qubit in qubits]
    relaxation = parts[0]
    for part in parts[1:]:
        relaxation = part.tensor(relaxation)
    return relaxation


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
            relaxation = None
            if duration > 0:
                relaxation = relaxation_during([calibration[p] for p in physical], duration)
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


def with_idle_noise(
    document: documents.DocumentLike,
    circuit: QuantumCircuit,
    qubits: Sequence[int],
    *,
    pauli: bool = False,
) -> QuantumCircuit:
    """The circuit with the noise of its idle periods as explicit channels.

    The circuit is scheduled as late as possible with the twin's durations
    (:func:`~qharbor.devices.twins.timing.schedule`). Each period a qubit waits
    between two of its operations (delays included) gets thermal relaxation over
    its length and a Z rotation by ``2π·detuning·t``; each coupled pair gets a
    ``ZZ`` rotation by ``π·zz·t`` over the periods both wait. Delays are replaced
    by that noise.

    Args:
        document: the twin document.
        circuit: a narrowed circuit (:meth:`LocalTwin.prepare`).
        qubits: for each of its qubits, the physical qubit it stands for.
        pauli: write the Pauli twirl of each period's noise instead (for the
            stabilizer method): same Pauli error rates, no coherent part.
    """
    twin = documents.read(document)
    calibration = twin.calibration
    slots = timing.schedule(twin, circuit, qubits)
    windows = timing.idle_windows(slots, circuit.num_qubits)
    if not any(windows):
        return circuit
    # Events sort by time; noise at a window's start goes before operations then.
    events: list[tuple[float, int, int, object, list[int]]] = []
    order = 0
    for local, gaps in enumerate(windows):
        q = calibration.qubits[qubits[local]]
        for start, end in gaps:
            if end - start < _MIN_IDLE_S:
                continue
            idle = _idle_pauli(q, end - start) if pauli else _idle_error(q, end - start)
            events.append((start, 0, order, idle, [local]))
            order += 1
    where = {physical: local for local, physical in enumerate(qubits)}
    for coupler in calibration.couplers:
        a, b = (where.get(p) for p in coupler.qubits)
        if a is None or b is None or coupler.zz_khz == 0:
            continue
        for start, end in _overlaps(windows[a], windows[b]):
            theta = math.pi * coupler.zz_khz * 1e3 * (end - start)
            crosstalk = _zz_pauli(round(theta, 13)) if pauli else RZZGate(theta)
            events.append((start, 0, order, crosstalk, [a, b]))
            order += 1
    for slot in slots:
        instruction = circuit.data[slot.index]
        if instruction.operation.name == "delay":
            continue
        events.append((slot.start_s, 1, order, instruction, []))
        order += 1
    out = circuit.copy_empty_like()
    for _time, _kind, _order, item, where_on in sorted(events, key=lambda e: e[:3]):
        if where_on:
            out.append(item, [out.qubits[i] for i in where_on])
        else:
            out.append(item)
    # Instructions without qubits (none after narrowing) would be lost; keep them.
    for instruction in circuit.data:
        if not instruction.qubits and instruction.operation.name != "barrier":
            out.append(instruction)
    return out


def _idle_error(qubit: QubitCalibration, duration_s: float) -> Instruction:
    """Relaxation then the detuning's Z rotation, as one ``kraus`` instruction.

    Aer runs a ``kraus`` instruction as it is; a ``QuantumError`` placed in a
    circuit would instead be added to a copy of the noise model on every run.
    """
    operators = _idle_kraus(
        float(qubit.t1_us), float(qubit.t2_us), float(qubit.detuning_khz), round(duration_s, 13)
    )
    return Instruction("kraus", 1, 0, list(operators))


@functools.lru_cache(maxsize=4096)
def _idle_kraus(t1_us: float, t2_us: float, detuning_khz: float, duration_s: float) -> tuple:
    """The Kraus operators of one idle period (cached: periods repeat across a job's runs)."""
    t1 = t1_us * 1e-6
    error = thermal_relaxation_error(t1, min(t2_us * 1e-6, 2 * t1), duration_s)
    theta = 2 * math.pi * detuning_khz * 1e3 * duration_s
    if theta:
        error = error.compose(QuantumError(RZGate(theta)))
    return tuple(Kraus(error.to_quantumchannel()).data)


def _idle_pauli(qubit: QubitCalibration, duration_s: float) -> QuantumError:
    """The Pauli twirl of one idle period's relaxation and detuning rotation."""
    return _idle_pauli_cached(
        float(qubit.t1_us), float(qubit.t2_us), float(qubit.detuning_khz), round(duration_s, 13)
    )


@functools.lru_cache(maxsize=4096)
def _idle_pauli_cached(
    t1_us: float, t2_us: float, detuning_khz: float, duration_s: float
) -> QuantumError:
    """Relaxation's Pauli-transfer diagonal (1, e^(-t/T2), e^(-t/T2), e^(-t/T1)), with
    the X and Y entries turned by the detuning's rotation (times cos θ)."""
    t1 = t1_us * 1e-6
    t2 = min(t2_us * 1e-6, 2 * t1)
    theta = 2 * math.pi * detuning_khz * 1e3 * duration_s
    transverse = math.exp(-duration_s / t2) * math.cos(theta)
    return pauli_channel(np.array([1.0, transverse, transverse, math.exp(-duration_s / t1)]))


@functools.lru_cache(maxsize=4096)
def _zz_pauli(theta: float) -> QuantumError:
    """The Pauli twirl of a ZZ rotation by ``theta``: a ZZ error with probability sin²(θ/2)."""
    flip = math.sin(theta / 2) ** 2
    return pauli_error([("ZZ", flip), ("II", 1 - flip)])


def pauli_channel(fidelities: np.ndarray) -> QuantumError:
    """The Pauli channel with the given Pauli-transfer diagonal.

    Args:
        fidelities: the diagonal, one entry per Pauli in the order of
            :func:`~qiskit.quantum_info.pauli_basis` (Qiskit's labels, qubit 0
            rightmost), the identity's entry first and equal to 1.
    """
    dim_squared = len(fidelities)
    n = round(math.log(dim_squared, 4))
    signs = np.ones((1, 1))
    for _ in range(n):
        signs = np.kron(signs, _SIGNS)
    return pauli_mixture(signs @ fidelities / dim_squared)


def pauli_mixture(probabilities: np.ndarray) -> QuantumError:
    """A mixture of Paulis, one probability per Pauli in :func:`~qiskit.quantum_info.pauli_basis`
    order; negative rounding errors are clipped, the rest renormalised, negligible terms dropped.
    """
    n = round(math.log(len(probabilities), 4))
    weights = np.clip(np.asarray(probabilities, dtype=float), 0.0, None)
    weights /= weights.sum()
    labels = pauli_basis(n).to_labels()
    return pauli_error(
        [(label, float(p)) for label, p in zip(labels, weights, strict=True) if p > _NEGLIGIBLE]
    )


def _overlaps(
    first: Sequence[tuple[float, float]], second: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The periods two sorted lists of periods share."""
    out = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if end - start > _MIN_IDLE_S:
            out.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out

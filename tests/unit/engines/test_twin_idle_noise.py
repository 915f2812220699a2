"""Idle noise on every twin method: a waiting qubit in superposition dephases by its
T2 and its detuning, and keeps its phase when the file gives it no idle noise."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import RZGate
from qiskit.quantum_info import Pauli
from qiskit_aer.noise import QuantumError, thermal_relaxation_error

from qharbor.devices.twins import timing
from qharbor.devices.twins.document import TwinDocument
from qharbor.engines import noise, twin, twin_circuits
from tests.unit.devices.twins.documents import document

SHOTS = 4000
METHODS = ("density_matrix", "statevector", "matrix_product_state", "stabilizer")
#: The physical qubit the circuit runs on.
QUBITS = [0]


def _hadamard(circuit: QuantumCircuit, qubit: int) -> None:
    circuit.rz(math.pi / 2, qubit)
    circuit.sx(qubit)
    circuit.rz(math.pi / 2, qubit)


def _ramsey() -> QuantumCircuit:
    """A qubit in |+> waits 30 µs, then is read in the X basis: ideally it reads 0."""
    circuit = QuantumCircuit(1, 1)
    _hadamard(circuit, 0)
    circuit.delay(30, 0, unit="us")
    _hadamard(circuit, 0)
    circuit.measure(0, 0)
    return circuit


def _with_idle(doc: TwinDocument, *, detuning_khz: float, quiet: bool) -> TwinDocument:
    """sc25 with q0's detuning set; ``quiet``: no idle noise at all (no detuning, no ZZ,
    and coherence times so long that relaxation while waiting vanishes)."""
    qubits = list(doc.calibration.qubits)
    qubits[0] = dataclasses.replace(qubits[0], detuning_khz=detuning_khz)
    couplers = doc.calibration.couplers
    if quiet:
        qubits = [dataclasses.replace(q, t1_us=1e9, t2_us=1e9, detuning_khz=0.0) for q in qubits]
        couplers = tuple(dataclasses.replace(c, zz_khz=0.0) for c in couplers)
    calibration = dataclasses.replace(doc.calibration, qubits=tuple(qubits), couplers=couplers)
    return dataclasses.replace(doc, calibration=calibration)


def _expected_ones(doc: TwinDocument, circuit: QuantumCircuit) -> float:
    """P(read 1): <X> of q0 after its wait is e^(-t/T2)·cos(2π·detuning·t), then readout."""
    windows = timing.idle_windows(timing.schedule(doc, circuit, QUBITS), circuit.num_qubits)
    waited = sum(end - start for start, end in windows[0])
    q = doc.calibration.qubits[0]
    t2 = min(q.t2_us, 2 * q.t1_us) * 1e-6
    x = math.exp(-waited / t2) * math.cos(2 * math.pi * q.detuning_khz * 1e3 * waited)
    ones = (1 - x) / 2
    return ones * (1 - q.readout_p10) + (1 - ones) * q.readout_p01


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("detuning_khz", "quiet"), [(10.0, False), (0.0, False), (0.0, True)], ids=str
)
def test_a_waiting_qubit_dephases_on_every_method(
    method: str, detuning_khz: float, quiet: bool
) -> None:
    doc = _with_idle(document("sc25"), detuning_khz=detuning_khz, quiet=quiet)
    circuit = _ramsey()
    expected = _expected_ones(doc, circuit)
    run = twin.LocalTwin(doc).execute(circuit, QUBITS, shots=SHOTS, seed=11, method=method)
    ones = run.counts.get("1", 0) / SHOTS
    # Four sigma of sampling, and 0.015 for the four gates' own errors.
    assert abs(ones - expected) < 4 * math.sqrt(0.25 / SHOTS) + 0.015, (ones, expected)
    if not quiet:
        assert expected > 0.1  # T2 alone (e^(-30/99)) turns 13 % of shots; the detuning more


def _pair_waiting() -> QuantumCircuit:
    """Two coupled qubits in |+> wait 30 µs together; qubit 0 is read in the X basis."""
    circuit = QuantumCircuit(2, 1)
    for q in (0, 1):
        _hadamard(circuit, q)
        circuit.delay(30, q, unit="us")
        _hadamard(circuit, q)
    circuit.measure(0, 0)
    return circuit


@pytest.mark.parametrize("method", METHODS)
def test_coupled_qubits_waiting_together_feel_their_zz_on_every_method(method: str) -> None:
    """ZZ by θ = π·zz·t leaves <X> of either qubit of |++> at cos θ (twirled: 1 - 2 sin²(θ/2))."""
    doc = _with_idle(document("sc25"), detuning_khz=0.0, quiet=True)
    zz_khz = 20.0
    couplers = tuple(
        dataclasses.replace(c, zz_khz=zz_khz if set(c.qubits) == {0, 1} else 0.0)
        for c in doc.calibration.couplers
    )
    doc = dataclasses.replace(
        doc, calibration=dataclasses.replace(doc.calibration, couplers=couplers)
    )
    circuit = _pair_waiting()
    windows = timing.idle_windows(timing.schedule(doc, circuit, [0, 1]), 2)
    together = sum(end - start for start, end in windows[0])
    x = math.cos(math.pi * zz_khz * 1e3 * together)
    q = doc.calibration.qubits[0]
    expected = (1 - x) / 2 * (1 - q.readout_p10) + (1 + x) / 2 * q.readout_p01
    run = twin.LocalTwin(doc).execute(circuit, [0, 1], shots=SHOTS, seed=5, method=method)
    ones = run.counts.get("1", 0) / SHOTS
    assert expected > 0.5
    assert abs(ones - expected) < 4 * math.sqrt(0.25 / SHOTS) + 0.015, (ones, expected)


def _rates(error: QuantumError) -> dict[str, float]:
    """Each Pauli's probability in a Pauli error (phase dropped)."""
    out: dict[str, float] = {}
    for term, p in zip(error.circuits, error.probabilities, strict=True):
        label = Pauli(term).to_label().lstrip("-i")
        out[label] = out.get(label, 0.0) + p
    return out


def test_zz_crosstalk_twirls_to_a_zz_error_of_the_rotation_s_weight() -> None:
    """The stabilizer's ZZ error has probability sin²(θ/2), so <XX> = cos θ as for the rotation."""
    theta = 0.7
    weights = _rates(noise._zz_pauli(theta))
    assert weights["ZZ"] == pytest.approx(math.sin(theta / 2) ** 2)
    assert 1 - 2 * weights["ZZ"] == pytest.approx(math.cos(theta))


def test_twirled_idle_noise_keeps_the_pauli_rates_of_the_exact_idle_channel() -> None:
    """Against the Pauli twirl of the exact channel, from Qiskit's chi matrix."""
    q = dataclasses.replace(document("sc25").calibration.qubits[3], detuning_khz=15.0)
    duration = 4e-6
    t1, t2 = q.t1_us * 1e-6, min(q.t2_us, 2 * q.t1_us) * 1e-6
    exact = thermal_relaxation_error(t1, t2, duration).compose(
        QuantumError(RZGate(2 * math.pi * 15e3 * duration))
    )
    expected, found = (
        _rates(twin_circuits.pauli_twirl(exact)),
        _rates(noise._idle_pauli(q, duration)),
    )
    for label in "XYZ":
        assert found.get(label, 0.0) == pytest.approx(expected.get(label, 0.0), abs=1e-9)
    assert found["Z"] > found["X"] > 0  # dephasing and the detuning dominate; damping shows
    assert np.isclose(sum(found.values()), 1.0)

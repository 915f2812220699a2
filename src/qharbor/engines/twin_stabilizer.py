"""A twin's Clifford circuit with Pauli noise, sampled by stim in one call.

The stabilizer method runs a Clifford circuit whose noise is written into it
as Pauli channels (:class:`qharbor.engines.twin_circuits.NoisyCircuits` with
``pauli=True``, and the twirled idle noise of
:func:`qharbor.engines.noise.with_idle_noise`). Aer's stabilizer method
simulates such a circuit one shot at a time, a tableau per shot: GHZ-72 with
4000 shots took 2 s on an idle two-core host and 11 to 16 s on a busy one.
stim compiles the circuit once and samples every shot together (a Pauli frame
per shot, 64 shots to a machine word, noise drawn in bulk) in milliseconds; its
Pauli channels draw the same errors, with the same probabilities, as Aer's.

Readout errors are not in the stim circuit: like the other trajectory methods,
the twin flips each shot's bits afterwards
(:func:`qharbor.engines.twin_sampling.flip_readout`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import stim
from qiskit import QuantumCircuit
from qiskit.quantum_info import Pauli
from qiskit_aer.noise import QuantumError

from qharbor.engines import stim as stim_engine

#: stim takes seeds below this.
_SEED_MODULUS = 2**63
#: ``rz`` by k quarter turns, up to a global phase.
_QUARTER_TURNS = ("I", "S", "Z", "S_DAG")
#: Operations with no effect on the sampled state.
_SKIP = frozenset({"barrier", "delay", "id"})


class StimTranslator:
    """Turns narrowed, noise-carrying Clifford circuits into stim circuits.

    The Pauli probabilities of each noise channel are computed once per channel
    object: the circuit writers reuse one object per gate site.
    """

    def __init__(self) -> None:
        self._channels: dict[int, tuple[QuantumError, str, list[float]]] = {}

    def translate(self, circuit: QuantumCircuit) -> tuple[stim.Circuit, list[int]]:
        """The stim circuit, and for each classical bit its measurement record (-1: none).

        Raises:
            ValueError: an operation is neither Clifford nor a Pauli channel.
        """
        out = stim.Circuit()
        record_of = [-1] * circuit.num_clbits
        records = 0
        for instruction in circuit.data:
            op = instruction.operation
            qubits = [circuit.find_bit(q).index for q in instruction.qubits]
            error = _error_of(op)
            if error is not None:
                name, arguments = self._channel(error)
                out.append(name, qubits, arguments)
            elif op.name == "measure":
                out.append("M", qubits)
                record_of[circuit.find_bit(instruction.clbits[0]).index] = records
                records += 1
            elif op.name == "reset":
                out.append("R", qubits)
            elif op.name == "rz":
                turns = round(float(op.params[0]) / (math.pi / 2)) % 4
                if turns:
                    out.append(_QUARTER_TURNS[turns], qubits)
            elif op.name not in _SKIP:
                try:
                    stim_engine.append_gate(out, op.name, qubits, op)
                except Exception as exc:
                    raise ValueError(f"the stabilizer twin cannot run {op.name!r}: {exc}") from exc
        return out, record_of

    def _channel(self, error: QuantumError) -> tuple[str, list[float]]:
        found = self._channels.get(id(error))
        if found is None:
            # The error is kept with its translation, so its id is never reused.
            found = (error, *pauli_channel(error))
            self._channels[id(error)] = found
        return found[1], found[2]


def _error_of(op: object) -> QuantumError | None:
    """The noise a circuit instruction carries, if it is one.

    A ``QuantumError`` appended to a circuit becomes Aer's ``quantum_channel``
    instruction, which holds the error (the object the circuit writer cached)
    in ``_quantum_error``, the attribute Aer's own assembler reads.
    """
    if isinstance(op, QuantumError):
        return op
    if getattr(op, "name", None) == "quantum_channel":
        error = getattr(op, "_quantum_error", None)
        if isinstance(error, QuantumError):
            return error
    return None


def pauli_channel(error: QuantumError) -> tuple[str, list[float]]:
    """A Pauli error as stim's ``PAULI_CHANNEL_1`` or ``PAULI_CHANNEL_2`` and its arguments.

    stim lists a two-qubit channel's probabilities as IX, IY, IZ, XI, ..., ZZ
    with the first letter on the first target; Qiskit's labels put qubit 0
    rightmost.

    Raises:
        ValueError: the error is not a mixture of Paulis on one or two qubits.
    """
    n = error.num_qubits
    if n not in (1, 2):
        raise ValueError(f"a Pauli channel on {n} qubits has no stim form here")
    probabilities = np.zeros(4**n)
    for term, p in zip(error.circuits, error.probabilities, strict=True):
        label = _label_of(term)
        # Codes I=0, X=1, Y=2, Z=3 per qubit; qubit k (label[-1 - k]) weighs 4**k.
        probabilities[sum("IXYZ".index(c) * 4**k for k, c in enumerate(reversed(label)))] += p
    if n == 1:
        return "PAULI_CHANNEL_1", probabilities[1:].tolist()
    # Qiskit's index is 4·code(qubit 1) + code(qubit 0); stim's is 4·code(first) + code(second).
    return "PAULI_CHANNEL_2", probabilities.reshape(4, 4).T.ravel()[1:].tolist()


def _label_of(term: QuantumCircuit) -> str:
    """The Pauli one term of a Pauli error applies, as a label without phase (qubit 0 last)."""
    if len(term.data) == 1 and term.data[0].operation.name == "pauli":
        # How pauli_error writes its terms: read the label, not the circuit.
        return str(term.data[0].operation.params[0])
    try:
        return Pauli(term).to_label().lstrip("-i")
    except Exception as exc:
        raise ValueError("the stabilizer twin runs Pauli noise only") from exc


def sample(program: stim.Circuit, record_of: Sequence[int], shots: int, seed: int) -> np.ndarray:
    """Shots of a translated circuit: one row per shot, one column per classical bit."""
    bits = np.zeros((shots, len(record_of)), dtype=np.uint8)
    written = [(clbit, record) for clbit, record in enumerate(record_of) if record >= 0]
    if not written or shots == 0:
        return bits
    sampler = program.compile_sampler(seed=seed % _SEED_MODULUS)
    records = sampler.sample(shots)
    clbits, sources = (list(column) for column in zip(*written, strict=True))
    bits[:, clbits] = records[:, sources]
    return bits

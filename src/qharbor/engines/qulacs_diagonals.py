"""Runs of diagonal gates merged into one qulacs diagonal gate, for phase-heavy circuits.

A quantum Fourier transform is mostly controlled phases (231 of the 264 gates of
QFT-22), and each of them is a pass over the whole state. Gates diagonal in the
computational basis commute with one another and with every gate on other
qubits, so a run of them on at most :data:`MERGE_QUBITS` qubits is one diagonal
gate: the product of their phases, applied in one pass. A gate on a qubit of the
run ends it; a gate on other qubits is added before it and leaves it open.

The phases are exact matrices (``rz`` keeps its ``e^{∓iθ/2}``), so state vectors
keep Qiskit's global phase.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from qulacs import gate as qgate

#: Qubits of one merged run at most: with the padding below, a diagonal of at
#: most 2^14 entries (256 KiB), which stays in cache.
MERGE_QUBITS = 10
#: The lowest qubits every merged gate also spans (its phases do not depend on
#: them). qulacs walks a diagonal gate's entries for each setting of its other
#: qubits; on high qubits alone those entries lie pages apart in the state, and
#: a 6-qubit diagonal on qubits 16-21 of 22 took 2.8 times an H gate. Spanning
#: qubits 0-3 as well makes each step a contiguous run of 16 amplitudes: as
#: fast as an H gate.
PAD_QUBITS = 4
#: Share of a circuit's gates that must be two-qubit diagonal gates (controlled
#: phases, ``cz``, ``rzz``) for the merge to pay: it replaces qulacs's light
#: optimiser, which merges other neighbours better.
PHASE_HEAVY_SHARE = 0.5
#: The two-qubit diagonal gates the share counts.
TWO_QUBIT_PHASES = frozenset({"cz", "cp", "cu1", "crz", "rzz"})


def _controlled(phase: float) -> np.ndarray:
    return np.array([0.0, 0.0, 0.0, phase])


#: name -> its phases (radians) over the basis states of its qubits, the first
#: qubit least significant, from its angles.
_PHASES: dict[str, Callable[[Sequence[float]], np.ndarray]] = {
    "z": lambda a: np.array([0.0, math.pi]),
    "s": lambda a: np.array([0.0, math.pi / 2]),
    "sdg": lambda a: np.array([0.0, -math.pi / 2]),
    "t": lambda a: np.array([0.0, math.pi / 4]),
    "tdg": lambda a: np.array([0.0, -math.pi / 4]),
    "p": lambda a: np.array([0.0, a[0]]),
    "u1": lambda a: np.array([0.0, a[0]]),
    "rz": lambda a: np.array([-a[0] / 2, a[0] / 2]),
    "cz": lambda a: _controlled(math.pi),
    "cp": lambda a: _controlled(a[0]),
    "cu1": lambda a: _controlled(a[0]),
    # Control first: the target's rz acts where the control is 1.
    "crz": lambda a: np.array([0.0, -a[0] / 2, 0.0, a[0] / 2]),
    "rzz": lambda a: np.array([-a[0] / 2, a[0] / 2, a[0] / 2, -a[0] / 2]),
}


#: The gates a run may take.
MERGED = frozenset(_PHASES)


def phases(name: str, params: Sequence[Any]) -> np.ndarray | None:
    """The phases of a diagonal gate with fixed angles, or None for any other gate."""
    make = _PHASES.get(name)
    if make is None:
        return None
    try:
        angles = [float(p) for p in params]
    except TypeError:  # a free parameter
        return None
    return make(angles)


def phase_heavy(counts: dict[str, int]) -> bool:
    """Whether a circuit with these operation counts is mostly two-qubit diagonal gates."""
    gates = sum(c for name, c in counts.items() if name not in ("measure", "barrier"))
    phased = sum(counts.get(name, 0) for name in TWO_QUBIT_PHASES)
    return gates > 0 and phased >= PHASE_HEAVY_SHARE * gates


class DiagonalRun:
    """Diagonal gates waiting to be added to a qulacs circuit as one gate.

    Args:
        add_alone: adds one gate the usual way, by its name, qubits and
            instruction; used when a run holds a single gate, which qulacs has
            a faster kernel for than for a diagonal matrix.
        width: the circuit's qubits.
    """

    def __init__(self, add_alone: Callable[[str, list[int], Any], None], width: int) -> None:
        self._add_alone = add_alone
        self._padding = range(min(PAD_QUBITS, width))
        self._qubits: list[int] = []
        self._phases = np.zeros(1)
        self._first: tuple[str, list[int], Any] | None = None
        self._count = 0

    def touches(self, qubits: Sequence[int]) -> bool:
        """Whether a gate on ``qubits`` shares a qubit with the run."""
        return bool(self._count) and not set(self._qubits).isdisjoint(qubits)

    def add(
        self, target: Any, name: str, qubits: list[int], instruction: Any, table: np.ndarray
    ) -> None:
        """Add a diagonal gate with phases ``table``, closing the run first if it is full."""
        if len(set(self._qubits).union(qubits)) > MERGE_QUBITS:
            self.close(target)
        for qubit in qubits:
            if qubit not in self._qubits:
                self._qubits.append(qubit)
                self._phases = np.concatenate([self._phases, self._phases])
        index = np.arange(len(self._phases))
        local = np.zeros_like(index)
        for bit, qubit in enumerate(qubits):
            local |= ((index >> self._qubits.index(qubit)) & 1) << bit
        self._phases += table[local]
        if not self._count:
            self._first = (name, qubits, instruction)
        self._count += 1

    def _padded(self) -> tuple[list[int], np.ndarray]:
        """The run's qubits with the lowest :data:`PAD_QUBITS`, in ascending order, and
        its phases over them."""
        qubits = sorted(set(self._qubits).union(self._padding))
        index = np.arange(1 << len(qubits))
        mine = np.zeros_like(index)
        for position, qubit in enumerate(qubits):
            if qubit in self._qubits:
                mine |= ((index >> position) & 1) << self._qubits.index(qubit)
        return qubits, self._phases[mine]

    def close(self, target: Any) -> None:
        """Add the run to the qulacs circuit ``target`` and start an empty one."""
        if self._count == 1 and self._first is not None:
            self._add_alone(*self._first)
        elif self._count:
            qubits, phases = self._padded()
            target.add_gate(qgate.DiagonalMatrix(qubits, np.exp(1j * phases)))
        self._qubits = []
        self._phases = np.zeros(1)
        self._first = None
        self._count = 0

"""Dynamical decoupling: pulse sequences in the idle periods of a compiled circuit.

The circuit is scheduled with the twin's durations (as late as possible, as its
noise is), and each period a qubit waits between two operations that can hold
the sequence gets it, with delays around the pulses that fill the period
exactly, so that the circuit's timing is unchanged. Pulses are native ``x``
gates framed by virtual ``rz`` rotations: ``Xm`` is ``rz(π)·x·rz(-π)`` and ``Y``
is ``rz(-π/2)·x·rz(π/2)``, each equal to the pulse up to a global phase.

Neighbouring qubits are decoupled in step otherwise, and ZZ crosstalk between
two qubits flipped together is not refocused; so the qubits are coloured in two
(the coupling graph of a grid is bipartite) and one colour runs the sequence
twice as often, as staggered decoupling on hardware does.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.circuit import Delay

from qharbor.devices.twins import document as documents
from qharbor.devices.twins import timing

#: Each sequence's pulses, as (axis, sign): X, Y, or X about -x.
SEQUENCES: dict[str, tuple[str, ...]] = {
    "XX": ("X", "X"),
    "XpXm": ("X", "Xm"),
    "XY4": ("X", "Y", "X", "Y"),
}


def decouple(
    document: documents.DocumentLike, circuit: QuantumCircuit, sequence: str
) -> tuple[QuantumCircuit, int]:
    """The circuit with ``sequence`` in every idle period long enough for it.

    Args:
        document: the twin document.
        circuit: a compiled circuit, on physical qubits.
        sequence: ``XX``, ``XpXm`` or ``XY4``.

    Returns:
        The decoupled circuit and how many pulses were added.
    """
    twin = documents.read(document)
    pulses = SEQUENCES[sequence]
    pulse_s = twin.gate_table().get("x", {})
    slots = timing.schedule(twin, circuit)
    windows = timing.idle_windows(slots, circuit.num_qubits)
    colour = _colouring(twin.edges, circuit.num_qubits)
    inserts: list[tuple[float, int, list[tuple[str, float]]]] = []
    added = 0
    for qubit, gaps in enumerate(windows):
        duration = pulse_s.get((qubit,), (0.0, 0.0))[1]
        if duration <= 0:
            continue
        repeat = 2 if colour[qubit] else 1
        train = pulses * repeat
        for start, end in gaps:
            free = (end - start) - len(train) * duration
            if free <= 0:
                continue
            inserts.append((start, qubit, _timed(train, free, duration)))
            added += len(train)
    if not inserts:
        return circuit, 0
    events: list[tuple[float, int, int, object]] = []
    for order, (start, qubit, items) in enumerate(inserts):
        events.append((start, 0, order, (qubit, items)))
    for slot in slots:
        events.append((slot.start_s, 1, len(inserts) + slot.index, circuit.data[slot.index]))
    out = circuit.copy_empty_like()
    for _t, kind, _o, item in sorted(events, key=lambda e: e[:3]):
        if kind == 1:
            out.append(item)
            continue
        qubit, items = item  # type: ignore[misc]
        for name, value in items:
            _emit(out, name, value, qubit)
    return out, added


def _timed(train: Sequence[str], free: float, duration: float) -> list[tuple[str, float]]:
    """Delays and pulses for one period: ``free`` seconds spread as a quarter, a half
    ..., a quarter of the spacing around ``len(train)`` pulses (Carr-Purcell)."""
    spacing = free / len(train)
    items: list[tuple[str, float]] = [("delay", spacing / 2)]
    for index, pulse in enumerate(train):
        items.append((pulse, duration))
        gap = spacing / 2 if index == len(train) - 1 else spacing
        items.append(("delay", gap))
    return items


def _emit(out: QuantumCircuit, name: str, value: float, qubit: int) -> None:
    if name == "delay":
        if value > 0:
            out.append(Delay(value, unit="s"), [qubit])
        return
    if name == "X":
        out.x(qubit)
    elif name == "Xm":
        out.rz(math.pi, qubit)
        out.x(qubit)
        out.rz(-math.pi, qubit)
    else:  # Y
        out.rz(-math.pi / 2, qubit)
        out.x(qubit)
        out.rz(math.pi / 2, qubit)


def _colouring(edges: Sequence[tuple[int, int]], num_qubits: int) -> list[int]:
    """A two-colouring of the coupling graph by breadth-first search (a best effort
    where the graph is not bipartite)."""
    neighbours: list[list[int]] = [[] for _ in range(num_qubits)]
    for a, b in edges:
        if a < num_qubits and b < num_qubits:
            neighbours[a].append(b)
            neighbours[b].append(a)
    colour = [-1] * num_qubits
    for root in range(num_qubits):
        if colour[root] >= 0:
            continue
        colour[root] = 0
        queue = deque([root])
        while queue:
            q = queue.popleft()
            for n in neighbours[q]:
                if colour[n] < 0:
                    colour[n] = 1 - colour[q]
                    queue.append(n)
    return colour

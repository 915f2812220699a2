"""The compact, engine-ready form of a plain circuit: a gate list.

A batch of small circuits spends more time building, storing and reading
``QuantumCircuit`` objects (one Python object per gate, QPY written at
admission and read in the worker) than simulating them. A plain circuit
(Qiskit standard gates with numeric angles, measurements and barriers; no
control flow, resets, custom gates or parameters) is held here as a handful of
arrays instead: an operation code per instruction, the qubits and angles of
each, the classical bit of each measurement, and the registers. An engine can
translate it directly, and :meth:`GateList.to_circuit` rebuilds the very
circuit it came from for everything that needs a ``QuantumCircuit``.

The stored form (:meth:`GateList.to_bytes`) names its operations in its own
header, so a stored job reads the same whatever gates later Qiskit versions add.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The first bytes of a stored gate list (QPY starts with ``QISKIT``).
MAGIC = b"QHGATES1"
#: Non-gate instructions a gate list holds.
MEASURE = "measure"
BARRIER = "barrier"

_HEADER = struct.Struct("<I")


def _standard() -> dict[str, Any]:
    from qiskit.circuit import Gate
    from qiskit.circuit.library import get_standard_gate_name_mapping

    return {
        name: gate
        for name, gate in get_standard_gate_name_mapping().items()
        if isinstance(gate, Gate) and gate.num_qubits > 0
    }


#: Qiskit's standard gates by name: the gates a gate list may hold.
STANDARD = _standard()
#: Per standard gate name: (qubits, angles).
SHAPES: dict[str, tuple[int, int]] = {n: (g.num_qubits, len(g.params)) for n, g in STANDARD.items()}
_ANGLES = {name: angles for name, (_qubits, angles) in SHAPES.items()}
#: Every operation name a gate list may hold.
_HOLDABLE = frozenset(SHAPES) | {MEASURE, BARRIER}


@dataclass(frozen=True, eq=False)
class GateList:
    """A plain circuit as arrays.

    Attributes:
        qregs: (name, size) of each quantum register, in declaration order;
            qubit ``i`` is the i-th bit of the registers laid end to end.
        cregs: (name, size) of each classical register, likewise.
        names: the operation names ``codes`` index.
        codes: one code per instruction, in circuit order.
        widths: the qubits of each instruction (a barrier's vary).
        qubits: every instruction's qubits, laid end to end.
        params: every gate's angles (radians), laid end to end.
        clbits: the classical bit of each measurement, in order.
    """

    qregs: tuple[tuple[str, int], ...]
    cregs: tuple[tuple[str, int], ...]
    names: tuple[str, ...]
    codes: np.ndarray
    widths: np.ndarray
    qubits: np.ndarray
    params: np.ndarray
    clbits: np.ndarray
    _counts: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tally = np.bincount(self.codes, minlength=len(self.names)) if len(self.codes) else ()
        counts = {name: int(n) for name, n in zip(self.names, tally, strict=False) if n}
        object.__setattr__(self, "_counts", counts)

    @property
    def num_qubits(self) -> int:
        return sum(size for _name, size in self.qregs)

    @property
    def num_clbits(self) -> int:
        return sum(size for _name, size in self.cregs)

    def count_ops(self) -> dict[str, int]:
        """How often each operation occurs, as ``QuantumCircuit.count_ops`` counts."""
        return dict(self._counts)

    def operations(self) -> list[tuple[str, list[int], list[float], int]]:
        """Each instruction as (name, qubits, angles, clbit); clbit is -1 but for measurements."""
        return list(self.walk())

    def walk(self) -> Iterator[tuple[str, list[int], list[float], int]]:
        """:meth:`operations` one at a time, read straight from the arrays."""
        kinds = [(name, _ANGLES.get(name, 0), name == MEASURE) for name in self.names]
        qubits = self.qubits.tolist()
        params = self.params.tolist()
        clbits = iter(self.clbits.tolist())
        q = p = 0
        for code, width in zip(self.codes.tolist(), self.widths.tolist(), strict=True):
            name, count, measure = kinds[code]
            yield (
                name,
                qubits[q : q + width],
                params[p : p + count],
                next(clbits) if measure else -1,
            )
            q += width
            p += count

    def depth(self) -> int:
        """The circuit's depth, as ``QuantumCircuit.depth`` counts it.

        A measurement is on its qubit and its classical bit; a barrier adds no
        depth but lines up the qubits it spans.
        """
        offset = self.num_qubits
        levels = [0] * (offset + self.num_clbits)
        kinds = [MEASURE if n == MEASURE else BARRIER if n == BARRIER else "" for n in self.names]
        qubits = self.qubits.tolist()
        clbits = iter(self.clbits.tolist())
        q = 0
        for code, width in zip(self.codes.tolist(), self.widths.tolist(), strict=True):
            kind = kinds[code]
            if width == 1:
                qubit = qubits[q]
                if kind is MEASURE:
                    bit = offset + next(clbits)
                    levels[qubit] = levels[bit] = max(levels[qubit], levels[bit]) + 1
                elif kind is not BARRIER:
                    levels[qubit] += 1
            else:
                targets = qubits[q : q + width]
                level = max([levels[i] for i in targets]) + (kind is not BARRIER)
                for i in targets:
                    levels[i] = level
            q += width
        return max(levels, default=0)

    def active_qubits(self) -> list[int]:
        """The qubits some operation other than a barrier acts on, in order."""
        barrier = self.names.index(BARRIER) if BARRIER in self.names else -1
        per_qubit = np.repeat(self.codes, self.widths)
        return sorted(set(self.qubits[per_qubit != barrier].tolist()))

    def to_circuit(self) -> Any:
        """The ``QuantumCircuit`` this gate list holds: the circuit it was made from."""
        from qiskit import QuantumCircuit
        from qiskit.circuit import (
            CircuitInstruction,
            ClassicalRegister,
            QuantumRegister,
        )
        from qiskit.circuit.library import Barrier, Measure

        circuit = QuantumCircuit()
        for name, size in self.qregs:
            circuit.add_register(QuantumRegister(size, name))
        for name, size in self.cregs:
            circuit.add_register(ClassicalRegister(size, name))
        qubits, clbits = circuit.qubits, circuit.clbits
        append = circuit._data.append
        for name, targets, angles, clbit in self.operations():
            bits = tuple(qubits[q] for q in targets)
            if name == MEASURE:
                append(CircuitInstruction(Measure(), bits, (clbits[clbit],)))
            elif name == BARRIER:
                append(CircuitInstruction(Barrier(len(bits)), bits))
            else:
                tag = STANDARD[name]._standard_gate
                append(CircuitInstruction.from_standard(tag, bits, list(angles)))
        return circuit

    def to_bytes(self) -> bytes:
        """The stored form: :data:`MAGIC`, a JSON header, then the arrays."""
        header = json.dumps(
            {
                "qregs": self.qregs,
                "cregs": self.cregs,
                "names": self.names,
                "sizes": [len(self.codes), len(self.qubits), len(self.params), len(self.clbits)],
            },
            separators=(",", ":"),
        ).encode()
        return b"".join(
            (
                MAGIC,
                _HEADER.pack(len(header)),
                header,
                self.codes.astype("<u2").tobytes(),
                self.widths.astype("<u2").tobytes(),
                self.qubits.astype("<u4").tobytes(),
                self.params.astype("<f8").tobytes(),
                self.clbits.astype("<u4").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> GateList:
        """The gate list :meth:`to_bytes` wrote.

        Raises:
            ValueError: the bytes are not a well-formed gate list.
        """
        if not is_gate_list(data):
            raise ValueError("not a stored gate list")
        start = len(MAGIC) + _HEADER.size
        (length,) = _HEADER.unpack_from(data, len(MAGIC))
        header = json.loads(data[start : start + length])
        ops, nq, np_, nc = (int(n) for n in header["sizes"])
        offset = start + length
        arrays = []
        for dtype, count in (("<u2", ops), ("<u2", ops), ("<u4", nq), ("<f8", np_), ("<u4", nc)):
            array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += array.nbytes
            array = array.astype(np.int64 if dtype != "<f8" else np.float64)
            # Read-only: a gate list read from storage may be shared (see jobs.parsed).
            array.setflags(write=False)
            arrays.append(array)
        if offset != len(data):
            raise ValueError("a stored gate list of the wrong length")
        gates = cls(
            tuple((str(n), int(s)) for n, s in header["qregs"]),
            tuple((str(n), int(s)) for n, s in header["cregs"]),
            tuple(str(n) for n in header["names"]),
            *arrays,
        )
        gates.validate()
        return gates

    def validate(self) -> None:
        """Check that every code, qubit, angle count and clbit is in range.

        Raises:
            ValueError: what is out of range.
        """
        if any(size < 0 for _name, size in (*self.qregs, *self.cregs)):
            raise ValueError("a register of negative size")
        for name in self.names:
            if name not in SHAPES and name not in (MEASURE, BARRIER):
                raise ValueError(f"a gate list cannot hold {name!r}")
        if len(self.codes) and int(self.codes.max()) >= len(self.names):
            raise ValueError("an operation code out of range")
        if len(self.widths) != len(self.codes) or int(self.widths.sum()) != len(self.qubits):
            raise ValueError("the qubits do not match the operations")
        if len(self.qubits) and int(self.qubits.max()) >= self.num_qubits:
            raise ValueError("a qubit out of range")
        if len(self.clbits) and int(self.clbits.max()) >= self.num_clbits:
            raise ValueError("a classical bit out of range")
        angles = measured = 0
        for name, count in self._counts.items():
            if name == MEASURE:
                measured += count
            elif name != BARRIER:
                angles += SHAPES[name][1] * count
        if angles != len(self.params) or measured != len(self.clbits):
            raise ValueError("the angles or classical bits do not match the operations")
        # A barrier spans any qubits (0 here: not checked); every other operation its own.
        expected = np.array([1 if n == MEASURE else SHAPES.get(n, (0, 0))[0] for n in self.names])
        wrong = (expected[self.codes] != self.widths) & (expected[self.codes] > 0)
        if wrong.any():
            name = self.names[int(self.codes[wrong.argmax()])]
            raise ValueError(f"{name!r} on the wrong number of qubits")


def of_circuit(circuit: Any) -> GateList | None:
    """The gate list of a plain ``QuantumCircuit``, or None for any other.

    Plain: standard gates with numeric angles, measurements and barriers only;
    no parameters, global phase, metadata or classical variables; every qubit
    and classical bit in exactly one register, the registers in bit order (so
    that :meth:`GateList.to_circuit` gives back an equal circuit).
    """
    from qiskit.circuit.library import Barrier, Measure

    if (
        circuit.num_parameters
        or circuit.num_vars
        or circuit.metadata
        or float(circuit.global_phase) != 0.0
        or not circuit.count_ops().keys() <= _HOLDABLE
    ):
        return None
    out = Builder()
    for registers, bits, kept in (
        (circuit.qregs, circuit.qubits, out.qregs),
        (circuit.cregs, circuit.clbits, out.cregs),
    ):
        if [bit for register in registers for bit in register] != list(bits):
            return None
        kept.extend((register.name, register.size) for register in registers)
    qubit_index = {bit: i for i, bit in enumerate(circuit.qubits)}
    clbit_index = {bit: i for i, bit in enumerate(circuit.clbits)}
    for instruction in circuit.data:
        name = instruction.name
        qubits = [qubit_index[q] for q in instruction.qubits]
        if name == MEASURE and instruction.operation.base_class is Measure:
            out.measure(qubits[0], clbit_index[instruction.clbits[0]])
        elif name == BARRIER and instruction.operation.base_class is Barrier:
            out.barrier(qubits)
        elif instruction.is_standard_gate() and all(type(p) is float for p in instruction.params):
            out.gate(name, qubits, instruction.params)
        else:  # a gate of another kind under a standard name, or a symbolic angle
            return None
    return out.build()


def is_gate_list(data: bytes) -> bool:
    """Whether stored circuit bytes hold a gate list (rather than QPY)."""
    return data[: len(MAGIC)] == MAGIC


class Builder:
    """Collects a circuit's instructions, in order, into a :class:`GateList`."""

    def __init__(self) -> None:
        self.qregs: list[tuple[str, int]] = []
        self.cregs: list[tuple[str, int]] = []
        self._codes: dict[str, int] = {}
        self.codes: list[int] = []
        self.widths: list[int] = []
        self.qubits: list[int] = []
        self.params: list[float] = []
        self.clbits: list[int] = []

    def _code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self._codes)
        return code

    def gate(self, name: str, qubits: Sequence[int], params: Sequence[float]) -> None:
        """Add a standard gate (the caller knows ``name`` is one, with numeric angles)."""
        code = self._codes.get(name)
        self.codes.append(code if code is not None else self._code(name))
        self.widths.append(len(qubits))
        self.qubits.extend(qubits)
        self.params.extend(params)

    def measure(self, qubit: int, clbit: int) -> None:
        self.codes.append(self._code(MEASURE))
        self.widths.append(1)
        self.qubits.append(qubit)
        self.clbits.append(clbit)

    def barrier(self, qubits: Sequence[int]) -> None:
        self.codes.append(self._code(BARRIER))
        self.widths.append(len(qubits))
        self.qubits.extend(qubits)

    def build(self) -> GateList:
        return GateList(
            tuple(self.qregs),
            tuple(self.cregs),
            tuple(self._codes),
            np.array(self.codes, dtype=np.int64),
            np.array(self.widths, dtype=np.int64),
            np.array(self.qubits, dtype=np.int64),
            np.array(self.params, dtype=np.float64),
            np.array(self.clbits, dtype=np.int64),
        )

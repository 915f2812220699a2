"""Turning an engine's raw samples into counts keyed the way Qiskit keys them.

Every engine other than Aer samples basis states (or measurement records) in
its own form. This module maps them onto the circuit's classical bits and
writes the keys as Aer does: clbit 0 rightmost, a space between classical
registers (the last register leftmost), clbits nobody wrote read as 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit


def one_register(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[list[int]]]:
    """The circuit to run so that its counts keep every classical bit, and each
    register's classical bit indices.

    When the registers are the classical bits in order, each bit in one
    register, the circuit runs as it is: its keys (registers separated by
    spaces) hold every bit once. Otherwise (registers that share bits, bits in
    no register, registers of no bits) keys split by register would lose or
    repeat bits, so it runs with one register over all its bits, and its keys
    are the whole classical state, clbit 0 rightmost.
    """
    cregs = circuit.cregs
    if len(cregs) == 1 and circuit.num_clbits and list(cregs[0]) == circuit.clbits:
        # The common case (one register over every bit), without looking each bit up.
        return circuit, [list(range(circuit.num_clbits))]
    bits = [[circuit.find_bit(bit).index for bit in register] for register in cregs]
    if [i for register in bits for i in register] == list(range(circuit.num_clbits)) and all(bits):
        return circuit, bits
    flat = QuantumCircuit(
        circuit.qubits,
        name=circuit.name,
        global_phase=circuit.global_phase,
        metadata=circuit.metadata,
    )
    if circuit.num_clbits:
        flat.add_register(ClassicalRegister(bits=circuit.clbits, name="c"))
    for instruction in circuit.data:
        flat.append(instruction)
    return flat, bits


@dataclass(frozen=True)
class Readout:
    """Where a circuit's measurements land.

    Attributes:
        pairs: (qubit or record index, clbit), in the order the circuit measures;
            a later pair for the same clbit overwrites an earlier one.
        num_clbits: the circuit's classical bits.
        creg_sizes: the sizes of its classical registers, in declaration order.
    """

    pairs: tuple[tuple[int, int], ...]
    num_clbits: int
    creg_sizes: tuple[int, ...]
    _final: dict[int, int] = field(init=False, repr=False, compare=False)
    _identity: bool = field(init=False, repr=False, compare=False)
    _plain: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Decided once per circuit, so that counting stays cheap per run.
        final = {clbit: source for source, clbit in self.pairs}
        n = self.num_clbits
        object.__setattr__(self, "_final", final)
        object.__setattr__(self, "_identity", all(final.get(c) == c for c in range(n)))
        sizes = self.creg_sizes
        object.__setattr__(self, "_plain", len(sizes) <= 1 and (not sizes or sizes[0] == n))

    @classmethod
    def of(cls, circuit: QuantumCircuit, pairs: Iterable[tuple[int, int]]) -> Readout:
        """The readout of ``circuit`` whose measurements are ``pairs``."""
        return cls(tuple(pairs), circuit.num_clbits, tuple(r.size for r in circuit.cregs))

    def counts_from_indices(self, samples: Sequence[int]) -> dict[str, int]:
        """Counts from sampled basis-state indices (qubit i is bit i of the index)."""
        if not self.pairs or self.num_clbits == 0:
            return {}
        tally = Counter(samples)
        n = self.num_clbits
        if self._identity:
            mask = (1 << n) - 1
            values: dict[int, int] = {}
            for index, count in tally.items():
                value = index & mask
                values[value] = values.get(value, 0) + count
        else:
            keys = np.fromiter(tally.keys(), dtype=np.int64, count=len(tally))
            mapped = np.zeros_like(keys)
            for clbit, qubit in self._final.items():
                mapped |= ((keys >> qubit) & 1) << clbit
            values = {}
            for value, count in zip(mapped.tolist(), tally.values(), strict=True):
                values[value] = values.get(value, 0) + count
        width = f"0{n}b"
        if self._plain:
            return {format(v, width): c for v, c in values.items()}
        return {self._key(format(v, width)): c for v, c in values.items()}

    def counts_from_records(self, records: np.ndarray) -> dict[str, int]:
        """Counts from a (shots, measurements) boolean array of measurement records."""
        if not self.pairs or self.num_clbits == 0:
            return {}
        n = self.num_clbits
        bits = np.zeros((records.shape[0], n), dtype=np.uint8)
        for clbit, record in self._final.items():
            bits[:, n - 1 - clbit] = records[:, record]
        rows, counts = np.unique(bits, axis=0, return_counts=True)
        table = np.array(["0", "1"])
        return {
            self._key("".join(table[row])): int(c)
            for row, c in zip(rows, counts.tolist(), strict=True)
        }

    def _key(self, bits: str) -> str:
        if self._plain:
            return bits
        sizes = self.creg_sizes
        # Aer's own layout: registers from the last (leftmost) to the first.
        parts, start = [], 0
        for size in reversed(sizes):
            parts.append(bits[start : start + size])
            start += size
        return " ".join(parts)

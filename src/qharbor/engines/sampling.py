"""Counts sampled from final states, block by block, without a copy of the state.

A program that asks for result types needs its final state; its counts are then
drawn from that state rather than by simulating the circuit a second time. An
engine whose own sampler copies the state (qulacs builds a cumulative
distribution of one double per amplitude: 4 GiB beside a 29-qubit state) draws
its samples here too.

The draws are sorted uniforms scaled by the state's norm. Each block of
``2^BLOCK_QUBITS`` consecutive amplitudes is weighed once (its probability
mass), and only the blocks some draw falls in are read again, to walk their
cumulative sums; nothing of the state's size is allocated. For one seed the
outcomes are those of one cumulative sum over the whole state (the block size
changes only the rounding of the sums), so counts do not depend on the block
size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from qharbor.engines.base import ExperimentOutcome
from qharbor.engines.readout import Readout

#: Qubits of one block: 2^16 amplitudes (1 MiB in double precision), so the
#: scratch beside the state (a block's amplitudes and their cumulative sum) stays
#: a few MiB whatever the width.
BLOCK_QUBITS = 16


@dataclass(frozen=True)
class Blocks:
    """A state vector read in blocks of consecutive amplitudes.

    Attributes:
        weights: the probability mass of each block (the squared norms of its
            amplitudes), in order.
        size: amplitudes per block; block ``b`` holds the amplitudes
            ``b * size`` to ``(b + 1) * size - 1``.
        read: the amplitudes of one block, as a complex array.
    """

    weights: np.ndarray
    size: int
    read: Callable[[int], np.ndarray]


def array_blocks(state: np.ndarray, block_qubits: int = BLOCK_QUBITS) -> Blocks:
    """Blocks of a state held as a NumPy vector: views of it, never copies."""
    size = min(len(state), 1 << block_qubits)
    views = [state[start : start + size] for start in range(0, len(state), size)]
    weights = np.array([np.vdot(view, view).real for view in views])
    return Blocks(weights, size, views.__getitem__)


def draw(blocks: Blocks, shots: int, seed: int) -> np.ndarray:
    """Basis-state indices of ``shots`` draws from the state's probabilities, sorted.

    Every index drawn has a non-zero probability, however the sums round.

    Args:
        blocks: the state, in blocks.
        shots: how many draws.
        seed: seeds NumPy's default generator.
    """
    cumulative = np.cumsum(blocks.weights)
    rng = np.random.default_rng(seed)
    draws = np.sort(rng.random(shots) * cumulative[-1])
    # A draw rounded up to the total belongs to the last block that has any weight.
    last_block = int(np.flatnonzero(blocks.weights)[-1])
    owners = np.minimum(np.searchsorted(cumulative, draws, side="right"), last_block)
    indices = np.empty(shots, dtype=np.int64)
    present, firsts = np.unique(owners, return_index=True)
    lasts = np.append(firsts[1:], shots)
    for block, first, last in zip(present.tolist(), firsts.tolist(), lasts.tolist(), strict=True):
        amplitudes = blocks.read(block)
        partial = np.cumsum(amplitudes.real**2 + amplitudes.imag**2)
        offset = cumulative[block - 1] if block else 0.0
        # Scaled onto this block's own sums, so a draw cannot leave the block
        # when the block's weight and its partial sums round differently.
        weight = cumulative[block] - offset
        targets = (draws[first:last] - offset) * (partial[-1] / weight)
        found = np.searchsorted(partial, targets, side="right")
        final = int(np.searchsorted(partial, partial[-1], side="left"))  # last non-zero
        indices[first:last] = block * blocks.size + np.minimum(found, final)
    return indices


def sample_states(
    circuit: QuantumCircuit, states: Sequence[Any], shots: int, seed: int, simulate_s: float
) -> list[ExperimentOutcome]:
    """Counts of the circuit's final measurements, sampled from each final state.

    The i-th state samples with ``seed + i``, as an engine's runs do; each run's
    time is ``simulate_s`` (its share of computing the states, in seconds) plus
    the sampling.

    Args:
        circuit: the circuit with its final measurements, which say which qubit
            goes to which classical bit.
        states: final state vectors in Qiskit's order, one per run.
        shots: draws per state.
        seed: the first run's seed.
        simulate_s: seconds spent computing each state.
    """
    pairs = [
        (circuit.find_bit(i.qubits[0]).index, circuit.find_bit(i.clbits[0]).index)
        for i in circuit.data
        if i.operation.name == "measure"
    ]
    readout = Readout.of(circuit, pairs)
    outcomes = []
    for slot, state in enumerate(states):
        started = time.perf_counter()
        counts: dict[str, int] = {}
        if pairs and shots:
            indices = draw(array_blocks(np.asarray(state)), shots, seed + slot)
            counts = readout.counts_from_indices(indices.tolist())
        outcomes.append(
            ExperimentOutcome(
                counts=counts,
                seed=seed + slot,
                run_s=simulate_s + time.perf_counter() - started,
            )
        )
    return outcomes

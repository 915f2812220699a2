"""Counts sampled from final states, for circuits whose states were computed anyway.

A program that asks for result types needs its final state; its counts are then
drawn from that state rather than by simulating the circuit a second time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from qharbor.engines.base import ExperimentOutcome
from qharbor.engines.readout import Readout


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
            cumulative = np.cumsum(np.abs(np.asarray(state)) ** 2)
            rng = np.random.default_rng(seed + slot)
            draws = rng.random(shots) * cumulative[-1]
            indices = np.minimum(np.searchsorted(cumulative, draws, side="right"), len(state) - 1)
            counts = readout.counts_from_indices(indices.tolist())
        outcomes.append(
            ExperimentOutcome(
                counts=counts,
                seed=seed + slot,
                run_s=simulate_s + time.perf_counter() - started,
            )
        )
    return outcomes

"""The thread budget every engine reads before a run."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit

from qharbor.engines import aer, threads


def wide(qubits: int) -> QuantumCircuit:
    circuit = QuantumCircuit(qubits)
    circuit.h(range(qubits))
    return circuit


def test_omp_num_threads_caps_the_threads_of_a_wide_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    monkeypatch.delenv(threads.BUDGET_ENV, raising=False)
    assert threads.threads_for(20) == 4
    monkeypatch.setenv(threads.BUDGET_ENV, "1")
    assert threads.threads_for(20) == 1
    monkeypatch.setenv(threads.BUDGET_ENV, "16")  # never more than the cores
    assert threads.threads_for(20) == 4
    monkeypatch.setenv(threads.BUDGET_ENV, "not a number")
    assert threads.threads_for(20) == 4
    assert threads.threads_for(5) == 1


def test_aer_runs_a_wide_circuit_on_the_budget_not_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setenv(threads.BUDGET_ENV, "1")
    assert aer._thread_options([wide(threads.PARALLEL_QUBITS)]) == {"max_parallel_threads": 1}
    monkeypatch.delenv(threads.BUDGET_ENV)
    assert aer._thread_options([wide(threads.PARALLEL_QUBITS)]) == {"max_parallel_threads": 2}

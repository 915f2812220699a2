"""The circuit worker's shortcuts agree with Qiskit's own answers."""

from __future__ import annotations

import random

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit.random import random_circuit

from qharbor.engines.readout import one_register
from qharbor.workers.circuits import circuit_depth
from qharbor.workers.compiler import operation_names


def _with_directives(seed: int) -> QuantumCircuit:
    """A random circuit with barriers, delays and resets sprinkled in."""
    rng = random.Random(seed)
    circuit = random_circuit(5, 6, measure=True, reset=True, seed=seed)
    for _ in range(3):
        position = rng.randrange(len(circuit.data) + 1)
        qubits = rng.sample(range(5), rng.randint(1, 5))
        kind = rng.choice(["barrier", "delay", "reset"])
        if kind == "barrier":
            circuit.data.insert(position, circuit.barrier(*qubits)[0])
            circuit.data.pop()
        else:
            getattr(circuit, kind)(*([10, qubits[0]] if kind == "delay" else [qubits[0]]))
    return circuit


@pytest.mark.parametrize("seed", range(40))
def test_depth_is_qiskits_depth(seed: int) -> None:
    plain = random_circuit(6, 10, measure=True, reset=seed % 2 == 0, seed=seed)
    mixed = _with_directives(seed)
    assert circuit_depth(plain) == plain.depth()
    assert circuit_depth(mixed) == mixed.depth()


def test_depth_of_a_circuit_with_control_flow_is_qiskits_depth() -> None:
    circuit = QuantumCircuit(2, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(1)
    circuit.barrier()
    assert circuit_depth(circuit) == circuit.depth()


def test_operation_names_reach_into_control_flow() -> None:
    circuit = QuantumCircuit(2, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.sx(1)
    assert operation_names(circuit) == {"h", "measure", "if_else", "sx"}


def test_one_register_over_every_bit_runs_as_it_is() -> None:
    circuit = QuantumCircuit(3, 3)
    runnable, bits = one_register(circuit)
    assert runnable is circuit
    assert bits == [[0, 1, 2]]


def test_registers_that_split_or_skip_bits_run_as_one_register() -> None:
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    split = QuantumCircuit(QuantumRegister(2), b, a)
    runnable, bits = one_register(split)
    assert bits == [[0, 1], [2]]
    assert runnable is split
    empty = QuantumCircuit(QuantumRegister(1), ClassicalRegister(0, "e"))
    runnable, bits = one_register(empty)
    assert bits == [[]]
    assert runnable is not empty

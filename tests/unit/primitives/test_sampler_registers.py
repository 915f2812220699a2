"""Sampler registers read as Qiskit reads them, for layouts drawn at random.

Each circuit flips a random set of qubits and measures a random subset of them
into random classical bits, so every shot is the same; the registers are random
subsets of those bits (some shared, some empty, some never written). The centre's
counts, split per register, must equal what ``StatevectorSampler`` returns.
"""

from __future__ import annotations

import base64
import io
import random

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qpy
from qiskit.circuit import Clbit
from qiskit.primitives import StatevectorSampler

from qharbor.devices import default_catalogue
from qharbor.engines import get_engine
from qharbor.jobs.checks import parse_pub
from qharbor.primitives import prepare_pubs
from qharbor.primitives.sampler import run_sampler
from qharbor.workers.compiler import compile_for

DEVICE = default_catalogue().get("statevector")
SHOTS = 3


def random_circuit(rng: random.Random) -> QuantumCircuit:
    qubits = rng.randint(1, 4)
    bits = [Clbit() for _ in range(rng.randint(0, 5))]
    qc = QuantumCircuit(QuantumRegister(qubits, "q"), bits)
    for index in range(rng.randint(0, 3)):
        chosen = rng.sample(bits, rng.randint(0, len(bits)))
        qc.add_register(ClassicalRegister(bits=chosen, name=f"r{index}"))
    for qubit in range(qubits):
        if rng.random() < 0.5:
            qc.x(qubit)
    for clbit in bits:
        if rng.random() < 0.6:
            qc.measure(rng.randrange(qubits), clbit)
    return qc


def qpy_text(circuit: QuantumCircuit) -> str:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize("seed", range(30))
def test_registers_match_statevector_sampler(seed: int) -> None:
    circuit = random_circuit(random.Random(seed))
    pubs = prepare_pubs(
        "sampler",
        [{"circuit": qpy_text(circuit), "format": "qpy"}],
        DEVICE,
        shots=SHOTS,
        precision=None,
        max_program_bytes=100_000,
        max_experiments=10,
        parse=parse_pub,
    ).payload["pubs"]
    [result] = run_sampler(DEVICE, get_engine("aer"), pubs, seed, compile_for)
    [counts] = result["counts"]
    assert [r["name"] for r in result["registers"]] == [r.name for r in circuit.cregs]
    [(key, shots)] = counts.items()
    assert shots == SHOTS
    parts = key.split(" ")[::-1] if circuit.cregs else []  # no registers: the key is ""
    ours = dict(zip([r.name for r in circuit.cregs], parts, strict=True))
    if not circuit.cregs:
        with pytest.warns(UserWarning, match="no output classical registers"):
            StatevectorSampler().run([circuit], shots=SHOTS).result()
        return
    data = StatevectorSampler().run([circuit], shots=SHOTS).result()[0].data
    for register in circuit.cregs:
        if register.size:
            [(theirs, _)] = getattr(data, register.name).get_counts().items()
            assert ours[register.name] == theirs, register.name
        else:
            assert ours[register.name] == ""

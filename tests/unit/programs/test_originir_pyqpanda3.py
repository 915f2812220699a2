"""OriginIR as pyqpanda3 writes it, run here and on pyqpanda3's own CPUQVM.

Programs are built with pyqpanda3's API (every gate it can write, ``.dagger()``,
``.control()``, circuit blocks, QIF and QWHILE), turned into text by its
writer, read by our parser, and compared with the state (global phase
included) or the counts pyqpanda3's simulator gives for the same ``QProg``.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqpanda3.intermediate_compiler as ic
import pytest
from pyqpanda3 import core
from qiskit.quantum_info import Operator, Statevector

from qharbor.devices import default_catalogue
from qharbor.engines import Experiment, get_engine
from qharbor.programs import parse_program
from qharbor.workers.compiler import compile_for
from tests.unit.programs import origin_reference

Maker = Callable[..., Any]

#: pyqpanda3 gate functions: (qubits, angles, maker). MS is left out: pyqpanda3
#: writes it but its own parser refuses it.
GATES: dict[str, tuple[int, int, Maker]] = {
    "H": (1, 0, core.H),
    "T": (1, 0, core.T),
    "S": (1, 0, core.S),
    "X": (1, 0, core.X),
    "Y": (1, 0, core.Y),
    "Z": (1, 0, core.Z),
    "I": (1, 0, core.I),
    "ECHO": (1, 1, core.ECHO),
    "IDLE": (1, 1, core.IDLE),
    "X1": (1, 0, core.X1),
    "Y1": (1, 0, core.Y1),
    "Z1": (1, 0, core.Z1),
    "RX": (1, 1, core.RX),
    "RY": (1, 1, core.RY),
    "RZ": (1, 1, core.RZ),
    "P": (1, 1, core.P),
    "U1": (1, 1, core.U1),
    "U2": (1, 2, core.U2),
    "U3": (1, 3, core.U3),
    "U4": (1, 4, core.U4),
    "RPHI": (1, 2, core.RPHI),
    "CNOT": (2, 0, core.CNOT),
    "CZ": (2, 0, core.CZ),
    "SWAP": (2, 0, core.SWAP),
    "ISWAP": (2, 0, core.ISWAP),
    "SQISWAP": (2, 0, core.SQISWAP),
    "CR": (2, 1, core.CR),
    "CP": (2, 1, core.CP),
    "CRX": (2, 1, core.CRX),
    "CRY": (2, 1, core.CRY),
    "CRZ": (2, 1, core.CRZ),
    "RXX": (2, 1, core.RXX),
    "RYY": (2, 1, core.RYY),
    "RZZ": (2, 1, core.RZZ),
    "RZX": (2, 1, core.RZX),
    "CU": (2, 4, core.CU),
    "TOFFOLI": (3, 0, core.TOFFOLI),
}

QUBITS = 5


def _gate(rng: random.Random, name: str, qubits: list[int]) -> Any:
    arity, angles, maker = GATES[name]
    args = [rng.uniform(-2 * math.pi, 2 * math.pi) for _ in range(angles)]
    if name == "IDLE":
        args = [float(rng.randint(1, 500))]  # nanoseconds
    return maker(*qubits[:arity], *args)


def _prepare(rng: random.Random, program: Any) -> None:
    """A random product state, so controls and phases are all visible."""
    for q in range(QUBITS):
        program << core.RY(q, rng.uniform(0, math.pi)) << core.RZ(q, rng.uniform(0, math.pi))


def _assert_same_state(program: Any, label: str) -> str:
    text = origin_reference.qprog_text(program)
    circuit = parse_program(text, "originir").circuit
    ours = Statevector(circuit).data
    theirs = origin_reference.qprog_statevector(program)
    width = circuit.num_qubits
    # The writer declares only the qubits the program uses; pad ours with |0>.
    if theirs.size > ours.size:
        ours = np.kron(np.eye(theirs.size // ours.size)[:, 0], ours)
    assert theirs.size == 2**width or theirs.size == ours.size, label
    assert np.allclose(ours, theirs, atol=1e-9), f"{label}: states differ\n{text}"
    return text


@pytest.mark.parametrize("name", sorted(GATES))
def test_every_gate_form_matches_cpuqvm_including_global_phase(name: str) -> None:
    rng = random.Random(name)
    arity = GATES[name][0]
    for form in ("plain", "dagger", "control", "control_dagger", "two_controls"):
        order = rng.sample(range(QUBITS), QUBITS)
        targets, spare = order[:arity], order[arity:]
        program = core.QProg(QUBITS)
        _prepare(rng, program)
        gate = _gate(rng, name, targets)
        if form == "dagger":
            gate = gate.dagger()
        elif form == "control":
            gate = gate.control(spare[0])
        elif form == "control_dagger":
            gate = gate.control(spare[0]).dagger()
        elif form == "two_controls":
            gate = gate.control(spare[:2])
        program << gate
        _assert_same_state(program, f"{name} {form}")


def _random_circuit(rng: random.Random, depth: int, nesting: int) -> Any:
    circuit = core.QCircuit()
    for _ in range(depth):
        if nesting and rng.random() < 0.15:
            block = _random_circuit(rng, rng.randint(1, 4), nesting - 1)
            choice = rng.random()
            if choice < 0.35:
                block = block.dagger()
            elif choice < 0.7:
                used = set(block.qubits())
                free = [q for q in range(QUBITS) if q not in used]
                if free:
                    block = block.control(rng.sample(free, rng.randint(1, min(2, len(free)))))
            circuit << block
            continue
        name = rng.choice(sorted(GATES))
        qubits = rng.sample(range(QUBITS), GATES[name][0])
        gate = _gate(rng, name, qubits)
        if rng.random() < 0.2:
            gate = gate.dagger()
        free = [q for q in range(QUBITS) if q not in qubits]
        if rng.random() < 0.2 and free:
            gate = gate.control(rng.choice(free))
        circuit << gate
        if rng.random() < 0.05:
            circuit << core.BARRIER(rng.sample(range(QUBITS), rng.randint(1, QUBITS)))
    return circuit


@pytest.mark.parametrize("seed", range(24))
def test_random_programs_match_cpuqvm(seed: int) -> None:
    rng = random.Random(seed)
    program = core.QProg(QUBITS)
    _prepare(rng, program)
    program << _random_circuit(rng, 30, 2)
    _assert_same_state(program, f"seed {seed}")


SHOTS = 4000


def _aer_counts(text: str) -> dict[str, int]:
    device = default_catalogue(100_000).get("statevector")
    compiled = compile_for(device, parse_program(text, "originir").circuit, 11)
    outcome = get_engine("aer").run(
        [Experiment(compiled)], method="statevector", shots=SHOTS, seed=11
    )
    return outcome[0][0].counts


def _measured_only(counts: dict[str, int], clbits: list[int]) -> dict[str, int]:
    """Our counts (every classical bit, c[0] rightmost) keyed the way CPUQVM keys them."""
    out: dict[str, int] = {}
    for bits, n in counts.items():
        bits = bits.replace(" ", "")
        key = "".join(bits[-1 - c] for c in sorted(clbits, reverse=True))
        out[key] = out.get(key, 0) + n
    return out


def _dynamic_programs() -> dict[str, tuple[Any, list[int]]]:
    def qif_else() -> Any:
        p = core.QProg(3)
        p << core.RY(0, 1.1) << core.measure(0, 0)
        p << core.qif([0]).then(core.QProg() << core.X(1)).qelse(core.QProg() << core.H(2))
        return p << core.measure(1, 1) << core.measure(2, 2)

    def qif_two_bits() -> Any:
        p = core.QProg(3)
        p << core.H(0) << core.H(1) << core.measure(0, 0) << core.measure(1, 1)
        p << core.qif([0, 1]).then(core.QProg() << core.X(2)).qelse(core.QProg() << core.I(2))
        return p << core.measure(2, 2)

    def qwhile_until_zero() -> Any:
        p = core.QProg(2)
        p << core.X(0) << core.measure(0, 0)
        body = core.QProg() << core.RY(0, 1.2) << core.X(1) << core.measure(0, 0)
        return p << core.qwhile([0]).loop(body) << core.measure(1, 1)

    def controlled_blocks_then_measure() -> Any:
        p = core.QProg(3)
        block = core.QCircuit() << core.H(0) << core.CNOT(0, 1) << core.T(1)
        p << core.H(2) << block.control([2]) << block.dagger() << core.ECHO(1, 0.7)
        return p << core.measure([0, 1, 2], [0, 1, 2])

    return {
        "qif_else": (qif_else(), [0, 1, 2]),
        "qif_two_bits": (qif_two_bits(), [0, 1, 2]),
        "qwhile_until_zero": (qwhile_until_zero(), [0, 1]),
        "controlled_blocks_then_measure": (controlled_blocks_then_measure(), [0, 1, 2]),
    }


@pytest.mark.parametrize("name", sorted(_dynamic_programs()))
def test_programs_with_measurement_match_cpuqvm_counts(name: str) -> None:
    program, clbits = _dynamic_programs()[name]
    text = origin_reference.qprog_text(program)
    theirs = origin_reference.qprog_counts(program, SHOTS)
    ours = _measured_only(_aer_counts(text), clbits)
    keys = set(theirs) | set(ours)
    tvd = 0.5 * sum(abs(theirs.get(k, 0) - ours.get(k, 0)) / SHOTS for k in keys)
    # Two samples of SHOTS each: the distance between them stays well under this.
    assert tvd < 0.05, f"{name}: ours {ours} vs pyqpanda3 {theirs}\n{text}"


def _within_sampling_error(expected: dict[str, float], counts: dict[str, int]) -> bool:
    shots = sum(counts.values())
    keys = set(expected) | set(counts)
    tvd = 0.5 * sum(abs(expected.get(k, 0.0) - counts.get(k, 0) / shots) for k in keys)
    # Five standard deviations of the sampled total variation, summed over outcomes.
    bound = 0.5 * sum(5 * math.sqrt(max(0.0, p * (1 - p)) / shots) for p in expected.values())
    return tvd <= bound + 1e-3


@pytest.mark.parametrize("seed", range(8))
def test_random_programs_with_mid_circuit_measurement_and_qif(seed: int) -> None:
    rng = random.Random(1000 + seed)
    qubits = 4
    program = core.QProg(QUBITS)
    program << _random_circuit(rng, 12, 1)
    conditions = rng.sample(range(qubits), rng.randint(1, 2))
    for k, q in enumerate(conditions):
        program << core.measure(q, qubits + k)
    then, other = _random_circuit(rng, 6, 1), _random_circuit(rng, 6, 1)
    # Every qubit appears in each branch, so the writer keeps the program's width.
    for branch in (then, other):
        for q in range(QUBITS):
            branch << core.I(q)
    cbits = [qubits + k for k in range(len(conditions))]
    program << core.qif(cbits).then(core.QProg(then)).qelse(core.QProg(other))
    program << core.measure(list(range(qubits)), list(range(qubits)))
    text = origin_reference.qprog_text(program)
    expected = origin_reference.exact_distribution(text)
    # The exact reference agrees with pyqpanda3's own sampler...
    theirs = origin_reference.qprog_counts(program, SHOTS)
    assert _within_sampling_error(expected, theirs), f"reference vs CPUQVM\n{text}"
    # ...and with our reading of the text, run on Aer.
    ours = _aer_counts(text)
    assert _within_sampling_error(expected, ours), f"{ours} vs {expected}\n{text}"


# Text pyqpanda3's own parser accepts, beyond what its writer produces.
ACCEPTED = {
    "lower_case_pi": "QINIT 1\nCREG 1\nRX q[0],(pi/3)\n",
    "power": "QINIT 1\nCREG 1\nRX q[0],(2^3^2/100)\nRY q[0],(-2^2)\nRZ q[0],(2*3^2/10)\n",
    "negative_power": "QINIT 1\nCREG 1\nRX q[0],(2^-1)\n",
    "signs": "QINIT 1\nCREG 1\nRX q[0],(1--1)\nRY q[0],(2*-1)\nRZ q[0],(1 - 2)\n",
    "spacing": "QINIT 2\nCREG 1\n  H  q [ 0 ]\n\tCNOT q[0], q[1]\nRX q[1], ( 0.5 )\n",
    "broadcast_with_angle": "QINIT 3\nCREG 1\nRX q,(0.3)\nECHO q\nX1 q\n",
    "echo_and_idle": "QINIT 1\nCREG 1\nH q[0]\nECHO q[0],(PI)\nIDLE q[0],(40)\n",
    "rphi_spellings": "QINIT 1\nCREG 1\nRPhi q[0],(0.1,0.2)\nRPHI q[0],(0.3,0.4)\n",
    "qgate": (
        "QINIT 3\nCREG 1\nQGATE foo a,b,(theta,phi)\nRX a,(theta*2+phi)\nCNOT b,a\n"
        "ENDQGATE\nfoo q[1],q[2],(0.5,0.1)\nfoo q[0],q[1],(PI,-1)\n"
    ),
    "qgate_nested": (
        "QINIT 2\nCREG 1\nQGATE bar a\nH a\nT a\nENDQGATE\nQGATE Foo a,b\nbar a\nCNOT a,b\n"
        "ENDQGATE\nFoo q[0],q[1]\nFoo q[1],q[0]\n"
    ),
    "qgate_under_modifiers": (
        "QINIT 3\nCREG 1\nQGATE foo a,b\nS a\nCNOT a,b\nENDQGATE\nH q[2]\nDAGGER\nfoo q[0],q[1]\n"
        "ENDDAGGER\nCONTROL q[2]\nfoo q[1],q[0]\nENDCONTROL\n"
    ),
    "creg_before_qinit": "CREG 1\nQINIT 2\nH q[0]\nCNOT q[0],q[1]\n",
    "barrier_repeats_a_qubit": "QINIT 2\nCREG 1\nH q[0]\nBARRIER q[0],q[0],q[1]\nH q[1]\n",
    "controls_in_any_order": "QINIT 3\nCREG 1\nH q\nCONTROL q[2],q[1]\nH q[0]\nENDCONTROL\n",
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_text_pyqpanda3_accepts_is_read_with_its_meaning(name: str) -> None:
    source = ACCEPTED[name]
    theirs = Operator(origin_reference.unitary(source))
    ours = Operator(parse_program(source, "originir").circuit)
    if theirs.dim != ours.dim:  # pyqpanda3 drops qubits the program never touches
        pytest.fail(f"{name}: widths differ, {ours.dim} vs {theirs.dim}")
    assert ours.equiv(theirs, atol=1e-9), name


@pytest.mark.parametrize(
    ("body", "expected"), [("RESET q[0]\nX q[0]", "0"), ("X q[0]\nRESET q[0]", "1")]
)
def test_reset_under_dagger_stays_a_reset_in_reversed_order(body: str, expected: str) -> None:
    source = f"QINIT 1\nCREG 1\nDAGGER\n{body}\nENDDAGGER\nMEASURE q[0],c[0]\n"
    theirs = origin_reference.qprog_counts(ic.convert_originir_string_to_qprog(source), 200)
    assert theirs == {expected: 200}
    assert _aer_counts(source) == {expected: SHOTS}


def test_the_formats_doc_example_is_read_by_both_parsers() -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "formats.md"
    found = re.search(r"```text\n(QINIT.*?)```", doc.read_text(), re.DOTALL)
    assert found is not None
    ic.convert_originir_string_to_qprog(found[1])
    circuit = parse_program(found[1], "originir").circuit
    assert {"if_else", "measure"} <= set(circuit.count_ops())

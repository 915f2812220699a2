"""OriginIR: our translation against pyqpanda3, Origin's own implementation."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Operator

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import Experiment, get_engine
from qharbor.programs import parse_program
from qharbor.workers.compiler import compile_for
from tests.unit.programs import origin_reference


def _program(n: int, body: str, clbits: int = 0) -> str:
    head = f"QINIT {n}\n" + (f"CREG {clbits}\n" if clbits else "")
    return head + body.strip() + "\n"


# Straight-line programs: compared by unitary, up to a global phase.
UNITARY_PROGRAMS = {
    "single_qubit_gates": _program(1, "H q[0]\nT q[0]\nS q[0]\nX q[0]\nY q[0]\nZ q[0]\nI q[0]"),
    "half_turns": _program(1, "X1 q[0]\nY1 q[0]\nZ1 q[0]"),
    "rotations": _program(1, "RX q[0],(0.3)\nRY q[0],(-1.2)\nRZ q[0],(2.5)"),
    "u1": _program(1, "H q[0]\nU1 q[0],(0.7)"),
    "u2": _program(1, "U2 q[0],(0.1,0.2)"),
    "u3": _program(1, "U3 q[0],(0.4,1.1,-0.6)"),
    "u4": _program(1, "U4 q[0],(0.1,0.2,0.3,0.4)"),
    "rphi": _program(1, "RPhi q[0],(0.9,0.25)"),
    "pi_expressions": _program(1, "RX q[0],(PI/2)\nRZ q[0],(-PI/4+0.1)\nRY q[0],(2*PI/3)"),
    "cnot": _program(2, "H q[0]\nCNOT q[0],q[1]"),
    "cnot_reversed": _program(2, "H q[1]\nCNOT q[1],q[0]"),
    "cz": _program(2, "H q[0]\nH q[1]\nCZ q[0],q[1]"),
    "cr": _program(2, "H q[0]\nH q[1]\nCR q[0],q[1],(0.8)"),
    "iswap": _program(2, "H q[0]\nISWAP q[0],q[1]"),
    "sqiswap": _program(2, "H q[0]\nRY q[1],(0.4)\nSQISWAP q[0],q[1]"),
    "swap": _program(2, "X q[0]\nRY q[1],(0.3)\nSWAP q[0],q[1]"),
    "cu": _program(2, "H q[0]\nCU q[0],q[1],(0.1,0.2,0.3,0.4)"),
    "cu_reversed": _program(2, "H q[1]\nCU q[1],q[0],(1.1,-0.2,0.7,0.5)"),
    "toffoli": _program(3, "H q[0]\nH q[1]\nTOFFOLI q[0],q[1],q[2]"),
    "dagger_block": _program(2, "H q[0]\nDAGGER\nS q[0]\nT q[1]\nCNOT q[0],q[1]\nENDDAGGER"),
    "dagger_of_u4": _program(1, "DAGGER\nU4 q[0],(0.5,0.6,0.7,0.8)\nENDDAGGER"),
    "control_block": _program(3, "H q[0]\nH q[2]\nCONTROL q[2]\nX q[0]\nRY q[1],(0.5)\nENDCONTROL"),
    "control_two": _program(3, "H q[0]\nH q[1]\nCONTROL q[0],q[1]\nH q[2]\nENDCONTROL"),
    "control_of_u4": _program(2, "H q[1]\nCONTROL q[1]\nU4 q[0],(0.3,0.2,0.1,0.9)\nENDCONTROL"),
    "dagger_in_control": _program(
        3, "H q[2]\nCONTROL q[2]\nDAGGER\nS q[0]\nISWAP q[0],q[1]\nENDDAGGER\nENDCONTROL"
    ),
    "control_in_dagger": _program(
        2, "H q[0]\nDAGGER\nCONTROL q[0]\nT q[1]\nRX q[1],(0.2)\nENDCONTROL\nENDDAGGER"
    ),
    "broadcast": _program(3, "H q\nX q[1]\nT q"),
    "barrier": _program(2, "H q[0]\nBARRIER q[0],q[1]\nCNOT q[0],q[1]\nBARRIER q"),
    "rxx_family": _program(
        2, "H q[0]\nRXX q[0],q[1],(0.3)\nRYY q[0],q[1],(0.4)\nRZZ q[0],q[1],(0.5)"
    ),
    "rzx": _program(2, "H q[0]\nRZX q[0],q[1],(0.6)"),
    "controlled_rotations": _program(
        2,
        "H q[0]\nCRX q[0],q[1],(0.3)\nCRY q[0],q[1],(0.4)\nCRZ q[0],q[1],(0.5)\nCP q[0],q[1],(0.6)",
    ),
    "echo_and_comments": _program(2, "// prepare\nH q[0] // a comment\nECHO q[1]\nCNOT q[0],q[1]"),
    "ghz5": _program(5, "H q[0]\n" + "\n".join(f"CNOT q[{i}],q[{i + 1}]" for i in range(4))),
}

# Programs with measurement, RESET or classical control: compared by exact distribution.
BRANCH_PROGRAMS = {
    "measure_all": _program(2, "H q[0]\nCNOT q[0],q[1]\nMEASURE q,c", clbits=2),
    "qif": _program(
        2, "H q[0]\nMEASURE q[0],c[0]\nQIF c[0]\nX q[1]\nQENDIF\nMEASURE q[1],c[1]", clbits=2
    ),
    "qif_qelse": _program(
        3,
        "RY q[0],(1.1)\nMEASURE q[0],c[0]\nQIF c[0]\nX q[1]\nQELSE\nH q[2]\nQENDIF\n"
        "MEASURE q[1],c[1]\nMEASURE q[2],c[2]",
        clbits=3,
    ),
    "qif_negated": _program(
        2, "H q[0]\nMEASURE q[0],c[0]\nQIF !c[0]\nH q[1]\nQENDIF\nMEASURE q[1],c[1]", clbits=2
    ),
    "qwhile_repeat_until_one": _program(
        1, "H q[0]\nMEASURE q[0],c[0]\nQWHILE !c[0]\nH q[0]\nMEASURE q[0],c[0]\nQENDWHILE", 1
    ),
    "qwhile_counts_down": _program(
        2,
        "X q[0]\nMEASURE q[0],c[0]\nQWHILE c[0]\nRY q[0],(1.2)\nMEASURE q[0],c[0]\nX q[1]\n"
        "QENDWHILE\nMEASURE q[1],c[1]",
        clbits=2,
    ),
    "reset": _program(2, "H q[0]\nH q[1]\nRESET q[0]\nMEASURE q,c", clbits=2),
    "reset_after_entangling": _program(
        2, "H q[0]\nCNOT q[0],q[1]\nRESET q[0]\nH q[0]\nMEASURE q[0],c[0]\nMEASURE q[1],c[1]", 2
    ),
}

SHOTS = 20_000


def _statevector_run(source: str) -> dict[str, int]:
    device = default_catalogue(100_000).get("statevector")
    program = parse_program(source, "originir")
    compiled = compile_for(device, program.circuit, 7)
    outcome = get_engine("aer").run(
        [Experiment(compiled)], method="statevector", shots=SHOTS, seed=7
    )
    return outcome[0][0].counts


def test_the_corpus_has_thirty_programs_or_more() -> None:
    assert len(UNITARY_PROGRAMS) + len(BRANCH_PROGRAMS) >= 30


@pytest.mark.parametrize("name", sorted(UNITARY_PROGRAMS))
def test_unitary_matches_pyqpanda3(name: str) -> None:
    source = UNITARY_PROGRAMS[name]
    ours = Operator(parse_program(source, "originir").circuit)
    theirs = Operator(origin_reference.unitary(source))
    assert ours.equiv(theirs, atol=1e-7), f"{name}: unitaries differ beyond a global phase"


@pytest.mark.parametrize("name", sorted(BRANCH_PROGRAMS))
def test_distribution_matches_exact_branch_enumeration(name: str) -> None:
    source = BRANCH_PROGRAMS[name]
    expected = origin_reference.exact_distribution(source)
    counts = _statevector_run(source)
    keys = set(expected) | set(counts)
    tvd = 0.5 * sum(abs(expected.get(k, 0.0) - counts.get(k, 0) / SHOTS) for k in keys)
    # Five standard deviations of the sampled total variation, summed over outcomes.
    bound = 0.5 * sum(5 * np.sqrt(max(0.0, p * (1 - p)) / SHOTS) for p in expected.values())
    bound += 1e-3
    assert tvd <= bound, f"{name}: {counts} vs {expected}"


def test_controlled_global_phase_of_u4_is_kept() -> None:
    # A lost global phase would be invisible alone but relative under CONTROL.
    source = _program(2, "H q[1]\nCONTROL q[1]\nU4 q[0],(1.0,0,0,0)\nENDCONTROL")
    ours = Operator(parse_program(source, "originir").circuit)
    assert ours.equiv(Operator(origin_reference.unitary(source)))
    plain = Operator(parse_program(_program(2, "H q[1]"), "originir").circuit)
    assert not ours.equiv(plain)


@pytest.mark.parametrize(
    ("source", "code", "line"),
    [
        ("H q[0]\n", "PROGRAM_SYNTAX", 1),
        ("QINIT 2\nH q[5]\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 2\nCNOT q[0]\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nRX q[0],(1.0,2.0)\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nFOO q[0]\n", "PROGRAM_UNSUPPORTED", 2),
        ("QINIT 1\nCREG 1\nDAGGER\nMEASURE q[0],c[0]\nENDDAGGER\n", "PROGRAM_UNSUPPORTED", 4),
        ("QINIT 2\nCREG 2\nH q[c[0]]\n", "PROGRAM_UNSUPPORTED", 3),
        ("QINIT 1\nCREG 1\nQIF c[0]+c[0]\nX q[0]\nQENDIF\n", "PROGRAM_UNSUPPORTED", 3),
        ("QINIT 1\nDAGGER\nH q[0]\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nENDCONTROL\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 2\nCONTROL q[0]\nX q[0]\nENDCONTROL\n", "PROGRAM_SYNTAX", 3),
        ("QINIT 1\nRX q[0],(1/0)\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nRX q[0],((-2)^0.5)\n", "PROGRAM_PARAMETERS", 2),
        ("QINIT 1\nRX q[0],(theta)\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nI q[0],(0.5)\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nIDLE q[0]\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 2\nCREG 1\nCONTROL q[1]\nRESET q[0]\nENDCONTROL\n", "PROGRAM_UNSUPPORTED", 4),
        ("QINIT 1\nQGATE foo a\nH a\n", "PROGRAM_SYNTAX", 2),
        (
            "QINIT 1\nCREG 1\nQGATE foo a\nMEASURE a,c[0]\nENDQGATE\nfoo q[0]\n",
            "PROGRAM_UNSUPPORTED",
            4,
        ),
        ("QINIT 2\nQGATE foo a,(t)\nRX a,(t)\nENDQGATE\nfoo q[0]\n", "PROGRAM_SYNTAX", 5),
        ("QINIT 2\nQGATE foo a\nH b\nENDQGATE\nfoo q[0]\n", "PROGRAM_SYNTAX", 3),
        ("QINIT 1\nQGATE H a\nX a\nENDQGATE\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nQGATE foo a,a\nX a\nENDQGATE\n", "PROGRAM_SYNTAX", 2),
        ("QINIT 1\nQGATE foo q\nX q\nENDQGATE\n", "PROGRAM_SYNTAX", 2),
    ],
)
def test_bad_programs_name_their_line(source: str, code: str, line: int) -> None:
    with pytest.raises(errors.ProgramError) as caught:
        parse_program(source, "originir")
    assert caught.value.code == code
    assert caught.value.detail.get("line") == line


def test_originir_is_detected_automatically() -> None:
    assert parse_program("QINIT 1\nCREG 1\nH q[0]\nMEASURE q[0],c[0]\n").format == "originir"


def test_nested_gate_definitions_that_expand_too_far_are_refused() -> None:
    lines = ["QINIT 1", "QGATE g0 a", "H a", "ENDQGATE"]
    for level in range(1, 25):
        lines += [f"QGATE g{level} a", f"g{level - 1} a", f"g{level - 1} a", "ENDQGATE"]
    lines.append("g24 q[0]")
    with pytest.raises(errors.ProgramLimit):
        parse_program("\n".join(lines) + "\n", "originir")

"""Braket circuits, as ``to_ir(IRType.OPENQASM)`` writes them, against Braket's LocalSimulator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from braket.circuits import Circuit, Observable
from braket.circuits.serialization import IRType
from braket.devices import LocalSimulator
from qiskit.quantum_info import Operator

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import Experiment, get_engine, result_types
from qharbor.programs import parse_program
from qharbor.workers.compiler import compile_for

SHOTS = 4000


def _circuits() -> dict[str, Circuit]:
    return {
        "bell": Circuit().h(0).cnot(0, 1),
        "ghz4": Circuit().h(0).cnot(0, 1).cnot(1, 2).cnot(2, 3),
        "rotations": Circuit().rx(0, 0.7).ry(1, 1.3).rz(0, 0.4).h(1),
        "phases": Circuit().h(0).phaseshift(0, 0.9).h(0).s(1).si(1).t(1).ti(1).h(1),
        "v_gates": Circuit().v(0).vi(1).v(1).h(2).v(2),
        "iswap": Circuit().h(0).ry(1, 0.4).iswap(0, 1).h(0),
        "pswap": Circuit().h(0).ry(1, 0.4).pswap(0, 1, 0.6).h(0).h(1),
        "xx_yy_zz": Circuit().h(0).xx(0, 1, 0.5).yy(0, 1, 0.7).zz(0, 1, 0.3).h(1),
        "xy": Circuit().x(0).xy(0, 1, 1.1).h(1),
        "cphaseshifts": Circuit()
        .h(0)
        .h(1)
        .cphaseshift(0, 1, 0.5)
        .cphaseshift00(0, 1, 0.7)
        .cphaseshift01(0, 1, 0.9)
        .cphaseshift10(0, 1, 1.1)
        .h(0)
        .h(1),
        "ccnot": Circuit().h(0).h(1).ccnot(0, 1, 2),
        "cswap": Circuit().h(0).x(1).cswap(0, 1, 2),
        "cy_cz_cv": Circuit().h(0).h(1).cy(0, 1).cz(0, 1).cv(0, 1).h(1),
        "ecr": Circuit().h(0).ecr(0, 1).h(1),
        "ionq_gates": Circuit().gpi(0, 0.3).gpi2(1, 0.7).ms(0, 1, 0.2, 0.4).h(0),
        "ms_angle": Circuit().ms(0, 1, 0.1, 0.5, 0.8).h(1),
        "prx": Circuit().prx(0, 0.9, 0.4).h(0),
        "unbalanced": Circuit().ry(0, 0.3).ry(1, 2.1).cnot(1, 2).rx(2, 0.5),
        "identity_and_swap": Circuit().x(0).i(1).swap(0, 1),
        "verbatim": Circuit().add_verbatim_box(Circuit().h(0).cnot(0, 1)),
        "y_z": Circuit().y(0).h(1).z(1).h(1).x(2).y(2),
        "wide": Circuit().h(range(6)).cnot(0, 5).cz(1, 4).rx(3, 0.6),
    }


CIRCUITS = _circuits()


def _ours(source: str, shots: int = SHOTS) -> dict[str, int]:
    device = default_catalogue(100_000).get("statevector")
    program = parse_program(source)
    compiled = compile_for(device, program.circuit, 3)
    runs = get_engine("aer").run([Experiment(compiled)], method="statevector", shots=shots, seed=3)
    # The centre's bit strings put classical bit 0 rightmost; Braket's leftmost.
    return {bits[::-1]: n for bits, n in runs[0][0].counts.items()}


def test_the_corpus_has_twenty_circuits_or_more() -> None:
    assert len(CIRCUITS) >= 20


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_counts_agree_with_braket_local_simulator(name: str) -> None:
    circuit = CIRCUITS[name]
    source = circuit.to_ir(IRType.OPENQASM).source
    ours = _ours(source)
    theirs = LocalSimulator().run(circuit, shots=SHOTS).result().measurement_counts
    keys = set(ours) | set(theirs)
    # Chi-square test of homogeneity between two samples of equal size.
    chi2 = sum(
        (ours.get(k, 0) - theirs.get(k, 0)) ** 2 / (ours.get(k, 0) + theirs.get(k, 0))
        for k in keys
        if ours.get(k, 0) + theirs.get(k, 0) > 0
    )
    dof = max(1, len(keys) - 1)
    # The 99.99th percentile of chi-square, by the Wilson-Hilferty approximation.
    z = 3.72
    critical = dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3
    assert chi2 <= critical, f"{name}: ours {ours} vs Braket {dict(theirs)}"


def _gates() -> dict[str, Circuit]:
    return {
        "cnot": Circuit().cnot(0, 1),
        "iswap": Circuit().iswap(0, 1),
        "pswap": Circuit().pswap(0, 1, 0.7),
        "xx": Circuit().xx(0, 1, 0.7),
        "yy": Circuit().yy(0, 1, 0.7),
        "zz": Circuit().zz(0, 1, 0.7),
        "xy": Circuit().xy(0, 1, 0.7),
        "ecr": Circuit().ecr(0, 1),
        "cv": Circuit().cv(0, 1),
        "cphaseshift00": Circuit().cphaseshift00(0, 1, 0.7),
        "cphaseshift01": Circuit().cphaseshift01(0, 1, 0.7),
        "cphaseshift10": Circuit().cphaseshift10(0, 1, 0.7),
        "gpi": Circuit().gpi(0, 0.7),
        "gpi2": Circuit().gpi2(0, 0.7),
        "ms": Circuit().ms(0, 1, 0.3, 0.5, 0.9),
        "prx": Circuit().prx(0, 0.9, 0.4),
        "vi": Circuit().vi(0),
        "si_ti": Circuit().si(0).ti(0),
    }


@pytest.mark.parametrize("name", sorted(_gates()))
def test_each_braket_gate_has_braket_s_unitary(name: str) -> None:
    circuit = _gates()[name]
    program = parse_program(circuit.to_ir(IRType.OPENQASM).source)
    bare = program.circuit.remove_final_measurements(inplace=False)
    # Braket's matrices put qubit 0 first (most significant); Qiskit's last.
    ours = Operator(bare).reverse_qargs()
    assert ours.equiv(Operator(circuit.to_unitary()), atol=1e-7)


def test_result_types_match_braket_exactly() -> None:
    circuit = (
        Circuit()
        .h(0)
        .cnot(0, 1)
        .ry(2, 0.8)
        .expectation(Observable.Z() @ Observable.Z(), target=[0, 1])
        .expectation(Observable.X(), target=[2])
        .variance(Observable.Y(), target=[2])
        .probability(target=[2, 0])
        .amplitude(["000", "110"])
        .expectation(Observable.H(), target=[2])
        .density_matrix(target=[2, 0])
        .density_matrix()
    )
    program = parse_program(circuit.to_ir(IRType.OPENQASM).source)
    ours = result_types.evaluate(program.circuit, program.result_types)
    theirs = LocalSimulator().run(circuit, shots=0).result().values
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        value = mine["value"]
        if mine["type"] == "amplitude":
            value = {k: complex(*v) for k, v in value.items()}
            for key in reference:
                assert abs(value[key] - reference[key]) < 1e-9
        elif mine["type"] == "density_matrix":
            matrix = np.asarray(value)[..., 0] + 1j * np.asarray(value)[..., 1]
            assert matrix.shape == reference.shape
            assert np.allclose(matrix, reference, atol=1e-9)
        else:
            assert np.allclose(value, reference, atol=1e-9), (mine, reference)


def test_verbatim_box_is_run_without_compilation() -> None:
    circuit = Circuit().add_verbatim_box(Circuit().h(0).cnot(0, 1))
    program = parse_program(circuit.to_ir(IRType.OPENQASM).source)
    assert program.verbatim
    assert "box" not in program.circuit.count_ops()


def test_unsupported_pragma_is_named_with_its_line() -> None:
    source = "OPENQASM 3.0;\nqubit[1] q;\nh q[0];\n#pragma braket noise bit_flip(0.1) q[0]\n"
    with pytest.raises(errors.ProgramUnsupported) as caught:
        parse_program(source)
    assert caught.value.detail["line"] == 4
    assert "noise" in caught.value.message

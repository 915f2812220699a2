"""Each mitigation method: it keeps the ideal operation, and it brings values closer
to the exact ones on a device twin (fixed seeds, so each comparison is repeatable).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm3, transpile
from qiskit.quantum_info import Operator

from qharbor.devices import catalogue
from qharbor.devices.twins import mitigation as tensored
from qharbor.devices.twins import timing
from qharbor.devices.twins.document import TwinDocument
from qharbor.devices.twins.target import target
from qharbor.engines import get_engine
from qharbor.engines import twin as twins_engine
from qharbor.engines.selection import Picker
from qharbor.jobs.checks import parse_pub
from qharbor.jobs.options import JobOptions
from qharbor.primitives import prepare_pubs
from qharbor.primitives.estimator import run_estimator
from qharbor.primitives.mitigation import dd, readout, twirling, zne
from qharbor.primitives.sampler import run_sampler
from qharbor.workers import twins
from tests.unit.devices.twins.documents import SPECS, document

# --- the methods keep the ideal operation ------------------------------------------


def _without_delays(circuit: QuantumCircuit) -> QuantumCircuit:
    out = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name not in ("delay", "measure", "barrier"):
            out.append(instruction)
    return out


def _compiled_chain() -> tuple[TwinDocument, QuantumCircuit]:
    doc = document()
    circuit = QuantumCircuit(4)
    circuit.h(0)
    for q in range(3):
        circuit.cx(q, q + 1)
    circuit.cx(2, 3)
    circuit.cx(2, 3)
    circuit.h(0)
    return doc, transpile(circuit, target=target(doc), seed_transpiler=3, optimization_level=0)


def test_folding_multiplies_two_qubit_gates_and_keeps_the_operation() -> None:
    _doc, compiled = _compiled_chain()
    narrow = twins_engine.compact(compiled)[0]
    rng = np.random.default_rng(1)
    base = zne.two_qubit_count(narrow)
    tripled, reached = zne.fold(narrow, 3.0, rng)
    assert (zne.two_qubit_count(tripled), reached) == (3 * base, 3.0)
    # Folds come in pairs: five gates can be doubled only approximately.
    doubled, reached = zne.fold(narrow, 2.0, rng)
    assert abs(zne.two_qubit_count(doubled) - 2 * base) <= 1
    assert reached == zne.two_qubit_count(doubled) / base
    assert Operator(zne.fold(narrow, 5.0, rng)[0]).equiv(Operator(narrow))


@pytest.mark.parametrize("sequence", ["XX", "XpXm", "XY4"])
def test_decoupling_keeps_the_operation_and_the_timing(sequence: str) -> None:
    doc, compiled = _compiled_chain()
    decoupled, pulses = dd.decouple(doc, compiled, sequence)
    assert pulses > 0
    assert math.isclose(
        timing.circuit_duration_s(doc, decoupled), timing.circuit_duration_s(doc, compiled)
    )
    narrow = twins_engine.compact(_without_delays(decoupled))[0]
    assert Operator(narrow).equiv(Operator(twins_engine.compact(compiled)[0]))


def test_gate_twirls_keep_the_operation_and_measure_twirls_name_their_flips() -> None:
    doc, compiled = _compiled_chain()
    narrow = twins_engine.compact(compiled)[0]
    for instance in twirling.twirl_gates(compiled, target(doc), seed=4, count=3):
        assert Operator(twins_engine.compact(instance)[0]).equiv(Operator(narrow))
    measured = QuantumCircuit(3, 3)
    measured.measure(range(3), range(3))
    flipped, mask = twirling.twirl_measures(measured, np.random.default_rng(7))
    assert [flipped.find_bit(i.qubits[0]).index for i in flipped.data if i.name == "x"] == [
        q for q in range(3) if mask >> q & 1
    ]


def test_extrapolators_recover_the_value_at_zero_noise() -> None:
    factors = [1.0, 3.0, 5.0]
    decaying = [0.8 * math.exp(-0.2 * f) for f in factors]
    value, _std, name = zne.extrapolate(factors, decaying, [0.01] * 3, ["exponential"])
    assert name == "exponential" and value == pytest.approx(0.8)
    quadratic = [0.9 - 0.05 * f + 0.002 * f**2 for f in factors]
    value, _std, _ = zne.extrapolate(factors, quadratic, [0.01] * 3, ["polynomial_degree_2"])
    assert value == pytest.approx(0.9)
    # Values of mixed sign cannot be exponential: the next extrapolator is used.
    assert (
        zne.extrapolate(factors, [0.1, -0.05, 0.02], [0.01] * 3, ["exponential", "linear"])[2]
        == "linear"
    )


# --- idle noise, and decoupling removing it ------------------------------------------


def _detuned(khz: float) -> TwinDocument:
    doc = document()
    qubits = list(doc.calibration.qubits)
    qubits[0] = dataclasses.replace(qubits[0], detuning_khz=khz)
    calibration = dataclasses.replace(doc.calibration, qubits=tuple(qubits))
    return dataclasses.replace(doc, calibration=calibration)


def test_decoupling_refocuses_the_detuning_of_an_idle_qubit() -> None:
    # q0 waits through forty CZs of its neighbours; sx, wait, sx is an X.
    circuit = QuantumCircuit(25, 1)
    circuit.sx(0)
    circuit.cz(0, 1)
    for _ in range(40):
        circuit.cz(1, 2)
    circuit.cz(0, 1)
    circuit.sx(0)
    circuit.measure(0, 0)

    def ones(doc: TwinDocument, run: QuantumCircuit) -> float:
        return twins_engine.LocalTwin(doc).run(run, shots=4000, seed=3).get("1", 0) / 4000

    detuned, still = _detuned(50.0), _detuned(0.0)
    plain = ones(detuned, circuit)
    decoupled = ones(detuned, dd.decouple(detuned, circuit, "XX")[0])
    reference = ones(still, dd.decouple(still, circuit, "XX")[0])
    assert plain < 0.5  # 8.8 µs at 50 kHz turns the phase by 2.8 rad
    # Decoupled, the detuning is gone: only relaxation and gate errors are left.
    assert decoupled > 0.75
    assert abs(decoupled - reference) < 0.03


# --- on the estimator and the sampler ----------------------------------------------


def _run(
    kind: str, circuit: QuantumCircuit, options: dict[str, Any], **pub: Any
) -> tuple[dict[str, Any], float]:
    spec = SPECS["sc25"]
    device = catalogue.twin_device(spec)
    twin = document().to_json()
    # Level 0 keeps every gate: the transpiler would cancel the repeated CNOTs.
    job = JobOptions.from_json({"optimization_level": 0, **options})
    pubs = prepare_pubs(
        kind,
        [{"circuit": qasm3.dumps(circuit), **pub}],
        device,
        shots=pub.get("shots", 1024),
        precision=None,
        max_program_bytes=1 << 20,
        max_experiments=100,
        parse=parse_pub,
    ).payload["pubs"]
    runner = twins.TwinRunner(get_engine("aer"), twin)
    picker = Picker(fixed=runner, reason="test")
    plan = job.mitigation_plan(kind)
    compile_for = twins.compiler(twin, job)
    if kind == "sampler":
        results = run_sampler(
            device, picker, pubs, 5, compile_for, plan=plan, twin=twin, mitigate_readout=True
        )
    else:
        results = run_estimator(device, picker, pubs, 5, compile_for, plan=plan, twin=twin)
    return results[0], timing.runs_qpu_s(twin, runner.ledger)


def _bell(repeats: int = 1) -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    for _ in range(repeats):
        circuit.cx(0, 1)
    return circuit


OBSERVABLES = [{"ZZ": 1.0}, {"XX": 1.0}]  # both exactly 1 for a Bell state


@pytest.fixture(scope="module")
def level0() -> tuple[dict[str, Any], float]:
    return _run("estimator", _bell(), {}, observables=OBSERVABLES, shots=4096)


def _error(result: dict[str, Any]) -> float:
    return float(np.mean(np.abs(np.asarray(result["evs"]) - 1.0)))


def test_trex_cuts_readout_error_and_records_what_it_did(
    level0: tuple[dict[str, Any], float],
) -> None:
    options = {"resilience_level": 1, "twirling": {"num_randomizations": 4}}
    result, qpu_s = _run("estimator", _bell(), options, observables=OBSERVABLES, shots=4096)
    assert _error(result) < _error(level0[0]) / 2
    record = result["mitigation"]
    assert record["applied"] == ["measure_twirling", "trex"]
    assert record["randomizations"] == 4 and record["shots_per_randomization"] == 1024
    assert record["shots"] == 2 * 2 * 4096  # two bases, each with its calibration
    assert record["extra_shots"] == 2 * 4096
    assert len(record["evs_by_randomization"]) == 4
    assert set(record["readout_factors"]) == {"ZZ", "XX"}
    assert all(0.5 < f < 1 for f in record["readout_factors"].values())
    assert record["calibration_snapshot_id"] == document().calibration.id
    assert qpu_s > level0[1]  # the extra shots are charged


def test_zne_cuts_gate_error_further_than_trex_alone() -> None:
    trex = {
        "resilience": {"measure_mitigation": True},
        "twirling": {"num_randomizations": 2},
    }
    zne_too = {
        "resilience": {
            "measure_mitigation": True,
            "zne_mitigation": True,
            "zne": {"noise_factors": [1, 3], "extrapolator": "linear"},
        },
        "twirling": {"num_randomizations": 2},
    }
    circuit = _bell(7)
    first, _ = _run("estimator", circuit, trex, observables=OBSERVABLES, shots=4096)
    second, _ = _run("estimator", circuit, zne_too, observables=OBSERVABLES, shots=4096)
    assert _error(second) < _error(first) / 2
    record = second["mitigation"]
    assert record["noise_factors"] == [1.0, 3.0]
    assert len(record["evs_by_noise_factor"]) == 2
    assert record["extrapolators_used"] == {"linear": 2}
    # The value at factor 3 is further from the exact value than at factor 1.
    at1, at3 = (np.asarray(v) for v in record["evs_by_noise_factor"])
    assert np.all(at3 < at1)


def test_m3_matches_the_full_inverse_where_every_outcome_was_seen() -> None:
    doc = document()
    circuit = QuantumCircuit(25, 2)
    circuit.measure([3, 7], [0, 1])
    counts = {"00": 400, "01": 100, "10": 150, "11": 350}
    m3 = readout.quasi_probabilities(doc, circuit, counts)
    full = tensored.mitigate(doc, circuit, counts).quasi_probabilities
    for key, value in full.items():
        assert m3["quasi_dist"][key] == pytest.approx(value, abs=1e-4)
    assert m3["stddev_upper_bound"] > 0 and m3["mitigation_overhead"] >= 1


def test_the_sampler_returns_m3_quasi_probabilities_closer_to_the_ideal() -> None:
    circuit = _bell()
    circuit.measure_all()
    result, _ = _run("sampler", circuit, {"mitigate_readout": True}, shots=4000)
    counts = result["counts"][0]
    raw = (counts.get("00", 0) + counts.get("11", 0)) / 4000
    quasi = result["quasi_dists"][0]["quasi_dist"]
    assert quasi.get("00", 0) + quasi.get("11", 0) > raw
    assert result["mitigation"]["applied"] == ["m3"]

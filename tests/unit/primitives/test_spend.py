"""What error mitigation spends: admission counts the same circuits and shots the
worker runs, and refuses a PUB that mitigation makes too long for the twin."""

from __future__ import annotations

from typing import Any

import pytest
from qiskit import QuantumCircuit, qasm3

from qharbor import errors
from qharbor.devices import catalogue
from qharbor.engines import get_engine
from qharbor.engines.selection import Picker
from qharbor.jobs.checks import parse_pub
from qharbor.jobs.options import JobOptions
from qharbor.primitives import PreparedPubs, prepare_pubs
from qharbor.primitives.estimator import run_estimator
from qharbor.workers import twins
from tests.unit.devices.twins.documents import SPECS, document

SC25 = catalogue.twin_device(SPECS["sc25"])


def _bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    return circuit


def _prepare(circuit: QuantumCircuit, options: dict[str, Any], **pub: Any) -> PreparedPubs:
    plan = JobOptions.from_json(options).mitigation_plan("estimator")
    return prepare_pubs(
        "estimator",
        [{"circuit": qasm3.dumps(circuit), **pub}],
        SC25,
        shots=1024,
        precision=None,
        max_program_bytes=1 << 20,
        max_experiments=100,
        parse=parse_pub,
        plan=plan,
    )


def test_admission_counts_the_shots_the_worker_runs_and_records() -> None:
    options = {
        "optimization_level": 0,
        "resilience_level": 2,
        "resilience": {"zne": {"noise_factors": [1, 3], "extrapolator": "linear"}},
        "twirling": {"num_randomizations": 2},
    }
    observables = [{"ZZ": 1.0}, {"XX": 1.0}]  # two bases
    prepared = _prepare(_bell(), options, observables=observables, shots=64)
    spent = prepared.spends[0]
    assert spent is not None
    # Per basis: 2 factors x 2 randomizations, and 2 TREX calibrations; 32 shots each.
    assert (spent.circuit_runs, spent.calibration_runs) == (8, 4)
    assert spent.shots == prepared.shots == 12 * 32
    twin = document().to_json()
    runner = twins.TwinRunner(get_engine("aer"), twin)
    job = JobOptions.from_json(options)
    result = run_estimator(
        SC25,
        Picker(fixed=runner, reason="test"),
        prepared.payload["pubs"],
        5,
        twins.compiler(twin, job),
        plan=job.mitigation_plan("estimator"),
        twin=twin,
    )[0]
    # The charge is the device time of every run in the ledger.
    assert sum(shots for _circuit, shots in runner.ledger) == spent.shots
    assert result["mitigation"]["shots"] == spent.shots
    assert result["mitigation"]["extra_shots"] == spent.shots - 2 * 64


@pytest.mark.parametrize(
    ("level", "overhead"),
    # Level 1: the circuit and its TREX calibration; level 2: three noise factors too.
    [(0, 1), (1, 2), (2, 4)],
)
def test_each_level_spends_its_predicted_multiple_of_the_shots(level: int, overhead: int) -> None:
    prepared = _prepare(_bell(), {"resilience_level": level}, observables=[{"ZZ": 1.0}])
    assert prepared.shots == overhead * 4096  # the default precision: 4096 shots per basis
    assert prepared.spends[0] is not None and prepared.spends[0].overhead == overhead


def _wide(qubits: int = 14, layers: int = 10) -> QuantumCircuit:
    circuit = QuantumCircuit(qubits)
    for layer in range(layers):
        for q in range(qubits):
            circuit.rx(0.3 + 0.1 * q, q)
        for q in range(layer % 2, qubits - 1, 2):
            circuit.cx(q, q + 1)
    return circuit


def test_a_pub_that_fits_unmitigated_is_refused_when_folding_makes_it_too_long() -> None:
    observables = [{"Z" * 14: 1.0}]
    _prepare(_wide(), {"resilience_level": 0}, observables=observables)  # fits
    options = {
        "resilience_level": 2,
        "twirling": {"num_randomizations": 1, "shots_per_randomization": 4096},
    }
    with pytest.raises(errors.DeviceLimit) as refused:
        _prepare(_wide(), options, observables=observables)
    message = refused.value.message
    assert "error mitigation makes it that long" in message
    assert "ZNE noise factors [1, 3, 5]" in message
    assert "lower the largest noise factor" in message.lower()
    assert refused.value.detail["predicted_s"] > refused.value.detail["max_run_s"]

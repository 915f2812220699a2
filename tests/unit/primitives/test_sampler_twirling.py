"""Twirling on the sampler: twirled instances, their flips undone, summed into one
result of the shape and shots an untwirled run gives, and the same distribution."""

from __future__ import annotations

import random
from typing import Any

import pytest
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import Parameter
from qiskit.primitives import StatevectorSampler

from qharbor import errors
from qharbor.devices import catalogue, default_catalogue
from qharbor.engines import get_engine
from qharbor.engines.selection import Picker
from qharbor.jobs.checks import parse_pub
from qharbor.jobs.options import JobOptions
from qharbor.primitives import PreparedPubs, prepare_pubs
from qharbor.primitives.mitigation import twirling
from qharbor.primitives.sampler import run_sampler
from qharbor.workers import twins
from qharbor.workers.compiler import compile_for
from tests.unit.devices.twins.documents import SPECS, document
from tests.unit.primitives.test_sampler_registers import qpy_text, random_circuit

SC25 = catalogue.twin_device(SPECS["sc25"])
STATEVECTOR = default_catalogue().get("statevector")
TWIRLED = {
    "twirling": {
        "enable_gates": True,
        "enable_measure": True,
        "num_randomizations": 4,
        "shots_per_randomization": 50,
    }
}


def _prepare(device: Any, circuit: str, options: dict[str, Any], **pub: Any) -> PreparedPubs:
    plan = JobOptions.from_json(options).mitigation_plan("sampler")
    return prepare_pubs(
        "sampler",
        [{"circuit": circuit, **pub}],
        device,
        shots=pub.get("shots", 1024),
        precision=None,
        max_program_bytes=100_000,
        max_experiments=10,
        parse=parse_pub,
        plan=plan,
    )


def _rotated_bell() -> QuantumCircuit:
    theta = Parameter("theta")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def test_a_twirled_pub_on_a_twin_has_the_untwirled_shape_and_every_shot() -> None:
    options = {"optimization_level": 0, **TWIRLED}
    prepared = _prepare(
        SC25,
        qasm3.dumps(_rotated_bell()),
        options,
        shape=[2],
        parameter_values=[0.3, 1.2],
        shots=200,
    )
    twin = document().to_json()
    runner = twins.TwinRunner(get_engine("aer"), twin)
    job = JobOptions.from_json(options)
    [result] = run_sampler(
        SC25,
        Picker(fixed=runner, reason="test"),
        prepared.payload["pubs"],
        7,
        twins.compiler(twin, job),
        plan=job.mitigation_plan("sampler"),
        twin=twin,
    )
    assert result["shape"] == [2] and result["shots"] == 4 * 50
    assert len(result["counts"]) == 2
    assert all(sum(counts.values()) == 200 for counts in result["counts"])
    assert all(len(key) == 2 for counts in result["counts"] for key in counts)
    record = result["mitigation"]
    assert record["applied"] == ["gate_twirling", "measure_twirling"]
    assert (record["randomizations"], record["shots_per_randomization"]) == (4, 50)
    assert record["shots"] == 400 and record["extra_shots"] == 0
    # Admission, the ledger the charge is taken from, and the record agree.
    assert sum(shots for _circuit, shots in runner.ledger) == prepared.shots == 400


def _tvd(first: dict[str, int], second: dict[str, int]) -> float:
    total_a, total_b = sum(first.values()), sum(second.values())
    keys = set(first) | set(second)
    return 0.5 * sum(abs(first.get(k, 0) / total_a - second.get(k, 0) / total_b) for k in keys)


def test_twirling_keeps_the_noiseless_distribution() -> None:
    """The twin's compiled circuit, twirled, run without noise: the same distribution
    as untwirled (a wrong Pauli frame or flip undo would move weight between outcomes)."""
    circuit = QuantumCircuit(3)
    circuit.ry(0.7, 0)
    circuit.cx(0, 1)
    circuit.rx(1.1, 2)
    circuit.cx(1, 2)
    circuit.h(0)
    circuit.measure_all()
    twin = document().to_json()
    compile_twin = twins.compiler(twin, JobOptions())
    runs = {}
    for name, options in (("plain", {}), ("twirled", TWIRLED)):
        shots = {"twirling": {**TWIRLED["twirling"], "shots_per_randomization": 1000}}
        chosen = {**options, **shots} if options else {}
        plan = JobOptions.from_json(chosen).mitigation_plan("sampler")
        pubs = _prepare(STATEVECTOR, qasm3.dumps(circuit), chosen, shots=4000).payload["pubs"]
        [result] = run_sampler(
            STATEVECTOR, get_engine("aer"), pubs, 11, compile_twin, plan=plan, twin=twin
        )
        runs[name] = result["counts"][0]
        assert result["shots"] == 4000
    # Two samples of 4000 shots of one 8-outcome distribution: TVD ~0.03 at most by chance.
    assert _tvd(runs["plain"], runs["twirled"]) < 0.05
    ideal = StatevectorSampler(seed=1).run([circuit], shots=100_000).result()[0]
    assert _tvd(runs["twirled"], ideal.data.meas.get_counts()) < 0.05


@pytest.mark.parametrize("seed", range(12))
def test_measure_twirled_registers_match_statevector_sampler(seed: int) -> None:
    """Every shot of these circuits is the same, so any flip left undone shows."""
    circuit = random_circuit(random.Random(seed))
    if not circuit.cregs:
        return
    options = {"twirling": {"enable_measure": True, "num_randomizations": 3}}
    pubs = _prepare(STATEVECTOR, qpy_text(circuit), options, format="qpy", shots=6).payload["pubs"]
    plan = JobOptions.from_json(options).mitigation_plan("sampler")
    [result] = run_sampler(
        STATEVECTOR,
        get_engine("aer"),
        pubs,
        seed,
        compile_for,
        plan=plan,
        twin=document().to_json(),
    )
    [(key, shots)] = result["counts"][0].items()
    assert shots == 6
    ours = dict(zip([r.name for r in circuit.cregs], key.split(" ")[::-1], strict=True))
    data = StatevectorSampler().run([circuit], shots=6).result()[0].data
    for register in circuit.cregs:
        if register.size:
            [(theirs, _)] = getattr(data, register.name).get_counts().items()
            assert ours[register.name] == theirs, register.name


def test_undoing_flips_keeps_register_spaces() -> None:
    assert twirling.undo_flips({"01 10": 3, "11 11": 1}, 0b0110) == {"00 00": 3, "10 01": 1}


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"resilience_level": 1}, "mitigate_readout"),
        ({"resilience": {"zne_mitigation": True}}, "TREX and ZNE"),
        ({"twirling": {"num_randomizations": 4}}, "nothing is twirled"),
        ({"twirling": {"enable_gates": True, "num_randomizations": 0}}, "positive integer"),
        ({"twirling": {"enable_measure": True}, "mitigate_readout": True}, "enable_measure"),
    ],
)
def test_sampler_twirling_combinations_that_cannot_be_honoured_are_refused(
    options: dict[str, Any], says: str
) -> None:
    with pytest.raises(errors.MitigationInvalid, match=says):
        JobOptions.from_json(options).mitigation_plan("sampler")


def test_gate_twirling_with_m3_is_honoured() -> None:
    options = {"twirling": {"enable_gates": True}, "mitigate_readout": True}
    assert JobOptions.from_json(options).mitigation_plan("sampler").gate_twirling

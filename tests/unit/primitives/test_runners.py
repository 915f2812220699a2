"""The sampler and estimator runners in a worker: one compilation per circuit, not per binding."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import get_engine
from qharbor.jobs.checks import parse_pub
from qharbor.primitives import prepare_pubs
from qharbor.primitives import pubs as pubs_module
from qharbor.primitives.estimator import run_estimator
from qharbor.primitives.sampler import run_sampler
from qharbor.workers.compiler import compile_for

DEVICES = default_catalogue()


class CountingCompiler:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, device: Any, circuit: QuantumCircuit, seed: int) -> QuantumCircuit:
        self.calls += 1
        return compile_for(device, circuit, seed)


def rotation(measure: bool) -> str:
    theta = Parameter("t")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.rzz(0.3, 0, 1)  # compiled for density-matrix, which lacks nothing here
    if measure:
        qc.measure_all()
    return qasm3.dumps(qc)


def prepared(kind: str, device: str, pubs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    payload = prepare_pubs(
        kind,
        pubs,
        DEVICES.get(device),
        shots=400,
        precision=None,
        max_program_bytes=100_000,
        max_experiments=10_000,
        parse=parse_pub,
    ).payload
    return list(payload["pubs"])


def test_a_sampler_pub_is_compiled_once_for_all_its_bindings() -> None:
    values = np.linspace(0, np.pi, 50)
    pubs = prepared(
        "sampler",
        "statevector",
        [{"circuit": rotation(True), "parameter_values": values.tolist(), "shape": [50]}],
    )
    compiler = CountingCompiler()
    [result] = run_sampler(DEVICES.get("statevector"), get_engine("aer"), pubs, 3, compiler)
    assert compiler.calls == 1
    assert len(result["counts"]) == 50
    assert result["counts"][0] == {"00": 400}
    assert result["counts"][-1] == {"11": 400}


def test_a_sampled_estimator_compiles_once_per_basis_not_per_binding() -> None:
    values = np.linspace(0, np.pi, 20)
    observable = {"ZZ": 1.0, "ZI": 0.5, "XX": 0.25, "YY": -0.25}
    pubs = prepared(
        "estimator",
        "density-matrix",
        [
            {
                "circuit": rotation(False),
                "parameter_values": values.tolist(),
                "shape": [20],
                "observables": [observable],
                "observables_shape": [],
                "precision": 0.05,
            }
        ],
    )
    compiler = CountingCompiler()
    [result] = run_estimator(DEVICES.get("density-matrix"), get_engine("aer"), pubs, 3, compiler)
    assert compiler.calls == 3  # Z-type, XX and YY bases
    assert result["shots"] == 400 and result["exact"] is False
    exact = []
    op = SparsePauliOp(list(observable), list(observable.values()))
    for t in values:
        qc = QuantumCircuit(2)
        qc.ry(t, 0)
        qc.cx(0, 1)
        qc.rzz(0.3, 0, 1)
        exact.append(Statevector(qc).expectation_value(op).real)
    evs, stds = np.array(result["evs"]), np.array(result["stds"])
    assert np.all(np.abs(evs - exact) <= 5 * stds + 1e-12)


def _ansatz_qasm3(width: int, reps: int) -> tuple[str, int]:
    """A hardware-efficient ansatz as the benchmark writes it (plain, parameterised)."""
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    gates, count = [], 0
    for _ in range(reps):
        for q in range(width):
            gates += [f"ry(p{count:03d}) q[{q}];", f"rz(p{count + 1:03d}) q[{q}];"]
            count += 2
        gates += [f"cx q[{q}], q[{q + 1}];" for q in range(width - 1)]
    lines += [f"input float[64] p{k:03d};" for k in range(count)]
    lines += [f"qubit[{width}] q;", *gates]
    return "\n".join(lines) + "\n", count


def test_exact_estimator_values_of_a_stored_pub_match_the_reference() -> None:
    source, count = _ansatz_qasm3(4, 2)
    values = np.random.default_rng(7).uniform(-np.pi, np.pi, (6, count))
    observable = {"ZIII": 1.0, "IZZI": -0.5, "XXYY": 0.25}
    pubs = prepared(
        "estimator",
        "statevector",
        [
            {
                "circuit": source,
                "parameter_values": values.ravel().tolist(),
                "shape": [6],
                "observables": [observable],
            }
        ],
    )
    # The stored PUB keeps its values as float64 bytes, and a PUB stored by an
    # older release as a JSON list reads the same.
    assert "parameter_values" not in pubs[0]
    older = {k: v for k, v in pubs[0].items() if k != pubs_module.PACKED_VALUES}
    older["parameter_values"] = values.ravel().tolist()
    device = DEVICES.get("statevector")
    [packed] = run_estimator(device, get_engine("qulacs"), pubs, 3, compile_for)
    [listed] = run_estimator(device, get_engine("qulacs"), [older], 3, compile_for)
    reference = qasm3.loads(source)
    op = SparsePauliOp(list(observable), list(observable.values()))
    expected = [
        Statevector(reference.assign_parameters(row)).expectation_value(op).real for row in values
    ]
    assert np.allclose(packed["evs"], expected, atol=1e-10)
    assert packed["evs"] == listed["evs"]


def test_stored_values_round_trip_bit_for_bit() -> None:
    values = np.array([0.1, -0.0, 1e-300, np.pi, -7.5])
    pub = {pubs_module.PACKED_VALUES: pubs_module.pack_values(values)}
    back = pubs_module.stored_values(pub)
    assert back.tobytes() == values.tobytes()
    with pytest.raises(errors.ProgramParameters):
        pubs_module.stored_values({pubs_module.PACKED_VALUES: "not base64!"})

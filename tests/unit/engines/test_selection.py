"""Automatic engine selection: features, precision and pinning decide; cost models rank."""

from __future__ import annotations

import dataclasses
import time

import pytest
from qiskit import QuantumCircuit

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.engines import costs, memory
from qharbor.engines.features import features_of
from qharbor.engines.selection import Picker, Selector, format_seconds
from tests.unit.engines.fakes import FakeEngine, FakeStateEngine, model, table

DEVICES = default_catalogue()
STATEVECTOR = DEVICES.get("statevector")

#: aer: slow per gate; qulacs: cheap per circuit; qsim: fastest on big states, single only;
#: stim: Clifford only, cheapest of all on them.
ENGINES = {
    "aer": FakeStateEngine("aer", ("double", "single")),
    "qulacs": FakeStateEngine("qulacs", ("double",)),
    "qsim": FakeEngine("qsim", ("single",)),
    "stim": FakeEngine("stim", ("double", "single"), clifford_only=True),
}
COSTS = table(
    aer__dense__double=model(call=1e-4, gate=1e-5, work=1e-9, shot=1e-6),
    aer__dense__single=model(call=1e-4, gate=1e-5, work=6e-10, shot=1e-6),
    aer__tableau__double=model(call=1e-4, gate=1e-6, frame=1e-8),
    qulacs__dense__double=model(circuit=2e-5, gate=1e-6, work=8e-10, shot=5e-7),
    qsim__dense__single=model(call=2e-3, gate=2e-6, work=5e-11, shot=5e-7),
    stim__tableau__double=model(call=5e-5, gate=2e-7, frame=1e-10),
)


def selector(device=STATEVECTOR, **kwargs) -> Selector:
    return Selector(device, table=kwargs.pop("costs", COSTS), engines=ENGINES, **kwargs)


def random_circuit(n: int, layers: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    for layer in range(layers):
        for q in range(n):
            circuit.t(q) if (q + layer) % 2 else circuit.h(q)
        for q in range(layer % 2, n - 1, 2):
            circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    return circuit


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure(range(n), range(n))
    return circuit


def test_the_engine_predicted_fastest_runs_and_the_reason_names_the_others() -> None:
    choice = selector(precision="single").choose(features_of(random_circuit(20, 20)), shots=1000)
    assert choice.engine == "qsim"
    assert choice.precision == "single"
    assert set(choice.predictions) == {"aer", "qulacs", "qsim"}  # stim refused the T gates
    assert choice.predictions["qsim"] == min(choice.predictions.values())
    assert choice.reason.startswith("qsim: predicted ")
    assert " against aer " in choice.reason and "qulacs " in choice.reason
    assert choice.reason.endswith("; single precision allowed")


def test_a_double_job_never_runs_on_a_single_precision_engine() -> None:
    choice = selector(precision="double").choose(features_of(random_circuit(20, 20)), shots=1000)
    assert choice.engine != "qsim"
    assert "qsim" not in choice.predictions
    assert choice.precision == "double"
    assert choice.reason.endswith("; double precision required")


def test_a_single_job_runs_a_double_only_engine_in_double() -> None:
    # Small circuits: qulacs's per-circuit cost wins, and qulacs has no single precision.
    choice = selector(precision="single").choose(features_of(random_circuit(5, 3)), shots=100)
    assert choice.engine == "qulacs"
    assert choice.precision == "double"


def test_clifford_circuits_go_to_stim_when_it_is_predicted_faster() -> None:
    choice = selector().choose(features_of(ghz(25)), shots=1000)
    assert choice.engine == "stim"
    assert "stim" in choice.predictions and "aer" in choice.predictions


def test_stim_is_not_chosen_when_its_model_says_it_is_slower() -> None:
    slow_stim = table(
        **{k.replace(":", "__"): m for k, m in COSTS.models.items() if not k.startswith("stim")},
        stim__tableau__double=model(call=10.0),
    )
    choice = selector(costs=slow_stim).choose(features_of(ghz(25)), shots=1000)
    assert choice.engine != "stim"
    assert choice.predictions["stim"] > choice.predictions[choice.engine]


def test_the_stabilizer_device_chooses_between_stim_and_aer() -> None:
    device = DEVICES.get("stabilizer")
    choice = selector(device).choose(features_of(ghz(200)), shots=1000)
    assert choice.engine == "stim"
    assert set(choice.predictions) == {"stim", "aer"}


@pytest.mark.parametrize("name", ["density-matrix", "mps"])
def test_devices_without_a_choice_stay_on_their_own_engine(name: str) -> None:
    choice = selector(DEVICES.get(name)).choose(features_of(ghz(5)), shots=100)
    assert choice.engine == "aer"
    assert choice.predictions == {}
    assert choice.reason.startswith("aer: ") and repr(name) in choice.reason


def test_noisy_devices_and_twins_stay_on_aer() -> None:
    noisy = dataclasses.replace(STATEVECTOR, noisy=True)
    assert selector(noisy).choose(features_of(ghz(5)), shots=10).engine == "aer"
    twin = dataclasses.replace(STATEVECTOR, kind="twin")
    choice = selector(twin).choose(features_of(ghz(5)), shots=10)
    assert choice.engine == "aer"
    assert "twins run on aer" in choice.reason


def test_wide_states_run_only_on_engines_that_hold_little_beside_them() -> None:
    # qulacs is predicted fastest at every width here, but its sampler holds a
    # cumulative distribution of half the state's size beside it.
    costs = dataclasses.replace(
        COSTS,
        models={**COSTS.models, "qulacs:dense:double": model(work=1e-12)},
    )
    wide = features_of(random_circuit(memory.LEAN_QUBITS, 2))
    narrower = features_of(random_circuit(memory.LEAN_QUBITS - 1, 2))
    assert selector(costs=costs).choose(narrower, shots=100).engine == "qulacs"
    choice = selector(costs=costs).choose(wide, shots=100)
    assert choice.engine == "aer"
    assert "qulacs" not in choice.predictions
    assert "qulacs left out" in choice.reason
    single = selector(costs=costs, precision="single").choose(wide, shots=100)
    assert single.engine == "qsim" and "qulacs" not in single.predictions
    assert selector(costs=costs, pinned="qulacs").choose(wide, shots=100).engine == "qulacs"


def test_an_engine_is_priced_on_the_gates_it_says_it_applies() -> None:
    class Merging(FakeStateEngine):
        def passes(self, features: object) -> int:
            return 1

    circuit = features_of(random_circuit(20, 20))
    engines = {**ENGINES, "qulacs": Merging("qulacs", ("double",))}
    plain = Selector(STATEVECTOR, table=COSTS, engines=ENGINES).choose(circuit, shots=1)
    merged = Selector(STATEVECTOR, table=COSTS, engines=engines).choose(circuit, shots=1)
    work = COSTS.models["qulacs:dense:double"].coefficients[costs.TERMS.index("work")]
    saved = (circuit.size - 1) * (work * 2**20 + 1e-6)  # the work and gate terms of the rest
    assert merged.predictions["qulacs"] == pytest.approx(plain.predictions["qulacs"] - saved)


def test_a_pinned_engine_is_used_as_asked() -> None:
    choice = selector(pinned="aer").choose(features_of(ghz(25)), shots=1000)
    assert (choice.engine, choice.reason, choice.predictions) == ("aer", "pinned by the job", {})


def test_a_pinned_engine_that_cannot_run_the_circuit_is_refused_with_its_reason() -> None:
    with pytest.raises(errors.EngineCannotRun) as caught:
        selector(pinned="stim").choose(features_of(random_circuit(4, 2)), shots=10)
    assert caught.value.detail["reason"] == "stim runs only Clifford circuits"
    with pytest.raises(errors.EngineCannotRun, match="single precision only"):
        selector(pinned="qsim", precision="double").choose(features_of(ghz(3)), shots=10)


def test_exact_states_come_only_from_engines_that_return_them() -> None:
    choice = selector(precision="single").choose(
        features_of(random_circuit(20, 20)), shots=0, exact="states"
    )
    assert choice.engine in {"aer", "qulacs"}
    assert "qsim" not in choice.predictions


def test_an_engine_without_a_cost_model_is_not_chosen() -> None:
    only_aer = table(aer__dense__double=model(call=1.0))
    choice = selector(costs=only_aer).choose(features_of(random_circuit(5, 3)), shots=10)
    assert choice.engine == "aer"
    assert set(choice.predictions) == {"aer"}
    assert "the only engine that can run it" in choice.reason


def test_more_bindings_and_shots_raise_the_prediction() -> None:
    pick = selector()
    features = features_of(random_circuit(10, 5))
    one = pick.choose(features, shots=100).predictions["aer"]
    assert pick.choose(features, shots=100, runs=50).predictions["aer"] > one
    assert pick.choose(features, shots=100_000).predictions["aer"] > one


def test_a_batch_spreads_the_fixed_cost_of_one_call() -> None:
    pick = selector(precision="single")
    features = features_of(random_circuit(5, 3))
    alone = pick.choose(features, shots=100).predictions["qsim"]
    in_batch = pick.choose(features, shots=100, batch=1000).predictions["qsim"]
    assert in_batch < alone


def test_picker_records_every_choice_in_order() -> None:
    picker = Picker(selector())
    picker.pick(ghz(25), shots=100)
    picker.pick(random_circuit(5, 3), shots=100)
    assert [c.engine for c in picker.used] == ["stim", "qulacs"]


def test_selection_of_a_thousand_similar_circuits_is_cheap() -> None:
    # Not a timing assertion: the memo must make repeated shapes one dictionary look-up.
    pick = selector()
    features = features_of(random_circuit(5, 3))
    pick.choose(features, shots=100, batch=1000)
    started = time.perf_counter()
    for _ in range(1000):
        pick.choose(features, shots=100, batch=1000)
    assert len(pick._memo) == 1
    assert time.perf_counter() - started >= 0


def test_seconds_read_naturally() -> None:
    assert format_seconds(0.031) == "31 ms"
    assert format_seconds(0.61) == "0.61 s"
    assert format_seconds(12.3) == "12.3 s"
    assert format_seconds(4.2e-5) == "42 µs"


def circuits_of_every_kind() -> list[QuantumCircuit]:
    from qiskit.circuit import Parameter

    parametric = QuantumCircuit(2, 2)
    parametric.rx(Parameter("a"), 0)
    parametric.rzz(0.3, 0, 1)
    parametric.measure([0, 1], [0, 1])
    mid = QuantumCircuit(2, 2)
    mid.h(0)
    mid.measure(0, 0)
    mid.x(0)
    mid.measure(1, 1)
    reset = QuantumCircuit(3, 1)
    reset.reset(0)
    reset.ccx(0, 1, 2)
    reset.barrier()
    reset.measure(2, 0)
    flow = QuantumCircuit(1, 1)
    flow.measure(0, 0)
    with flow.if_test((flow.clbits[0], 1)):
        flow.x(0)
    return [ghz(6), random_circuit(5, 4), parametric, mid, reset, flow, QuantumCircuit(3)]


@pytest.mark.parametrize("index", range(7))
def test_quick_features_agree_with_the_full_walk_except_depth(index: int) -> None:
    from qharbor.engines.quick_features import quick_features

    circuit = circuits_of_every_kind()[index]
    quick = dataclasses.asdict(quick_features(circuit))
    full = dataclasses.asdict(features_of(circuit))
    assert quick.pop("depth") >= full.pop("depth") or full["control_flow"]
    if full["control_flow"]:  # inside blocks, only the quick reading sees the measured qubit
        assert quick.pop("mid_circuit_measurement") >= full.pop("mid_circuit_measurement")
    assert quick == full


def test_a_single_job_runs_in_double_where_the_state_has_no_single_form() -> None:
    mps = selector(DEVICES.get("mps"), precision="single").choose(features_of(ghz(5)), shots=10)
    assert mps.precision == "double"
    clifford = selector(precision="single").choose(features_of(ghz(25)), shots=10)
    assert (clifford.engine, clifford.precision) == ("stim", "double")
    dense = selector(DEVICES.get("density-matrix"), precision="single")
    assert dense.choose(features_of(ghz(5)), shots=10).precision == "single"


def test_selectors_of_the_table_in_force_share_their_decisions() -> None:
    # A worker builds a selector per job: the second job's choice is the first's.
    features = features_of(random_circuit(4, 3))
    first = Selector(STATEVECTOR).choose(features, shots=0, runs=3, exact="expectations")
    again = Selector(STATEVECTOR).choose(features, shots=0, runs=3, exact="expectations")
    assert again is first
    single = Selector(STATEVECTOR, precision="single")
    assert single.choose(features, shots=0, runs=3, exact="expectations") is not first

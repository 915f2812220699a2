"""Primitive options: the tree and names of qiskit-ibm-runtime, checked as they are set."""

from __future__ import annotations

import pytest

from qharbor.client.qiskit.options import (
    EstimatorOptions,
    SamplerOptions,
    coerce,
    job_options,
    seed_of,
    tags_of,
    unsupported,
)


def test_nested_dicts_build_the_groups_and_update_merges_into_them() -> None:
    options = coerce(
        {"default_shots": 10, "simulator": {"seed_simulator": 4}, "twirling": {"strategy": "all"}},
        SamplerOptions,
    )
    assert isinstance(options, SamplerOptions)
    assert options.simulator.seed_simulator == 4 and options.twirling.strategy == "all"
    options.update(simulator={"basis_gates": ["cx"]}, environment={"job_tags": ["a"]})
    assert options.simulator.seed_simulator == 4  # merged, not replaced
    assert options.to_dict()["simulator"]["basis_gates"] == ["cx"]
    constructed = SamplerOptions(default_shots=3, execution={"rep_delay": 1e-4})
    assert constructed.execution.rep_delay == 1e-4 and constructed.execution.init_qubits


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("default_shots",), 0, ValueError),
        (("default_shots",), True, ValueError),
        (("shots",), 10, AttributeError),
        (("simulator", "seed_sim"), 1, AttributeError),
        (("simulator", "seed_simulator"), -1, ValueError),
        (("execution", "meas_type"), "raw", ValueError),
        (("twirling", "num_randomizations"), 0, ValueError),
        (("environment", "job_tags"), "one", ValueError),
        (("simulator",), 5, ValueError),
    ],
)
def test_bad_names_and_values_are_refused_when_set(
    path: tuple[str, ...], value: object, error: type[Exception]
) -> None:
    options = SamplerOptions()
    target = options
    for name in path[:-1]:
        target = getattr(target, name)
    with pytest.raises(error):
        setattr(target, path[-1], value)


def test_estimator_only_names_are_refused_on_the_sampler() -> None:
    with pytest.raises(AttributeError, match="resilience_level"):
        SamplerOptions().resilience_level = 1  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="resilience_level"):
        EstimatorOptions(resilience_level=3)


def test_seed_and_tags_are_taken_in_order() -> None:
    options = EstimatorOptions(seed=2, tags=["x"], environment={"job_tags": ["y", "x"]})
    options.simulator.seed_simulator = 3
    assert seed_of(options) == 2
    options.seed_estimator = 1
    assert seed_of(options) == 1 and tags_of(options) == ["x", "y"]


def test_mitigation_is_sent_to_the_centre_and_only_what_it_cannot_do_is_refused() -> None:
    options = EstimatorOptions(resilience_level=2, twirling={"num_randomizations": 8})
    options.resilience.zne = {"noise_factors": [1, 3], "extrapolator": "linear"}
    options.dynamical_decoupling.enable = True
    assert unsupported(options, noisy=True) == []
    assert job_options(options) == {
        "resilience_level": 2,
        "resilience": {"zne": {"noise_factors": [1, 3], "extrapolator": "linear"}},
        "twirling": {"num_randomizations": 8},
        "dynamical_decoupling": {"enable": True, "sequence_type": "XX"},
    }
    # Unset switches are left to the level, as IBM's Unset is.
    assert job_options(EstimatorOptions()) == {}
    options.resilience.pec_mitigation = True
    assert "PEC is not offered" in unsupported(options, noisy=True)[0]
    # A sampler's twirling is sent, and the centre twirls its circuits.
    twirled = SamplerOptions(twirling={"enable_gates": True, "shots_per_randomization": 64})
    assert unsupported(twirled, noisy=True) == []
    assert job_options(twirled) == {
        "twirling": {"enable_gates": True, "shots_per_randomization": 64}
    }
    assert job_options(SamplerOptions(measure_mitigation=True)) == {"mitigate_readout": True}
    assert len(unsupported(SamplerOptions(simulator={"coupling_map": [[0, 1]]}), noisy=False)) == 1


def test_a_flat_name_in_update_finds_its_group_with_a_deprecation_warning() -> None:
    options = SamplerOptions()
    with pytest.warns(DeprecationWarning, match="'environment': {'log_level'"):
        options.update(log_level="INFO")
    assert options.environment.log_level == "INFO"
    with pytest.raises(AttributeError, match="no option 'nonsense'"):
        options.update(nonsense=1)

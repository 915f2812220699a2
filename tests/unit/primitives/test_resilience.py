"""Resilience options: what each level turns on, and the combinations refused."""

from __future__ import annotations

from typing import Any

import pytest

from qharbor import errors
from qharbor.jobs.options import JobOptions


def plan(kind: str = "estimator", **options: Any) -> Any:
    return JobOptions.from_json(options).mitigation_plan(kind)


def test_level_zero_applies_nothing() -> None:
    assert plan().applied() == []
    assert not plan().active


def test_level_one_is_trex_with_twirled_measurements() -> None:
    assert plan(resilience_level=1).applied() == ["measure_twirling", "trex"]


def test_level_two_adds_zne_with_ibm_defaults_and_gate_twirling() -> None:
    chosen = plan(resilience_level=2)
    assert chosen.applied() == ["gate_twirling", "zne", "measure_twirling", "trex"]
    assert chosen.noise_factors == (1.0, 3.0, 5.0)
    assert chosen.extrapolators == ("exponential", "linear")


def test_detailed_options_override_the_level() -> None:
    chosen = plan(
        resilience_level=2,
        resilience={"measure_mitigation": False, "zne": {"extrapolator": "linear"}},
        twirling={"enable_gates": False},
        dynamical_decoupling={"enable": True, "sequence_type": "XY4"},
    )
    assert chosen.applied() == ["dynamical_decoupling:XY4", "zne"]
    assert chosen.extrapolators == ("linear",)


@pytest.mark.parametrize(
    ("count", "each", "shots", "expected"),
    [
        ("auto", "auto", 4096, (32, 128)),
        (8, "auto", 100, (8, 13)),
        ("auto", 50, 100, (2, 50)),
        (3, 7, 4096, (3, 7)),
        ("auto", "auto", 5, (5, 1)),
    ],
)
def test_randomizations_are_sized_as_ibm_sizes_them(
    count: Any, each: Any, shots: int, expected: tuple[int, int]
) -> None:
    chosen = plan(
        resilience_level=1,
        twirling={"num_randomizations": count, "shots_per_randomization": each},
    )
    assert chosen.randomizations(shots) == expected


@pytest.mark.parametrize(
    ("kind", "options", "says"),
    [
        ("estimator", {"resilience": {"pec_mitigation": True}}, "probabilistic error"),
        ("estimator", {"resilience": {"zne": {"noise_factors": [1, 3]}}}, "ZNE is off"),
        (
            "estimator",
            {"resilience_level": 2, "resilience": {"zne": {"noise_factors": [0.5, 1, 3]}}},
            "from 1",
        ),
        (
            "estimator",
            {"resilience_level": 2, "resilience": {"zne": {"noise_factors": [1, 3, 3]}}},
            "repeats",
        ),
        (
            "estimator",
            {
                "resilience_level": 2,
                "resilience": {
                    "zne": {"noise_factors": [1, 3], "extrapolator": "polynomial_degree_2"}
                },
            },
            "at least 3 noise factors",
        ),
        ("estimator", {"twirling": {"num_randomizations": 4}}, "nothing is twirled"),
        ("estimator", {"resilience_level": 3}, "0, 1 or 2"),
        ("estimator", {"dynamical_decoupling": {"enable": True, "sequence_type": "XZ"}}, "XY4"),
        ("circuits", {"resilience_level": 1}, "estimator jobs"),
        ("sampler", {"resilience_level": 1}, "mitigate_readout"),
        ("sampler", {"resilience": {"zne_mitigation": True}}, "TREX and ZNE"),
        ("sampler", {"twirling": {"shots_per_randomization": 8}}, "nothing is twirled"),
    ],
)
def test_impossible_combinations_are_refused_with_what_to_do(
    kind: str, options: dict[str, Any], says: str
) -> None:
    with pytest.raises(errors.MitigationInvalid, match=says) as caught:
        plan(kind, **options)
    assert caught.value.code == "MITIGATION_INVALID"
    assert caught.value.detail["field"].startswith("options.")


def test_a_sampler_may_ask_for_decoupling_and_twirling() -> None:
    chosen = plan("sampler", dynamical_decoupling={"enable": True})
    assert chosen.dd_sequence == "XX"
    twirled = plan("sampler", twirling={"enable_gates": True, "enable_measure": True})
    assert twirled.applied() == ["gate_twirling", "measure_twirling"]


def test_options_survive_their_json() -> None:
    options = JobOptions.from_json(
        {
            "resilience_level": 2,
            "resilience": {"zne": {"noise_factors": [1, 2, 3], "extrapolator": ["linear"]}},
            "twirling": {"num_randomizations": 4},
        }
    )
    assert JobOptions.from_json(options.to_json()) == options

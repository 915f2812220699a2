"""JobResult and DeviceInfo: JSON round trips and Qiskit-like counts."""

from __future__ import annotations

import dataclasses

import pytest

from qharbor.client import DeviceInfo, JobResult
from tests.unit.client.scripted import result_json


def test_result_round_trips_through_json() -> None:
    data = result_json(counts=[{"00": 60, "11": 40}])
    data["experiments"][0].update(seed=7, num_qubits=2, num_clbits=2, depth=3, run_s=0.001)

    result = JobResult.from_json(data)

    assert result.to_json() == data
    experiment = result.experiments[0]
    assert (experiment.shots, experiment.seed, experiment.num_qubits, experiment.depth) == (
        100,
        7,
        2,
        3,
    )
    assert result.timings["total_s"] == 0.02
    assert result.metadata["engine"] == "aer"


def test_fields_the_client_does_not_know_survive_a_round_trip() -> None:
    data = result_json()
    data["signature"] = "ml-dsa:abc"
    data["experiments"][0]["memory"] = ["00", "11"]

    written = JobResult.from_json(data).to_json()

    assert written["signature"] == "ml-dsa:abc"
    assert written["experiments"][0]["memory"] == ["00", "11"]


def test_get_counts_of_a_single_experiment_is_one_dict() -> None:
    result = JobResult.from_json(result_json(counts=[{"0": 3, "1": 1}]))

    assert result.get_counts() == {"0": 3, "1": 1}


def test_get_counts_of_several_experiments_is_a_list_in_order() -> None:
    result = JobResult.from_json(result_json(counts=[{"0": 4}, {"1": 4}]))

    assert result.get_counts() == [{"0": 4}, {"1": 4}]
    assert result.get_counts(1) == {"1": 4}
    assert result.get_counts(-1) == {"1": 4}


def test_get_counts_by_experiment_name() -> None:
    data = result_json(counts=[{"0": 4}, {"1": 4}])
    data["experiments"][1]["name"] = "flip"

    assert JobResult.from_json(data).get_counts("flip") == {"1": 4}


def test_get_counts_out_of_range_or_unknown_name_raises() -> None:
    result = JobResult.from_json(result_json(counts=[{"0": 4}]))

    with pytest.raises(IndexError, match="has 1"):
        result.get_counts(1)
    with pytest.raises(KeyError, match="nope"):
        result.get_counts("nope")


def test_get_counts_returns_a_copy_so_the_result_stays_unchanged() -> None:
    result = JobResult.from_json(result_json(counts=[{"0": 4}]))

    counts = result.get_counts()
    assert isinstance(counts, dict)
    counts["0"] = 99

    assert result.get_counts() == {"0": 4}


def test_result_is_frozen() -> None:
    result = JobResult.from_json(result_json())

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.job_id = "other"  # type: ignore[misc]


def test_experiment_probabilities_divide_counts_by_shots() -> None:
    result = JobResult.from_json(result_json(counts=[{"0": 3, "1": 1}]))

    assert result.experiments[0].probabilities() == {"0": 0.75, "1": 0.25}


def test_device_info_round_trips_through_json() -> None:
    data = {
        "name": "statevector",
        "kind": "simulator",
        "description": "Exact state-vector simulation on Qiskit Aer",
        "engine": "aer",
        "method": "statevector",
        "max_qubits": 29,
        "max_shots": 1_000_000,
        "basis_gates": ["cx", "h"],
        "noisy": False,
        "status": "ONLINE",
        "queue_length": 2,
        "running": 1,
        "calibrated_at": "2026-11-23T10:00:00Z",
    }

    device = DeviceInfo.from_json(data)

    assert device.basis_gates == ("cx", "h")
    assert device.extra == {"calibrated_at": "2026-11-23T10:00:00Z"}
    assert device.to_json() == data

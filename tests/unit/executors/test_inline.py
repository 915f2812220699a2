"""In-process runs: which claims the centre runs in its own thread, and how they end."""

from __future__ import annotations

import dataclasses

import pytest

from qharbor import errors
from qharbor.devices import default_catalogue
from qharbor.executors.base import OutcomeKind
from qharbor.executors.inline import MOST_RUNS, InlineRuns
from qharbor.jobs.claims import Claim
from qharbor.jobs.options import JobOptions
from qharbor.jobs.result import Result
from tests.programs import BELL, MID_CIRCUIT, ROTATION, slow, stored

CATALOGUE = default_catalogue()
STATEVECTOR = CATALOGUE.get("statevector")
#: Long enough for a Bell pair on any engine, far too short for 22 qubits.
MAX_S = 1e-3


def claim(*sources: str | dict, device: str = "statevector", **fields: object) -> Claim:
    """A prepared claim of the programs (text is admitted first) on ``device``."""
    programs = [stored(s) if isinstance(s, str) else s for s in sources]
    target = CATALOGUE.get(device)
    base = Claim("job", 2, device, 100, 7, programs, target=target)
    return dataclasses.replace(base, **fields)


@pytest.fixture(scope="module")
def inline() -> InlineRuns:
    runs = InlineRuns(MAX_S)
    assert runs.wait_loaded(60), "the engines did not load"
    return runs


def test_a_bell_pair_on_a_simulator_runs_in_process(inline: InlineRuns) -> None:
    seconds = inline.predicted_s(claim(BELL))
    assert seconds is not None and 0 < seconds <= MAX_S
    assert inline.takes(claim(BELL))


def test_a_claim_run_in_process_ends_done_with_its_attempt_and_result(
    inline: InlineRuns,
) -> None:
    outcome = inline.run(claim(BELL))
    assert outcome.kind is OutcomeKind.DONE
    assert (outcome.job_id, outcome.attempt) == ("job", 2)
    assert isinstance(outcome.result, Result)
    assert sum(outcome.result.experiments[0].counts.values()) == 100
    assert set(outcome.result.experiments[0].counts) <= {"00", "11"}


def test_a_program_error_in_process_fails_the_job_with_its_code(inline: InlineRuns) -> None:
    body = stored(BELL)
    # Whichever form the circuit is stored in (a gate list, or QPY), it is unreadable.
    damaged = {**body, **{k: "bm90IHFweQ==" for k in ("circuit_qpy", "circuit_gates") if k in body}}
    outcome = inline.run(claim(damaged))
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.code == errors.ExecutionError.code
    assert outcome.result is None


def test_a_circuit_predicted_longer_than_the_limit_goes_to_a_worker(inline: InlineRuns) -> None:
    assert inline.predicted_s(claim(slow())) is None
    assert not inline.takes(claim(slow()))


@pytest.mark.parametrize(
    "why",
    ["twin", "sealed", "control flow", "result types", "primitive", "too many runs"],
)
def test_claims_a_worker_must_run_are_not_taken(inline: InlineRuns, why: str) -> None:
    cases = {
        "twin": lambda: claim(BELL, device="nmr3"),
        "sealed": lambda: claim(BELL, sealed=True),
        # A loop's few gates say nothing of how long it runs.
        "control flow": lambda: claim(MID_CIRCUIT),
        "result types": lambda: claim(
            {**stored(BELL), "extras": {"result_types": [{"type": "probability"}]}}
        ),
        "primitive": lambda: claim(BELL, kind="sampler"),
        "too many runs": lambda: claim(*[BELL] * (MOST_RUNS + 1)),
    }
    assert not inline.takes(cases[why]())


def test_runs_of_every_binding_count_against_the_limit(inline: InlineRuns) -> None:
    few = stored(ROTATION, bindings=[{"theta": 0.1 * i} for i in range(MOST_RUNS)])
    many = stored(ROTATION, bindings=[{"theta": 0.1 * i} for i in range(MOST_RUNS + 1)])
    assert inline.takes(claim(few))
    assert not inline.takes(claim(many))


def test_a_pinned_engine_is_priced_by_its_own_model(inline: InlineRuns) -> None:
    pinned = claim(BELL, options=JobOptions(engine="aer"))
    seconds = inline.predicted_s(pinned)
    assert seconds is not None and seconds > 0


def test_a_limit_of_zero_runs_nothing_in_process() -> None:
    off = InlineRuns(0.0)
    assert not off.wait_loaded(0)
    assert not off.takes(claim(BELL))

"""The queue policy: fair share between projects, session priority only within it."""

from __future__ import annotations

import random

from qharbor.jobs.policy import FairShare, Reserved, Turn, Waiting, turns


def test_projects_are_served_least_used_first_then_oldest_first() -> None:
    waiting = [Waiting("a", 5, False), Waiting("b", 9, False), Waiting("c", 1, False)]
    order = turns(waiting, {"a": 10.0, "b": 0.0, "c": 10.0})
    assert order == [Turn("b", False), Turn("c", False), Turn("a", False)]


def test_a_heavy_projects_session_does_not_go_ahead_of_a_light_project() -> None:
    waiting = [Waiting("heavy", 1, True), Waiting("light", 2, False)]
    order = turns(waiting, {"heavy": 500.0})
    assert order == [Turn("light", False), Turn("heavy", False)]


def test_a_session_within_its_fair_share_goes_ahead_of_less_used_projects() -> None:
    # "mid" has used less than the average of the waiting projects: its session jobs go
    # ahead even of "idle", which has used nothing; its other jobs wait their turn.
    waiting = [Waiting("idle", 1, False), Waiting("mid", 2, True), Waiting("big", 3, False)]
    order = turns(waiting, {"mid": 10.0, "big": 100.0})
    assert order == [
        Turn("mid", True),
        Turn("idle", False),
        Turn("mid", False),
        Turn("big", False),
    ]


def test_no_project_above_the_average_ever_overtakes_another() -> None:
    """Drawn at random: whatever the shares, a session never lets a project that used more
    than the average go ahead of one that used less."""
    rng = random.Random(7)
    for _ in range(500):
        n = rng.randint(1, 6)
        waiting = [Waiting(f"p{i}", rng.randint(0, 99), rng.random() < 0.5) for i in range(n)]
        shares = {w.project_id: rng.choice([0.0, rng.uniform(0, 1000)]) for w in waiting}
        order = turns(waiting, shares)
        mean = sum(shares.values()) / n
        # Every project gets exactly one turn for all its jobs, in fair-share order.
        full = [t.project_id for t in order if not t.sessions_only]
        assert full == [
            w.project_id for w in sorted(waiting, key=lambda w: (shares[w.project_id], w.oldest))
        ]
        first_full = {p: order.index(Turn(p, False)) for p in full}
        for turn in order:
            if turn.sessions_only:
                assert shares[turn.project_id] <= mean
                assert next(w for w in waiting if w.project_id == turn.project_id).has_session_jobs
        for w in waiting:
            if shares[w.project_id] > mean:
                ahead = [t for t in order[: first_full[w.project_id]]]
                assert all(shares[t.project_id] <= shares[w.project_id] for t in ahead)


def test_nothing_waiting_means_no_turns() -> None:
    assert turns([], {"a": 1.0}) == []


def test_a_project_holding_a_device_goes_first_on_it_and_others_are_barred_from_it() -> None:
    waiting = [Waiting("idle", 1, False), Waiting("holder", 2, False)]
    order = Reserved({"sc25": "holder"}, FairShare({"holder": 100.0})).turns(waiting)
    assert order == [
        Turn("holder", False, only=frozenset({"sc25"})),
        Turn("idle", False, barred=frozenset({"sc25"})),
        Turn("holder", False),
    ]


def test_without_holds_the_reserved_policy_is_its_inner_policy() -> None:
    waiting = [Waiting("a", 5, True), Waiting("b", 9, False)]
    inner = FairShare({"a": 1.0, "b": 5.0})
    assert Reserved({}, inner).turns(waiting) == inner.turns(waiting)

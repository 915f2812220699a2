"""Memory reservations of one host: what fits, under concurrent reservers, and their return."""

from __future__ import annotations

import threading

import pytest

from qharbor.executors.memory import MemoryBudget


def test_a_reservation_is_held_until_released() -> None:
    budget = MemoryBudget(1000)
    assert budget.reserve("a", 600)
    assert budget.free() == 400
    assert budget.held() == {"a": 600}
    assert budget.release("a") == 600
    assert budget.free() == 1000
    assert budget.release("a") == 0  # a second release changes nothing


def test_a_need_that_does_not_fit_now_is_refused_and_holds_nothing() -> None:
    budget = MemoryBudget(1000)
    assert budget.reserve("a", 600)
    assert not budget.reserve("b", 401)
    assert budget.held() == {"a": 600}
    assert budget.reserve("b", 400)
    assert budget.free() == 0


def test_reserving_again_under_the_same_key_keeps_one_reservation() -> None:
    budget = MemoryBudget(1000)
    assert budget.reserve("a", 600)
    assert budget.reserve("a", 600)
    assert budget.free() == 400


def test_fits_alone_compares_with_the_whole_capacity() -> None:
    budget = MemoryBudget(1000)
    budget.reserve("a", 900)
    assert budget.fits_alone(1000)
    assert not budget.fits_alone(1001)


def test_concurrent_reservations_never_exceed_the_capacity() -> None:
    budget = MemoryBudget(10 * 7)
    start = threading.Barrier(32)
    won: list[str] = []
    lock = threading.Lock()

    def reserve(key: str) -> None:
        start.wait()
        if budget.reserve(key, 7):
            with lock:
                won.append(key)

    threads = [threading.Thread(target=reserve, args=(f"job-{i}",)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 10
    assert budget.free() == 0
    assert set(budget.held()) == set(won)


def test_negative_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        MemoryBudget(-1)
    with pytest.raises(ValueError, match="reservation"):
        MemoryBudget(10).reserve("a", -1)

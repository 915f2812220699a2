"""Rate limits: token buckets per user and per project."""

from __future__ import annotations

import pytest

from qharbor import errors
from qharbor.security.ratelimit import RateLimiter, RateLimits


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_token_may_make_a_burst_then_waits() -> None:
    ticks = Ticks()
    limiter = RateLimiter(rate=2.0, burst=3, clock=ticks)
    assert [limiter.take("t") for _ in range(3)] == [None, None, None]
    assert limiter.take("t") == 0.5


def test_the_bucket_refills_at_the_rate() -> None:
    ticks = Ticks()
    limiter = RateLimiter(rate=2.0, burst=1, clock=ticks)
    assert limiter.take("t") is None
    assert limiter.take("t") is not None
    ticks.now += 0.5
    assert limiter.take("t") is None


def test_retry_after_is_the_seconds_until_one_request_is_allowed() -> None:
    ticks = Ticks()
    limiter = RateLimiter(rate=0.25, burst=1, clock=ticks)
    assert limiter.take("t") is None
    assert limiter.take("t") == 4.0


def test_retry_after_is_not_rounded_up_to_a_whole_second() -> None:
    """At 20 per second a request is allowed again 50 ms later; a whole second would
    hold a client that honours it to fewer requests than the limit allows."""
    ticks = Ticks()
    limiter = RateLimiter(rate=20.0, burst=1, clock=ticks)
    assert limiter.take("t") is None
    assert limiter.take("t") == 0.05
    ticks.now += 0.03
    assert limiter.take("t") == 0.02
    ticks.now += 0.021
    assert limiter.take("t") is None


def test_tokens_have_separate_buckets() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=Ticks())
    assert limiter.take("a") is None
    assert limiter.take("a") is not None
    assert limiter.take("b") is None


def test_a_rate_of_zero_turns_limits_off() -> None:
    limiter = RateLimiter(rate=0.0, burst=1, clock=Ticks())
    assert all(limiter.take("t") is None for _ in range(1000))


def test_limits_are_per_user_and_per_project() -> None:
    ticks = Ticks()
    limits = RateLimits(
        RateLimiter(rate=1.0, burst=2, clock=ticks), RateLimiter(rate=1.0, burst=3, clock=ticks)
    )
    limits.take("ada", "lab")
    limits.take("ada", "lab")
    with pytest.raises(errors.RateLimited) as caught:
        limits.take("ada", "lab")  # whichever token Ada uses, she is Ada
    assert caught.value.detail == {"retry_after_s": 1.0, "per": "user"}
    limits.take("bob", "lab")
    with pytest.raises(errors.RateLimited) as caught:
        limits.take("cy", "lab")  # a third member finds the project's bucket empty
    assert caught.value.detail["per"] == "project"
    limits.take("dee", "other-lab")

"""Rate limits per user and per project: token buckets, in this centre process.

Each user may make ``burst`` requests at once and ``rate`` requests per second
after that, whichever of their tokens they use, and each project has a bucket of
its own that all its members' requests share. Minting more tokens gains nothing.
The buckets live in memory, so a cluster of N centre processes lets a user make
up to N times the rate; put a shared limiter in the proxy for a hard cap.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from qharbor import errors


class RateLimiter:
    """Token buckets keyed by any string (a user's or a project's id).

    Args:
        rate: requests per second a key may sustain; 0 or less turns limits off.
        burst: requests a key may make at once (the bucket's size).
        clock: a monotonic time source in seconds.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float | None:
        """Spend one request from the key's bucket.

        Returns:
            None when the request may go ahead; otherwise the seconds until the
            bucket holds one request again (to the millisecond, at least 1 ms).
            Not rounded up to whole seconds: at 20 requests per second a token is
            back in 50 ms, and a client told to wait a whole second would get
            less than the rate it is allowed. ``Retry-After`` rounds it up.
        """
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 10_000:
                    self._forget_full(now)
                return None
            self._buckets[key] = (tokens, now)
            milliseconds = round((1.0 - tokens) / self.rate * 1000, 6)  # no float dust
            return max(0.001, math.ceil(milliseconds) / 1000)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they behave exactly like new ones."""
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


class RateLimits:
    """The centre's limits: one bucket per user, and a larger one per project.

    Args:
        user: the limiter keyed by user id.
        project: the limiter keyed by project id.
    """

    def __init__(self, user: RateLimiter, project: RateLimiter) -> None:
        self.user = user
        self.project = project

    def take(self, user_id: str, project_id: str) -> None:
        """Spend one request from the user's bucket and one from the project's.

        Raises:
            errors.RateLimited: either bucket is empty; ``retry_after_s`` says how long
                to wait.
        """
        for limiter, key, per, whose in (
            (self.user, user_id, "user", "from you"),
            (self.project, project_id, "project", "from your project"),
        ):
            wait = limiter.take(key)
            if wait is not None:
                raise errors.RateLimited(
                    f"too many requests {whose}, whichever tokens are used; retry after "
                    f"{wait:g} s (the limit is {limiter.rate:g} per second, "
                    f"{limiter.burst} at once)",
                    retry_after_s=wait,
                    per=per,
                )

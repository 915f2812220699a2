"""Per-token rate limits: a token bucket for each token, in this centre process.

Each token may make ``burst`` requests at once and ``rate`` requests per second
after that. The buckets live in memory, so a cluster of N centre processes lets a
token make up to N times the rate; put a shared limiter in the proxy for a hard cap.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Token buckets keyed by API token id.

    Args:
        rate: requests per second a token may sustain; 0 or less turns limits off.
        burst: requests a token may make at once (the bucket's size).
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
            None when the request may go ahead; otherwise the whole seconds to
            wait before the next request will be allowed (for ``Retry-After``).
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
            return float(max(1, math.ceil((1.0 - tokens) / self.rate)))

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they behave exactly like new ones."""
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]

"""Memory admission: what the running jobs of one host have reserved, against what it has.

Every job carries the memory it will need (estimated at submission by
:mod:`qharbor.engines.memory`). An executor owns one :class:`MemoryBudget` per
host, or per node of a cluster: a job is claimed only when its need fits in
what is free, and starts only once its reservation is taken; the reservation is
returned however the job ends (done, failed, cancelled, or its worker lost).
"""

from __future__ import annotations

import threading


class MemoryBudget:
    """Reservations of memory by running jobs, in bytes, on one host; safe from any thread.

    Args:
        capacity_bytes: what the jobs may use together.
    """

    def __init__(self, capacity_bytes: int) -> None:
        if capacity_bytes < 0:
            raise ValueError(f"capacity_bytes must be at least 0, not {capacity_bytes}")
        self.capacity_bytes = capacity_bytes
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def free(self) -> int:
        """Bytes not reserved now."""
        with self._lock:
            return self.capacity_bytes - sum(self._held.values())

    def fits_alone(self, nbytes: int) -> bool:
        """Whether a need would fit on an otherwise idle host."""
        return nbytes <= self.capacity_bytes

    def reserve(self, key: str, nbytes: int) -> bool:
        """Reserve ``nbytes`` for ``key`` if they are free now.

        A key that already holds a reservation keeps it (a second call is a no-op
        that answers True).

        Returns:
            Whether the reservation is held.

        Raises:
            ValueError: a negative need.
        """
        if nbytes < 0:
            raise ValueError(f"a reservation of {nbytes} bytes")
        with self._lock:
            if key in self._held:
                return True
            if nbytes > self.capacity_bytes - sum(self._held.values()):
                return False
            self._held[key] = nbytes
            return True

    def release(self, key: str) -> int:
        """Return ``key``'s reservation; the bytes it held (0 if it held none)."""
        with self._lock:
            return self._held.pop(key, 0)

    def held(self) -> dict[str, int]:
        """Key to bytes, for every reservation held."""
        with self._lock:
            return dict(self._held)

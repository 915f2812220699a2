"""Who recently seen tokens stand for, kept for a few seconds in this process.

Every request authenticates, and reading a token's user, project and role is a
database transaction (about 0.25 ms on SQLite, a round trip on PostgreSQL). A
client that sends many requests sends the same token each time, so the answer
is kept for ``QHARBOR_AUTH_CACHE_SECONDS`` (2 s by default; 0 turns it off).

In this process a change is seen at once: revoking a token, changing or ending a
membership, erasing a user and a single sign-on that changes a user's access
forget everything kept (:meth:`PrincipalCache.forget`), and an answer read before
such a change is never kept after it. Other processes sharing the database
notice within the lifetime: a token revoked through one API process may still
work on another for up to that many seconds. A token past its expiry is refused
whatever is kept.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from qharbor import wire

if TYPE_CHECKING:
    from qharbor.security.identity import Principal

#: The most tokens kept; the least recently used go first.
_SIZE = 4096


class PrincipalCache:
    """Token hash to principal, each kept for ``ttl_s`` seconds; safe from any thread.

    Args:
        ttl_s: how long an answer is kept (seconds); 0 keeps none.
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._kept: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()
        # Counts forget(): an answer read before a change is not kept after it.
        self._generation = 0

    @property
    def generation(self) -> int:
        """Take this before reading a principal from the database; pass it to :meth:`put`."""
        return self._generation

    def get(self, token_hash: str) -> Principal | None:
        """The principal kept for the token, if it is fresh and the token has not expired."""
        if self.ttl_s <= 0:
            return None
        with self._lock:
            found = self._kept.get(token_hash)
            if found is None:
                return None
            kept_at, principal = found
            if time.monotonic() - kept_at >= self.ttl_s:
                del self._kept[token_hash]
                return None
        expires_at = principal.expires_at
        if expires_at is not None and expires_at <= wire.utcnow():
            return None
        return principal

    def put(self, token_hash: str, principal: Principal, generation: int) -> None:
        """Keep a principal read while the cache was at ``generation``, unless it changed since."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            self._kept[token_hash] = (time.monotonic(), principal)
            self._kept.move_to_end(token_hash)
            while len(self._kept) > _SIZE:
                self._kept.popitem(last=False)

    def forget(self) -> None:
        """Drop everything kept: a token, user, membership or role changed."""
        with self._lock:
            self._generation += 1
            self._kept.clear()

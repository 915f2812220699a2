"""What authenticating a request costs, with and without the authentication cache.

Run: .venv/bin/python benchmarks/auth_cache.py [--calls 2000] [--rounds 2]

Authenticates one token again and again against a fresh SQLite centre database,
with the cache off (``QHARBOR_AUTH_CACHE_SECONDS=0``: one read transaction per
request) and on (2 s), alternately; prints the CPU microseconds per call, best
of five batches.
"""

from __future__ import annotations

import argparse
import tempfile
import time


def measure(cache_s: float, calls: int, database_url: str) -> float:
    """CPU seconds per ``authenticate`` call, best of five batches of ``calls``."""
    from qharbor.security.identity import Identity
    from qharbor.store import Database

    db = Database(database_url)
    try:
        identity = Identity(db, principal_cache_s=cache_s)
        _user, token = identity.create_user(f"u{time.time_ns()}", "bench")
        for _ in range(200):
            identity.authenticate(token)
        best = float("inf")
        for _batch in range(5):
            started = time.process_time()
            for _ in range(calls):
                identity.authenticate(token)
            best = min(best, (time.process_time() - started) / calls)
        return best
    finally:
        db.dispose()


def main() -> None:
    from qharbor.store import Database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/qharbor.db"
        Database(url).migrate()
        for _round in range(args.rounds):
            for cache_s in (0.0, 2.0):
                seconds = measure(cache_s, args.calls, url)
                print(f"cache {cache_s:g} s: {seconds * 1e6:.1f} µs CPU per authentication")


if __name__ == "__main__":
    main()

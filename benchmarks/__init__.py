"""qharbor's benchmark suite: six cases, each system in its own process.

Run it with ``bash scripts/bench.sh`` (see docs/benchmarks.md).
"""

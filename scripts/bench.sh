#!/usr/bin/env bash
# Set up the benchmark extra (the peers) in .venv and run the benchmark suite.
# Arguments go to benchmarks/run.py, e.g. `scripts/bench.sh --quick --runs 1`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh bench
exec .venv/bin/python -m benchmarks.run "$@"

#!/usr/bin/env bash
# Set up and run the whole test suite, on SQLite and on PostgreSQL.
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh test
source scripts/postgres.sh
source scripts/slurm.sh
export QHARBOR_REQUIRE_POSTGRES=1
echo "Linting ..."
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "Testing (PostgreSQL at $QHARBOR_TEST_POSTGRES_URL) ..."
.venv/bin/python -m pytest "$@"

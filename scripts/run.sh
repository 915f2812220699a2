#!/usr/bin/env bash
# Set up and run qharbor. With no arguments: the demo (a throwaway centre and a tour
# of example jobs). Anything else is passed to the CLI, e.g. `scripts/run.sh serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh server
if [ "$#" -eq 0 ]; then
    set -- demo
fi
exec .venv/bin/qharbor "$@"

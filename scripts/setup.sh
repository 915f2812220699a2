#!/usr/bin/env bash
# Create .venv and install qharbor into it with the given extras (default: server).
# Sourced by run.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
extras=${1:-server}
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "qharbor needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv ..."
    "$python" -m venv .venv
fi
echo "Installing qharbor[$extras] into .venv ..."
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$extras]"
# The console's browser tests drive Debian's chromium (never a downloaded browser build).
if [[ ",$extras," == *",test,"* ]] && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing chromium for the console's browser tests ..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "The console's browser tests need /usr/bin/chromium: apt-get install chromium" >&2
    fi
fi

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
if [ "$extras" = "test" ]; then
    # The single sign-on tests run a real OpenID provider (oidc-provider) on Node.js.
    if ! command -v npm >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "Installing Node.js and npm (for the test OpenID provider) ..."
            apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
        else
            echo "The tests need Node.js 18+ with npm (for the test OpenID provider)" >&2
            exit 1
        fi
    fi
    if [ ! -d tests/integration/oidc/node_modules/oidc-provider ]; then
        echo "Installing the test OpenID provider (npm ci in tests/integration/oidc) ..."
        (cd tests/integration/oidc && npm ci --no-audit --no-fund --silent)
    fi
    # A test rebuilds the console's vendored ML-DSA bundle from its lock file and compares.
    if [ ! -d src/qharbor/console/build/node_modules/esbuild ]; then
        echo "Installing the console's bundle toolchain (npm ci in src/qharbor/console/build) ..."
        (cd src/qharbor/console/build && npm ci --no-audit --no-fund --silent)
    fi
    # The console's browser tests drive Debian's chromium (never a downloaded browser build).
    if [ ! -x /usr/bin/chromium ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "Installing chromium for the console's browser tests ..."
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        else
            echo "The console's browser tests need /usr/bin/chromium: apt-get install chromium" >&2
            exit 1
        fi
    fi
fi

#!/usr/bin/env bash
# Make sure the tests have a PostgreSQL database; sourced by test.sh.
#
# Uses QHARBOR_TEST_POSTGRES_URL (default: the local server on 127.0.0.1:5432,
# database `test`). On a developer machine without one, it installs PostgreSQL if
# needed (Debian/Ubuntu, as root) and starts a private, throwaway cluster. Under CI
# (CI=true) it never falls back: an unreachable database fails the run.

QHARBOR_TEST_POSTGRES_URL=${QHARBOR_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
export QHARBOR_TEST_POSTGRES_URL

postgres_reachable() {
    .venv/bin/python - "$1" <<'PY'
import sys
import psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except psycopg.Error as exc:
    print(f"PostgreSQL not reachable at {sys.argv[1]}: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
PY
}

start_private_postgres() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$bin" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "Installing PostgreSQL for the tests ..."
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
            bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
        else
            echo "PostgreSQL is needed for the tests: install it, or set QHARBOR_TEST_POSTGRES_URL" >&2
            return 1
        fi
    fi
    local dir port=54329 run=()
    dir=$(mktemp -d /tmp/qharbor-pg.XXXXXX)
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        run=(runuser -u postgres --)
    fi
    echo "Starting a private PostgreSQL on 127.0.0.1:$port ..."
    "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
    QHARBOR_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/test"
    PRIVATE_POSTGRES_STOP=("${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop)
    PRIVATE_POSTGRES_DIR=$dir
    trap 'stop_private_postgres' EXIT
}

stop_private_postgres() {
    if [ -n "${PRIVATE_POSTGRES_STOP+x}" ]; then
        "${PRIVATE_POSTGRES_STOP[@]}" >/dev/null 2>&1 || true
        rm -rf "$PRIVATE_POSTGRES_DIR"
    fi
}

if ! postgres_reachable "$QHARBOR_TEST_POSTGRES_URL"; then
    if [ "${CI:-}" = "true" ]; then
        echo "CI: the PostgreSQL pass cannot run; failing." >&2
        exit 1
    fi
    start_private_postgres
    postgres_reachable "$QHARBOR_TEST_POSTGRES_URL"
fi

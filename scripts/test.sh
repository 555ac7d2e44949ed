#!/usr/bin/env bash
# `make test`: lint, then the whole pytest suite on SQLite and again on a throwaway PostgreSQL.
#
# Installs what is missing (system packages as root, .venv), starts PostgreSQL and Redis on free
# loopback ports in temp folders and always stops and deletes them on exit. Redis reaches pytest as
# BROADSHEET_TEST_REDIS_URL, not REDIS_URL: only the Redis queue tests use it, the rest of the suite
# keeps the default SQLite job queue. Each pytest run gets its own fresh BROADSHEET_DATA_DIR.
# Exit status is 0 only when every step passed and each run ran tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# A hung test must not eat the CI budget: each pytest run is killed after this many seconds.
PYTEST_TIMEOUT_SECONDS=${PYTEST_TIMEOUT_SECONDS:-1500}
# Extra pytest options go in PYTEST_ADDOPTS (read by pytest itself), e.g. PYTEST_ADDOPTS="-x -k browser".
PYTEST_ARGS=(-p no:cacheprovider --create-db)

scratch=$(mktemp -d -t broadsheet-test.XXXXXX)
pg_dir=""
redis_dir=""
cleanup() {
    local status=$?
    if [[ -n "$redis_dir" ]]; then
        scripts/redis.sh stop "$redis_dir" || echo "warning: could not stop Redis in $redis_dir" >&2
    fi
    if [[ -n "$pg_dir" ]]; then
        scripts/postgres.sh stop "$pg_dir" || echo "warning: could not stop PostgreSQL in $pg_dir" >&2
    fi
    rm -rf "$scratch"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started_at=$SECONDS
summary=()
failed=0

# record NAME STATUS SECONDS DETAIL
record() {
    local verdict=ok
    if [[ $2 -ne 0 ]]; then
        verdict="FAILED (exit $2)"
        failed=1
    fi
    summary+=("$(printf '%-26s %-18s %5ss  %s' "$1" "$verdict" "$3" "$4")")
}

step_started=$SECONDS
scripts/ensure-system-packages.sh
scripts/ensure-venv.sh
record "setup (apt, .venv)" 0 $((SECONDS - step_started)) ""

step_started=$SECONDS
status=0
.venv/bin/ruff check src tests bench || status=$?
record "ruff check" "$status" $((SECONDS - step_started)) ""

# One Redis for both pytest runs: each Redis test takes its own database number and empties it.
step_started=$SECONDS
redis_dir=$(mktemp -d -t broadsheet-redis.XXXXXX)
status=0
redis_url=$(scripts/redis.sh start "$redis_dir") || status=$?
record "start Redis" "$status" $((SECONDS - step_started)) "${redis_url:-}"

# run_pytest NAME DATABASE_URL: one full pytest run in a fresh data dir; "" means SQLite.
run_pytest() {
    local name=$1 database_url=$2 data_dir log status=0 outcome
    data_dir=$(mktemp -d -p "$scratch" data.XXXXXX)
    log="$scratch/pytest-$name.log"
    echo
    echo "==> pytest on $name (BROADSHEET_DATA_DIR=$data_dir)"
    step_started=$SECONDS
    env -u DATABASE_URL -u REDIS_URL \
        BROADSHEET_DATA_DIR="$data_dir" \
        ${database_url:+"DATABASE_URL=$database_url"} \
        BROADSHEET_TEST_BROWSER=1 \
        ${redis_url:+"BROADSHEET_TEST_REDIS_URL=$redis_url"} \
        timeout --kill-after=30 "$PYTEST_TIMEOUT_SECONDS" \
        .venv/bin/pytest "${PYTEST_ARGS[@]}" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
    outcome=$(grep -E '^=+ .* in [0-9.]+s' "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//' || true)
    case $status in
        5) outcome="no tests ran" ;;
        124 | 137) outcome="killed after ${PYTEST_TIMEOUT_SECONDS}s; $outcome" ;;
    esac
    record "pytest ($name)" "$status" $((SECONDS - step_started)) "$outcome"
}

run_pytest sqlite ""

step_started=$SECONDS
pg_dir=$(mktemp -d -t broadsheet-pg.XXXXXX)
status=0
database_url=$(scripts/postgres.sh start "$pg_dir") || status=$?
record "start PostgreSQL" "$status" $((SECONDS - step_started)) "${database_url:-}"
if [[ $status -eq 0 ]]; then
    run_pytest postgresql "$database_url"
fi

echo
echo "==> summary (total $((SECONDS - started_at))s)"
printf '  %s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
    echo "make test: FAILED"
    exit 1
fi
echo "make test: all passed"

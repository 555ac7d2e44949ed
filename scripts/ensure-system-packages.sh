#!/usr/bin/env bash
# Install the system packages the test suite needs when they are missing: a PostgreSQL server
# (Debian `postgresql`), a Redis server for the job-queue tests (Debian `redis-server`) and a Chromium
# for the browser test (Debian `chromium`).
# Needs root and apt-get to install; otherwise it names what is missing and fails.
set -euo pipefail

missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    missing+=(postgresql)
fi
if ! command -v redis-server >/dev/null; then
    missing+=(redis-server)
fi
if [[ ! -x /usr/bin/chromium ]]; then
    missing+=(chromium)
fi
if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    missing+=(python3-venv)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}) and run again" >&2
    exit 1
fi
echo "==> apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The tests start their own throwaway servers: keep the packages from starting a system-wide PostgreSQL
# on 5432 or Redis on 6379 (invoke-rc.d obeys policy-rc.d; exit 101 means "action forbidden").
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

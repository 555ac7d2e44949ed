#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and benchmarks: loopback only, trust auth, fsync off.
#
#   scripts/postgres.sh start DIR   initdb + start in DIR, print the DATABASE_URL of an empty `broadsheet` DB
#   scripts/postgres.sh stop DIR    stop the cluster in DIR and delete DIR
#
# DIR is an empty folder, e.g. from `mktemp -d`. As root the server runs as the `postgres` user
# (PostgreSQL refuses to run as root), so DIR is handed to that user and its parent must be reachable.
set -euo pipefail

pg_bindir() {
    local initdb
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$initdb" ]]; then
        initdb=$(command -v initdb || true)
    fi
    if [[ -z "$initdb" ]]; then
        echo "postgres.sh: initdb not found (install the Debian package 'postgresql')" >&2
        return 1
    fi
    dirname "$initdb"
}

as_cluster_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        if command -v runuser >/dev/null; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_cluster() {
    local dir=$1 bindir port
    bindir=$(pg_bindir)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            echo "postgres.sh: running as root but there is no 'postgres' user to run the server" >&2
            return 1
        fi
        chown postgres: "$dir"
    fi
    as_cluster_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
        --no-locale --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        return 1
    }
    # A port taken between free_port and start makes pg_ctl fail; try a few.
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_cluster_owner "$bindir/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" \
            -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            >/dev/null; then
            echo "$port" >"$dir/port"
            "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres broadsheet
            echo "postgres://postgres@127.0.0.1:$port/broadsheet"
            return 0
        fi
    done
    echo "postgres.sh: the server did not start; log:" >&2
    cat "$dir/server.log" >&2 || true
    return 1
}

stop_cluster() {
    local dir=$1 bindir
    [[ -d "$dir" ]] || return 0
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        bindir=$(pg_bindir)
        as_cluster_owner "$bindir/pg_ctl" stop -w -t 60 -m fast -D "$dir/data" >/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start_cluster "${2:?usage: postgres.sh start DIR}" ;;
    stop) stop_cluster "${2:?usage: postgres.sh stop DIR}" ;;
    *) echo "usage: $0 start DIR | stop DIR" >&2; exit 2 ;;
esac

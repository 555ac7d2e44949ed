#!/usr/bin/env bash
# Throwaway Redis server for tests: loopback only, no persistence (no RDB snapshots, no AOF).
#
#   scripts/redis.sh start DIR   start redis-server daemonized with its files in DIR, print its REDIS_URL
#   scripts/redis.sh stop DIR    stop the server of DIR and delete DIR
#
# DIR is an empty folder, e.g. from `mktemp -d`. The URL names database 0; a test may use any of the 16.
set -euo pipefail

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# server_pid PORT: the process id the server listening on PORT reports, or nothing (raw RESP, so that
# no redis-cli or client library is needed).
server_pid() {
    python3 - "$1" <<'EOF' 2>/dev/null || true
import re, socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as sock:
    sock.sendall(b"INFO server\r\n")
    data = b""
    while not (found := re.search(rb"\r\nprocess_id:(\d+)\r\n", data)):
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit(1)
        data += chunk
print(found.group(1).decode())
EOF
}

start_server() {
    local dir=$1 port pid
    if ! command -v redis-server >/dev/null; then
        echo "redis.sh: redis-server not found (install the Debian package 'redis-server')" >&2
        return 1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # A port taken between free_port and the server's bind makes the server exit; try a few.
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        rm -f "$dir/redis.pid"
        redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
            --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
        # The pid file appears once the server listens; it must be this server that answers on the port.
        for _ in $(seq 1 100); do
            if [[ -s "$dir/redis.pid" ]]; then
                pid=$(cat "$dir/redis.pid")
                if [[ "$(server_pid "$port")" == "$pid" ]]; then
                    echo "$port" >"$dir/port"
                    echo "redis://127.0.0.1:$port/0"
                    return 0
                fi
            fi
            if grep -q "# Failed\|Could not create server" "$dir/redis.log" 2>/dev/null; then
                break
            fi
            sleep 0.05
        done
        stop_process "$dir"
    done
    echo "redis.sh: the server did not start; log:" >&2
    cat "$dir/redis.log" >&2 || true
    return 1
}

# running PID: the process exists and has not exited. A daemonized server's parent is init, and in a
# container init may be a process that never reaps, so an exited server can stay a zombie (state Z).
running() {
    local state
    state=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# stop_process DIR: stop the server whose pid file is in DIR (SIGTERM, then SIGKILL after 10 s).
stop_process() {
    local dir=$1 pid
    [[ -s "$dir/redis.pid" ]] || return 0
    pid=$(cat "$dir/redis.pid")
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 200); do
        running "$pid" || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_server() {
    local dir=$1
    [[ -d "$dir" ]] || return 0
    stop_process "$dir"
    rm -rf "$dir"
}

case "${1:-}" in
    start) start_server "${2:?usage: redis.sh start DIR}" ;;
    stop) stop_server "${2:?usage: redis.sh stop DIR}" ;;
    *) echo "usage: $0 start DIR | stop DIR" >&2; exit 2 ;;
esac

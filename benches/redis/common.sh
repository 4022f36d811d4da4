# What run.sh and scaling.sh share: sourced, not run. Both start servers in
# the background (their pids in `pids`, their files in `work`), race them
# with redis-benchmark, and stop them on any exit.

say() { printf '>>> %s\n' "$*" >&2; }

# Installs redis-server and redis-tools with apt-get if either is missing.
install_redis_tools() {
    if ! command -v redis-benchmark >/dev/null || ! command -v redis-server >/dev/null; then
        say "installing redis-server and redis-tools"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
    fi
}

# A work directory, and the servers started into `pids` stopped on exit.
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Fails if something already answers on one of the ports.
ports_free() {
    local port
    for port in "$@"; do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then
            say "port $port is already in use; set PORTS=\"a b c\""
            exit 1
        fi
    done
}

# Waits until a server answers PING on each port (10 s each), else shows
# the logs in `work` and fails.
wait_for_ports() {
    local port
    for port in "$@"; do
        for _ in $(seq 100); do
            redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && continue 2
            sleep 0.1
        done
        say "no server answers on port $port"
        cat "$work"/*.log >&2
        exit 1
    done
}

# CPU time a process has used (all its threads, user + system), in clock
# ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

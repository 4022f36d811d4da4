#!/usr/bin/env bash
# Races three RESP servers with redis-benchmark, on loopback, in one run:
#
#   coshare  examples/redis_server   one coroutine per connection, shared state
#   tokio    benches/redis_tokio.rs  current-thread tokio, Rc<RefCell<_>> state,
#                                    the same protocol and command code
#   redis    redis-server            the real thing (--save "" --appendonly no)
#
# For each: `redis-benchmark -q -t set,get,incr,mset -n 100000`, without and
# with pipelining (-P 16), ROUNDS times interleaved; prints the median requests
# per second and the ratios to redis-server and to tokio, as a Markdown table.
#
# Usage: benches/redis/run.sh            (from anywhere; installs redis-tools
#                                         and redis-server with apt-get if missing)
# Knobs (environment): REQUESTS=100000 CLIENTS=50 PIPELINE=16 ROUNDS=3
#   TESTS=set,get,incr,mset PORTS="6390 6391 6392" CARGO_TARGET_DIR=target
set -euo pipefail

cd "$(dirname "$0")/../.."
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
ROUNDS=${ROUNDS:-3}
TESTS=${TESTS:-set,get,incr,mset}
read -r PORT_COSHARE PORT_TOKIO PORT_REDIS <<<"${PORTS:-6390 6391 6392}"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

. benches/redis/common.sh

# 1. The tools.
install_redis_tools

# 2. The servers, in release.
say "building (release)"
cargo build --release --example redis_server
tokio_bin=$(cargo build --release --bench redis_tokio --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*redis_tokio[^"]*\)".*/\1/p' | tail -n 1)
coshare_bin="$CARGO_TARGET_DIR/release/examples/redis_server"
[ -x "$coshare_bin" ] && [ -x "$tokio_bin" ] || { say "build products not found"; exit 1; }

# 3. Start them (common.sh stops them on any exit).
ports_free "$PORT_COSHARE" "$PORT_TOKIO" "$PORT_REDIS"
"$coshare_bin" --port "$PORT_COSHARE" >"$work/coshare.log" 2>&1 &
pids+=($!)
"$tokio_bin" --port "$PORT_TOKIO" >"$work/tokio.log" 2>&1 &
pids+=($!)
redis-server --port "$PORT_REDIS" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
wait_for_ports "$PORT_COSHARE" "$PORT_TOKIO" "$PORT_REDIS"

# 4. The runs, interleaved so that a noisy neighbour hits every server alike.
# Besides requests per second, record the CPU time each server used for each
# redis-benchmark invocation: on a shared machine that is the steadier figure.
results="$work/results"
cpu="$work/cpu"
: >"$results"
: >"$cpu"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
    for pipeline in 1 "$PIPELINE"; do
        for server in coshare tokio redis; do
            case $server in
                coshare) port=$PORT_COSHARE pid=${pids[0]} ;;
                tokio) port=$PORT_TOKIO pid=${pids[1]} ;;
                redis) port=$PORT_REDIS pid=${pids[2]} ;;
            esac
            say "round $round/$ROUNDS, -P $pipeline, $server"
            before=$(cpu_ticks "$pid")
            redis-benchmark -h 127.0.0.1 -p "$port" -q -t "$TESTS" -n "$REQUESTS" \
                -c "$CLIENTS" -P "$pipeline" 2>/dev/null \
                | tr '\r' '\n' | grep 'requests per second' \
                | sed -E 's/^([^:]+): ([0-9.]+) requests per second.*/\1\t\2/' \
                | while IFS=$'\t' read -r test rps; do
                    printf '%s\t%s\t%s\t%s\n' "$pipeline" "$test" "$server" "$rps"
                done >>"$results"
            printf '%s\t%s\t%s\n' "$pipeline" "$server" $(($(cpu_ticks "$pid") - before)) >>"$cpu"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# 5. The table: medians, and the ratios.
echo
echo "redis-benchmark -q -t $TESTS -n $REQUESTS -c $CLIENTS [-P $PIPELINE], median of $ROUNDS rounds"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
    "$(redis-server --version | sed -E 's/.*v=([^ ]+).*/redis-server \1/'), $(rustc --version | cut -d' ' -f1-2)"
echo "load average before: $load_before, after: $load_after"
echo
sort -t $'\t' -k1,1n -k2,2 -k3,3 -k4,4g "$results" | awk -F'\t' '
    function median(key,    n, i, m) {
        n = count[key]
        if (n == 0) return 0
        m = int((n + 1) / 2)
        return value[key, m]
    }
    {
        key = $1 SUBSEP $2 SUBSEP $3
        value[key, ++count[key]] = $4          # sorted ascending by the sort above
        if (!(($1 SUBSEP $2) in seen)) { seen[$1 SUBSEP $2] = 1; order[++rows] = $1 SUBSEP $2 }
    }
    END {
        print "| test | pipeline | coshare req/s | tokio req/s | redis-server req/s | coshare / redis | coshare / tokio | tokio / redis |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|"
        for (r = 1; r <= rows; r++) {
            split(order[r], part, SUBSEP)
            c = median(order[r] SUBSEP "coshare")
            t = median(order[r] SUBSEP "tokio")
            s = median(order[r] SUBSEP "redis")
            printf "| %s | %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f |\n", part[2], part[1], c, t, s,
                (s ? c / s : 0), (t ? c / t : 0), (s ? t / s : 0)
        }
    }'

# 6. Server CPU time per request, over all the tests of one invocation.
tests_per_run=$(awk -F, '{ print NF }' <<<"$TESTS")
echo
echo "Server CPU time per request (user + system, median of $ROUNDS rounds):"
echo
sort -t $'\t' -k1,1n -k2,2 -k3,3n "$cpu" | awk -F'\t' -v tick="$(getconf CLK_TCK)" \
    -v requests=$((REQUESTS * tests_per_run)) '
    {
        key = $1 SUBSEP $2
        value[key, ++count[key]] = $3
        if (!($1 in seen)) { seen[$1] = 1; order[++rows] = $1 }
    }
    function us(key,    n) {
        n = count[key]
        return n ? value[key, int((n + 1) / 2)] * 1e6 / tick / requests : 0
    }
    END {
        print "| pipeline | coshare us/req | tokio us/req | redis-server us/req |"
        print "|---:|---:|---:|---:|"
        for (r = 1; r <= rows; r++) {
            p = order[r]
            printf "| %s | %.2f | %.2f | %.2f |\n", p, us(p SUBSEP "coshare"), us(p SUBSEP "tokio"),
                us(p SUBSEP "redis")
        }
    }'

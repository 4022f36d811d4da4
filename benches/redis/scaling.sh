#!/usr/bin/env bash
# How the Redis example scales over shards: redis-benchmark against
#
#   coshare-1   examples/redis_server                one thread (one driver)
#   coshare-N   examples/redis_server --threads N    N shards, one thread each
#   redis       redis-server                         the real thing, beside them
#
# in one run, interleaved, with random keys (-r) so that they spread over the
# shards. For each server, test and pipeline depth: the median requests per
# second, p50 and p99 latency (redis-benchmark's own), the ratio to
# coshare-1, and the CPU time the server and the benchmark client used per
# request. Prints Markdown.
#
# On a small machine the client shares the cores with the servers: its CPU
# time is reported so that the reader can see when it is the bottleneck. On
# a bigger one, give each side its own cores:
#
#   THREADS=8 SERVER_CPUS=0-7 CLIENT_CPUS=8-15 BENCH_THREADS=8 PIN=1 \
#       benches/redis/scaling.sh
#
# Usage: benches/redis/scaling.sh   (installs redis-server and redis-tools
#                                    with apt-get if missing)
# Knobs (environment):
#   THREADS=$(nproc)    shards of coshare-N
#   REQUESTS=2000000    requests per redis-benchmark test
#   CLIENTS=50          connections
#   PIPELINES="1 64"    pipeline depths
#   KEYSPACE=1000000    -r: random keys
#   TESTS=get,set       redis-benchmark tests
#   ROUNDS=3            interleaved rounds; medians are reported
#   SERVER_CPUS, CLIENT_CPUS   taskset CPU lists (unset: no pinning)
#   BENCH_THREADS       redis-benchmark --threads (unset: its default, 1)
#   PIN=1               coshare-N pins each shard to a CPU of its own (--pin)
#   PORTS="6394 6395 6396"     CARGO_TARGET_DIR=target
set -euo pipefail

cd "$(dirname "$0")/../.."
THREADS=${THREADS:-$(nproc)}
REQUESTS=${REQUESTS:-2000000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-1 64}
KEYSPACE=${KEYSPACE:-1000000}
TESTS=${TESTS:-get,set}
ROUNDS=${ROUNDS:-3}
read -r PORT_ONE PORT_N PORT_REDIS <<<"${PORTS:-6394 6395 6396}"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

. benches/redis/common.sh
# Command prefixes that pin to the CPU lists, if set (taskset execs the
# command, so a server's pid is its own).
server_pin=()
client_pin=()
[ -z "${SERVER_CPUS:-}" ] || server_pin=(taskset -c "$SERVER_CPUS")
[ -z "${CLIENT_CPUS:-}" ] || client_pin=(taskset -c "$CLIENT_CPUS")

# 1. The tools, and the server in release.
install_redis_tools
say "building (release)"
cargo build --release --example redis_server
coshare_bin="$CARGO_TARGET_DIR/release/examples/redis_server"

# 2. Start the servers (common.sh stops them on any exit).
ports_free "$PORT_ONE" "$PORT_N" "$PORT_REDIS"
"${server_pin[@]}" "$coshare_bin" --port "$PORT_ONE" >"$work/one.log" 2>&1 &
pids+=($!)
pin_shards=()
[ -z "${PIN:-}" ] || pin_shards=(--pin)
"${server_pin[@]}" "$coshare_bin" --port "$PORT_N" --threads "$THREADS" "${pin_shards[@]}" >"$work/n.log" 2>&1 &
pids+=($!)
"${server_pin[@]}" redis-server --port "$PORT_REDIS" --bind 127.0.0.1 --save "" \
    --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
wait_for_ports "$PORT_ONE" "$PORT_N" "$PORT_REDIS"
tick=$(getconf CLK_TCK)

# 3. The runs, interleaved so that a noisy neighbour hits every server alike.
results="$work/results" # pipeline server test rps p50 p99
cpu="$work/cpu"         # pipeline server server-us/req client-us/req
: >"$results"
: >"$cpu"
bench_threads=()
[ -z "${BENCH_THREADS:-}" ] || bench_threads=(--threads "$BENCH_THREADS")
tests_per_run=$(awk -F, '{ print NF }' <<<"$TESTS")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
    for pipeline in $PIPELINES; do
        for server in coshare-1 "coshare-$THREADS" redis; do
            case $server in
                coshare-1) port=$PORT_ONE pid=${pids[0]} ;;
                redis) port=$PORT_REDIS pid=${pids[2]} ;;
                *) port=$PORT_N pid=${pids[1]} ;;
            esac
            say "round $round/$ROUNDS, -P $pipeline, $server"
            before=$(cpu_ticks "$pid")
            # The client's CPU time from time's -f: user and system seconds.
            "${client_pin[@]}" /usr/bin/time -f 'client %U %S' -o "$work/time" \
                redis-benchmark -h 127.0.0.1 -p "$port" --csv -t "$TESTS" -n "$REQUESTS" \
                -r "$KEYSPACE" -c "$CLIENTS" -P "$pipeline" "${bench_threads[@]}" 2>/dev/null \
                | tr -d '"' | awk -F, -v p="$pipeline" -v s="$server" \
                    '$1 != "test" && NF >= 7 { printf "%s\t%s\t%s\t%s\t%s\t%s\n", p, s, $1, $2, $5, $7 }' \
                    >>"$results"
            server_ticks=$(($(cpu_ticks "$pid") - before))
            requests=$((REQUESTS * tests_per_run))
            awk -v p="$pipeline" -v s="$server" -v t="$server_ticks" -v hz="$tick" -v n="$requests" \
                '/^client/ { printf "%s\t%s\t%.3f\t%.3f\n", p, s, t * 1e6 / hz / n, ($2 + $3) * 1e6 / n }' \
                "$work/time" >>"$cpu"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# 4. The tables: medians, and each server's ratio to coshare-1.
echo
echo "redis-benchmark --csv -t $TESTS -n $REQUESTS -r $KEYSPACE -c $CLIENTS -P {$PIPELINES}" \
    "${bench_threads[*]}, median of $ROUNDS rounds"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
    "$(redis-server --version | sed -E 's/.*v=([^ ]+).*/redis-server \1/'), $(rustc --version | cut -d' ' -f1-2)"
shards_pinned="not pinned"
[ -z "${PIN:-}" ] || shards_pinned="each on a CPU of its own"
echo "pinning: servers on ${SERVER_CPUS:-any CPU}, client on ${CLIENT_CPUS:-any CPU}," \
    "coshare-$THREADS's shards $shards_pinned"
echo "load average before: $load_before, after: $load_after"
echo
awk -F'\t' -v one="coshare-1" '
    function median(list,    n, i, j, tmp, a) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { tmp = a[i]; a[i] = a[j]; a[j] = tmp }
        return a[int((n + 1) / 2)]
    }
    FNR == NR {
        key = $1 SUBSEP $2
        server_us[key] = server_us[key] " " $3
        client_us[key] = client_us[key] " " $4
        next
    }
    {
        key = $1 SUBSEP $3 SUBSEP $2
        rps[key] = rps[key] " " $4
        p50[key] = p50[key] " " $5
        p99[key] = p99[key] " " $6
        if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
    }
    END {
        print "| test | pipeline | server | req/s | / coshare-1 | p50 ms | p99 ms | server CPU us/req | client CPU us/req |"
        print "|---|---:|---|---:|---:|---:|---:|---:|---:|"
        for (r = 1; r <= rows; r++) {
            split(order[r], part, SUBSEP)
            base = median(rps[part[1] SUBSEP part[2] SUBSEP one])
            cpu_key = part[1] SUBSEP part[3]
            printf "| %s | %s | %s | %.0f | %.2f | %.3f | %.3f | %.2f | %.2f |\n", part[2], part[1], part[3],
                median(rps[order[r]]), (base ? median(rps[order[r]]) / base : 0),
                median(p50[order[r]]), median(p99[order[r]]),
                median(server_us[cpu_key]), median(client_us[cpu_key])
        }
    }' "$cpu" <(sort -t $'\t' -k1,1n -k3,3 -k2,2 "$results")

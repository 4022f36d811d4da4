#!/usr/bin/env bash
# thread-ring: coshare (driver tasks, and bare coroutines resumed by the
# main stack) against tokio, Go, Lua 5.4 and LuaJIT, in one run.
#
#   bash benches/ring/run.sh            # 10 000 000 hops, 5 rounds
#   HOPS=2000000 ROUNDS=3 bash benches/ring/run.sh
#
# Each program passes a token 503 tasks around a ring HOPS times and prints
# its answer, (HOPS mod 503) + 1, and its time per hop, measured inside the
# program (start-up is not counted). The rounds run every program once each,
# in turn, so that a slow spell of a shared machine hits them all; the table
# shows each program's median over the rounds and its ratio to LuaJIT and to
# the coshare driver. A wrong answer stops the run.
#
# Go, Lua 5.4 and LuaJIT are installed with apt-get if missing (the script
# says so); a program whose tool cannot be had is left out of the table,
# with a line saying why.
set -euo pipefail
cd "$(dirname "$0")/../.."

hops="${HOPS:-10000000}"
rounds="${ROUNDS:-5}"
expected=$((hops % 503 + 1))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

have() { command -v "$1" >/dev/null; }

install() {
    local package="$1" tool="$2"
    if have "$tool"; then return; fi
    if have apt-get; then
        echo "installing $package (for $tool)"
        local sudo=""
        if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
        $sudo apt-get install -y -qq "$package" >/dev/null 2>&1 || true
    fi
    have "$tool" || echo "note: $tool is not available; its row is left out"
}

install golang-go go
install lua5.4 lua5.4
install luajit luajit

echo "building the Rust programs (release)"
cargo build --release --bench thread_ring --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*thread_ring[^"]*\)".*/\1/p' > "$work/bin"
ring_bin="$(tail -n 1 "$work/bin")"
if [ -z "$ring_bin" ]; then
    echo "the thread_ring bench did not build" >&2
    exit 1
fi

programs=("coshare driver" "coshare stage" "tokio")
commands=("$ring_bin driver $hops" "$ring_bin stage $hops" "$ring_bin tokio $hops")
if have go; then
    (cd benches/ring && go build -o "$work/ring-go" ring.go)
    programs+=("Go (GOMAXPROCS=1)")
    commands+=("$work/ring-go $hops")
fi
if have lua5.4; then
    programs+=("Lua 5.4")
    commands+=("lua5.4 benches/ring/ring.lua $hops")
fi
if have luajit; then
    programs+=("LuaJIT")
    commands+=("luajit benches/ring/ring.lua $hops")
fi

echo "thread-ring: 503 tasks, $hops hops, $rounds rounds (answer $expected)"
for ((round = 1; round <= rounds; round++)); do
    for i in "${!programs[@]}"; do
        read -r answer ns < <(${commands[$i]})
        if [ "$answer" != "$expected" ]; then
            echo "${programs[$i]} answered $answer, expected $expected" >&2
            exit 1
        fi
        echo "$ns" >> "$work/times.$i"
    done
    echo "  round $round done"
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A med
for i in "${!programs[@]}"; do
    med[$i]="$(median "$work/times.$i")"
done
luajit_at=""
for i in "${!programs[@]}"; do
    if [ "${programs[$i]}" = "LuaJIT" ]; then luajit_at="$i"; fi
done

echo
printf '| %-20s | %10s | %12s | %12s |\n' "program" "ns/hop" "vs LuaJIT" "vs driver"
printf '|%s|%s|%s|%s|\n' "----------------------" "------------:" "-------------:" "-------------:"
for i in "${!programs[@]}"; do
    ns="${med[$i]}"
    vs_driver="$(awk -v a="$ns" -v b="${med[0]}" 'BEGIN { printf "%.2fx", a / b }')"
    if [ -n "$luajit_at" ]; then
        vs_luajit="$(awk -v a="$ns" -v b="${med[$luajit_at]}" 'BEGIN { printf "%.2fx", a / b }')"
    else
        vs_luajit="n/a"
    fi
    printf '| %-20s | %10.1f | %12s | %12s |\n' "${programs[$i]}" "$ns" "$vs_luajit" "$vs_driver"
done
echo
echo "(ratio = this program's time per hop / the other's; below 1 is faster)"

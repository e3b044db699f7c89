#!/usr/bin/env bash
# Instructions per request of HTTP `POST /sum` under concurrent load: the server runs under
# `valgrind --tool=callgrind` pinned to CPU 0, `wrk` (one thread, 32 connections, pinned to
# CPU 1) warms it up for 3 s, the counters are zeroed, wrk loads it for 8 s more, and the
# instructions counted are divided by the requests wrk saw answered. Where
# `http-sum-callgrind.sh` (one connection, one request at a time) shows the cost of a request
# alone, this shows it with many connections interleaved on the event loop, as in
# `http-sum.sh`, but in instructions, which do not depend on what else the machine runs.
#
# Usage: benches/http-sum-callgrind-wrk.sh [BIN_DIR] (default target/release); prints one
# line per server: addsvc, raw-hyper-sum, and their ratio.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${1:-$root/target/release}"
for tool in valgrind wrk taskset; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/sum.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"a":1,"b":2}'
wrk.headers["Content-Type"] = "application/json"
LUA

# measure NAME ARGS...: instructions per request of the server started with ARGS ({addr}
# stands for its address).
measure() {
    local name=$1
    shift
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    local args=("${@//\{addr\}/127.0.0.1:$port}")
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" "${args[@]}" \
        >/dev/null 2>"$work/$name.log" &
    local pid=$!
    for _ in $(seq 1200); do
        grep -q "msg=listening" "$work/$name.log" && break
        sleep 0.1
    done
    local url="http://127.0.0.1:$port/sum"
    taskset -c 1 wrk -t1 -c32 -d3s -s "$work/sum.lua" "$url" >/dev/null
    callgrind_control -z "$pid" >/dev/null 2>&1
    local requests
    requests=$(taskset -c 1 wrk -t1 -c32 -d8s -s "$work/sum.lua" "$url" | awk '/requests in/ {print $1}')
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 0.5
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local dump total
    dump=$(ls -t "$work/$name.out".* | head -1)
    total=$(grep -h '^summary:' "$dump" | awk '{print $2}')
    echo $((total / requests))
}

# Without the example's rate limits (Sum: 1 call per second), in builds that have them.
no_limits=()
if "$bin_dir/addsvc" --help 2>&1 | grep -q -- --no-limits; then
    no_limits=(--no-limits)
fi
kit=$(measure addsvc "$bin_dir/addsvc" --http-addr {addr} --debug-addr off --grpc-addr off --jsonrpc-addr off "${no_limits[@]}")
raw=$(measure raw "$bin_dir/raw-hyper-sum" --addr {addr})
printf '%-14s %10s\n' server instr/req addsvc "$kit" raw-hyper-sum "$raw"
awk -v k="$kit" -v r="$raw" 'BEGIN { printf "ratio addsvc / raw-hyper-sum: %.3f\n", k / r }'

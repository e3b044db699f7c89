#!/usr/bin/env bash
# Instructions per request of addsvc's HTTP `POST /sum` against raw-hyper-sum, counted by
# callgrind: unlike req/s on a shared machine, the count repeats to within a fraction of a
# percent, so small changes to the hot path show.
#
# Each server runs under `valgrind --tool=callgrind` on a free loopback port. A Python client
# sends WARMUP requests on one keep-alive connection, the counters are zeroed, it sends
# REQUESTS more, the counters are dumped, and the script divides the instructions by
# REQUESTS. The client is outside the measured process; the kernel is not counted.
#
# Environment: REQUESTS=5000, WARMUP=2000, SKIP_BUILD=1 to use target/release as it is.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
requests="${REQUESTS:-5000}"
warmup="${WARMUP:-2000}"

command -v valgrind >/dev/null || { apt-get update && apt-get install -y valgrind; }
if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$root" && cargo build --release -p addsvc -p kit-benches --bins)
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/client.py" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("POST", "/sum", body='{"a":1,"b":2}', headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    if r.status != 200 or body != b'{"v":3}':
        sys.exit(f"unexpected answer {r.status} {body!r}")
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# measure NAME ARGS... (ARGS with {addr}) -> prints instructions per request
measure() {
    local name="$1"; shift
    local port; port="$(free_port)"
    local args=("${@//\{addr\}/127.0.0.1:$port}")
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.%p" "${args[@]}" 2>"$work/$name.log" &
    server_pid=$!
    for _ in $(seq 300); do
        grep -q "msg=listening" "$work/$name.log" && break
        sleep 0.1
    done
    grep -q "msg=listening" "$work/$name.log" || { cat "$work/$name.log" >&2; exit 1; }
    python3 "$work/client.py" "$port" "$warmup"
    callgrind_control -z "$server_pid" >/dev/null 2>&1
    python3 "$work/client.py" "$port" "$requests"
    callgrind_control -d "$server_pid" >/dev/null 2>&1
    local total
    total="$(grep -h '^summary:' "$work/$name.$server_pid".* | tail -1 | awk '{print $2}')"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    server_pid=""
    echo $((total / requests))
}

# Without the example's rate limits (Sum: 1 call per second), in builds that have them.
no_limits=()
if "$target_dir/release/addsvc" --help 2>&1 | grep -q -- --no-limits; then
    no_limits=(--no-limits)
fi
kit="$(measure addsvc "$target_dir/release/addsvc" --http-addr '{addr}' --debug-addr off "${no_limits[@]}")"
raw="$(measure raw "$target_dir/release/raw-hyper-sum" --addr '{addr}')"
printf '%-16s %12s\n' server instr/req addsvc "$kit" raw-hyper-sum "$raw"
awk -v k="$kit" -v r="$raw" 'BEGIN { printf "ratio addsvc / raw-hyper-sum: %.3f\n", k / r }'

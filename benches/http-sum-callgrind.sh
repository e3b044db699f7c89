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
# With TRACE_SAMPLE=R (0 to 1), addsvc is measured a second time with request tracing on at
# that sample ratio, exporting over OTLP/gRPC (`--otlp-endpoint`) to `otlp-sink`, kit-testkit's
# OTLP receiver in a process of its own (not counted), and the script prints the ratio of the
# two. Spans still waiting in the batch processor when the counters are dumped (at most one
# batch of 512, exported every second or when full) have been counted being made but not being
# exported: at 5,000 requests that leaves the traced figure a little low, by up to a tenth of a
# batch's export per request.
#
# Environment: REQUESTS=5000, WARMUP=2000, SKIP_BUILD=1 to use target/release as it is,
# TRACE_SAMPLE (unset: no traced run), ADDSVC_ARGS (more arguments for addsvc, both runs).
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
sink_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [[ -n "$sink_pid" ]]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
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
read -r -a extra <<<"${ADDSVC_ARGS:-}"
addsvc=("$target_dir/release/addsvc" --http-addr '{addr}' --debug-addr off "${no_limits[@]}" "${extra[@]}")
kit="$(measure addsvc "${addsvc[@]}")"
if [[ -n "${TRACE_SAMPLE:-}" ]]; then
    "$target_dir/release/otlp-sink" >"$work/sink.out" 2>&1 &
    sink_pid=$!
    for _ in $(seq 100); do
        grep -q "^grpc=" "$work/sink.out" && break
        sleep 0.1
    done
    otlp="$(sed -n 's/^grpc=\([^ ]*\) .*/\1/p' "$work/sink.out")"
    [[ -n "$otlp" ]] || { cat "$work/sink.out" >&2; exit 1; }
    traced="$(measure traced "${addsvc[@]}" --otlp-endpoint "$otlp" --otlp-protocol grpc --trace-sample "$TRACE_SAMPLE")"
    # addsvc logs what it exported when it stops.
    grep -h "msg=\"tracing stopped\"" "$work/traced.log" >&2 || true
fi
raw="$(measure raw "$target_dir/release/raw-hyper-sum" --addr '{addr}')"
printf '%-16s %12s\n' server instr/req addsvc "$kit"
[[ -n "${traced:-}" ]] && printf '%-16s %12s\n' "addsvc traced" "$traced"
printf '%-16s %12s\n' raw-hyper-sum "$raw"
awk -v k="$kit" -v r="$raw" 'BEGIN { printf "ratio addsvc / raw-hyper-sum: %.3f\n", k / r }'
if [[ -n "${traced:-}" ]]; then
    awk -v t="$traced" -v k="$kit" -v s="$TRACE_SAMPLE" \
        'BEGIN { printf "ratio addsvc traced (sample %s) / addsvc: %.3f (+%d instructions per request)\n", s, t / k, t - k }'
fi

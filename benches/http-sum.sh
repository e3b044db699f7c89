#!/usr/bin/env bash
# addsvc's `Sum` against a raw server doing the same work: over HTTP/JSON (`POST /sum`,
# against raw hyper, load from `wrk`) or, with PROTOCOL=grpc, over gRPC (`/pb.Add/Sum`,
# against raw tonic, load from `h2load` sending one unary gRPC frame per request).
#
# Each server runs pinned to CPU 0 and `wrk` (one thread, 32 connections) to CPU 1, on
# loopback. For each server: a sanity request, a warm-up, then one measured wrk run. The
# script reports requests per second and the server's CPU time per request (utime + stime
# of the whole process from /proc, before and after the measured run, and utime alone),
# and the ratios addsvc / raw-hyper-sum. One wrk thread saturates near the server's own
# speed on this kind of machine, so the CPU-per-request ratios are the fairer ones; the
# kernel's share (loopback TCP, about two thirds) is the same for both servers, so the
# user-time ratio shows what kit adds most sharply.
#
# Environment:
#   PROTOCOL=http      http (addsvc --http-addr vs raw-hyper-sum, wrk) or grpc (addsvc
#                      --grpc-addr vs raw-tonic-sum, h2load)
#   DURATION=10        seconds of each measured run
#   WARMUP=2           seconds of warm-up before it
#   CONNECTIONS=32     connections (one request in flight on each)
#   ROUNDS=1           rounds; each measures both servers, alternating which goes first
#   SKIP_BUILD=1       use the binaries already in target/release
#   KIT_SERVER_BIN     the server under test (default target/release/addsvc); setting it
#                      skips building addsvc
#   KIT_SERVER_ARGS    its arguments, with {addr} standing for HOST:PORT (default:
#                      `--http-addr {addr}` plus `--X-addr off` for each of debug, grpc,
#                      thrift and jsonrpc that `addsvc --help` lists; `--addr {addr}` when
#                      KIT_SERVER_BIN is a raw-hyper-sum binary)
#
# Check the script itself without addsvc:
#   KIT_SERVER_BIN=target/release/raw-hyper-sum benches/http-sum.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
duration="${DURATION:-10}"
warmup="${WARMUP:-2}"
connections="${CONNECTIONS:-32}"
rounds="${ROUNDS:-1}"
protocol="${PROTOCOL:-http}"
case "$protocol" in
    http) raw_name=raw-hyper-sum ;;
    grpc) raw_name=raw-tonic-sum ;;
    *) echo "PROTOCOL must be http or grpc, not $protocol" >&2; exit 2 ;;
esac
raw_bin="$target_dir/release/$raw_name"
kit_bin="${KIT_SERVER_BIN:-$target_dir/release/addsvc}"
addcli_bin="$target_dir/release/addcli"
raw_args="--addr {addr}"

if [[ "$(nproc)" -lt 2 ]]; then
    echo "needs 2 CPUs (server on CPU 0, wrk on CPU 1)" >&2
    exit 1
fi

if [[ -z "${SKIP_BUILD:-}" ]]; then
    if [[ -n "${KIT_SERVER_BIN:-}" ]]; then
        (cd "$root" && cargo build --release -p kit-benches --bins)
    else
        (cd "$root" && cargo build --release -p addsvc -p kit-benches --bins)
    fi
fi
for bin in "$kit_bin" "$raw_bin"; do
    [[ -x "$bin" ]] || { echo "missing server binary $bin" >&2; exit 1; }
done

if [[ -n "${KIT_SERVER_ARGS:-}" ]]; then
    kit_args="$KIT_SERVER_ARGS"
elif [[ "$(basename "$kit_bin")" == raw-* ]]; then
    kit_args="--addr {addr}"
else
    # The protocol under test only: turn off every other listener this addsvc build has.
    kit_help="$("$kit_bin" --help 2>&1 || true)"
    kit_args="--$protocol-addr {addr}"
    for other in debug http grpc thrift jsonrpc; do
        if [[ "$other" != "$protocol" && "$kit_help" == *"--$other-addr"* ]]; then
            kit_args+=" --$other-addr off"
        fi
    done
    # Without the example's rate limits (Sum: 1 call per second), in builds that have them.
    if [[ "$kit_help" == *"--no-limits"* ]]; then
        kit_args+=" --no-limits"
    fi
fi

load_tool=wrk
load_package=wrk
if [[ "$protocol" == grpc ]]; then
    load_tool=h2load
    load_package=nghttp2-client
fi
if ! command -v "$load_tool" >/dev/null; then
    apt-get update && apt-get install -y "$load_package"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/sum.lua" <<'LUA'
wrk.method = "POST"
wrk.path = "/sum"
wrk.body = '{"a":1,"b":2}'
wrk.headers["Content-Type"] = "application/json"
LUA
# One gRPC frame: uncompressed, 4 bytes long, SumRequest{a: 1, b: 2}.
printf '\x00\x00\x00\x00\x04\x08\x01\x10\x02' >"$work/sum.grpc"

clk_tck="$(getconf CLK_TCK)"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# "<utime> <stime>" of the whole process (all its threads), in clock ticks.
cpu_ticks() {
    # The command name in field 2 may hold spaces: count fields after its ")".
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'
}

# Starts server $1 (a label) from binary $2 with argument template $3; sets server_pid and
# server_url.
start_server() {
    local label="$1" bin="$2" template="$3" port args
    port="$(free_port)"
    args="${template//\{addr\}/127.0.0.1:$port}"
    # shellcheck disable=SC2086 # the argument template is split on purpose
    taskset -c 0 "$bin" $args >"$work/$label.log" 2>&1 &
    server_pid=$!
    server_url="http://127.0.0.1:$port"
    server_addr="127.0.0.1:$port"
    local deadline=$((SECONDS + 15))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "$label exited before listening:" >&2
            cat "$work/$label.log" >&2
            exit 1
        fi
        if ((SECONDS > deadline)); then
            echo "$label did not listen on port $port within 15 s:" >&2
            cat "$work/$label.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    local answer
    if [[ "$protocol" == grpc ]]; then
        answer="$("$addcli_bin" -grpc-addr "$server_addr" 1 2 2>&1 || true)"
        if [[ "$answer" != "1 + 2 = 3" ]]; then
            echo "$label answered Sum(1, 2) with $answer, expected 1 + 2 = 3" >&2
            exit 1
        fi
    else
        answer="$(curl -sS -X POST -H 'Content-Type: application/json' -d '{"a":1,"b":2}' "$server_url/sum")"
        if [[ "$answer" != *'"v":3'* ]]; then
            echo "$label answered POST /sum with $answer, expected {\"v\":3}" >&2
            exit 1
        fi
    fi
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# Runs the load tool for $1 seconds against the server started last, pinned to CPU 1.
load() {
    if [[ "$protocol" == grpc ]]; then
        taskset -c 1 h2load -t1 -c"$connections" -m1 -D"$1" -d "$work/sum.grpc" \
            -H 'content-type: application/grpc' -H 'te: trailers' "$server_url/pb.Add/Sum"
    else
        taskset -c 1 wrk -t1 -c"$connections" -d"${1}s" -s "$work/sum.lua" "$server_url/sum"
    fi
}

# Measures server $1 (binary $2, argument template $3); sets m_rps (requests per second),
# m_cpu (server CPU µs per request, user + system) and m_user (user CPU µs per request).
# Runs in the main shell, not in a $(...) subshell, so that the EXIT trap knows the
# server's PID.
measure() {
    local label="$1" bin="$2" template="$3" out before after requests rps non2xx
    start_server "$label" "$bin" "$template"
    load "$warmup" >/dev/null
    before="$(cpu_ticks "$server_pid")"
    out="$(load "$duration")"
    after="$(cpu_ticks "$server_pid")"
    stop_server
    echo "$out" >"$work/$label.load"
    if [[ "$protocol" == grpc ]]; then
        # "requests: 450000 total, 450000 started, 450000 done, 450000 succeeded, 0 failed, ..."
        requests="$(awk '/^requests:/ { print $8 }' <<<"$out")"
        rps="$(awk '/^finished in/ { print $4 }' <<<"$out")"
        non2xx="$(awk '/^requests:/ && $10 != 0 { print $10 }' <<<"$out")"
    else
        requests="$(awk '/requests in/ { print $1 }' <<<"$out")"
        rps="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
        non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")"
    fi
    if [[ -z "$requests" || -z "$rps" ]]; then
        echo "could not parse $load_tool's output for $label:" >&2
        echo "$out" >&2
        exit 1
    fi
    if [[ -n "$non2xx" ]]; then
        echo "$label: $non2xx answers were not 2xx:" >&2
        echo "$out" >&2
        exit 1
    fi
    m_rps="$(awk -v rps="$rps" 'BEGIN { printf "%.0f", rps }')"
    read -r m_cpu m_user < <(awk -v n="$requests" -v hz="$clk_tck" -v b="$before" -v a="$after" \
        'BEGIN {
            split(b, b0, " "); split(a, a0, " ")
            user = a0[1] - b0[1]; sys = a0[2] - b0[2]
            printf "%.3f %.3f\n", (user + sys) / hz * 1e6 / n, user / hz * 1e6 / n
        }')
}

echo "kit server: $kit_bin $kit_args"
echo "baseline:   $raw_bin $raw_args"
echo "$load_tool, $connections connections, ${warmup}s warm-up + ${duration}s measured, $rounds round(s)"
# Other work on the machine shows up as noise in req/s; the load average hints at it.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

results="$work/results"
: >"$results"
printf '%-6s %-14s %10s %12s %13s\n' round server req/s cpu_us/req user_us/req
for ((round = 1; round <= rounds; round++)); do
    if ((round % 2 == 1)); then order=(kit raw); else order=(raw kit); fi
    for who in "${order[@]}"; do
        if [[ "$who" == kit ]]; then
            name="$(basename "$kit_bin")"
            measure "$name" "$kit_bin" "$kit_args"
        else
            name="$raw_name"
            measure "$name" "$raw_bin" "$raw_args"
        fi
        printf '%-6s %-14s %10s %12s %13s\n' "$round" "$name" "$m_rps" "$m_cpu" "$m_user"
        echo "$round $who $m_rps $m_cpu $m_user" >>"$results"
    done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
awk '
    { rps[$1, $2] = $3; cpu[$1, $2] = $4; usr[$1, $2] = $5; if ($1 > rounds) rounds = $1 }
    END {
        print "ratios addsvc / " raw ":"
        printf "%-6s %10s %12s %13s\n", "round", "req/s", "cpu/req", "user/req"
        for (r = 1; r <= rounds; r++) {
            rr = rps[r, "kit"] / rps[r, "raw"]
            cr = cpu[r, "kit"] / cpu[r, "raw"]
            ur = usr[r, "kit"] / usr[r, "raw"]
            sum_rr += rr; sum_cr += cr; sum_ur += ur
            printf "%-6d %10.3f %12.3f %13.3f\n", r, rr, cr, ur
        }
        if (rounds > 1)
            printf "%-6s %10.3f %12.3f %13.3f\n", "mean", sum_rr / rounds, sum_cr / rounds, sum_ur / rounds
    }
' raw="$raw_name" "$results"

#!/usr/bin/env bash
# Instructions per HTTP `POST /sum` served in process over an in-memory pipe (hyper's
# HTTP/1.1 on both; no sockets, so no event loop whose wake-ups vary with the machine's load),
# counted by callgrind for addsvc's stack (`kit`) and for plain hyper (`raw`): CALLS and
# 2*CALLS requests each, the difference divided by CALLS, so start-up cancels out. The counts
# repeat exactly, whatever else the machine is doing, and their difference is what kit adds
# to a request, to the instruction.
#
# Environment: CALLS=2000, SKIP_BUILD=1 to use target/release as it is, METERED=1 to also
# count addsvc's stack into kit-metrics's Prometheus recorder without and with the router's
# transport metrics (kit_http::metrics).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
calls="${CALLS:-2000}"
bin="$target_dir/release/http-sum-inproc"

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }
if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$root" && cargo build --release -p kit-benches --bin http-sum-inproc)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
total() {
    valgrind --tool=callgrind --callgrind-out-file="$work/out.$1.$2" "$bin" "$1" "$2" >/dev/null 2>&1
    grep -h '^summary:' "$work/out.$1.$2" | awk '{print $2}'
}
per_request() {
    local once twice
    once="$(total "$1" "$calls")"
    twice="$(total "$1" $((calls * 2)))"
    echo $(( (twice - once) / calls ))
}
kit="$(per_request kit)"
raw="$(per_request raw)"
printf '%-8s %10s\n' stack instr/req kit "$kit" raw "$raw"
echo "kit adds $((kit - raw)) instructions per request"
if [[ -n "${METERED:-}" ]]; then
    # Into a real Prometheus recorder, without and with the router's transport metrics.
    recorded="$(per_request kit-recorded)"
    metered="$(per_request kit-metered)"
    printf '%-13s %10s\n' kit-recorded "$recorded" kit-metered "$metered"
    echo "the transport metrics add $((metered - recorded)) instructions per request"
fi
awk -v k="$kit" -v r="$raw" 'BEGIN { printf "ratio kit / raw: %.3f\n", k / r }'

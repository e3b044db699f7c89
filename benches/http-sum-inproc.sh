#!/usr/bin/env bash
# Instructions per HTTP `POST /sum` served in process over an in-memory pipe (hyper's
# HTTP/1.1 on both; no sockets, so no event loop whose wake-ups vary with the machine's load),
# counted by callgrind for addsvc's stack (`kit`), the same without its instrumentation (the
# endpoints' request metrics and logging middleware and the router's transport metrics:
# `kit-uninstrumented`), and plain hyper (`raw`): CALLS and 2*CALLS requests each, counted
# only after a warm-up (inside the binary's `measured`), the difference divided by CALLS.
# The counts repeat exactly, whatever else the machine is doing, and their differences are
# what kit and its instrumentation add to a request, to the instruction.
#
# With request tracing (`kit-traced`: sample ratio 1, every request's server span exported
# over OTLP/gRPC to a receiver on another thread; `kit-traced-1pct`: ratio 0.01, the requests
# starting traces of which 1 in 100 is sampled; `kit-traced-unsampled`: ratio 0, an
# unsampled call without a span), the differences to `kit` are what a sampled server span,
# a request at 1% and an unsampled request cost, export included. The export waits on another thread's answers,
# so the sampled count moves by several hundred instructions per request from run to run
# (the unsampled one by a few).
#
# Environment: CALLS=2000, SKIP_BUILD=1 to use target/release as it is.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
calls="${CALLS:-2000}"
bin="$target_dir/release/http-sum-inproc"

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }
if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$root" && cargo build --release -p kit-benches --bin http-sum-inproc)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/http-sum-inproc.XXXXXX")"
trap 'rm -rf "$work"' EXIT
total() {
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='http_sum_inproc::measured' \
        --callgrind-out-file="$work/out.$1.$2" "$bin" "$1" "$2" >/dev/null 2>&1
    grep -h '^summary:' "$work/out.$1.$2" | awk '{print $2}'
}
per_request() {
    local once twice
    once="$(total "$1" "$calls")"
    twice="$(total "$1" $((calls * 2)))"
    echo $(( (twice - once) / calls ))
}
kit="$(per_request kit)"
sampled="$(per_request kit-traced)"
onepct="$(per_request kit-traced-1pct)"
unsampled="$(per_request kit-traced-unsampled)"
plain="$(per_request kit-uninstrumented)"
raw="$(per_request raw)"
printf '%-22s %10s\n' stack instr/req kit "$kit" kit-traced "$sampled" kit-traced-1pct "$onepct" kit-traced-unsampled "$unsampled" \
    kit-uninstrumented "$plain" raw "$raw"
echo "kit adds $((kit - raw)) instructions per request; its instrumentation $((kit - plain))"
echo "a sampled server span adds $((sampled - kit)); a request at 1% $((onepct - kit)); an unsampled one $((unsampled - kit))"
awk -v s="$sampled" -v u="$unsampled" -v k="$kit" \
    'BEGIN { printf "ratio kit-traced / kit: %.3f; kit-traced-unsampled / kit: %.3f\n", s / k, u / k }'
awk -v k="$kit" -v p="$plain" 'BEGIN { printf "ratio kit / kit-uninstrumented: %.3f\n", k / p }'
awk -v k="$kit" -v r="$raw" 'BEGIN { printf "ratio kit / raw: %.3f\n", k / r }'

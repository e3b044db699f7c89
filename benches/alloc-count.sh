#!/usr/bin/env bash
# Heap allocations (and bytes allocated) per endpoint call, for each variant the criterion
# bench times.
#
# The workspace forbids `unsafe`, so no counting global allocator: instead this runs the
# `endpoint-allocs` binary under `valgrind --tool=dhat` with N and then 2N calls, and
# divides the difference in allocated blocks (and bytes) by N. Everything that happens
# once per process (runtime, endpoint construction, thread-locals) is in both runs and
# cancels out.
#
# Usage: benches/alloc-count.sh          (N=100000 by default; CALLS=... to change)
#        SKIP_BUILD=1 benches/alloc-count.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="$target_dir/release/endpoint-allocs"
calls="${CALLS:-100000}"
variants=(bare chain5-async chain5-forward boxed tower-bridge tower-chain5 production tower-production
    balanced-rr-3 balanced-rr-10000 balanced-random-3 balanced-random-10000
    balanced-p2c-3 balanced-p2c-10000 instrumented-noop instrumented-prometheus)

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$root" && cargo build --release -p kit-benches --bin endpoint-allocs)
fi

# Prints "<blocks> <bytes>" allocated in total by one run of `$bin VARIANT CALLS`.
dhat_totals() {
    local out
    out="$(valgrind --tool=dhat --dhat-out-file=/dev/null "$bin" "$1" "$2" 2>&1)" || {
        echo "$out" >&2
        return 1
    }
    # "==PID== Total:     6,406,637 bytes in 100,028 blocks"
    sed -n 's/^==[0-9]*== Total: *\([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\2 \1/p' <<<"$out" | tr -d ,
}

printf '%-16s %14s %14s\n' variant allocs/call bytes/call
for variant in "${variants[@]}"; do
    once="$(dhat_totals "$variant" "$calls")"
    twice="$(dhat_totals "$variant" "$((2 * calls))")"
    read -r blocks1 bytes1 <<<"$once"
    read -r blocks2 bytes2 <<<"$twice"
    if [[ -z "${blocks1:-}" || -z "${blocks2:-}" ]]; then
        echo "could not read dhat's totals for $variant" >&2
        exit 1
    fi
    awk -v v="$variant" -v n="$calls" -v b1="$blocks1" -v b2="$blocks2" -v y1="$bytes1" -v y2="$bytes2" \
        'BEGIN { printf "%-16s %14.2f %14.1f\n", v, (b2 - b1) / n, (y2 - y1) / n }'
done

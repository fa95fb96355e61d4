#!/usr/bin/env bash
# The comparison at several worker counts (default 2, 4, 8 and 16), joined into one table.
#
# Builds `compare` and `scaling_table` (release), then runs `compare --workers N` once per
# worker count, one run at a time, and writes:
#   target/compare/scaling.md              one markdown table: per benchmark and worker count,
#                                          genrt's median and its ratio (median of pairwise
#                                          ratios) to each contender;
#   target/compare/scaling/workers-N/      each run's raw results: results.md, results.json
#                                          (every sample), results.tsv, chart.svg, and the
#                                          run's stdout and stderr (stdout.md, progress.log).
# (Under $CARGO_TARGET_DIR instead of target/ when that is set.)
#
# Each run uses `--quick` unless told otherwise: a full run is about 3 minutes, a quick one
# under a minute (about 45 s at 2 workers on 2 loaded cores), so 2, 4, 8 and 16 workers fit in
# about 4 minutes on a 16-core machine (plus the build). Needs only the Rust toolchain.
#
# Usage: scripts/scaling.sh [--workers "2 4 8 16"] [--full] [-- COMPARE_ARGS...]
#   --workers LIST   the worker counts, space-separated (default "2 4 8 16")
#   --full           the full plan instead of --quick (about 3 minutes per worker count)
#   -- ARGS          passed on to compare, e.g. -- --filter wakers
#
# A worker count above the machine's CPU count still runs, with a warning: the workers then
# share cores with each other and with the measuring thread, so its figures say less.
set -euo pipefail

cd "$(dirname "$0")/.."

workers_list="2 4 8 16"
plan=(--quick)
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --workers)
            [ $# -ge 2 ] || { echo "scaling.sh: --workers needs a list, e.g. \"2 4\"" >&2; exit 2; }
            workers_list="$2"
            shift 2
            ;;
        --full) plan=(); shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "scaling.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for n in $workers_list; do
    case "$n" in
        ''|*[!0-9]*|0) echo "scaling.sh: not a positive worker count: $n" >&2; exit 2 ;;
    esac
done

command -v cargo >/dev/null || { echo "scaling.sh: cargo not found: install the Rust toolchain (rustup.rs)" >&2; exit 1; }

target_dir="${CARGO_TARGET_DIR:-target}"
out="$target_dir/compare"
cpus="$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 0)"

for n in $workers_list; do
    if [ "$cpus" -gt 0 ] && [ "$n" -gt "$cpus" ]; then
        echo "scaling.sh: warning: $n workers on a machine with $cpus CPUs: the workers share cores" \
             "(and with the measuring thread), so the $n-worker figures say less about scaling." \
             "Running it anyway." >&2
    fi
done

echo "==> building (release): compare, scaling_table" >&2
cargo build --release -p genrt-benches --bin compare --bin scaling_table

mkdir -p "$out/scaling"
runs=()
total_start=$SECONDS
for n in $workers_list; do
    dir="$out/scaling/workers-$n"
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "==> compare --workers $n ${plan[*]-} ${extra[*]-} (progress in $dir/progress.log)" >&2
    start=$SECONDS
    if ! "$target_dir/release/compare" --workers "$n" ${plan[@]+"${plan[@]}"} \
            ${extra[@]+"${extra[@]}"} --out "$dir" \
            >"$dir/stdout.md" 2>"$dir/progress.log"; then
        echo "scaling.sh: compare --workers $n failed; the end of its log:" >&2
        tail -n 20 "$dir/progress.log" >&2
        exit 1
    fi
    echo "    $n workers: $((SECONDS - start)) s" >&2
    runs+=("$n=$dir")
done

"$target_dir/release/scaling_table" "$out/scaling.md" "${runs[@]}" >/dev/null
echo "==> wrote $out/scaling.md (raw results in $out/scaling/workers-N/); runs took $((SECONDS - total_start)) s" >&2

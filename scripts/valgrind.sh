#!/usr/bin/env bash
# Runs benches/src/bin/valgrind_drop.rs (a binary of genrt-benches) under valgrind: a runtime
# dropped with 1,100 pending tasks whose wakers and resolvers sit in a static, then woken and resolved from 4 threads; then a
# second runtime of 300 tasks dropped while 4 threads wake and resolve.
#
# Fails (exit status 1) on any invalid read or write, on memory definitely or indirectly
# lost, or if the program's own checks fail. Memory "possibly lost" or "still reachable" at
# exit is allowed: that is where crossbeam-epoch's global collector (its epoch records are
# linked through tagged pointers, which valgrind counts as "possibly lost") and the standard
# library's process-lifetime allocations (the main thread's `Thread` handle) show up.
#
# Installs valgrind with apt-get if it is missing. Usage: scripts/valgrind.sh
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind not found: installing it with apt-get"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update
    $sudo apt-get install -y valgrind
fi
valgrind --version

# A debug build: full debug info for valgrind's stack traces, and the same artifacts
# `cargo test` builds.
cargo build -p genrt-benches --bin valgrind_drop
binary="${CARGO_TARGET_DIR:-target}/debug/valgrind_drop"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

status=0
valgrind \
    --error-exitcode=1 \
    --leak-check=full \
    --errors-for-leak-kinds=definite,indirect \
    --log-file="$log" \
    "$binary" || status=$?

if [ "$status" -ne 0 ]; then
    echo "valgrind_drop under valgrind failed with status $status; valgrind's log:"
    cat "$log"
else
    # Valgrind's summary lines: heap usage, the leak summary and the error count.
    grep -E 'in use at exit|total heap usage|definitely lost|indirectly lost|possibly lost|still reachable|suppressed:|ERROR SUMMARY' "$log" \
        | sed -E 's/^==[0-9]+== ?//'
fi
exit "$status"

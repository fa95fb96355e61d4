#!/usr/bin/env bash
# Runs every loom model of genrt (see TESTING.md).
#
# Under `--cfg loom` every atomic, cell, Arc, lock, thread and thread-local of the three
# crates is loom's (each crate's private src/loom.rs), and loom explores the interleavings of
# each model up to LOOM_MAX_PREEMPTIONS preemptions (default 2). Every crate keeps its models
# in the same place: src/loom_models.rs lists them, one module per subject under
# src/loom_models/, compiled only under cfg(all(test, loom)); so each crate's models are its
# library tests whose path starts with `loom_models`. The build goes to target/loom so that
# it does not invalidate the normal one. Release mode: loom is slow in debug builds.
#
# Usage: scripts/loom.sh            (LOOM_MAX_PREEMPTIONS=3 scripts/loom.sh for a deeper run)
set -euo pipefail

cd "$(dirname "$0")/.."

export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
target_dir=target/loom

run() {
    printf '\n==> RUSTFLAGS="%s" LOOM_MAX_PREEMPTIONS=%s %s\n' \
        "$RUSTFLAGS" "$LOOM_MAX_PREEMPTIONS" "$*"
    "$@"
}

start=$SECONDS

# genrt-waker: the slot state machine (real Slab and SlotState) and the registry path.
# genrt-scheduler: parking with two real workers and a foreign waker.
# genrt: task cell and join handle, a JoinSet's ready list, shell requests and streams, and a
# whole runtime dropped while a shell resolves.
for crate in genrt-waker genrt-scheduler genrt; do
    run cargo test --release --target-dir "$target_dir" -p "$crate" --lib loom_models
done

printf '\n==> loom: every model passed with LOOM_MAX_PREEMPTIONS=%s (%ss)\n' \
    "$LOOM_MAX_PREEMPTIONS" "$((SECONDS - start))"

#!/usr/bin/env bash
# Runs every loom model of genrt (see "How we know" in ARCHITECTURE.md).
#
# Under `--cfg loom` every atomic, cell, Arc, lock, thread and thread-local of the three
# crates is loom's (see waker/src/loom/), and loom explores the interleavings of each model
# up to LOOM_MAX_PREEMPTIONS preemptions (default 2). The build goes to target/loom so that
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
run cargo test --release --target-dir "$target_dir" -p genrt-waker \
    --test loom_slot --test loom_registry

# genrt-scheduler: parking with two real workers and a foreign waker (src/loom_models.rs).
run cargo test --release --target-dir "$target_dir" -p genrt-scheduler --lib loom_models

# genrt: task cell and join handle (src/loom_models.rs), shell requests and streams, and a
# whole runtime dropped while a shell resolves.
run cargo test --release --target-dir "$target_dir" -p genrt --lib loom_models
run cargo test --release --target-dir "$target_dir" -p genrt \
    --test loom_shell --test loom_runtime

printf '\n==> loom: every model passed with LOOM_MAX_PREEMPTIONS=%s (%ss)\n' \
    "$LOOM_MAX_PREEMPTIONS" "$((SECONDS - start))"

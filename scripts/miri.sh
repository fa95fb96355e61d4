#!/usr/bin/env bash
# Runs the crates' `unsafe` code under miri with tree borrows:
# - genrt-waker's tests (unit tests and doctests: the slab, the slot state word, the
#   registry, the vtable);
# - genrt-scheduler's and genrt's unit tests (`--lib`);
# - tests/tests/miri_smoke.rs, which drives every `unsafe` path of genrt-scheduler and genrt
#   (the task cell's future and output, `Task::poll`/`shutdown` and their callers, `LocalSet`
#   cells, the pin projections of `coop` and `Timeout`) a few times each, under several
#   scheduling seeds (MIRI_SEEDS, default 4).
# Three to four minutes on two cores (miri's sysroot already built).
# Not part of CI: miri needs a nightly toolchain with the miri component. Without one this
# script says so and exits 0.
#
# Usage: scripts/miri.sh            (MIRIFLAGS, if set, are added to the script's own)
#        MIRI_SEEDS=16 scripts/miri.sh
set -euo pipefail

cd "$(dirname "$0")/.."

skip() {
    printf 'miri: skipped: %s\n' "$1"
    printf 'miri: to run it: rustup toolchain install nightly --component miri rust-src\n'
    exit 0
}

command -v rustup >/dev/null 2>&1 || skip "rustup is not installed, so there is no nightly toolchain to run miri with"
rustup run nightly rustc --version >/dev/null 2>&1 || skip "no nightly toolchain is installed"
installed=$(rustup component list --toolchain nightly --installed 2>/dev/null)
grep -q '^miri' <<<"$installed" || skip "the nightly toolchain has no miri component"
grep -q '^rust-src' <<<"$installed" || skip "the nightly toolchain has no rust-src component, which miri needs"

# Panics the tests cause on purpose would otherwise each print a backtrace, which costs miri
# seconds to symbolize; miri's own reports carry their backtraces regardless.
export RUST_BACKTRACE=0
base="${MIRIFLAGS:+$MIRIFLAGS }-Zmiri-tree-borrows"
seeds="${MIRI_SEEDS:-4}"

run() {
    local flags="$1"
    shift
    printf '==> MIRIFLAGS="%s" cargo +nightly miri test %s\n' "$flags" "$*"
    # A target directory of its own: miri's builds do not mix with the normal ones.
    MIRIFLAGS="$flags" cargo +nightly miri test --target-dir target/miri "$@"
}

run "$base" -p genrt-waker
# The real clock for the runtime's timers and timed parks, as outside miri.
run "$base -Zmiri-disable-isolation" -p genrt-scheduler --lib
run "$base -Zmiri-disable-isolation" -p genrt --lib
run "$base -Zmiri-disable-isolation -Zmiri-many-seeds=0..$seeds" -p genrt-tests --test miri_smoke

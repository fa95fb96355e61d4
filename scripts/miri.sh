#!/usr/bin/env bash
# Runs genrt-waker's tests (unit tests and doctests: the slab, the slot state word, the
# registry, the vtable) under miri with tree borrows, to check the crate's `unsafe` code.
# Not part of CI: miri needs a nightly toolchain with the miri component. Without one this
# script says so and exits 0.
#
# Usage: scripts/miri.sh
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

export MIRIFLAGS="${MIRIFLAGS:+$MIRIFLAGS }-Zmiri-tree-borrows"
printf '==> MIRIFLAGS="%s" cargo +nightly miri test -p genrt-waker\n' "$MIRIFLAGS"
# A target directory of its own: miri's builds do not mix with the normal ones.
cargo +nightly miri test --target-dir target/miri -p genrt-waker

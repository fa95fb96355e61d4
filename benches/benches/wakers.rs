//! Waker operations on a real task waker of each contender:
//! `cargo bench -p genrt-benches --bench wakers`.

use criterion::{criterion_group, criterion_main, Criterion};
use genrt_benches::criterion_glue;

/// The `wakers/` benchmarks.
fn wakers(c: &mut Criterion) {
    criterion_glue::run_group(c, "wakers/");
}

criterion_group! {
    name = benches;
    config = criterion_glue::config();
    targets = wakers
}
criterion_main!(benches);

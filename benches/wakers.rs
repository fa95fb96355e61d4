//! Waker operations on a real task waker of each contender: `cargo bench --bench wakers`.

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};

/// The `wakers/` benchmarks.
fn wakers(c: &mut Criterion) {
    common::criterion_glue::run_group(c, "wakers/");
}

criterion_group! {
    name = benches;
    config = common::criterion_glue::config();
    targets = wakers
}
criterion_main!(benches);

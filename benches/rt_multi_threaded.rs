//! Tokio's `benches/rt_multi_threaded.rs` suite, and spawn cost at scale, for every
//! contender: `cargo bench --bench rt_multi_threaded`.

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};

/// The `tokio_suite/` benchmarks.
fn tokio_suite(c: &mut Criterion) {
    common::criterion_glue::run_group(c, "tokio_suite/");
}

/// The `scale/` benchmarks.
fn scale(c: &mut Criterion) {
    common::criterion_glue::run_group(c, "scale/");
}

criterion_group! {
    name = benches;
    config = common::criterion_glue::config();
    targets = tokio_suite, scale
}
criterion_main!(benches);

//! Tokio's `benches/rt_multi_threaded.rs` suite, spawn cost at scale and the timers, for every
//! contender: `cargo bench -p genrt-benches --bench rt_multi_threaded`.

use criterion::{criterion_group, criterion_main, Criterion};
use genrt_benches::criterion_glue;

/// The `tokio_suite/` benchmarks.
fn tokio_suite(c: &mut Criterion) {
    criterion_glue::run_group(c, "tokio_suite/");
}

/// The `scale/` benchmarks.
fn scale(c: &mut Criterion) {
    criterion_glue::run_group(c, "scale/");
}

/// The `time/` benchmarks.
fn time(c: &mut Criterion) {
    criterion_glue::run_group(c, "time/");
}

criterion_group! {
    name = benches;
    config = criterion_glue::config();
    targets = tokio_suite, scale, time
}
criterion_main!(benches);

//! The effect round trip (spawn, shell request, resolved on a shell thread, task completes):
//! genrt vs crux_core vs Tokio with a oneshot. `cargo bench --bench effects`.

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};

/// The `effects/` benchmarks.
fn effects(c: &mut Criterion) {
    common::criterion_glue::run_group(c, "effects/");
}

criterion_group! {
    name = benches;
    config = common::criterion_glue::config();
    targets = effects
}
criterion_main!(benches);

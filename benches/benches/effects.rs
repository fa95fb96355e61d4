//! The effect round trip (spawn, shell request, resolved on a shell thread, task completes):
//! genrt vs crux_core vs Tokio with a oneshot. `cargo bench -p genrt-benches --bench effects`.

use criterion::{criterion_group, criterion_main, Criterion};
use genrt_benches::criterion_glue;

/// The `effects/` benchmarks.
fn effects(c: &mut Criterion) {
    criterion_glue::run_group(c, "effects/");
}

criterion_group! {
    name = benches;
    config = criterion_glue::config();
    targets = effects
}
criterion_main!(benches);

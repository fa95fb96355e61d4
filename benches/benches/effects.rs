//! The effect round trip (spawn, shell request, resolved on a shell thread, task completes):
//! genrt vs crux_core vs Tokio with a oneshot; and the `crux/` group, the same crux app through
//! genrt-crux and crux_core. `cargo bench -p genrt-benches --bench effects`.

use criterion::{criterion_group, criterion_main, Criterion};
use genrt_benches::criterion_glue;

/// The `effects/` benchmarks.
fn effects(c: &mut Criterion) {
    criterion_glue::run_group(c, "effects/");
}

/// The `crux/` benchmarks.
fn crux(c: &mut Criterion) {
    criterion_glue::run_group(c, "crux/");
}

criterion_group! {
    name = benches;
    config = criterion_glue::config();
    targets = effects, crux
}
criterion_main!(benches);

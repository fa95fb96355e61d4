//! Running the suite's timed benchmarks under criterion, for `cargo bench`.
//!
//! Each benchmark is a criterion group with one function per contender. A contender's
//! instance is built before its function runs and dropped after it, so only one runtime is
//! alive at a time here too. Criterion's own statistics apply; the ABBA rounds and pairwise
//! ratios are the main job's (`cargo run --release -p genrt-benches --bin compare`).

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};

use crate::suite;

/// Worker threads for `cargo bench`: `GENRT_BENCH_WORKERS`, else 2.
pub fn workers() -> usize {
    std::env::var("GENRT_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// A criterion configuration with modest sample counts, so `cargo bench` ends in minutes.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// Runs every timed benchmark whose name starts with `prefix`.
pub fn run_group(c: &mut Criterion, prefix: &str) {
    for bench in suite::timed(workers(), false)
        .into_iter()
        .filter(|b| b.name.starts_with(prefix))
    {
        for note in &bench.notes {
            eprintln!("note: {note}");
        }
        let mut group = c.benchmark_group(bench.name.as_str());
        // Flat sampling: the same iteration count in every sample, so the long benchmarks
        // (busy1, the 1M scale) do not run 55 iterations per contender.
        group.sampling_mode(SamplingMode::Flat);
        if bench.ops_per_iter > 1 {
            group.throughput(Throughput::Elements(bench.ops_per_iter));
        }
        for entry in &bench.contenders {
            let mut instance = (entry.make)();
            group.bench_function(entry.name.as_str(), |b| b.iter(|| instance.iterate()));
            drop(instance);
        }
        group.finish();
    }
}

//! One `crux/*` row on one core alone, for profilers: `compare` interleaves both cores in one
//! process, so `perf stat` of it cannot tell them apart.
//!
//! ```text
//! cargo run --release -p genrt-benches --bin crux_alone -- <genrt-crux|crux_core> <row> [iterations]
//! perf stat -e context-switches,syscalls:sys_enter_futex target/release/crux_alone genrt-crux fan_out 300
//! ```
//!
//! `row` is `round_trip_1`, `round_trip_16`, `fan_out` or `cpu_heavy` (the `compare` rows of
//! the same names, 2 workers). Prints the median, 10th and 90th percentile of the iteration
//! times after 20 warm-up iterations, and the allocator (the system's, or mimalloc with
//! `--features mimalloc`, as for `compare`).

use std::process::ExitCode;
use std::time::Instant;

use genrt_benches::crux_rows::{self as workloads, Instance};
use support::counting::{self, CountingAlloc};

/// The allocator of every benchmark binary, here only for its choice of inner allocator
/// (`--features mimalloc`): counting is paused for the whole run.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn instance(core: &str, row: &str) -> Option<Instance> {
    const WORKERS: usize = 2;
    Some(match (core, row) {
        ("genrt-crux", "round_trip_1") => workloads::crux_round_trip_genrt::<1>(WORKERS),
        ("crux_core", "round_trip_1") => workloads::crux_round_trip_crux::<1>(WORKERS),
        ("genrt-crux", "round_trip_16") => workloads::crux_round_trip_genrt::<16>(WORKERS),
        ("crux_core", "round_trip_16") => workloads::crux_round_trip_crux::<16>(WORKERS),
        ("genrt-crux", "fan_out") => workloads::crux_fan_out_genrt(WORKERS),
        ("crux_core", "fan_out") => workloads::crux_fan_out_crux(WORKERS),
        ("genrt-crux", "cpu_heavy") => workloads::crux_cpu_heavy_genrt(WORKERS),
        ("crux_core", "cpu_heavy") => workloads::crux_cpu_heavy_crux(WORKERS),
        _ => return None,
    })
}

fn main() -> ExitCode {
    let _paused = counting::pause();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let iterations = match args.get(2).map(|n| n.parse::<usize>()) {
        None => 200,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("crux_alone: iterations must be a positive number");
            return ExitCode::FAILURE;
        }
    };
    let (core, row) = match (args.first(), args.get(1)) {
        (Some(core), Some(row)) => (core.as_str(), row.as_str()),
        _ => {
            eprintln!("usage: crux_alone <genrt-crux|crux_core> <row> [iterations]");
            return ExitCode::FAILURE;
        }
    };
    let Some(mut instance) = instance(core, row) else {
        eprintln!(
            "crux_alone: unknown core or row {core} {row}; cores: genrt-crux, crux_core; rows: \
             round_trip_1, round_trip_16, fan_out, cpu_heavy"
        );
        return ExitCode::FAILURE;
    };
    for _ in 0..20 {
        instance.iterate();
    }
    let mut times: Vec<f64> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            instance.iterate();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{core} crux/{row}: median {:.2} ms/iter, p10 {:.2}, p90 {:.2} ({iterations} iterations, \
         allocator: {})",
        at(0.5),
        at(0.1),
        at(0.9),
        counting::INNER
    );
    ExitCode::SUCCESS
}

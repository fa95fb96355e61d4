//! Steady-state wakes of a pending task from foreign threads: the time per wake and the
//! task's polls per wake (which regime the run fell into; see `genrt_benches::steady`), for
//! genrt and its peers, over long runs.
//!
//! ```text
//! cargo run --release -p genrt-benches --bin wake_steady -- [--workers N] [--wakes N] [--rounds N]
//! ```
//!
//! Defaults: 2 workers, 1,000,000 wakes per thread per run, 7 rounds.

use std::process::ExitCode;

/// The usage line.
const USAGE: &str = "usage: wake_steady [--workers N] [--wakes N] [--rounds N]";

fn main() -> ExitCode {
    let (mut workers, mut wakes, mut rounds) = (2usize, 1_000_000u64, 7usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&v| v > 0);
        match (flag.as_str(), value) {
            ("--workers", Some(v)) => workers = v as usize,
            ("--wakes", Some(v)) => wakes = v,
            ("--rounds", Some(v)) => rounds = v as usize,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "{workers} workers, {wakes} wakes per thread per run, {rounds} rounds, {} logical CPUs\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    print!("{}", genrt_benches::steady::table(workers, wakes, rounds));
    ExitCode::SUCCESS
}

//! The main job: genrt side by side with Tokio, async-executor, futures' ThreadPool, the
//! pre-fix Crux `Arc<Task>` executor and crux_core, on speed and on what each leaks.
//!
//! ```text
//! cargo run --release -p genrt-benches --bin compare [-- --workers N] [--quick] [--filter SUBSTRING] [--aa]
//! ```
//!
//! Progress goes to stderr, the markdown table to stdout, and `results.md` (the table with
//! its notes), `results.json` (every sample), `results.tsv` (medians and ratios, one line per
//! benchmark and contender, for `scripts/scaling.sh`) and `chart.svg` (the ratios) to
//! `target/compare/` at the workspace root. The method is described in `benches/src/method.rs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use genrt_benches::memory::{LEAK_TASKS, PENDING_SLEEPS, PENDING_TASKS};
use genrt_benches::method::{self, Plan};
use genrt_benches::report::{MemoryRow, Report};
use genrt_benches::suite;
use support::counting::{self, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The `--help` text.
const USAGE: &str = "\
usage: cargo run --release -p genrt-benches --bin compare -- [options]

  --workers N        worker threads for every contender (default 2)
  --quick            a shorter run (fewer rounds and samples)
  --filter SUBSTRING only benchmarks whose name contains SUBSTRING (e.g. tokio_suite,
                     wakers, effects, scale, memory, yield_many)
  --aa               A/A run: genrt against genrt under two names, to check the method
  --out DIR          where results.md, results.json, results.tsv and chart.svg go (default
                     target/compare, target/compare/aa for --aa)
";

/// The command line, parsed.
struct Options {
    workers: usize,
    quick: bool,
    filter: Option<String>,
    aa: bool,
    out: PathBuf,
}

/// Parses the command line; `Err("")` asks for the usage text.
fn parse() -> Result<Options, String> {
    let mut options = Options {
        workers: 2,
        quick: false,
        filter: None,
        aa: false,
        out: PathBuf::new(),
    };
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => {
                let n = args.next().ok_or("--workers needs a number")?;
                options.workers = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--workers: not a positive number: {n}"))?;
            }
            "--quick" => options.quick = true,
            "--aa" => options.aa = true,
            "--filter" => options.filter = Some(args.next().ok_or("--filter needs a substring")?),
            "--out" => out = Some(args.next().ok_or("--out needs a directory")?.into()),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    // An A/A run goes beside the comparison, not over it.
    let default = if options.aa {
        "target/compare/aa"
    } else {
        "target/compare"
    };
    options.out = out.unwrap_or_else(|| workspace_root().join(default));
    Ok(options)
}

/// The workspace's root folder: this package's parent.
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("genrt-benches lies in a folder of the workspace")
}

/// The CPU model, the number of logical CPUs and the registry's barrier (`genrt_waker::barrier`),
/// for the report.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    // Known once a runtime was built (the first registration decides): call after the runs.
    let barrier = if genrt_waker::is_asymmetric() {
        "membarrier"
    } else {
        "SeqCst fences"
    };
    format!(
        "{model}, {cpus} logical CPUs, registry barrier: {barrier}, allocator: {}",
        support::counting::INNER
    )
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}\n");
            }
            eprint!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
    };
    // Timed code pays one relaxed load per allocation for the counting allocator, no more;
    // the memory scenarios below switch counting back on.
    let mut paused = Some(counting::pause());
    let started = Instant::now();
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let plan = if options.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    let wanted = |name: &str| options.filter.as_deref().is_none_or(|f| name.contains(f));

    let benches: Vec<_> = suite::timed(options.workers, options.aa)
        .into_iter()
        .filter(|b| wanted(&b.name))
        .collect();
    let run_memory = wanted("memory/bytes_per_pending_task") || wanted("memory/after_drop");
    let run_sleep_memory = wanted("memory/bytes_per_pending_sleep");
    eprintln!(
        "compare: {} workers, {} plan ({}-{} rounds, up to {} samples of ~{} ms), {} timed benchmarks{}{}",
        options.workers,
        if options.quick { "quick" } else { "full" },
        plan.min_rounds,
        plan.max_rounds,
        plan.samples,
        plan.sample_target.as_millis(),
        benches.len(),
        if run_memory { " + memory" } else { "" },
        if options.aa { ", A/A" } else { "" }
    );

    let mut outcomes = Vec::new();
    let total = benches.len();
    let nominal: Vec<_> = benches
        .iter()
        .map(|b| method::nominal_budget(b, &plan))
        .collect();
    let timed_start = Instant::now();
    for (i, bench) in benches.iter().enumerate() {
        // Shrink (never grow) this benchmark's budget so the ones left fit in the run budget.
        let left = plan.run_budget.saturating_sub(timed_start.elapsed());
        let wanted: std::time::Duration = nominal[i..].iter().sum();
        let share = (left.as_secs_f64() / wanted.as_secs_f64().max(1e-9)).min(1.0);
        let budget = nominal[i].mul_f64(share);
        eprintln!(
            "[{:>3.0}s] ({}/{total}) {} (budget {:.1} s)",
            started.elapsed().as_secs_f64(),
            i + 1,
            bench.name,
            budget.as_secs_f64()
        );
        let outcome = method::measure(bench, &plan, budget, &mut |line| eprintln!("{line}"));
        let summary: Vec<String> = (1..outcome.samples.len())
            .map(|c| {
                format!(
                    "{} {:.2}",
                    outcome.samples[c].contender,
                    outcome.pairwise_ratio(c)
                )
            })
            .collect();
        eprintln!(
            "  => {} {}/{}; {}/contender: {} ({:.1} s)",
            outcome.samples[0].contender,
            method::format_ns(outcome.median_per_op(0)),
            outcome.op,
            outcome.samples[0].contender,
            summary.join(", "),
            outcome.wall.as_secs_f64()
        );
        outcomes.push(outcome);
    }

    let mut memory = Vec::new();
    if run_memory {
        eprintln!(
            "[{:>3.0}s] memory: {PENDING_TASKS} pending tasks, then {LEAK_TASKS} with wakers held outside",
            started.elapsed().as_secs_f64()
        );
        drop(paused.take());
        counting::assert_counting();
        for (name, run) in suite::memory(options.aa) {
            let per_task = run(options.workers, PENDING_TASKS);
            let leak = run(options.workers, LEAK_TASKS);
            eprintln!(
                "  {name:<16} {:.0} B/task, retained {} B while wakers held, leaked {} B",
                per_task.bytes_per_task, leak.retained_bytes, leak.leaked_bytes
            );
            memory.push(MemoryRow {
                contender: name,
                per_task,
                leak,
            });
        }
    }

    let mut sleep_memory = Vec::new();
    if run_sleep_memory {
        eprintln!(
            "[{:>3.0}s] memory: {PENDING_SLEEPS} pending sleeps",
            started.elapsed().as_secs_f64()
        );
        drop(paused.take());
        counting::assert_counting();
        for (name, run) in suite::sleep_memory(options.aa) {
            let bytes = run(options.workers, PENDING_SLEEPS);
            eprintln!("  {name:<16} {bytes:.0} B/sleep");
            sleep_memory.push((name, bytes));
        }
    }

    let report = Report {
        workers: options.workers,
        plan,
        mode: if options.quick { "quick" } else { "full" },
        aa: options.aa,
        filter: options.filter.clone(),
        machine: machine(),
        started_unix,
        wall_s: started.elapsed().as_secs_f64(),
        outcomes,
        memory,
        sleep_memory,
    };
    print!("{}", report.markdown());
    for note in report.notes() {
        println!("\n{note}");
    }
    println!(
        "\nwall time: {:.1} s, {} workers, {}",
        report.wall_s, report.workers, report.machine
    );
    match report.write(&options.out) {
        Ok(()) => {
            eprintln!(
                "wrote {}, {}, {} and {}",
                options.out.join("results.md").display(),
                options.out.join("results.json").display(),
                options.out.join("results.tsv").display(),
                options.out.join("chart.svg").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: could not write {}: {e}", options.out.display());
            ExitCode::FAILURE
        }
    }
}

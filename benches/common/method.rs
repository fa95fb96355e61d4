//! The measuring method. On a small shared machine it decides whether a figure means
//! anything, so every rule here is deliberate:
//!
//! 1. **One runtime alive at a time.** An idle runtime's workers spin and park on the same
//!    cores and skew whatever runs next. A contender is built, warmed up, timed and dropped,
//!    and the process's thread count is back to what it was, before the next one is built.
//! 2. **Rounds in ABBA order.** Each round visits every contender once; even rounds go
//!    forwards through the list, odd rounds backwards (`A B C | C B A | A B C ...`), so a
//!    slow drift of the machine (another job starting, thermal state) does not favour
//!    whoever always runs first.
//! 3. **Fixed work per sample.** The first round calibrates, per contender, how many
//!    iterations make a sample of about [`Plan::sample_target`]; later rounds reuse that
//!    count. A sample is `Instant` around those whole iterations, divided by their number.
//! 4. **Medians, and ratios within round pairs.** Each contender's figure is the median of
//!    all its samples. Besides the ratio of medians, the reference (the first contender,
//!    genrt) is compared with each other contender inside each pair of rounds (2k, 2k+1): the
//!    ratio of their medians in that pair. The median of those pairwise ratios is the
//!    figure least moved by load that comes and goes between rounds.
//!
//! An A/A run (genrt against itself under two names) checks the method: its ratios must sit
//! within 0.95-1.05.

use std::time::{Duration, Instant};

use super::suite::Benchmark;
use super::threads;

/// How long to wait after a contender's drop for its threads to be gone (rule 1).
const THREAD_EXIT_WAIT: Duration = Duration::from_secs(2);

/// How much to measure.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Rounds (made even: ratios are taken per pair of rounds).
    pub rounds: usize,
    /// Samples per contender per round, at most.
    pub samples: usize,
    /// Target duration of one sample.
    pub sample_target: Duration,
    /// Warm-up per contender per round, after building it.
    pub warmup: Duration,
    /// Time one contender may take in one round; slow contenders take fewer samples (never
    /// fewer than [`MIN_SAMPLES`]).
    pub round_budget: Duration,
}

/// The fewest samples a contender takes per round.
pub const MIN_SAMPLES: usize = 2;

impl Plan {
    /// The default plan of the main job.
    pub fn full() -> Plan {
        Plan {
            rounds: 6,
            samples: 5,
            sample_target: Duration::from_millis(20),
            warmup: Duration::from_millis(30),
            round_budget: Duration::from_millis(400),
        }
    }

    /// A shorter plan (`--quick`).
    pub fn quick() -> Plan {
        Plan {
            rounds: 2,
            samples: 3,
            sample_target: Duration::from_millis(10),
            warmup: Duration::from_millis(10),
            round_budget: Duration::from_millis(150),
        }
    }
}

/// One contender's samples in one benchmark.
#[derive(Clone, Debug)]
pub struct Samples {
    /// The contender's name.
    pub contender: String,
    /// Iterations per sample, from calibration.
    pub iters_per_sample: u64,
    /// Per round, the samples: nanoseconds per iteration.
    pub rounds: Vec<Vec<f64>>,
}

impl Samples {
    /// Every sample of every round.
    pub fn all(&self) -> Vec<f64> {
        self.rounds.iter().flatten().copied().collect()
    }

    /// The median of every sample, in nanoseconds per iteration.
    pub fn median(&self) -> f64 {
        median(&self.all())
    }

    /// The median of the samples of rounds `2 * pair` and `2 * pair + 1`.
    pub fn pair_median(&self, pair: usize) -> f64 {
        let mut both = self.rounds[2 * pair].clone();
        both.extend_from_slice(&self.rounds[2 * pair + 1]);
        median(&both)
    }
}

/// The outcome of one benchmark: every contender's samples, the reference first.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The benchmark's name.
    pub bench: String,
    /// Operations per iteration (1 when a figure is per iteration).
    pub ops_per_iter: u64,
    /// What one operation is, for display ("iter", "op", "task").
    pub op: &'static str,
    /// One entry per contender, in the benchmark's order.
    pub samples: Vec<Samples>,
    /// Wall time the benchmark took.
    pub wall: Duration,
    /// The benchmark's notes (why a contender is missing).
    pub notes: Vec<String>,
}

impl Outcome {
    /// The reference contender's median divided by `contender`'s.
    pub fn ratio_of_medians(&self, contender: usize) -> f64 {
        self.samples[0].median() / self.samples[contender].median()
    }

    /// Per pair of rounds, the reference's median divided by `contender`'s.
    pub fn pairwise_ratios(&self, contender: usize) -> Vec<f64> {
        let pairs = self.samples[0].rounds.len() / 2;
        (0..pairs)
            .map(|p| self.samples[0].pair_median(p) / self.samples[contender].pair_median(p))
            .collect()
    }

    /// The median of [`Outcome::pairwise_ratios`].
    pub fn pairwise_ratio(&self, contender: usize) -> f64 {
        median(&self.pairwise_ratios(contender))
    }

    /// A contender's median per operation, in nanoseconds.
    pub fn median_per_op(&self, contender: usize) -> f64 {
        self.samples[contender].median() / self.ops_per_iter as f64
    }
}

/// The median of `values` (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of no values");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Per contender, what calibration decided.
#[derive(Clone, Copy)]
struct Calibration {
    iters: u64,
    samples: usize,
}

/// Measures `bench` by `plan`. `progress` receives a line per contender-round.
pub fn measure(bench: &Benchmark, plan: &Plan, progress: &mut dyn FnMut(&str)) -> Outcome {
    let started = Instant::now();
    let rounds = plan.rounds.max(2).next_multiple_of(2);
    let n = bench.contenders.len();
    let mut samples: Vec<Samples> = bench
        .contenders
        .iter()
        .map(|c| Samples {
            contender: c.name.clone(),
            iters_per_sample: 0,
            rounds: vec![Vec::new(); rounds],
        })
        .collect();
    let mut calibration: Vec<Option<Calibration>> = vec![None; n];

    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        };
        for c in order {
            let entry = &bench.contenders[c];
            let _watch = Watchdog::arm(&bench.name, &entry.name);
            let threads_before = threads::live_threads().unwrap_or(0);
            let mut instance = (entry.make)();
            // Warm-up, which in the first round also calibrates.
            let warm_start = Instant::now();
            let mut warm_iters = 0u64;
            while warm_iters < 1 || warm_start.elapsed() < plan.warmup {
                instance.iterate();
                warm_iters += 1;
            }
            let cal = *calibration[c].get_or_insert_with(|| {
                let per_iter = warm_start.elapsed().as_secs_f64() / warm_iters as f64;
                let iters = (plan.sample_target.as_secs_f64() / per_iter)
                    .round()
                    .max(1.0);
                let sample = iters * per_iter;
                let fit = (plan.round_budget.as_secs_f64() / sample).floor() as usize;
                Calibration {
                    iters: iters as u64,
                    samples: fit.clamp(MIN_SAMPLES, plan.samples.max(MIN_SAMPLES)),
                }
            });
            samples[c].iters_per_sample = cal.iters;
            for _ in 0..cal.samples {
                let start = Instant::now();
                for _ in 0..cal.iters {
                    instance.iterate();
                }
                let ns = start.elapsed().as_nanos() as f64 / cal.iters as f64;
                samples[c].rounds[round].push(ns);
            }
            drop(instance);
            let lingering = threads::wait_for_at_most(threads_before, THREAD_EXIT_WAIT);
            if lingering > 0 {
                progress(&format!(
                    "  note: {lingering} thread(s) of {} still running {} s after its drop",
                    entry.name,
                    THREAD_EXIT_WAIT.as_secs()
                ));
            }
            let last = median(&samples[c].rounds[round]) / bench.ops_per_iter as f64;
            progress(&format!(
                "  round {}/{rounds} {:<16} {}/{}",
                round + 1,
                entry.name,
                format_ns(last),
                bench.op
            ));
        }
    }

    Outcome {
        bench: bench.name.clone(),
        ops_per_iter: bench.ops_per_iter,
        op: bench.op,
        samples,
        wall: started.elapsed(),
        notes: bench.notes.clone(),
    }
}

/// How long one contender may take in one round before the run is declared hung.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Aborts the process with a message if a contender's round outlives [`HANG_LIMIT`]: a
/// contender that livelocks must not leave the run hanging silently, and its threads cannot
/// be reclaimed to go on measuring fairly. The watching thread sleeps in between.
struct Watchdog {
    done: std::sync::mpsc::Sender<()>,
}

impl Watchdog {
    fn arm(bench: &str, contender: &str) -> Watchdog {
        let (done, stopped) = std::sync::mpsc::channel::<()>();
        let what = format!("{bench} / {contender}");
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(HANG_LIMIT)
            {
                eprintln!(
                    "error: {what} did not finish a round in {} s; aborting the run",
                    HANG_LIMIT.as_secs()
                );
                std::process::exit(2);
            }
        });
        Watchdog { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.done.send(());
    }
}

/// Nanoseconds in a readable unit: `ns`, `µs`, `ms` or `s`, three significant digits.
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

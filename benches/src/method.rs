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
//! 3. **Samples of fixed work.** The reference's first warm-up calibrates how many
//!    iterations make a sample of about [`Plan::sample_target`] (8 ms) and how many samples
//!    a round takes; every contender and every round uses those counts, so every sample is
//!    the same work and every round the same statistic.
//!    A sample is `Instant` around those whole iterations, divided by their number. Several
//!    iterations per sample average out workloads whose single iterations are bimodal
//!    (spawning 10,000 tasks takes 3 or 8 ms, depending on the allocator's state).
//! 4. **Many short rounds.** On a loaded machine the speed the benchmark gets changes in
//!    steps (a compile job starts on the sibling hyperthread, the scheduler shares a core)
//!    that last about as long as a round. A round is short (a 5 ms warm-up and at most
//!    four samples per contender), so the two rounds of a pair usually share the machine's
//!    state, and there are many pairs: the number of rounds is what fits in the benchmark's
//!    budget, up to [`Plan::max_rounds`].
//! 5. **Medians, and ratios within round pairs.** Each contender's figure is the median of
//!    all its samples. Besides the ratio of medians, the reference (the first contender,
//!    genrt) is compared with each other contender inside each pair of rounds (2k, 2k+1): the
//!    ratio of their medians in that pair. The median of those pairwise ratios is the
//!    figure least moved by load that comes and goes between rounds; a pair caught by a
//!    change of the machine's state is an outlier the median ignores.
//!
//! An A/A run (genrt against itself under two names) checks the method: its ratios must sit
//! within 0.95-1.05.

use std::time::{Duration, Instant};

use crate::suite::Benchmark;
use crate::threads;

/// How long to wait after a contender's drop for its threads to be gone (rule 1).
const THREAD_EXIT_WAIT: Duration = Duration::from_secs(2);

/// How much to measure.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The fewest rounds (made even: ratios are taken per pair of rounds).
    pub min_rounds: usize,
    /// The most rounds.
    pub max_rounds: usize,
    /// Wall time per contender in one benchmark: after the first round, the number of rounds
    /// is what fits in this times the number of contenders, within
    /// `min_rounds..=max_rounds`. Per contender, so an A/A run gets as many rounds as a full
    /// comparison would.
    pub contender_budget: Duration,
    /// Samples per contender per round, at most.
    pub samples: usize,
    /// Target duration of one sample.
    pub sample_target: Duration,
    /// Warm-up per contender per round, after building it (at least one iteration).
    pub warmup: Duration,
    /// Measuring time of one contender in one round; slow contenders take fewer samples
    /// (never fewer than [`MIN_SAMPLES`]).
    pub round_budget: Duration,
    /// Wall time for all timed benchmarks of a run together. The main job shrinks (never
    /// grows) each benchmark's budget so that the ones left fit in what remains.
    pub run_budget: Duration,
}

/// The fewest samples a contender takes per round.
pub const MIN_SAMPLES: usize = 1;

impl Plan {
    /// The default plan of the main job.
    pub fn full() -> Plan {
        Plan {
            min_rounds: 4,
            max_rounds: 80,
            contender_budget: Duration::from_millis(1600),
            samples: 4,
            sample_target: Duration::from_millis(8),
            warmup: Duration::from_millis(5),
            round_budget: Duration::from_millis(32),
            run_budget: Duration::from_secs(170),
        }
    }

    /// A shorter plan (`--quick`).
    pub fn quick() -> Plan {
        Plan {
            min_rounds: 2,
            max_rounds: 8,
            contender_budget: Duration::from_millis(300),
            samples: 6,
            sample_target: Duration::from_millis(2),
            warmup: Duration::from_millis(5),
            round_budget: Duration::from_millis(40),
            run_budget: Duration::from_secs(40),
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

/// A steady-state estimate of one iteration's time from the warm-up's iteration times. The
/// first iteration after a build is slower (the runtime grows its storage), so it is left
/// out when there are others.
fn per_iter_estimate(times: &[f64]) -> f64 {
    let steady = if times.len() > 1 { &times[1..] } else { times };
    median(steady).max(1.0)
}

/// Iterations per sample for the whole benchmark, from the reference contender's first
/// warm-up: enough for a sample of about `sample_target`. Every contender uses the same
/// count, so every sample is the same work and the same statistic.
fn iters_per_sample(per_iter: f64, plan: &Plan) -> u64 {
    (plan.sample_target.as_nanos() as f64 / per_iter)
        .round()
        .max(1.0) as u64
}

/// Samples per round for the whole benchmark, from the reference contender's first warm-up:
/// as many as fit in `round_budget`. Every contender takes the same number: samples early in
/// a round tend to be slower (the runtime is still warming), so a contender with fewer
/// samples would get a higher median.
fn samples_per_round(per_iter: f64, iters: u64, plan: &Plan) -> usize {
    let fit = (plan.round_budget.as_nanos() as f64 / (iters as f64 * per_iter)).floor() as usize;
    fit.clamp(MIN_SAMPLES, plan.samples.max(MIN_SAMPLES))
}

/// The wall time `bench` should take by `plan`: the contender budget times the number of
/// contenders times the benchmark's budget factor.
pub fn nominal_budget(bench: &Benchmark, plan: &Plan) -> Duration {
    plan.contender_budget
        .mul_f64(bench.contenders.len() as f64 * bench.budget_factor)
}

/// Measures `bench` by `plan` in about `budget` of wall time (see [`nominal_budget`]).
/// `progress` receives a line per round.
pub fn measure(
    bench: &Benchmark,
    plan: &Plan,
    budget: Duration,
    progress: &mut dyn FnMut(&str),
) -> Outcome {
    let started = Instant::now();
    let n = bench.contenders.len();
    let mut samples: Vec<Samples> = bench
        .contenders
        .iter()
        .map(|c| Samples {
            contender: c.name.clone(),
            iters_per_sample: 0,
            rounds: Vec::new(),
        })
        .collect();
    let mut iters: Option<u64> = None;
    let mut sample_count: Option<usize> = None;
    let min_rounds = plan.min_rounds.max(2).next_multiple_of(2);
    let mut rounds = min_rounds;

    let mut round = 0;
    while round < rounds {
        let round_start = Instant::now();
        let order: Vec<usize> = if round % 2 == 0 {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        };
        let mut line = format!("  round {:>2}:", round + 1);
        for c in order {
            let entry = &bench.contenders[c];
            let _watch = Watchdog::arm(&bench.name, &entry.name);
            let threads_before = support::counting::thread_count().unwrap_or(0);
            let mut instance = (entry.make)();
            let mut warm = Vec::new();
            let warm_start = Instant::now();
            loop {
                let t = Instant::now();
                instance.iterate();
                warm.push(t.elapsed().as_nanos() as f64);
                let spent = warm_start.elapsed();
                // At least one iteration (the first after a build grows the runtime's storage)
                // and the warm-up time.
                if spent >= plan.warmup {
                    break;
                }
            }
            let per_iter = per_iter_estimate(&warm);
            let iters = *iters.get_or_insert_with(|| iters_per_sample(per_iter, plan));
            let count =
                *sample_count.get_or_insert_with(|| samples_per_round(per_iter, iters, plan));
            samples[c].iters_per_sample = iters;
            let mut these = Vec::with_capacity(count);
            for _ in 0..count {
                let start = Instant::now();
                for _ in 0..iters {
                    instance.iterate();
                }
                these.push(start.elapsed().as_nanos() as f64 / iters as f64);
            }
            drop(instance);
            let lingering = threads::wait_for_at_most(threads_before, THREAD_EXIT_WAIT);
            if lingering > 0 {
                progress(&format!(
                    "  note: {lingering} thread(s) more than before {} was built, {} s after its drop; threads now: {:?}",
                    entry.name,
                    THREAD_EXIT_WAIT.as_secs(),
                    threads::thread_names_summary()
                ));
            }
            let shown = median(&these) / bench.ops_per_iter as f64;
            line.push_str(&format!(
                " {} {}/{}",
                entry.name,
                format_ns(shown),
                bench.op
            ));
            samples[c].rounds.push(these);
        }
        if round == 0 {
            // What fits in the budget, judged by the first round (which also calibrated).
            let per_round = round_start.elapsed().as_secs_f64().max(1e-3);
            let fit = (budget.as_secs_f64() / per_round).floor() as usize;
            rounds = (fit / 2 * 2).clamp(min_rounds, plan.max_rounds.max(min_rounds));
        }
        progress(&line);
        round += 1;
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
/// be reclaimed to go on measuring fairly. One watching thread serves the whole run; it
/// wakes once a second, and it exists before the first thread count is taken, so it never
/// looks like a thread a contender left behind.
struct Watchdog(());

/// What the watching thread watches: the round under way and its deadline.
static WATCHED: std::sync::Mutex<Option<(Instant, String)>> = std::sync::Mutex::new(None);

impl Watchdog {
    fn arm(bench: &str, contender: &str) -> Watchdog {
        static STARTED: std::sync::Once = std::sync::Once::new();
        STARTED.call_once(|| {
            std::thread::Builder::new()
                .name("bench-watchdog".into())
                .spawn(|| loop {
                    std::thread::sleep(Duration::from_secs(1));
                    let watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some((deadline, what)) = &*watched {
                        if Instant::now() > *deadline {
                            eprintln!(
                                "error: {what} did not finish a round in {} s; aborting the run",
                                HANG_LIMIT.as_secs()
                            );
                            std::process::exit(2);
                        }
                    }
                })
                .expect("the watchdog thread should start");
        });
        *WATCHED.lock().unwrap_or_else(|e| e.into_inner()) = Some((
            Instant::now() + HANG_LIMIT,
            format!("{bench} / {contender}"),
        ));
        Watchdog(())
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        *WATCHED.lock().unwrap_or_else(|e| e.into_inner()) = None;
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

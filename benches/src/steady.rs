//! Steady-state wakes, apart from the comparison's `wakers/*` rows: how much one wake costs
//! once the runtime has settled into a pattern, and which pattern it settled into.
//!
//! A pending task woken over and over from foreign threads is in one of two regimes, and a
//! wake's cost depends on which far more than on the runtime's code:
//!
//! - *queued*: the task sits in a queue and no worker has taken it yet (a worker parked, or
//!   descheduled by the OS): every wake finds it scheduled and coalesces on a state word that
//!   nobody writes; a few nanoseconds.
//! - *running*: a worker polls the task, a wake lands during the poll, the worker polls it
//!   again at once, and so on: the state word moves between the worker and the waking
//!   threads' cores at every poll, and the worker takes CPU time from the wakers (on two
//!   cores with two wakers and a worker, a third of it).
//!
//! `wakers/wake_by_ref_pending`, `coalesced_wake_2t` and `wake_distinct_2t` time 10,000 wakes
//! from an idle task, then a wait for the task's poll: which regime an iteration falls into
//! (and how long the worker takes to wake up) decides the row. This module times long runs
//! and reports, beside the time per wake, the task's **polls per wake**: about 0 is the
//! queued regime, 0.1 the running one. Two runtimes compare fairly at equal polls per wake.
//! `cargo run --release -p genrt-benches --bin wake_steady` prints the table.

use std::hint::black_box;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Barrier;
use std::time::Instant;

use crate::pool_rt::Pool;
use crate::smol_rt::Smol;
use crate::workloads::Probe;
use crate::{Contender, Genrt, Tokio};

/// The three shapes of the comparison's pending-task wake rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One foreign thread wakes one pending task (`wake_by_ref_pending`).
    Pending1t,
    /// Two foreign threads wake one pending task (`coalesced_wake_2t`).
    Coalesced2t,
    /// Two foreign threads each wake a pending task of their own (`wake_distinct_2t`).
    Distinct2t,
}

impl Shape {
    /// Every shape, in the order of the comparison's rows.
    pub const ALL: [Shape; 3] = [Shape::Pending1t, Shape::Coalesced2t, Shape::Distinct2t];

    /// The name of the comparison row of the same shape.
    pub fn row(self) -> &'static str {
        match self {
            Shape::Pending1t => "wake_by_ref_pending",
            Shape::Coalesced2t => "coalesced_wake_2t",
            Shape::Distinct2t => "wake_distinct_2t",
        }
    }

    fn threads(self) -> usize {
        match self {
            Shape::Pending1t => 1,
            Shape::Coalesced2t | Shape::Distinct2t => 2,
        }
    }
}

/// One timed run: nanoseconds per wake per thread, and the woken tasks' polls per wake.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Wall time from the common start until every waking thread is done, divided by the
    /// wakes of one thread.
    pub ns_per_wake: f64,
    /// Polls of the woken tasks during the run, divided by all wakes of all threads.
    pub polls_per_wake: f64,
}

/// One run of `shape` on a fresh runtime `C` of `workers` workers, `wakes` wakes per thread.
/// The threads start together (a barrier); nothing waits for a final poll.
pub fn run<C: Contender>(shape: Shape, workers: usize, wakes: u64) -> Sample {
    let rt = C::build(workers);
    let probes: Vec<Probe> = match shape {
        Shape::Distinct2t => (0..2).map(|_| Probe::spawn(&rt, false)).collect(),
        _ => vec![Probe::spawn(&rt, false)],
    };
    let threads = shape.threads();
    let polls = || probes.iter().map(|p| p.polls.load(SeqCst)).sum::<usize>();
    let start = Barrier::new(threads);
    let before = polls();
    let began = Instant::now();
    let mut timed = began;
    std::thread::scope(|scope| {
        for t in 1..threads {
            let waker = probes[t % probes.len()].waker.clone();
            let start = &start;
            scope.spawn(move || {
                start.wait();
                for _ in 0..wakes {
                    black_box(&waker).wake_by_ref();
                }
            });
        }
        let waker = &probes[0].waker;
        start.wait();
        timed = Instant::now();
        for _ in 0..wakes {
            black_box(waker).wake_by_ref();
        }
    });
    let elapsed = timed.elapsed();
    let after = polls();
    drop(probes);
    drop(rt);
    Sample {
        ns_per_wake: elapsed.as_nanos() as f64 / wakes as f64,
        polls_per_wake: (after - before) as f64 / (wakes as usize * threads) as f64,
    }
}

/// The contenders of [`table`]: the comparison's, less the `Arc<Task>` executor (whose every
/// wake queues the task: hundreds of nanoseconds, nothing to learn here).
pub const CONTENDERS: [&str; 4] = [Genrt::NAME, Tokio::NAME, Smol::NAME, Pool::NAME];

/// [`run`] for the contender named `name` (one of [`CONTENDERS`]).
pub fn run_named(name: &str, shape: Shape, workers: usize, wakes: u64) -> Option<Sample> {
    Some(match name {
        n if n == Genrt::NAME => run::<Genrt>(shape, workers, wakes),
        n if n == Tokio::NAME => run::<Tokio>(shape, workers, wakes),
        n if n == Smol::NAME => run::<Smol>(shape, workers, wakes),
        n if n == Pool::NAME => run::<Pool>(shape, workers, wakes),
        _ => return None,
    })
}

/// `rounds` rounds of every shape on every contender, interleaved (a round runs each
/// contender once, in an order that alternates between rounds), as a markdown table: per
/// shape and contender the median time per wake and polls per wake, and every round as
/// `ns@polls`, so that a reader sees which regime each run fell into.
pub fn table(workers: usize, wakes: u64, rounds: usize) -> String {
    let mut out = String::from(
        "| shape (row) | contender | median ns/wake | median polls/wake | rounds (ns/wake @ polls/wake) |\n\
         |---|---|---:|---:|---|\n",
    );
    for shape in Shape::ALL {
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); CONTENDERS.len()];
        for round in 0..rounds {
            let order: Vec<usize> = if round % 2 == 0 {
                (0..CONTENDERS.len()).collect()
            } else {
                (0..CONTENDERS.len()).rev().collect()
            };
            for c in order {
                let sample = run_named(CONTENDERS[c], shape, workers, wakes)
                    .expect("a contender of CONTENDERS");
                samples[c].push(sample);
            }
        }
        for (c, samples) in samples.iter().enumerate() {
            let ns: Vec<f64> = samples.iter().map(|s| s.ns_per_wake).collect();
            let polls: Vec<f64> = samples.iter().map(|s| s.polls_per_wake).collect();
            let rounds: Vec<String> = samples
                .iter()
                .map(|s| format!("{:.1}@{:.3}", s.ns_per_wake, s.polls_per_wake))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {:.1} | {:.3} | {} |\n",
                shape.row(),
                CONTENDERS[c],
                crate::method::median(&ns),
                crate::method::median(&polls),
                rounds.join(" "),
            ));
        }
    }
    out
}

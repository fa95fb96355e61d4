//! Stress: abort storms. Many pending tasks (suspended with a stored waker, waiting on a shell
//! request, never polled yet, or busy yielding) aborted from 3 foreign threads and from a task
//! on the runtime itself, each handle by two of them at once, while another thread wakes the
//! stored wakers; then the same storm racing the runtime's drop.
//!
//! After each round: every join handle reports cancelled, every future was dropped exactly
//! once (and before its handle reported), every resolver hands its value back, and live
//! bytes are back at the baseline taken before the first round.
//!
//! The totals line is printed past the test harness's output capture.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::Waker;
use std::thread;

use genrt::shell::{self, Resolver};
use genrt::JoinHandle;
use support::counting::CountingAlloc;
use support::{
    assert_dropped_once, drop_counts, report, Baseline, DropCounts, DropOnce, Progress, Watchdog,
    LIMIT, SETTLE_LIMIT, WORKERS,
};
use support::{wait_for, ParkWaker};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Rounds of the storm on a running runtime.
const LIVE_ROUNDS: usize = 20;
/// Rounds of the storm racing the runtime's drop.
const RACE_ROUNDS: usize = 20;
/// Tasks polled before the storm, per round.
const SUSPENDED: usize = 10_000;
/// Tasks spawned just before the storm, with no settle: many are aborted before their first
/// poll.
const FRESH: usize = 1_000;
/// Every `BUSY_EVERY`th suspended task never suspends: it yields in a loop, so the storm
/// aborts it while it is queued or running.
const BUSY_EVERY: usize = 200;
/// Foreign threads aborting; a task on the runtime aborts too, so handles are split in
/// `ABORTERS + 1` shares and each share is aborted by two aborters.
const ABORTERS: usize = 3;

/// What the whole scenario did, for the report.
#[derive(Default)]
struct Totals {
    runtimes: usize,
    tasks: usize,
    aborts: usize,
    wakes: usize,
    handed_back: usize,
}

/// Everything a round spawns.
struct Spawned {
    joins: Arc<Vec<JoinHandle<()>>>,
    counts: DropCounts,
    held: Arc<Mutex<Vec<Waker>>>,
    resolvers: Vec<Resolver<Box<usize>>>,
}

/// Task `index`: busy, waiting on a shell request, or parked, by `index`. None completes.
fn spawn_pending(
    rt: &genrt::Runtime,
    index: usize,
    counts: &DropCounts,
    held: &Arc<Mutex<Vec<Waker>>>,
    resolvers: &mut Vec<Resolver<Box<usize>>>,
) -> JoinHandle<()> {
    let guard = DropOnce::new(counts, index);
    if index % BUSY_EVERY == 0 {
        rt.spawn(async move {
            let _guard = guard;
            loop {
                genrt::yield_now().await;
            }
        })
    } else if index % 3 == 0 {
        let (request, resolver) = shell::request::<Box<usize>>();
        resolvers.push(resolver);
        rt.spawn(async move {
            let _guard = guard;
            let _ = request.await;
            unreachable!("the request is resolved only after the task is cancelled");
        })
    } else {
        let park = ParkWaker {
            held: held.clone(),
            parked: false,
        };
        rt.spawn(async move {
            let _guard = guard;
            park.await;
        })
    }
}

/// Spawns the round's tasks: `SUSPENDED` polled until they suspend (the busy ones keep
/// running), then `FRESH` more.
fn spawn_round(rt: &genrt::Runtime, round: usize, p: &Progress) -> Spawned {
    let tasks = SUSPENDED + FRESH;
    let counts = drop_counts(tasks);
    let held = Arc::new(Mutex::new(Vec::with_capacity(tasks)));
    let mut resolvers = Vec::new();
    let mut joins = Vec::with_capacity(tasks);
    p.at_round("spawning the suspended tasks", round);
    for index in 0..SUSPENDED {
        joins.push(spawn_pending(rt, index, &counts, &held, &mut resolvers));
    }
    p.at_round("waiting for the tasks to suspend", round);
    let busy = SUSPENDED.div_ceil(BUSY_EVERY);
    let requests = (0..SUSPENDED)
        .filter(|i| i % BUSY_EVERY != 0 && i % 3 == 0)
        .count();
    support::wait_until("every parking task left its waker", || {
        held.lock().unwrap().len() == SUSPENDED - busy - requests
    });
    p.at_round("spawning the fresh tasks", round);
    for index in SUSPENDED..tasks {
        joins.push(spawn_pending(rt, index, &counts, &held, &mut resolvers));
    }
    Spawned {
        joins: Arc::new(joins),
        counts,
        held,
        resolvers,
    }
}

/// Aborts the handles of shares `share` and `share + 1` (of `ABORTERS + 1`), interleaved, so
/// that every handle is aborted by two aborters. Returns the number of aborts.
fn abort_shares(joins: &[JoinHandle<()>], share: usize) -> usize {
    let shares = ABORTERS + 1;
    let mut aborts = 0;
    for (index, join) in joins.iter().enumerate() {
        let s = index % shares;
        if s == share || s == (share + 1) % shares {
            join.abort();
            aborts += 1;
        }
    }
    aborts
}

/// Starts the storm: `ABORTERS` foreign threads and one task on the runtime abort, a foreign
/// thread wakes the stored wakers until `stop`. All wait on `start` (one more party: the
/// caller). Returns the threads and the aborting task.
#[allow(clippy::type_complexity)]
fn start_storm(
    rt: &genrt::Runtime,
    spawned: &Spawned,
    start: &Arc<Barrier>,
    stop: &Arc<AtomicBool>,
) -> (
    Vec<thread::JoinHandle<usize>>,
    thread::JoinHandle<usize>,
    JoinHandle<usize>,
) {
    let aborters = (0..ABORTERS)
        .map(|share| {
            let (joins, start) = (spawned.joins.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                abort_shares(&joins, share)
            })
        })
        .collect();
    let task_aborter = {
        let (joins, start) = (spawned.joins.clone(), start.clone());
        rt.spawn(async move {
            // Waits on a worker for the others: fine here, the other worker runs the tasks.
            start.wait();
            abort_shares(&joins, ABORTERS)
        })
    };
    let waker = {
        let wakers = std::mem::take(&mut *spawned.held.lock().unwrap());
        let (start, stop) = (start.clone(), stop.clone());
        thread::spawn(move || {
            start.wait();
            let mut wakes = 0;
            // At least one pass, at most a bounded number.
            for _ in 0..1_000 {
                for waker in &wakers {
                    waker.wake_by_ref();
                }
                wakes += wakers.len();
                if stop.load(Ordering::SeqCst) {
                    break;
                }
            }
            wakes
        })
    };
    (aborters, waker, task_aborter)
}

/// Checks that every handle reports cancelled and every future was dropped, once, by the
/// time its handle reported; then that every resolver hands its value back.
fn check_cancelled(round: usize, spawned: Spawned, p: &Progress, totals: &mut Totals) {
    p.at_round("joining the aborted tasks", round);
    let joins = Arc::try_unwrap(spawned.joins).expect("the aborters let go of the handles");
    for (index, join) in joins.into_iter().enumerate() {
        let err = wait_for("an aborted task's join handle", join)
            .expect_err("an aborted task that never completes cannot succeed");
        assert!(err.is_cancelled(), "round {round}: task {index}: {err:?}");
        let count = spawned.counts[index].load(Ordering::SeqCst);
        assert_eq!(
            count, 1,
            "round {round}: task {index} reported cancelled with its future dropped {count} times"
        );
    }
    assert_dropped_once(
        &spawned.counts,
        0..spawned.counts.len(),
        format_args!("round {round}"),
    );
    p.at_round("resolving", round);
    for resolver in spawned.resolvers {
        let value = resolver
            .resolve(Box::new(round))
            .expect_err("a resolve after its task was cancelled must hand the value back");
        assert_eq!(*value, round);
        totals.handed_back += 1;
    }
    assert_eq!(
        Arc::strong_count(&spawned.held),
        1,
        "round {round}: a future outlived its cancellation"
    );
}

/// The storm on a running runtime: every task is cancelled by the aborts alone.
fn live_round(round: usize, p: &Progress, totals: &mut Totals) {
    p.at_round("live: building the runtime", round);
    let rt = support::runtime(WORKERS);
    let spawned = spawn_round(&rt, round, p);
    let tasks = spawned.joins.len();

    p.at_round("live: aborting", round);
    let start = Arc::new(Barrier::new(ABORTERS + 3));
    let stop = Arc::new(AtomicBool::new(false));
    let (aborters, waker, task_aborter) = start_storm(&rt, &spawned, &start, &stop);
    start.wait();
    let mut aborts = 0;
    for aborter in aborters {
        aborts += aborter.join().expect("an aborting thread panicked");
    }
    aborts += wait_for("the aborting task", task_aborter).expect("the aborting task failed");
    assert_eq!(aborts, 2 * tasks, "every handle was aborted twice");
    stop.store(true, Ordering::SeqCst);
    let wakes = waker.join().expect("the waking thread panicked");

    check_cancelled(round, spawned, p, totals);
    p.at_round("live: settling", round);
    assert!(rt.try_settle(SETTLE_LIMIT), "round {round}: no settle");
    support::wait_until("the last cancellations are counted", || {
        rt.metrics().snapshot().completed == tasks as u64 + 1
    });
    let m = rt.metrics().snapshot();
    assert_eq!(m.spawned, tasks as u64 + 1, "round {round}: {m:?}");
    assert_eq!(m.live_tasks, 0, "round {round}: {m:?}");
    p.at_round("live: dropping the runtime", round);
    drop(rt);

    totals.runtimes += 1;
    totals.tasks += tasks + 1;
    totals.aborts += aborts;
    totals.wakes += wakes;
}

/// The storm racing the runtime's drop: each task is cancelled by an abort or by the drop.
fn race_round(round: usize, p: &Progress, totals: &mut Totals) {
    p.at_round("race: building the runtime", round);
    let rt = support::runtime(WORKERS);
    let spawned = spawn_round(&rt, round, p);
    let tasks = spawned.joins.len();

    p.at_round("race: aborting while dropping", round);
    let start = Arc::new(Barrier::new(ABORTERS + 3));
    let stop = Arc::new(AtomicBool::new(false));
    let (aborters, waker, task_aborter) = start_storm(&rt, &spawned, &start, &stop);
    start.wait();
    drop(rt);
    stop.store(true, Ordering::SeqCst);
    let mut aborts = 0;
    for aborter in aborters {
        aborts += aborter.join().expect("an aborting thread panicked");
    }
    // The aborting task may have been cancelled by the drop before it finished.
    match wait_for("the aborting task", task_aborter) {
        Ok(n) => aborts += n,
        Err(err) => assert!(err.is_cancelled(), "round {round}: {err:?}"),
    }
    let wakes = waker.join().expect("the waking thread panicked");

    check_cancelled(round, spawned, p, totals);

    totals.runtimes += 1;
    totals.tasks += tasks + 1;
    totals.aborts += aborts;
    totals.wakes += wakes;
}

#[test]
fn abort_storms_from_four_aborters_cancel_every_task_once_and_free_every_byte() {
    Watchdog::new("stress_abort")
        .limit(LIMIT)
        .run_reporting(|p| {
            // One round of each first, so that lazily allocated process-wide state exists before
            // the baseline.
            live_round(0, p, &mut Totals::default());
            race_round(0, p, &mut Totals::default());
            let baseline = Baseline::take();

            let mut totals = Totals::default();
            for r in 1..=LIVE_ROUNDS {
                live_round(r, p, &mut totals);
                p.at_round("live: comparing live bytes", r);
                baseline.check(format_args!("abort storm round {r} of {LIVE_ROUNDS}"));
            }
            for r in 1..=RACE_ROUNDS {
                race_round(r, p, &mut totals);
                p.at_round("race: comparing live bytes", r);
                baseline.check(format_args!(
                    "abort storm racing the drop, round {r} of {RACE_ROUNDS}"
                ));
            }
            baseline.check(format_args!("every storm"));
            report(format_args!(
                "stress_abort: {} runtimes, {} tasks, {} aborts, {} wakes during the aborts, {} \
             resolves handed back",
                totals.runtimes, totals.tasks, totals.aborts, totals.wakes, totals.handed_back
            ));
        });
}

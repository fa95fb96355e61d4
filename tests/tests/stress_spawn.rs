//! Stress: spawn storms from 8 foreign threads, into a running runtime and into one that is
//! being dropped.
//!
//! The tasks mix the spawn paths: some return at once, some yield first, some spawn a child
//! from their worker (the local queue) and await it, some spawn a child and detach it. Every
//! future counts its drop in its own cell. After each round every future was dropped exactly
//! once and live bytes are back at the baseline taken before the first round.
//!
//! The totals line is printed past the test harness's output capture.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use support::counting::CountingAlloc;
use support::{
    assert_dropped_once, count_dropped_at_most_once, drop_counts, report, Baseline, DropOnce,
    Progress, Watchdog, LIMIT, SETTLE_LIMIT, WORKERS,
};
use support::{wait_for, wait_until};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Foreign threads spawning at once.
const SPAWNERS: usize = 8;
/// Rounds of the storm into a running runtime.
const LIVE_ROUNDS: usize = 5;
/// Spawns per foreign thread in each of those rounds.
const LIVE_PER_THREAD: usize = 10_000;
/// Rounds of the storm racing the runtime's drop.
const RACE_ROUNDS: usize = 20;
/// Spawns per foreign thread in each of those rounds.
const RACE_PER_THREAD: usize = 2_500;
/// What a parent returns when its child was cancelled (only around a drop).
const CHILD_CANCELLED: usize = usize::MAX;

/// What the whole scenario did, for the report.
#[derive(Default)]
struct Totals {
    runtimes: usize,
    spawned: usize,
    children: usize,
    completed: usize,
    cancelled: usize,
}

/// Task `index` of a round with `parents` top-level tasks; its child, if it has one, counts
/// its drop in cell `parents + index`. Returns `index`, or [`CHILD_CANCELLED`].
///
/// The drop guard is an argument, so that it is part of the future from the start: a task
/// cancelled before its first poll drops it too.
async fn storm_task(
    index: usize,
    guard: DropOnce,
    parents: usize,
    children: Arc<AtomicUsize>,
) -> usize {
    let _guard = guard;
    let counts = &_guard.counts;
    match index % 4 {
        0 => index,
        1 => {
            genrt::yield_now().await;
            index
        }
        2 => {
            children.fetch_add(1, Ordering::SeqCst);
            let child_guard = DropOnce::new(counts, parents + index);
            let child = genrt::spawn(async move {
                let _guard = child_guard;
                genrt::yield_now().await;
                index
            });
            match child.await {
                Ok(value) => value,
                Err(err) => {
                    assert!(err.is_cancelled(), "task {index}'s child: {err:?}");
                    CHILD_CANCELLED
                }
            }
        }
        _ => {
            children.fetch_add(1, Ordering::SeqCst);
            let child_guard = DropOnce::new(counts, parents + index);
            drop(genrt::spawn(async move {
                let _guard = child_guard;
                genrt::yield_now().await;
            }));
            index
        }
    }
}

/// 8 threads each spawn `LIVE_PER_THREAD` tasks into a running runtime; every task
/// completes with its own value.
fn live_round(round: usize, per_thread: usize, p: &Progress, totals: &mut Totals) {
    let parents = SPAWNERS * per_thread;
    p.at_round("live storm: building the runtime", round);
    let rt = support::runtime(WORKERS);
    let counts = drop_counts(2 * parents);
    let children = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(SPAWNERS));

    p.at_round("live storm: spawning", round);
    let spawners: Vec<_> = (0..SPAWNERS)
        .map(|t| {
            let (handle, counts, children, start) = (
                rt.handle().clone(),
                counts.clone(),
                children.clone(),
                start.clone(),
            );
            thread::spawn(move || {
                start.wait();
                (t * per_thread..(t + 1) * per_thread)
                    .map(|index| {
                        let task = storm_task(
                            index,
                            DropOnce::new(&counts, index),
                            parents,
                            children.clone(),
                        );
                        (index, handle.spawn(task))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let joins: Vec<_> = spawners
        .into_iter()
        .flat_map(|s| s.join().expect("a spawning thread panicked"))
        .collect();

    p.at_round("live storm: joining", round);
    for (index, join) in joins {
        let value = wait_for("a task of the spawn storm", join)
            .unwrap_or_else(|err| panic!("round {round}: task {index} failed: {err:?}"));
        assert_eq!(
            value, index,
            "round {round}: task {index} returned another's value"
        );
    }
    p.at_round("live storm: settling", round);
    assert!(
        rt.try_settle(SETTLE_LIMIT),
        "round {round}: the runtime did not settle"
    );
    let children = children.load(Ordering::SeqCst);
    assert_eq!(
        children,
        parents / 2,
        "round {round}: half the tasks have a child"
    );
    wait_until("the last completions are counted", || {
        rt.metrics().snapshot().completed == (parents + children) as u64
    });
    let m = rt.metrics().snapshot();
    assert_eq!(
        m.spawned,
        (parents + children) as u64,
        "round {round}: {m:?}"
    );
    assert_eq!(m.live_tasks, 0, "round {round}: {m:?}");

    p.at_round("live storm: dropping the runtime", round);
    drop(rt);
    assert_dropped_once(
        &counts,
        0..parents,
        format_args!("live storm round {round}"),
    );
    let dropped_children = count_dropped_at_most_once(
        &counts,
        parents..2 * parents,
        format_args!("live storm round {round}, children"),
    );
    assert_eq!(
        dropped_children, children,
        "round {round}: every child was dropped"
    );

    totals.runtimes += 1;
    totals.spawned += parents + children;
    totals.children += children;
    totals.completed += parents;
}

/// 8 threads each spawn `RACE_PER_THREAD` tasks while the runtime is dropped under them:
/// every task completes or is cancelled, a spawn issued after the drop returned is cancelled
/// on the spot, and every future is dropped exactly once.
fn race_round(round: usize, per_thread: usize, p: &Progress, totals: &mut Totals) {
    let parents = SPAWNERS * per_thread;
    p.at_round("racing storm: building the runtime", round);
    let rt = support::runtime(WORKERS);
    let counts = drop_counts(2 * parents);
    let children = Arc::new(AtomicUsize::new(0));
    let spawned = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(SPAWNERS + 1));

    p.at_round("racing storm: spawning", round);
    let spawners: Vec<_> = (0..SPAWNERS)
        .map(|t| {
            let handle = rt.handle().clone();
            let (counts, children, spawned, dropped, start) = (
                counts.clone(),
                children.clone(),
                spawned.clone(),
                dropped.clone(),
                start.clone(),
            );
            thread::spawn(move || {
                start.wait();
                (t * per_thread..(t + 1) * per_thread)
                    .map(|index| {
                        let after_drop = dropped.load(Ordering::SeqCst);
                        let task = storm_task(
                            index,
                            DropOnce::new(&counts, index),
                            parents,
                            children.clone(),
                        );
                        let join = handle.spawn(task);
                        spawned.fetch_add(1, Ordering::SeqCst);
                        if after_drop {
                            assert!(
                                join.is_finished(),
                                "a spawn after the runtime's drop returned is not finished at once"
                            );
                            assert_eq!(
                                counts[index].load(Ordering::SeqCst),
                                1,
                                "a spawn after the runtime's drop returned kept its future"
                            );
                        }
                        (index, join)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    start.wait();
    // Drop the runtime in the middle of the storm.
    wait_until("a quarter of the storm was spawned", || {
        spawned.load(Ordering::SeqCst) >= parents / 4
    });
    p.at_round("racing storm: dropping the runtime", round);
    drop(rt);
    dropped.store(true, Ordering::SeqCst);

    p.at_round("racing storm: joining", round);
    let joins: Vec<_> = spawners
        .into_iter()
        .flat_map(|s| s.join().expect("a spawning thread's check failed"))
        .collect();
    let (mut completed, mut cancelled) = (0, 0);
    for (index, join) in joins {
        match wait_for("a task spawned around the drop", join) {
            Ok(value) => {
                assert!(
                    value == index || value == CHILD_CANCELLED,
                    "round {round}: task {index} returned {value}"
                );
                completed += 1;
            }
            Err(err) => {
                assert!(err.is_cancelled(), "round {round}: task {index}: {err:?}");
                cancelled += 1;
            }
        }
    }
    assert_dropped_once(
        &counts,
        0..parents,
        format_args!("racing storm round {round}"),
    );
    let children = children.load(Ordering::SeqCst);
    let dropped_children = count_dropped_at_most_once(
        &counts,
        parents..2 * parents,
        format_args!("racing storm round {round}, children"),
    );
    assert_eq!(
        dropped_children, children,
        "round {round}: every child spawned was dropped"
    );

    totals.runtimes += 1;
    totals.spawned += parents + children;
    totals.children += children;
    totals.completed += completed;
    totals.cancelled += cancelled;
}

#[test]
fn spawn_storms_from_eight_threads_run_or_cancel_every_task_and_free_every_byte() {
    Watchdog::new("stress_spawn")
        .limit(LIMIT)
        .run_reporting(|p| {
            // Small rounds first, so that lazily allocated process-wide state exists before the
            // baseline.
            live_round(0, 100, p, &mut Totals::default());
            race_round(0, 100, p, &mut Totals::default());
            let baseline = Baseline::take();

            let mut totals = Totals::default();
            for r in 1..=LIVE_ROUNDS {
                live_round(r, LIVE_PER_THREAD, p, &mut totals);
                p.at_round("live storm: comparing live bytes", r);
                baseline.check(format_args!("live storm round {r} of {LIVE_ROUNDS}"));
            }
            for r in 1..=RACE_ROUNDS {
                race_round(r, RACE_PER_THREAD, p, &mut totals);
                p.at_round("racing storm: comparing live bytes", r);
                baseline.check(format_args!("racing storm round {r} of {RACE_ROUNDS}"));
            }
            baseline.check(format_args!("every storm"));
            report(format_args!(
                "stress_spawn: {} runtimes, {} tasks spawned ({} of them children spawned on \
             workers), {} top-level tasks completed, {} cancelled by a drop",
                totals.runtimes,
                totals.spawned,
                totals.children,
                totals.completed,
                totals.cancelled
            ));
        });
}

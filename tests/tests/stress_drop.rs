//! Stress: 200 runtimes, one after the other, each with 10,000 suspended tasks, dropped while
//! 4 foreign threads wake the tasks' stored wakers and resolve their shell requests.
//!
//! Each round checks that every future was dropped exactly once, that a resolve issued after
//! the drop returned hands its value back, that the join handles kept resolve, and that live
//! bytes are back at the baseline taken before the first round.
//!
//! The totals line (runtimes, tasks, foreign wakes, resolves) is printed past the test
//! harness's output capture, so it shows in a passing run too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::Waker;
use std::thread;

use genrt::shell::{self, Resolver};
use support::counting::CountingAlloc;
use support::ParkWaker;
use support::{
    assert_dropped_once, drop_counts, report, Baseline, DropOnce, Progress, Watchdog, LIMIT,
    SETTLE_LIMIT, WORKERS,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runtimes built and dropped, one after the other.
const ROUNDS: usize = 200;
/// Tasks per runtime.
const TASKS: usize = 10_000;
/// Foreign threads waking and resolving during each drop.
const WAKERS: usize = 4;
/// Every `REQUEST_EVERY`th task awaits a shell request; the others park their waker.
const REQUEST_EVERY: usize = 4;
/// Every `KEEP_EVERY`th join handle is kept across the drop; the others are detached.
const KEEP_EVERY: usize = 100;
/// Most passes one foreign thread makes over its wakers in one round: a bound on the work,
/// far above what a drop needs (it ends the passes when it returns).
const MAX_PASSES: usize = 1_000;
/// Resolves one foreign thread issues per pass, so that they spread over the drop.
const RESOLVES_PER_PASS: usize = 8;

/// What one foreign thread did in one round.
#[derive(Default)]
struct Tally {
    wakes: usize,
    /// Resolves that reached a live task.
    delivered: usize,
    /// Resolves that handed their value back: the task was gone.
    handed_back: usize,
}

/// What the whole scenario did, for the report.
#[derive(Default)]
struct Totals {
    runtimes: usize,
    tasks: usize,
    wakes: usize,
    delivered: usize,
    handed_back: usize,
}

/// One foreign thread: until the runtime's drop has returned, wake every `WAKERS`th waker,
/// pass after pass, resolving a few requests each pass; then one last pass and the remaining
/// resolves. A resolve issued after the drop returned must hand its value back.
fn wake_during_the_drop(
    index: usize,
    wakers: Arc<Vec<Waker>>,
    resolvers: Vec<Resolver<Box<usize>>>,
    start: Arc<Barrier>,
    dropped: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut resolvers = resolvers.into_iter();
    start.wait();
    for _pass in 0..MAX_PASSES {
        let after_drop = dropped.load(Ordering::SeqCst);
        for waker in wakers.iter().skip(index).step_by(WAKERS) {
            waker.wake_by_ref();
            tally.wakes += 1;
        }
        let take = if after_drop {
            usize::MAX
        } else {
            RESOLVES_PER_PASS
        };
        for resolver in resolvers.by_ref().take(take) {
            match resolver.resolve(Box::new(index)) {
                Ok(()) => {
                    assert!(
                        !after_drop,
                        "a resolve issued after the runtime's drop returned reached a task"
                    );
                    tally.delivered += 1;
                }
                Err(value) => {
                    assert_eq!(*value, index, "the value handed back is the one sent");
                    tally.handed_back += 1;
                }
            }
        }
        if after_drop {
            break;
        }
    }
    // Resolves left over if the drop outlasted every pass.
    for resolver in resolvers {
        match resolver.resolve(Box::new(index)) {
            Ok(()) => tally.delivered += 1,
            Err(_) => tally.handed_back += 1,
        }
    }
    tally
}

/// One round: a runtime, its tasks, the drop under foreign wakes, and the checks.
fn round(round: usize, tasks: usize, p: &Progress, totals: &mut Totals) {
    p.at_round("building the runtime", round);
    let rt = support::runtime(WORKERS);
    let drops = drop_counts(tasks);
    let held = Arc::new(Mutex::new(Vec::with_capacity(tasks)));
    let mut resolvers: Vec<Vec<Resolver<Box<usize>>>> = (0..WAKERS).map(|_| Vec::new()).collect();
    let mut kept = Vec::new();

    p.at_round("spawning", round);
    for index in 0..tasks {
        let guard = DropOnce::new(&drops, index);
        let join = if index % REQUEST_EVERY == 0 {
            let (request, resolver) = shell::request::<Box<usize>>();
            resolvers[(index / REQUEST_EVERY) % WAKERS].push(resolver);
            rt.spawn(async move {
                let _guard = guard;
                let _ = request.await;
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
        };
        if index % KEEP_EVERY == 0 {
            kept.push((index, join));
        }
    }
    p.at_round("settling", round);
    assert!(
        rt.try_settle(SETTLE_LIMIT),
        "round {round}: the runtime did not settle"
    );
    let requests = tasks.div_ceil(REQUEST_EVERY);
    let wakers = Arc::new(std::mem::take(&mut *held.lock().unwrap()));
    assert_eq!(
        wakers.len(),
        tasks - requests,
        "round {round}: every parking task was polled and left its waker"
    );
    assert_eq!(rt.metrics().snapshot().spawned, tasks as u64);

    p.at_round("starting the foreign threads", round);
    let start = Arc::new(Barrier::new(WAKERS + 1));
    let dropped = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = resolvers
        .into_iter()
        .enumerate()
        .map(|(index, resolvers)| {
            let (wakers, start, dropped) = (wakers.clone(), start.clone(), dropped.clone());
            thread::spawn(move || wake_during_the_drop(index, wakers, resolvers, start, dropped))
        })
        .collect();
    start.wait();
    p.at_round("dropping the runtime", round);
    drop(rt);
    dropped.store(true, Ordering::SeqCst);

    p.at_round("joining the foreign threads", round);
    let mut tally = Tally::default();
    for thread in threads {
        let t = thread.join().expect("a foreign thread's check failed");
        tally.wakes += t.wakes;
        tally.delivered += t.delivered;
        tally.handed_back += t.handed_back;
    }
    assert_eq!(tally.delivered + tally.handed_back, requests);

    p.at_round("checking the drops", round);
    assert_dropped_once(&drops, 0..tasks, format_args!("round {round}"));
    assert_eq!(
        Arc::strong_count(&held),
        1,
        "round {round}: a future outlived the runtime"
    );
    for (index, join) in kept {
        assert!(
            join.is_finished(),
            "round {round}: task {index} is not finished"
        );
        match futures::executor::block_on(join) {
            Ok(()) => assert_eq!(
                index % REQUEST_EVERY,
                0,
                "round {round}: parking task {index} completed"
            ),
            Err(err) => assert!(err.is_cancelled(), "round {round}: task {index}: {err:?}"),
        }
    }

    totals.runtimes += 1;
    totals.tasks += tasks;
    totals.wakes += tally.wakes;
    totals.delivered += tally.delivered;
    totals.handed_back += tally.handed_back;
}

#[test]
fn two_hundred_runtimes_with_ten_thousand_tasks_dropped_under_foreign_wakes_free_every_byte() {
    Watchdog::new("stress_drop")
        .limit(LIMIT)
        .run_reporting(|p| {
            // A small round first, so that lazily allocated process-wide state (the standard
            // library's, crossbeam's) exists before the baseline.
            round(0, 100, p, &mut Totals::default());
            let baseline = Baseline::take();

            let mut totals = Totals::default();
            for r in 1..=ROUNDS {
                round(r, TASKS, p, &mut totals);
                p.at_round("comparing live bytes", r);
                baseline.check(format_args!("round {r} of {ROUNDS}"));
            }
            baseline.check(format_args!("all {ROUNDS} rounds"));
            report(format_args!(
                "stress_drop: {} runtimes, {} tasks, {} foreign wakes during drops, {} resolves \
             delivered and {} handed back",
                totals.runtimes, totals.tasks, totals.wakes, totals.delivered, totals.handed_back
            ));
        });
}

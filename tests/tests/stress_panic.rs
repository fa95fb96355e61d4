//! Stress: panic storms. Tasks that panic in their poll, spawned from 4 threads at once; and
//! futures whose `Drop` panics, dropped on completion, on abort and by the runtime's drop.
//!
//! After each round: every panic reached its join handle with its own message, the workers
//! still run tasks, every future was dropped exactly once, a panic in a drop never escaped
//! the runtime's drop, and live bytes are back at the baseline taken before the first round.
//! The default panic hook is kept quiet for the intentional panics (their messages say
//! [`support::INTENTIONAL`]); any other panic still prints.
//!
//! The totals line is printed past the test harness's output capture.

use std::any::Any;
use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll};
use std::thread;

use support::counting::CountingAlloc;
use support::{
    assert_dropped_once, count_dropped_at_most_once, drop_counts, quiet_panics, report, Baseline,
    DropOnce, Progress, Watchdog, INTENTIONAL, LIMIT, SETTLE_LIMIT, WORKERS,
};
use support::{panic_message, wait_for};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Rounds of the storm of panicking polls.
const POLL_ROUNDS: usize = 10;
/// Tasks per foreign thread in each of those rounds.
const POLL_PER_THREAD: usize = 2_500;
/// Foreign threads spawning at once.
const SPAWNERS: usize = 4;
/// Rounds of the storm of panicking drops.
const DROP_ROUNDS: usize = 10;
/// Tasks in each of those rounds.
const DROP_TASKS: usize = 10_000;

/// What the whole scenario did, for the report.
#[derive(Default)]
struct Totals {
    runtimes: usize,
    tasks: usize,
    poll_panics: usize,
    drop_panics: usize,
}

fn message(payload: &(dyn Any + Send)) -> String {
    panic_message(payload)
        .unwrap_or("<not a string>")
        .to_string()
}

/// Task `index` of the poll storm, of the kind `index % 4` picks: panic at once; yield, then
/// panic; yield, then return `index`; spawn a child that panics, check its error, return
/// `index`. The drop guards are arguments, so that they are part of the future from the start.
async fn poll_storm_task(index: usize, guard: DropOnce, child_guard: Option<DropOnce>) -> usize {
    let _guard = guard;
    match index % 4 {
        0 => panic!("{INTENTIONAL} in the poll of task {index}"),
        1 => {
            genrt::yield_now().await;
            panic!("{INTENTIONAL} in the second poll of task {index}")
        }
        2 => {
            genrt::yield_now().await;
            index
        }
        _ => {
            let child = genrt::spawn(async move {
                let _guard = child_guard;
                genrt::yield_now().await;
                panic!("{INTENTIONAL} in the child of task {index}")
            });
            let err = child.await.expect_err("the child panicked");
            assert!(err.is_panic(), "task {index}'s child: {err:?}");
            let text = message(&*err.into_panic());
            assert_eq!(text, format!("{INTENTIONAL} in the child of task {index}"));
            index
        }
    }
}

/// 4 threads spawn `SPAWNERS * per_thread` tasks of which three in four panic (one in the
/// child it spawns); each join handle gets its own task's panic or value.
fn poll_round(round: usize, per_thread: usize, p: &Progress, totals: &mut Totals) {
    let tasks = SPAWNERS * per_thread;
    p.at_round("poll storm: building the runtime", round);
    let rt = support::runtime(WORKERS);
    let counts = drop_counts(2 * tasks);
    let start = Arc::new(Barrier::new(SPAWNERS));

    p.at_round("poll storm: spawning", round);
    let spawners: Vec<_> = (0..SPAWNERS)
        .map(|t| {
            let (handle, counts, start) = (rt.handle().clone(), counts.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                (t * per_thread..(t + 1) * per_thread)
                    .map(|index| {
                        let guard = DropOnce::new(&counts, index);
                        let child_guard =
                            (index % 4 == 3).then(|| DropOnce::new(&counts, tasks + index));
                        let task = poll_storm_task(index, guard, child_guard);
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

    p.at_round("poll storm: joining", round);
    let mut panics = 0;
    for (index, join) in joins {
        match (index % 4, wait_for("a task of the panic storm", join)) {
            (0 | 1, Err(err)) => {
                assert!(err.is_panic(), "round {round}: task {index}: {err:?}");
                let text = message(&*err.into_panic());
                assert!(
                    text.starts_with(INTENTIONAL) && text.ends_with(&format!("task {index}")),
                    "round {round}: task {index} reported another panic: {text:?}"
                );
                panics += 1;
            }
            (2 | 3, Ok(value)) => assert_eq!(value, index, "round {round}"),
            (_, outcome) => panic!("round {round}: task {index} ended with {outcome:?}"),
        }
    }
    panics += tasks / 4; // the children, checked by their parents

    p.at_round("poll storm: the workers after the storm", round);
    let after = rt.spawn(async { genrt::yield_now().await });
    wait_for("a task spawned after the storm", after).expect("the workers survived the panics");
    assert!(rt.try_settle(SETTLE_LIMIT), "round {round}: no settle");
    let children = tasks / 4;
    support::wait_until("the last completions are counted", || {
        rt.metrics().snapshot().completed == (tasks + children + 1) as u64
    });
    let m = rt.metrics().snapshot();
    assert_eq!(
        m.spawned,
        (tasks + children + 1) as u64,
        "round {round}: {m:?}"
    );
    assert_eq!(m.live_tasks, 0, "round {round}: {m:?}");

    p.at_round("poll storm: dropping the runtime", round);
    drop(rt);
    assert_dropped_once(&counts, 0..tasks, format_args!("poll storm round {round}"));
    let dropped_children = count_dropped_at_most_once(
        &counts,
        tasks..2 * tasks,
        format_args!("poll storm round {round}, children"),
    );
    assert_eq!(dropped_children, children, "round {round}");

    totals.runtimes += 1;
    totals.tasks += tasks + children + 1;
    totals.poll_panics += panics;
}

/// Panics when dropped, after counting the drop.
struct PanicOnDrop {
    index: usize,
    panics: Arc<AtomicUsize>,
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.panics.fetch_add(1, Ordering::SeqCst);
        panic!("{INTENTIONAL} in the drop of task {}", self.index);
    }
}

/// A future that carries a [`PanicOnDrop`] beside its inner future rather than inside it: the
/// bomb goes off when the runtime drops the finished future, after its last poll returned.
struct Armed<F> {
    future: Pin<Box<F>>,
    _bomb: PanicOnDrop,
}

impl<F: Future> Future for Armed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.future.as_mut().poll(cx)
    }
}

/// Kinds of task in the drop storm, by `index % 5`.
mod kind {
    /// Pending; a local of its async block panics when the runtime's drop drops it, so the
    /// task reports that panic.
    pub const PENDING_BOMB: usize = 0;
    /// Pending; nothing panics.
    pub const PENDING: usize = 1;
    /// Yields, then returns: a local of its async block panics when dropped, inside that
    /// last poll, so the task reports a panic.
    pub const BOMB_IN_LAST_POLL: usize = 2;
    /// Yields, then returns its index; the future around it panics when the runtime drops it
    /// after the last poll, so the task reports that panic (its output dropped), as in Tokio.
    pub const BOMB_AFTER_COMPLETION: usize = 3;
    /// Pending; a local of its async block panics when dropped; aborted just before the
    /// runtime's drop, so either its worker or the runtime's drop drops it; either way the
    /// task reports that panic.
    pub const ABORTED_BOMB: usize = 4;
    pub const COUNT: usize = 5;
}

/// `tasks` tasks of the kinds in [`kind`], then aborts, then the runtime's drop, which must
/// return normally.
fn drop_round(round: usize, tasks: usize, p: &Progress, totals: &mut Totals) {
    p.at_round("drop storm: building the runtime", round);
    let rt = support::runtime(WORKERS);
    let counts = drop_counts(tasks);
    let panics = Arc::new(AtomicUsize::new(0));

    p.at_round("drop storm: spawning", round);
    let joins: Vec<_> = (0..tasks)
        .map(|index| {
            let guard = DropOnce::new(&counts, index);
            let bomb = || PanicOnDrop {
                index,
                panics: panics.clone(),
            };
            match index % kind::COUNT {
                kind::PENDING => rt.spawn(async move {
                    let _guard = guard;
                    pending::<usize>().await
                }),
                kind::BOMB_IN_LAST_POLL => {
                    let bomb = bomb();
                    rt.spawn(async move {
                        let _guard = guard;
                        let _bomb = bomb;
                        genrt::yield_now().await;
                        index
                    })
                }
                kind::BOMB_AFTER_COMPLETION => rt.spawn(Armed {
                    future: Box::pin(async move {
                        let _guard = guard;
                        genrt::yield_now().await;
                        index
                    }),
                    _bomb: bomb(),
                }),
                _ => {
                    let bomb = bomb();
                    rt.spawn(async move {
                        let _guard = guard;
                        let _bomb = bomb;
                        pending::<usize>().await
                    })
                }
            }
        })
        .collect();
    assert!(rt.try_settle(SETTLE_LIMIT), "round {round}: no settle");

    p.at_round("drop storm: aborting", round);
    for join in joins.iter().skip(kind::ABORTED_BOMB).step_by(kind::COUNT) {
        join.abort();
    }
    p.at_round("drop storm: dropping the runtime", round);
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(rt)));
    assert!(
        dropped.is_ok(),
        "round {round}: a panic in a future's drop escaped the runtime's drop"
    );
    assert_dropped_once(&counts, 0..tasks, format_args!("drop storm round {round}"));
    let bombs = (0..tasks)
        .filter(|index| index % kind::COUNT != kind::PENDING)
        .count();
    assert_eq!(
        panics.load(Ordering::SeqCst),
        bombs,
        "round {round}: every panicking drop ran"
    );

    p.at_round("drop storm: joining", round);
    for (index, join) in joins.into_iter().enumerate() {
        assert!(join.is_finished(), "round {round}: task {index}");
        let outcome = wait_for("a task of the drop storm", join);
        match (index % kind::COUNT, outcome) {
            // A panic in the drop of a cancelled or completed future is the task's result,
            // as in Tokio.
            (
                kind::BOMB_IN_LAST_POLL
                | kind::BOMB_AFTER_COMPLETION
                | kind::PENDING_BOMB
                | kind::ABORTED_BOMB,
                Err(err),
            ) if err.is_panic() => {
                let text = message(&*err.into_panic());
                assert_eq!(
                    text,
                    format!("{INTENTIONAL} in the drop of task {index}"),
                    "round {round}"
                );
            }
            (kind::PENDING, Err(err)) if err.is_cancelled() => {}
            (_, outcome) => panic!("round {round}: task {index} ended with {outcome:?}"),
        }
    }

    totals.runtimes += 1;
    totals.tasks += tasks;
    totals.drop_panics += bombs;
}

#[test]
fn panic_storms_in_polls_and_drops_are_contained_and_free_every_byte() {
    Watchdog::new("stress_panic")
        .limit(LIMIT)
        .run_reporting(|p| {
            let _quiet = quiet_panics();
            // Small rounds first, so that lazily allocated process-wide state exists before the
            // baseline.
            poll_round(0, 40, p, &mut Totals::default());
            drop_round(0, 40, p, &mut Totals::default());
            let baseline = Baseline::take();

            let mut totals = Totals::default();
            for r in 1..=POLL_ROUNDS {
                poll_round(r, POLL_PER_THREAD, p, &mut totals);
                p.at_round("poll storm: comparing live bytes", r);
                baseline.check(format_args!("poll storm round {r} of {POLL_ROUNDS}"));
            }
            for r in 1..=DROP_ROUNDS {
                drop_round(r, DROP_TASKS, p, &mut totals);
                p.at_round("drop storm: comparing live bytes", r);
                baseline.check(format_args!("drop storm round {r} of {DROP_ROUNDS}"));
            }
            baseline.check(format_args!("every storm"));
            report(format_args!(
                "stress_panic: {} runtimes, {} tasks, {} panics in polls, {} panics in drops",
                totals.runtimes, totals.tasks, totals.poll_panics, totals.drop_panics
            ));
        });
}

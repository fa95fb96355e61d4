//! An adversarial review of the task APIs against what Tokio's own tests and docs promise
//! (`tests/task_join_set.rs`, `task_abort.rs`, `task_local.rs`, `task_id.rs`,
//! `task_local_set.rs`, `task_yield_now.rs`, and the docs of `JoinSet`, `JoinHandle`,
//! `AbortHandle`, `task_local!`, `LocalSet`), for what those tests leave open: the moment
//! `is_finished` turns true (the future already dropped), aborts of a task inside its poll
//! and after it completed, the thread each future and output is dropped on (a task's future on
//! the runtime's thread, as Tokio's; an unread output where the handle is dropped), `JoinSet`'s
//! `detach_all` with its slots reused while detached members still complete, results and
//! panics never lost to `abort_all`/`shutdown` racing completions, ids of every kind of
//! result, task-local scopes nested and unwound by panics, and a `LocalSet` dropped with tasks
//! pending while other threads hold and wake their wakers and await their join handles.
//!
//! The Tokio tests themselves are ported elsewhere (`join_set.rs`, `task_abort_ports.rs`,
//! `task_local.rs`, `task_id.rs`, `local_set.rs`, `task_more_ports.rs`, `tokio_*_ports.rs`);
//! each test here that adapts one names it. Tokio's `task_hooks.rs` is not ported: genrt has
//! no task hooks (`Builder::on_task_spawn`, `on_task_terminate`, `on_before_task_poll`).
//!
//! Every test runs under a [`Watchdog`]; no test bounds real time from above.

use std::cell::Cell;
use std::future::{pending, poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread::{self, ThreadId};

use futures::FutureExt;
use genrt::task::{self, AbortHandle, Id, JoinSet, LocalSet};
use support::{
    current_thread, multi_thread, quiet_panics, recv, wait_for, wait_until, Gate, Watchdog,
    FLAVORS, INTENTIONAL,
};

/// Rounds of the racy scenarios: enough to meet the races on 2 loaded cores in a debug build.
const ROUNDS: usize = if cfg!(debug_assertions) { 200 } else { 2_000 };

fn load(n: &AtomicUsize) -> usize {
    n.load(Ordering::SeqCst)
}

/// Where a [`DropProbe`] was dropped: the thread and the task (`task::try_id`).
type DropSite = Arc<Mutex<Option<(ThreadId, Option<Id>)>>>;

/// Sets its flag when dropped, and records the thread and the task it was dropped in.
struct DropProbe {
    dropped: Arc<AtomicBool>,
    seen: DropSite,
}

impl DropProbe {
    fn new() -> (DropProbe, Arc<AtomicBool>, DropSite) {
        let dropped = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(None));
        (
            DropProbe {
                dropped: dropped.clone(),
                seen: seen.clone(),
            },
            dropped,
            seen,
        )
    }
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        *self.seen.lock().unwrap() = Some((thread::current().id(), task::try_id()));
        self.dropped.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// is_finished, abort of a running or completed task
// ---------------------------------------------------------------------------------------------

/// Holds its future's drop until the test opens its gate, after saying that the drop began.
struct SlowDrop {
    dropping: mpsc::Sender<()>,
    gate: Gate,
}

impl Drop for SlowDrop {
    fn drop(&mut self) {
        let _ = self.dropping.send(());
        self.gate.wait();
    }
}

/// Tokio sets a task's `COMPLETE` bit (what `is_finished` reads, and what makes the join
/// handle ready) only after its future is dropped (`Core::store_output` drops the future
/// first), for a completion, a panic and an abort alike. So code that sees `is_finished()`
/// or the result may rely on the future's resources being released. Checked with a future
/// whose drop is held open: meanwhile the task is not finished and its handle not ready.
#[test]
fn is_finished_implies_the_future_was_dropped() {
    let _quiet = quiet_panics();
    Watchdog::new("is_finished_implies_the_future_was_dropped").run(|| {
        let rt = multi_thread();
        for ending in ["returns", "panics", "is aborted"] {
            let (dropping_tx, dropping_rx) = mpsc::channel();
            let gate = Gate::default();
            let slow = SlowDrop {
                dropping: dropping_tx,
                gate: gate.clone(),
            };
            let handle = rt.spawn(async move {
                let _slow = slow;
                task::yield_now().await;
                match ending {
                    "returns" => 7u32,
                    "panics" => panic!("{INTENTIONAL}: the task ends by panicking"),
                    _ => pending().await,
                }
            });
            let abort = handle.abort_handle();
            if ending == "is aborted" {
                abort.abort();
            }
            let mut join = support::mock(handle);
            recv(&dropping_rx, "the future's drop to begin");
            assert!(
                !abort.is_finished(),
                "the task {ending}: is_finished() while its future is being dropped"
            );
            assert!(
                join.poll().is_pending(),
                "the task {ending}: its result is out while its future is being dropped"
            );
            gate.open();
            wait_until("the task is finished", || abort.is_finished());
            let result = wait_for("the finished task", poll_fn(|_| join.poll()));
            match ending {
                "returns" => assert_eq!(result.unwrap(), 7),
                "panics" => assert!(result.unwrap_err().is_panic()),
                _ => assert!(result.unwrap_err().is_cancelled()),
            }
        }
        Watchdog::new("dropping the runtime").run(move || drop(rt));
    });
}

/// Tokio's `JoinHandle::abort` docs: a task aborted while it runs is cancelled at its next
/// yield point; one that completes in that poll keeps its value (`abort` after completion
/// does nothing). Both, with the abort made from another thread inside the poll.
#[test]
fn abort_inside_the_poll_keeps_a_value_returned_by_that_poll() {
    Watchdog::new("abort_inside_the_poll_keeps_a_value_returned_by_that_poll").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            for completes in [true, false] {
                let polls = Arc::new(AtomicUsize::new(0));
                let (in_poll_tx, in_poll_rx) = mpsc::channel::<()>();
                let gate = Gate::default();
                let (task_polls, task_gate) = (polls.clone(), gate.clone());
                let (probe, dropped, seen) = DropProbe::new();
                let handle = rt.spawn(async move {
                    let _probe = probe;
                    poll_fn(|_| {
                        task_polls.fetch_add(1, Ordering::SeqCst);
                        let _ = in_poll_tx.send(());
                        // Blocks the poll until the test has aborted the task.
                        task_gate.wait();
                        if completes {
                            Poll::Ready(5u32)
                        } else {
                            Poll::Pending
                        }
                    })
                    .await
                });
                let id = handle.id();
                let abort = handle.abort_handle();
                let aborter = thread::spawn(move || {
                    recv(&in_poll_rx, "the task inside its poll");
                    abort.abort();
                    gate.open();
                });
                let result = if name.starts_with("current") {
                    rt.block_on(handle)
                } else {
                    wait_for("the task aborted in its poll", handle)
                };
                aborter.join().unwrap();
                if completes {
                    assert_eq!(result.unwrap(), 5, "{name}: the value of the last poll");
                } else {
                    let err = result.unwrap_err();
                    assert!(err.is_cancelled(), "{name}: cancelled at the next yield");
                    assert_eq!(err.id(), id);
                }
                assert_eq!(load(&polls), 1, "{name}: no poll after the abort");
                assert!(dropped.load(Ordering::SeqCst));
                let (thread, task) = seen.lock().unwrap().unwrap();
                assert_eq!(task, Some(id), "{name}: dropped inside its task");
                // The future is dropped where the runtime runs its tasks: the worker, or the
                // thread in `block_on` of a current-thread runtime.
                assert_eq!(
                    thread == thread::current().id(),
                    name.starts_with("current"),
                    "{name}: the future is dropped on the runtime's thread"
                );
            }
            Watchdog::new("dropping the runtime").run(move || drop(rt));
        }
    });
}

/// Tokio's `JoinHandle::abort` docs: aborting a task that has already completed does
/// nothing; its value is still there to join, from the join handle or the set.
#[test]
fn abort_after_completion_keeps_the_value() {
    Watchdog::new("abort_after_completion_keeps_the_value").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            let handle = rt.spawn(async { 3u32 });
            let mut set = JoinSet::new();
            let member = set.spawn_on(async { 4u32 }, rt.handle());
            rt.block_on(async {
                for _ in 0..4 {
                    task::yield_now().await;
                }
            });
            wait_until("both tasks are finished", || {
                handle.is_finished() && member.is_finished()
            });
            handle.abort();
            handle.abort_handle().abort();
            member.abort();
            set.abort_all();
            rt.block_on(task::yield_now());
            assert_eq!(rt.block_on(handle).unwrap(), 3, "{name}");
            assert_eq!(
                wait_for("the member", set.join_next()).unwrap().unwrap(),
                4,
                "{name}"
            );
            Watchdog::new("dropping the runtime").run(move || drop(rt));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// JoinSet
// ---------------------------------------------------------------------------------------------

/// `detach_all` empties the set while its members run on; the slots are reused at once by new
/// members. A detached member that completes afterwards must not be joined as a new member,
/// nor make a new member's result come out twice or never (Tokio's `detach_all` docs: the
/// detached tasks "will not be returned by join_next").
#[test]
fn detached_members_never_show_up_in_reused_slots() {
    Watchdog::new("detached_members_never_show_up_in_reused_slots").run(|| {
        let rt = multi_thread();
        for round in 0..ROUNDS / 4 {
            let mut set = JoinSet::new();
            let old_done = Arc::new(AtomicUsize::new(0));
            let mut old = Vec::new();
            for i in 0..8usize {
                let (request, resolver) = genrt::shell::request::<()>();
                let done = old_done.clone();
                set.spawn_on(
                    async move {
                        let _ = request.await;
                        done.fetch_add(1, Ordering::SeqCst);
                        1000 + i
                    },
                    rt.handle(),
                );
                old.push(resolver);
            }
            set.detach_all();
            assert!(set.is_empty());
            let mut new = Vec::new();
            for i in 0..8usize {
                let (request, resolver) = genrt::shell::request::<()>();
                set.spawn_on(
                    async move {
                        let _ = request.await;
                        i
                    },
                    rt.handle(),
                );
                new.push(resolver);
            }
            // The detached members complete, racing the test thread's look at the set.
            let resolving = thread::spawn(move || {
                for resolver in old {
                    let _ = resolver.resolve(());
                }
            });
            while load(&old_done) < 8 {
                assert!(
                    set.try_join_next().is_none(),
                    "round {round}: a result came out while every member is pending"
                );
                thread::yield_now();
            }
            resolving.join().unwrap();
            assert!(set.try_join_next().is_none(), "round {round}");
            assert_eq!(set.len(), 8);
            for resolver in new {
                resolver.resolve(()).unwrap();
            }
            let mut seen = [false; 8];
            while let Some(result) = wait_for("a new member", set.join_next()) {
                let i = result.unwrap();
                assert!(
                    i < 8,
                    "round {round}: a detached member's value {i} came out"
                );
                assert!(!seen[i], "round {round}: member {i} came out twice");
                seen[i] = true;
            }
            assert!(seen.iter().all(|&seen| seen), "round {round}: {seen:?}");
        }
        Watchdog::new("dropping the runtime").run(move || drop(rt));
    });
}

/// `abort_all` racing the members' completions, some of which panic: every member comes out
/// exactly once, under its own id, as its value, its panic or cancelled; a panic is never
/// turned into a cancellation once the task has panicked.
#[test]
fn abort_all_racing_completions_loses_no_result_or_panic() {
    let _quiet = quiet_panics();
    Watchdog::new("abort_all_racing_completions_loses_no_result_or_panic").run(|| {
        let rt = multi_thread();
        let (mut values, mut panics, mut cancelled) = (0, 0, 0);
        for round in 0..ROUNDS {
            let mut set = JoinSet::new();
            let panicked = Arc::new(AtomicUsize::new(0));
            let mut ids = Vec::new();
            for i in 0..6usize {
                let panicked = panicked.clone();
                let abort = set.spawn_on(
                    async move {
                        for _ in 0..i % 3 {
                            task::yield_now().await;
                        }
                        if i == 5 {
                            panicked.fetch_add(1, Ordering::SeqCst);
                            panic!("{INTENTIONAL}: member {i}");
                        }
                        i
                    },
                    rt.handle(),
                );
                ids.push(abort.id());
            }
            if round % 2 == 0 {
                thread::yield_now();
            }
            set.abort_all();
            let mut seen = Vec::new();
            while let Some(result) = wait_for("a member", set.join_next_with_id()) {
                match result {
                    Ok((id, i)) => {
                        assert_eq!(id, ids[i]);
                        values += 1;
                        seen.push(id);
                    }
                    Err(err) if err.is_panic() => {
                        assert_eq!(err.id(), ids[5]);
                        panics += 1;
                        seen.push(err.id());
                    }
                    Err(err) => {
                        assert!(err.is_cancelled());
                        if err.id() == ids[5] {
                            assert_eq!(
                                load(&panicked),
                                0,
                                "round {round}: a member that panicked came out cancelled"
                            );
                        }
                        cancelled += 1;
                        seen.push(err.id());
                    }
                }
            }
            seen.sort();
            let mut expected = ids.clone();
            expected.sort();
            assert_eq!(seen, expected, "round {round}: each member exactly once");
        }
        assert_eq!(values + panics + cancelled, 6 * ROUNDS);
        Watchdog::new("dropping the runtime").run(move || drop(rt));
    });
}

/// Where a dropped set's members are dropped: the future of a pending member by the runtime
/// (a worker, or the next driver of a current-thread runtime), not inside the set's drop (as
/// in Tokio, whose abort schedules the task); the unread output of a finished member by the
/// set's drop, on the dropping thread (Tokio's `drop_join_handle_slow`). Each inside its own
/// task (`task::id`).
#[test]
fn a_dropped_sets_futures_drop_on_the_runtime_and_outputs_where_dropped() {
    Watchdog::new("a_dropped_sets_futures_drop_on_the_runtime_and_outputs_where_dropped").run(
        || {
            for (name, build) in FLAVORS {
                let rt = build();
                let current = name.starts_with("current");
                let mut set = JoinSet::new();
                let mut pending_probes = Vec::new();
                let mut output_probes = Vec::new();
                let mut ids = Vec::new();
                for i in 0..8 {
                    let (probe, dropped, seen) = DropProbe::new();
                    let abort = if i % 2 == 0 {
                        let started = Arc::new(AtomicBool::new(false));
                        let started_in_task = started.clone();
                        let abort = set.spawn_on(
                            async move {
                                let _probe = probe;
                                started_in_task.store(true, Ordering::SeqCst);
                                pending::<Option<DropProbe>>().await
                            },
                            rt.handle(),
                        );
                        pending_probes.push((dropped, seen, started));
                        abort
                    } else {
                        let abort = set.spawn_on(async move { Some(probe) }, rt.handle());
                        output_probes.push((dropped, seen));
                        abort
                    };
                    ids.push(abort);
                }
                if current {
                    rt.block_on(async {
                        for _ in 0..4 {
                            task::yield_now().await;
                        }
                    });
                }
                wait_until("every member ran", || {
                    pending_probes
                        .iter()
                        .all(|(_, _, started)| started.load(Ordering::SeqCst))
                        && ids.iter().skip(1).step_by(2).all(AbortHandle::is_finished)
                });
                drop(set);
                let me = thread::current().id();
                for ((dropped, seen), abort) in
                    output_probes.iter().zip(ids.iter().skip(1).step_by(2))
                {
                    assert!(
                        dropped.load(Ordering::SeqCst),
                        "{name}: outputs drop with the set"
                    );
                    let (thread, task) = seen.lock().unwrap().unwrap();
                    assert_eq!(thread, me, "{name}: an output drops where the set drops");
                    assert_eq!(task, Some(abort.id()), "{name}: inside its task");
                }
                if current {
                    assert!(
                        pending_probes
                            .iter()
                            .all(|(dropped, _, _)| !dropped.load(Ordering::SeqCst)),
                        "{name}: a future is dropped by the runtime, not by the set's drop"
                    );
                    rt.block_on(task::yield_now());
                }
                wait_until("every pending member's future is dropped", || {
                    pending_probes
                        .iter()
                        .all(|(dropped, _, _)| dropped.load(Ordering::SeqCst))
                });
                for ((_, seen, _), abort) in pending_probes.iter().zip(ids.iter().step_by(2)) {
                    let (thread, task) = seen.lock().unwrap().unwrap();
                    assert_eq!(
                        thread == me,
                        current,
                        "{name}: a future drops on the runtime's thread"
                    );
                    assert_eq!(task, Some(abort.id()), "{name}: inside its task");
                    assert!(abort.is_finished());
                }
                Watchdog::new("dropping the runtime").run(move || drop(rt));
            }
        },
    );
}

/// Tokio's `task_join_set::try_join_next` and `try_join_next_with_id` (adapted): once a
/// current-thread runtime's `block_on` has returned with every member finished, each result
/// is there for `try_join_next`, none left for a later call; the ids are the members' ids,
/// for a value, a panic and a cancellation alike.
#[test]
fn try_join_next_after_the_driver_returned_sees_every_result() {
    let _quiet = quiet_panics();
    Watchdog::new("try_join_next_after_the_driver_returned_sees_every_result").run(|| {
        let rt = current_thread();
        let mut set = JoinSet::new();
        let ok = set.spawn_on(async { 1u8 }, rt.handle()).id();
        let panicked = set
            .spawn_on(
                async { panic!("{INTENTIONAL}: a member panics") },
                rt.handle(),
            )
            .id();
        let aborted = set.spawn_on(pending(), rt.handle());
        aborted.abort();
        assert!(set.try_join_next().is_none(), "nothing ran yet");
        rt.block_on(task::yield_now());
        let mut got = Vec::new();
        for _ in 0..3 {
            let next = set
                .try_join_next_with_id()
                .expect("every member finished before block_on returned");
            got.push(match next {
                Ok((id, value)) => {
                    assert_eq!(value, 1);
                    (id, "ok")
                }
                Err(err) if err.is_panic() => (err.id(), "panic"),
                Err(err) => {
                    assert!(err.is_cancelled());
                    (err.id(), "cancelled")
                }
            });
        }
        got.sort();
        let mut expected = vec![(ok, "ok"), (panicked, "panic"), (aborted.id(), "cancelled")];
        expected.sort();
        assert_eq!(got, expected);
        assert!(set.try_join_next().is_none());
        assert!(set.is_empty());
    });
}

/// `join_next` is cancel-safe (Tokio's docs): a `join_next` future dropped after its member
/// completed, before or after it was polled again, loses nothing.
#[test]
fn join_next_dropped_around_completions_loses_nothing() {
    Watchdog::new("join_next_dropped_around_completions_loses_nothing").run(|| {
        let rt = multi_thread();
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut resolvers = Vec::new();
            for i in 0..ROUNDS {
                let (request, resolver) = genrt::shell::request::<()>();
                set.spawn(async move {
                    let _ = request.await;
                    i
                });
                resolvers.push(Some(resolver));
            }
            let mut seen = [false; ROUNDS];
            for (i, resolver) in resolvers.iter_mut().enumerate() {
                // Polled once (pending), then the member completes, then dropped unpolled.
                {
                    let mut next = pin!(set.join_next());
                    assert!(poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx)))
                        .await
                        .is_pending());
                    resolver.take().unwrap().resolve(()).unwrap();
                    if i % 2 == 0 {
                        // Let the member finish on a worker before the drop.
                        task::yield_now().await;
                    }
                }
                let value = set.join_next().await.unwrap().unwrap();
                assert!(!seen[value]);
                seen[value] = true;
            }
            assert!(set.join_next().await.is_none());
        });
        Watchdog::new("dropping the runtime").run(move || drop(rt));
    });
}

/// `shutdown` with members whose futures panic in `Drop` when cancelled, and members that
/// finished with a value first: it returns (the panics are their tasks' results, dropped with
/// the rest), the set is empty and every future is gone.
#[test]
fn shutdown_with_members_whose_drop_panics() {
    let _quiet = quiet_panics();
    struct PanicOnDrop(Arc<AtomicUsize>);
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
            panic!("{INTENTIONAL}: a cancelled future's Drop panics");
        }
    }
    Watchdog::new("shutdown_with_members_whose_drop_panics").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            let drops = Arc::new(AtomicUsize::new(0));
            rt.block_on(async {
                let mut set = JoinSet::new();
                for i in 0..6u32 {
                    let bomb = (i % 2 == 1).then(|| PanicOnDrop(drops.clone()));
                    set.spawn(async move {
                        if bomb.is_none() {
                            return i;
                        }
                        let _bomb = bomb;
                        pending().await
                    });
                }
                task::yield_now().await;
                set.shutdown().await;
                assert!(set.is_empty(), "{name}");
                assert!(set.join_next().await.is_none(), "{name}");
            });
            assert_eq!(
                load(&drops),
                3,
                "{name}: every pending member's future dropped"
            );
            Watchdog::new("dropping the runtime").run(move || drop(rt));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// task_local!
// ---------------------------------------------------------------------------------------------

genrt::task_local! {
    static LEVEL: u32;
}

/// Nested scopes of one key, unwound by panics at every level (a `scope` future caught with
/// `catch_unwind`, a `sync_scope` and a `with` closure caught inside it): each level sees its
/// own value before and after, across yields on a migrating task, and the key is unset
/// outside (Tokio's `task_local.rs` `local`, nested and with panics).
#[test]
fn nested_scopes_survive_panics_at_every_level() {
    let _quiet = quiet_panics();
    Watchdog::new("nested_scopes_survive_panics_at_every_level").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            let outer = LEVEL.scope(1, async {
                assert_eq!(LEVEL.get(), 1);
                let inner = LEVEL.scope(2, async {
                    assert_eq!(LEVEL.get(), 2);
                    task::yield_now().await;
                    assert_eq!(LEVEL.get(), 2);
                    panic!("{INTENTIONAL}: inside the inner scope");
                });
                let caught = AssertUnwindSafe(inner).catch_unwind().await;
                assert!(caught.is_err());
                assert_eq!(LEVEL.get(), 1, "the outer value is back after the panic");
                task::yield_now().await;
                assert_eq!(LEVEL.get(), 1);
                let seen = LEVEL.sync_scope(3, || {
                    let caught = catch_unwind(|| {
                        LEVEL.sync_scope(4, || -> u32 {
                            panic!("{INTENTIONAL}: inside sync_scope {}", LEVEL.get())
                        })
                    });
                    assert!(caught.is_err());
                    let caught = catch_unwind(|| {
                        LEVEL.with(|level| -> u32 {
                            panic!("{INTENTIONAL}: inside with of {level}")
                        })
                    });
                    assert!(caught.is_err());
                    // The borrow of `with` ended with its panic: a scope can be entered again.
                    assert_eq!(LEVEL.sync_scope(5, || LEVEL.get()), 5);
                    LEVEL.get()
                });
                assert_eq!(seen, 3);
                assert_eq!(LEVEL.get(), 1);
                task::yield_now().await;
                LEVEL.get()
            });
            assert_eq!(rt.block_on(rt.spawn(outer)).unwrap(), 1, "{name}");
            assert!(
                LEVEL.try_get().is_err(),
                "{name}: unset outside every scope"
            );
            assert!(
                rt.block_on(rt.spawn(async { LEVEL.try_get() }))
                    .unwrap()
                    .is_err(),
                "{name}: nothing left behind on the runtime's threads"
            );
            Watchdog::new("dropping the runtime").run(move || drop(rt));
        }
    });
}

/// Tokio's `task_local_available_on_abort`, nested: a task aborted while suspended in two
/// scopes of one key drops its futures inside them, the inner future seeing the inner value
/// and the outer one the outer value, and in its task.
#[test]
fn an_aborted_task_drops_nested_scopes_inside_each_value() {
    type Seen = Arc<Mutex<Vec<(Option<u32>, Option<Id>)>>>;
    struct Probe(Seen);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.0
                .lock()
                .unwrap()
                .push((LEVEL.try_get().ok(), task::try_id()));
        }
    }
    Watchdog::new("an_aborted_task_drops_nested_scopes_inside_each_value").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (outer_probe, inner_probe) = (Probe(seen.clone()), Probe(seen.clone()));
            let (started_tx, started_rx) = mpsc::channel();
            let handle = rt.spawn(LEVEL.scope(1, async move {
                let _outer = outer_probe;
                LEVEL
                    .scope(2, async move {
                        let _inner = inner_probe;
                        started_tx.send(()).unwrap();
                        pending::<()>().await
                    })
                    .await
            }));
            let id = handle.id();
            if name.starts_with("current") {
                rt.block_on(task::yield_now());
            }
            recv(&started_rx, "the task inside both scopes");
            handle.abort();
            let err = rt.block_on(handle).unwrap_err();
            assert!(err.is_cancelled());
            assert_eq!(
                *seen.lock().unwrap(),
                [(Some(2), Some(id)), (Some(1), Some(id))],
                "{name}: the inner future drops first, each inside its value"
            );
            Watchdog::new("dropping the runtime").run(move || drop(rt));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// LocalSet
// ---------------------------------------------------------------------------------------------

/// A set dropped with pending tasks while two threads keep waking the tasks' wakers and a
/// third awaits their join handles: every future is dropped once, on the set's thread, inside
/// its task; the join handles report cancelled; the wakes after the drop do nothing (Tokio's
/// `drop_cancels_remote_tasks`, with wakers and handles held elsewhere).
#[test]
fn a_local_set_dropped_while_other_threads_wake_and_await_its_tasks() {
    Watchdog::new("a_local_set_dropped_while_other_threads_wake_and_await_its_tasks").run(|| {
        let rt = current_thread();
        for round in 0..ROUNDS / 10 {
            let local = LocalSet::new();
            let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::new()));
            let mut probes = Vec::new();
            let mut handles = Vec::new();
            for _ in 0..8 {
                let (probe, dropped, seen) = DropProbe::new();
                let wakers = wakers.clone();
                let not_send = Rc::new(Cell::new(0u32));
                let handle = local.spawn_local(async move {
                    let _probe = probe;
                    poll_fn(|cx| {
                        not_send.set(not_send.get() + 1);
                        wakers.lock().unwrap().push(cx.waker().clone());
                        Poll::<()>::Pending
                    })
                    .await;
                    7u32
                });
                probes.push((dropped, seen, handle.id()));
                handles.push(handle);
            }
            local.block_on(&rt, async {
                for _ in 0..3 {
                    task::yield_now().await;
                }
            });
            let stop = Arc::new(AtomicBool::new(false));
            let wakers_of = |wakers: &Arc<Mutex<Vec<Waker>>>| wakers.lock().unwrap().clone();
            let wakes: Vec<_> = (0..2)
                .map(|_| {
                    let (stop, wakers) = (stop.clone(), wakers_of(&wakers));
                    thread::spawn(move || {
                        while !stop.load(Ordering::SeqCst) {
                            for waker in &wakers {
                                waker.wake_by_ref();
                            }
                            thread::yield_now();
                        }
                        // And once more, after the set is gone.
                        for waker in wakers {
                            waker.wake();
                        }
                    })
                })
                .collect();
            let joiner = thread::spawn(move || {
                handles
                    .into_iter()
                    .map(|handle| wait_for("a local task's handle", handle))
                    .filter(|result| result.as_ref().is_err_and(|err| err.is_cancelled()))
                    .count()
            });
            if round % 2 == 0 {
                // Drive once more while the wakes come in.
                local.block_on(&rt, task::yield_now());
            }
            drop(local);
            let me = thread::current().id();
            for (dropped, seen, id) in &probes {
                assert!(dropped.load(Ordering::SeqCst), "round {round}");
                let (thread, task) = seen.lock().unwrap().unwrap();
                assert_eq!(thread, me, "round {round}: dropped on the set's thread");
                assert_eq!(task, Some(*id), "round {round}: inside its task");
            }
            stop.store(true, Ordering::SeqCst);
            for wake in wakes {
                wake.join().unwrap();
            }
            assert_eq!(
                joiner.join().unwrap(),
                8,
                "round {round}: every handle cancelled"
            );
        }
        Watchdog::new("dropping the runtime").run(move || drop(rt));
    });
}

/// A local task aborted from another thread while nobody drives its set is not finished
/// until the set is driven (or dropped), and then its future drops on the set's thread, never
/// on the aborting one (Tokio's `remote_abort_local_set_3929`, checked for the thread).
#[test]
fn a_local_task_aborted_remotely_drops_on_the_sets_thread() {
    Watchdog::new("a_local_task_aborted_remotely_drops_on_the_sets_thread").run(|| {
        let rt = current_thread();
        for drive in [true, false] {
            let local = LocalSet::new();
            let (probe, dropped, seen) = DropProbe::new();
            let handle = local.spawn_local(async move {
                let _probe = probe;
                pending::<()>().await
            });
            let id = handle.id();
            local.block_on(&rt, task::yield_now());
            let abort = handle.abort_handle();
            thread::spawn(move || abort.abort()).join().unwrap();
            assert!(
                !dropped.load(Ordering::SeqCst),
                "not on the aborting thread"
            );
            assert!(!handle.is_finished(), "not before the set runs again");
            if drive {
                let err = local.block_on(&rt, handle).unwrap_err();
                assert!(err.is_cancelled());
                assert_eq!(err.id(), id);
                drop(local);
            } else {
                drop(local);
                assert!(handle.is_finished());
                assert!(wait_for("the handle", handle).unwrap_err().is_cancelled());
            }
            let (thread, task) = seen.lock().unwrap().unwrap();
            assert_eq!(thread, thread::current().id());
            assert_eq!(task, Some(id));
        }
    });
}

/// A future of a set's task that spawns local tasks (one of them into a `JoinSet`) from its
/// `Drop` while the set is dropped: the new tasks are cancelled at once, their futures dropped
/// on the set's thread before the set's drop returns, their handles cancelled.
#[test]
fn local_tasks_spawned_from_drop_while_the_set_drops_are_cancelled() {
    struct SpawnOnDrop(Arc<Mutex<Vec<genrt::JoinHandle<u8>>>>, Arc<AtomicUsize>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let drops = self.1.clone();
            let guard = support::DropCounter(drops);
            self.0.lock().unwrap().push(task::spawn_local(async move {
                let _guard = guard;
                1u8
            }));
        }
    }
    Watchdog::new("local_tasks_spawned_from_drop_while_the_set_drops_are_cancelled").run(|| {
        let rt = current_thread();
        let local = LocalSet::new();
        let spawned = Arc::new(Mutex::new(Vec::new()));
        let drops = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..4 {
            let bomb = SpawnOnDrop(spawned.clone(), drops.clone());
            set.spawn_local_on(
                async move {
                    let _bomb = bomb;
                    pending::<u8>().await
                },
                &local,
            );
        }
        local.block_on(&rt, task::yield_now());
        drop(local);
        assert_eq!(
            load(&drops),
            4,
            "every task spawned in a Drop dropped at once"
        );
        for handle in spawned.lock().unwrap().drain(..) {
            assert!(handle.is_finished());
            assert!(wait_for("a spawned handle", handle)
                .unwrap_err()
                .is_cancelled());
        }
        let mut cancelled = 0;
        while let Some(result) = set.try_join_next() {
            assert!(result.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, 4);
        assert!(set.is_empty());
    });
}

// ---------------------------------------------------------------------------------------------
// yield_now
// ---------------------------------------------------------------------------------------------

/// `yield_now` lets the others run (Tokio's `yield_now` docs): a task of a set looping on it
/// until a sibling spawned after it has run, and until the future driving the set has run
/// again, ends; so does a task of the runtime looping until the `block_on` future runs.
#[test]
fn yielding_tasks_let_siblings_and_drivers_run() {
    Watchdog::new("yielding_tasks_let_siblings_and_drivers_run").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            let local = LocalSet::new();
            let polls = local.block_on(&rt, async {
                let sibling_ran = Rc::new(Cell::new(false));
                let driver_ran = Rc::new(Cell::new(false));
                let (sibling, driver) = (sibling_ran.clone(), driver_ran.clone());
                let looping = task::spawn_local(async move {
                    let mut polls = 0u32;
                    while !(sibling.get() && driver.get()) {
                        polls += 1;
                        task::yield_now().await;
                    }
                    polls
                });
                task::spawn_local(async move { sibling_ran.set(true) });
                task::yield_now().await;
                driver_ran.set(true);
                looping.await.unwrap()
            });
            assert!(polls >= 1, "{name}");
            let flag = Arc::new(AtomicBool::new(false));
            let seen = flag.clone();
            let looping = rt.spawn(async move {
                while !seen.load(Ordering::SeqCst) {
                    task::yield_now().await;
                }
            });
            rt.block_on(async {
                task::yield_now().await;
                flag.store(true, Ordering::SeqCst);
                looping.await.unwrap();
            });
            Watchdog::new("dropping the runtime").run(move || drop(rt));
        }
    });
}

/// `JoinSet::spawn_blocking` members behind a busy pool (one blocking thread): `abort_all`
/// cancels the queued closure, which then never runs, while the running one runs to its end;
/// `shutdown` waits for it (Tokio's `spawn_blocking` and `AbortHandle` docs).
#[test]
fn abort_all_cancels_queued_blocking_members_and_shutdown_waits_for_running_ones() {
    Watchdog::new("abort_all_cancels_queued_blocking_members").run(|| {
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let gate = Gate::default();
        let (running_tx, running_rx) = mpsc::channel();
        let queued_ran = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(AtomicBool::new(false));
        let mut set = JoinSet::new();
        let (held, done) = (gate.clone(), finished.clone());
        let running = set.spawn_blocking_on(
            move || {
                running_tx.send(()).unwrap();
                held.wait();
                done.store(true, Ordering::SeqCst);
            },
            rt.handle(),
        );
        recv(&running_rx, "the first closure running");
        let ran = queued_ran.clone();
        let queued = set.spawn_blocking_on(move || ran.store(true, Ordering::SeqCst), rt.handle());
        set.abort_all();
        assert!(!running.is_finished() && !queued.is_finished());
        let opener = thread::spawn(move || {
            thread::yield_now();
            gate.open();
        });
        wait_for("shutdown of the set", set.shutdown());
        opener.join().unwrap();
        assert!(
            finished.load(Ordering::SeqCst),
            "shutdown waited for the running closure"
        );
        assert!(running.is_finished() && queued.is_finished());
        assert!(
            !queued_ran.load(Ordering::SeqCst),
            "the aborted closure never ran"
        );
        Watchdog::new("dropping the runtime").run(move || drop(rt));
    });
}

/// The waker of a join handle is woken outside the finished task: code it runs inline sees
/// no task id (or its own), as in Tokio, whose `complete` wakes it after the task's id guard;
/// for a runtime's task and a set's.
#[test]
fn a_join_waker_runs_outside_the_finished_task() {
    struct IdOnWake(Mutex<Vec<Option<Id>>>);
    impl std::task::Wake for IdOnWake {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.lock().unwrap().push(task::try_id());
        }
    }
    Watchdog::new("a_join_waker_runs_outside_the_finished_task").run(|| {
        for (name, build) in FLAVORS {
            let rt = build();
            let gate = Arc::new(AtomicBool::new(false));
            let open = gate.clone();
            let mut handle = rt.spawn(poll_fn(move |cx| {
                if open.load(Ordering::SeqCst) {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }));
            let woken = Arc::new(IdOnWake(Mutex::new(Vec::new())));
            let waker = Waker::from(woken.clone());
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(std::pin::Pin::new(&mut handle).poll(&mut cx).is_pending());
            gate.store(true, Ordering::SeqCst);
            if name.starts_with("current") {
                rt.block_on(task::yield_now());
            }
            wait_until("the join waker was woken", || {
                !woken.0.lock().unwrap().is_empty()
            });
            assert_eq!(*woken.0.lock().unwrap(), [None], "{name}");
            assert!(wait_for("the handle", handle).is_ok());

            let local = LocalSet::new();
            let mut local_handle = local.spawn_local(async { task::yield_now().await });
            let woken = Arc::new(IdOnWake(Mutex::new(Vec::new())));
            let waker = Waker::from(woken.clone());
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(std::pin::Pin::new(&mut local_handle)
                .poll(&mut cx)
                .is_pending());
            local.block_on(&rt, async {
                for _ in 0..3 {
                    task::yield_now().await;
                }
            });
            assert_eq!(*woken.0.lock().unwrap(), [None], "{name}: a set's task");
            Watchdog::new("dropping the runtime").run(move || drop(rt));
        }
    });
}

/// `detach_all` racing the members' own completions (they finish as they start), the slots
/// reused at once: the set joins each new member exactly once and never a detached one,
/// whichever side of the detach each completion falls.
#[test]
fn detach_all_racing_completions_with_reused_slots() {
    Watchdog::new("detach_all_racing_completions_with_reused_slots").run(|| {
        let rt = multi_thread();
        let mut set = JoinSet::new();
        for round in 0..ROUNDS {
            for i in 0..6usize {
                set.spawn_on(async move { (round, i, true) }, rt.handle());
            }
            if round % 3 == 0 {
                thread::yield_now();
            }
            set.detach_all();
            let mut ids = Vec::new();
            for i in 0..6usize {
                let id = set
                    .spawn_on(
                        async move {
                            if i % 2 == 0 {
                                task::yield_now().await;
                            }
                            (round, i, false)
                        },
                        rt.handle(),
                    )
                    .id();
                ids.push(id);
            }
            let mut seen = [false; 6];
            while let Some(result) = wait_for("a member", set.join_next_with_id()) {
                let (id, (r, i, detached)) = result.unwrap();
                assert!(!detached, "round {round}: a detached member came out");
                assert_eq!(r, round, "round {round}: a member of round {r} came out");
                assert_eq!(id, ids[i]);
                assert!(!seen[i], "round {round}: member {i} twice");
                seen[i] = true;
            }
            assert!(seen.iter().all(|&seen| seen), "round {round}: {seen:?}");
        }
        Watchdog::new("dropping the runtime").run(move || drop(rt));
    });
}

//! A review of the runtime's lifecycle: `Runtime`, `Handle`, `JoinHandle` and `AbortHandle`
//! across drops and shutdowns, as a Tokio user (and a test ported from Tokio's suite) meets
//! them.
//!
//! genrt bugs found, now fixed (each test failed before):
//! - Tokio's panic texts, which tests written for Tokio match with
//!   `#[should_panic(expected = ...)]`: a `block_on` of a runtime shut down by
//!   `UnhandledPanic::ShutdownRuntime` ("a spawned task panicked and the runtime is configured
//!   to shut down on unhandled panic", Tokio's `rt_basic.rs`/`rt_common.rs`
//!   `shutdown_on_panic`), a `JoinHandle` polled again after its result ("JoinHandle polled
//!   after completion"), `task::id` outside a task ("Can't get a task id when not inside a
//!   task") and `JoinError::into_panic` of a cancelled task's error ("`JoinError` reason is
//!   not a panic."); genrt's own words follow Tokio's.
//! - `global_queue_depth` after shutdown counted the keys of tasks spawned from outside and
//!   never run, although the sweep had cancelled them (`num_alive_tasks` read 0): Tokio
//!   drains its injection queue at shutdown, and now so does the sweep
//!   (`the_global_queue_is_empty_after_the_drop`).
//! - A future whose `Drop` panicked right after it returned its output: genrt dropped that
//!   panic and reported the output, and its cell's comment said Tokio does the same. Tokio's
//!   `Core::poll` drops the future inside the poll's `catch_unwind`, so the task reports the
//!   panic (its output dropped) and `unhandled_panic` applies; now so does genrt's
//!   (`a_completed_futures_drop_panic_is_the_tasks_panic`, on every flavor and in a
//!   `LocalSet`; `..._counts_for_shutdown_runtime`, which hung before: the `block_on` waited
//!   for ever on a runtime that never shut down).
//!
//! Checked and kept (each can fail): a future's `Drop` run by shutdown, on each flavor, sees
//! its runtime (`Handle::current`), and its `spawn`/`spawn_blocking` return handles that are
//! cancelled at once (no panic); futures that wake themselves from their `Drop` during each
//! of the three shutdowns; a runtime dropped inside a `spawn_blocking` closure of its own, a
//! `block_in_place` closure, a `LocalSet` task, another runtime's task and `block_on` and
//! another runtime's shutdown sweep; the last `Arc<Runtime>` dropped by its own task as it
//! completes, is aborted, or drops it in its body; join and abort handles queried, aborted
//! and awaited (from another runtime) after the drop; `JoinError`'s texts; a task's output
//! dropped by the thread that drops the handle of a finished task, or by the runtime (in its
//! context) when the handle went first.
//!
//! Noticed and left as genrt's documented choices (Tokio differs): `Handle::block_on` and
//! `Handle::enter` through the handle of a dropped runtime panic ("cannot enter a runtime
//! that has been dropped"), where Tokio runs the future (only a timer in it panics) and
//! enters: a genrt context routes the thread's wakes by runtime id, and a dropped runtime's
//! registry entry may already belong to a new runtime (`bad_use_more.rs` pins the panic;
//! an enter guard held across the shutdown keeps Tokio's behaviour, `rt_handle_ports.rs`).
//! A timer polled after its runtime shut down panics with genrt's words, not Tokio's "A
//! Tokio 1.x context was found, but it is being shutdown." A runtime dropped inside its own
//! task shuts down without waiting for that worker, where Tokio panics (`Runtime`'s docs).
//!
//! Every test runs under a `support::Watchdog`; none bounds a real-time duration from above.

use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::FutureExt;
use genrt::{Builder, Handle, Runtime, UnhandledPanic};
use support::{
    panic_message, quiet_panics, recv, wait_until, DropCounter, Watchdog, DEADLINE, INTENTIONAL,
};

fn mt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn ct() -> Runtime {
    Builder::new_current_thread().build().unwrap()
}

/// A runtime flavor: its name, and how to build one.
type Flavor = (&'static str, fn() -> Runtime);

/// The three flavors of Tokio's `rt_test!`, by name.
const FLAVORS: [Flavor; 3] = [
    ("current-thread", ct),
    ("1 worker", || mt(1)),
    ("4 workers", || mt(4)),
];

/// Tokio's panic under `UnhandledPanic::ShutdownRuntime`, which its tests match on.
const TOKIO_SHUTDOWN_ON_PANIC: &str =
    "a spawned task panicked and the runtime is configured to shut down on unhandled panic";

// ---------------------------------------------------------------- Tokio's panic texts

/// Tokio's `rt_basic.rs` `shutdown_on_panic` as Tokio writes it (its `rt_common.rs` has the
/// same under `unhandled_panic`): the `block_on` panics with Tokio's words. genrt's message
/// said "a task panicked and the runtime is configured with UnhandledPanic::ShutdownRuntime",
/// which the test's `expected` does not match.
#[test]
#[should_panic(
    expected = "a spawned task panicked and the runtime is configured to shut down on unhandled panic"
)]
fn shutdown_on_panic_uses_tokios_words() {
    let _quiet = quiet_panics();
    Watchdog::new("shutdown_on_panic").run(|| {
        let rt = Builder::new_current_thread()
            .unhandled_panic(UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        rt.block_on(async {
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
            pending::<()>().await;
        })
    });
}

/// The same on every flavor, for a `block_on` in progress and one started after the close:
/// both panic with Tokio's words.
#[test]
fn shutdown_on_panic_uses_tokios_words_on_every_flavor() {
    let _quiet = quiet_panics();
    let flavors: [Flavor; 3] = [
        ("current-thread", || {
            Builder::new_current_thread()
                .unhandled_panic(UnhandledPanic::ShutdownRuntime)
                .build()
                .unwrap()
        }),
        ("1 worker", || shutdown_on_panic_mt(1)),
        ("4 workers", || shutdown_on_panic_mt(4)),
    ];
    for (name, build) in flavors {
        let (during, after) = Watchdog::new(name).run(move || {
            let rt = build();
            let during = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async {
                    genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
                    pending::<()>().await;
                })
            }))
            .expect_err("the block_on panics");
            let after = catch_unwind(AssertUnwindSafe(|| rt.block_on(async {})))
                .expect_err("a later block_on panics");
            (text_of(during), text_of(after))
        });
        assert!(during.contains(TOKIO_SHUTDOWN_ON_PANIC), "{name}: {during}");
        assert!(after.contains(TOKIO_SHUTDOWN_ON_PANIC), "{name}: {after}");
    }
}

fn shutdown_on_panic_mt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap()
}

/// A panic's message, or "" for a payload that is no string.
fn text_of(payload: Box<dyn std::any::Any + Send>) -> String {
    panic_message(&*payload).unwrap_or_default().to_owned()
}

/// A `JoinHandle` polled again after it returned its result panics with Tokio's words (its
/// `Core::take_output`), which tests written for Tokio match on.
#[test]
#[should_panic(expected = "JoinHandle polled after completion")]
fn a_join_handle_polled_after_completion_panics_with_tokios_words() {
    let _quiet = quiet_panics();
    Watchdog::new("a JoinHandle polled twice").run(|| {
        let rt = mt(1);
        let mut join = rt.spawn(async { 1 });
        assert_eq!(rt.block_on(&mut join).unwrap(), 1);
        let _ = (&mut join).now_or_never();
    });
}

/// `task::id` outside a task panics with Tokio's words (its `task::id`'s `expect`), in a
/// `block_on` future too.
#[test]
fn task_id_outside_a_task_panics_with_tokios_words() {
    let _quiet = quiet_panics();
    let (outside, in_block_on) = Watchdog::new("task::id outside a task").run(|| {
        let outside = catch_unwind(genrt::task::id).expect_err("no task");
        let rt = ct();
        let in_block_on = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { genrt::task::id() })
        }))
        .expect_err("a block_on future is no task");
        (text_of(outside), text_of(in_block_on))
    });
    for message in [outside, in_block_on] {
        assert!(
            message.starts_with("Can't get a task id when not inside a task"),
            "{message}"
        );
        assert!(message.contains("try_id"), "{message}");
    }
}

/// `JoinError::into_panic` on a cancelled task's error panics with Tokio's words (its
/// `expect`), genrt's advice after them.
#[test]
#[should_panic(expected = "`JoinError` reason is not a panic.")]
fn into_panic_of_a_cancelled_tasks_error_panics_with_tokios_words() {
    let _quiet = quiet_panics();
    Watchdog::new("into_panic of a cancelled task's error").run(|| {
        let rt = mt(1);
        let join = rt.spawn(pending::<()>());
        join.abort();
        let error = rt.block_on(join).unwrap_err();
        assert!(error.is_cancelled());
        error.into_panic()
    });
}

// ---------------------------------------------------------------- drops during shutdown

/// What the `Drop` of a [`SpawnsOnDrop`] saw, counted over several futures.
#[derive(Default)]
struct Seen {
    dropped: AtomicUsize,
    in_runtime: AtomicUsize,
    spawn_cancelled: AtomicUsize,
    spawn_blocking_cancelled: AtomicUsize,
}

/// Pending for ever; its `Drop` looks up the current runtime and spawns on it, a task and a
/// blocking closure, each of whose handles must be cancelled at once (Tokio: a spawn during
/// shutdown returns a handle that resolves to cancelled; no panic, no leak).
struct SpawnsOnDrop(Arc<Seen>);

impl Future for SpawnsOnDrop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        let seen = &self.0;
        if Handle::try_current().is_ok() {
            seen.in_runtime.fetch_add(1, Ordering::SeqCst);
            let cancelled = |result: Option<Result<(), genrt::JoinError>>| matches!(result, Some(Err(e)) if e.is_cancelled());
            if cancelled(genrt::spawn(async {}).now_or_never()) {
                seen.spawn_cancelled.fetch_add(1, Ordering::SeqCst);
            }
            if cancelled(genrt::spawn_blocking(|| {}).now_or_never()) {
                seen.spawn_blocking_cancelled.fetch_add(1, Ordering::SeqCst);
            }
        }
        seen.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Shutdown drops each task's future inside the runtime's context, on every flavor, for tasks
/// polled before and tasks never polled; what their `Drop`s spawn is cancelled at once.
#[test]
fn a_drop_during_shutdown_sees_its_runtime_and_its_spawns_are_cancelled() {
    const TASKS: usize = 4;
    for (name, build) in FLAVORS {
        for polled in [true, false] {
            let (seen, made) = Watchdog::new(name).run(move || {
                let rt = build();
                let seen = Arc::new(Seen::default());
                let (tx, rx) = mpsc::channel();
                let joins: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let (seen, tx) = (seen.clone(), tx.clone());
                        rt.spawn(async move {
                            let future = SpawnsOnDrop(seen);
                            tx.send(()).unwrap();
                            future.await
                        })
                    })
                    .collect();
                if polled {
                    // A current-thread runtime runs its tasks inside `block_on`.
                    rt.block_on(async {
                        for _ in 0..TASKS {
                            while rx.try_recv().is_err() {
                                genrt::yield_now().await;
                            }
                        }
                    });
                }
                drop(rt);
                for join in joins {
                    let result = join.now_or_never().expect("ready after the drop");
                    assert!(result.unwrap_err().is_cancelled());
                }
                // Unpolled, an `async` block has not made its `SpawnsOnDrop` yet (a worker
                // may have polled some of them before the drop).
                let made = if polled { TASKS } else { rx.try_iter().count() };
                (seen, made)
            });
            let counts = [
                seen.dropped.load(Ordering::SeqCst),
                seen.in_runtime.load(Ordering::SeqCst),
                seen.spawn_cancelled.load(Ordering::SeqCst),
                seen.spawn_blocking_cancelled.load(Ordering::SeqCst),
            ];
            assert_eq!(counts, [made; 4], "{name}, polled: {polled}");
        }
    }
}

/// Pending for ever, keeping its latest waker; its `Drop` wakes it, twice.
struct WakesItselfOnDrop {
    waker: Option<Waker>,
    _drop: DropCounter,
}

impl Future for WakesItselfOnDrop {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for WakesItselfOnDrop {
    fn drop(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake_by_ref();
            waker.wake();
        }
    }
}

/// Futures that wake their own task from their `Drop`, while shutdown drops them, on every
/// flavor and each of the three shutdowns: each is dropped once and every handle is
/// cancelled, nothing hangs.
#[test]
fn futures_that_wake_themselves_from_their_drop_during_each_shutdown() {
    const TASKS: usize = 20;
    for (name, build) in FLAVORS {
        for ending in ["drop", "shutdown_timeout", "shutdown_background"] {
            let drops = Arc::new(AtomicUsize::new(0));
            let counter = drops.clone();
            Watchdog::new(name).run(move || {
                let rt = build();
                let (tx, rx) = mpsc::channel();
                let joins: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let (tx, drop) = (tx.clone(), DropCounter(counter.clone()));
                        rt.spawn(async move {
                            let future = WakesItselfOnDrop {
                                waker: None,
                                _drop: drop,
                            };
                            tx.send(()).unwrap();
                            future.await
                        })
                    })
                    .collect();
                rt.block_on(async {
                    for _ in 0..TASKS {
                        while rx.try_recv().is_err() {
                            genrt::yield_now().await;
                        }
                    }
                });
                match ending {
                    "drop" => drop(rt),
                    "shutdown_timeout" => assert!(rt.shutdown_timeout(DEADLINE)),
                    _ => rt.shutdown_background(),
                }
                for join in joins {
                    let result = join.now_or_never().expect("ready after the shutdown");
                    assert!(result.unwrap_err().is_cancelled());
                }
            });
            assert_eq!(drops.load(Ordering::SeqCst), TASKS, "{name}, {ending}");
        }
    }
}

// ---------------------------------------------------------------- where a runtime is dropped

/// A runtime behind a lock, for code that drops it from somewhere it cannot be moved to.
type Slot = Arc<Mutex<Option<Runtime>>>;

fn slot(rt: Runtime) -> Slot {
    Arc::new(Mutex::new(Some(rt)))
}

fn take(slot: &Slot) -> Runtime {
    slot.lock().unwrap().take().expect("the runtime is there")
}

/// A runtime dropped inside one of its own blocking closures (fine in Tokio): the drop
/// returns (it does not wait for the closure it runs in), its tasks are cancelled, the
/// closure's result is delivered.
#[test]
fn a_runtime_dropped_inside_its_own_blocking_closure() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = slot(build());
            let handle = rt.lock().unwrap().as_ref().unwrap().handle().clone();
            let pending = handle.spawn(pending::<()>());
            let closure = handle.spawn_blocking(move || {
                drop(take(&rt));
                Handle::current().spawn(async {})
            });
            let spawned = futures::executor::block_on(closure).expect("the closure's result");
            assert!(futures::executor::block_on(spawned)
                .unwrap_err()
                .is_cancelled());
            assert!(futures::executor::block_on(pending)
                .unwrap_err()
                .is_cancelled());
        });
    }
}

/// A runtime dropped from a `LocalSet` task inside its own `Handle::block_on`: the drop
/// returns, and later spawns from the task are cancelled at once.
#[test]
fn a_runtime_dropped_from_a_local_set_task_in_its_own_block_on() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = slot(build());
            let handle = rt.lock().unwrap().as_ref().unwrap().handle().clone();
            let pending = handle.spawn(pending::<()>());
            let local = genrt::task::LocalSet::new();
            let late = handle.block_on(local.run_until(async move {
                genrt::task::spawn_local(async move {
                    drop(take(&rt));
                    genrt::yield_now().await;
                    genrt::spawn(async {}).await
                })
                .await
                .expect("the local task completes")
            }));
            assert!(late.unwrap_err().is_cancelled(), "{name}");
            assert!(pending.now_or_never().unwrap().unwrap_err().is_cancelled());
        });
    }
}

/// A runtime of each flavor dropped inside another runtime: in a task, in a `block_in_place`
/// closure, in `block_on`, by `shutdown_background` in a task, and by the other runtime's
/// shutdown (a task of it owns the runtime). Each drop cancels the runtime's tasks and
/// returns.
#[test]
fn a_runtime_dropped_inside_another_runtime() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let outer = mt(2);
            let assert_cancelled = |join: genrt::JoinHandle<()>, how: &str| {
                let result = join.now_or_never().expect("ready after the drop");
                assert!(result.unwrap_err().is_cancelled(), "{name}: {how}");
            };

            let inner = build();
            let pending_task = inner.spawn(pending::<()>());
            outer
                .block_on(outer.spawn(async move { drop(inner) }))
                .unwrap();
            assert_cancelled(pending_task, "dropped in a task");

            let inner = build();
            let pending_task = inner.spawn(pending::<()>());
            outer
                .block_on(outer.spawn(async move {
                    genrt::task::block_in_place(move || drop(inner));
                }))
                .unwrap();
            assert_cancelled(pending_task, "dropped in block_in_place");

            let inner = build();
            let pending_task = inner.spawn(pending::<()>());
            outer.block_on(async move { drop(inner) });
            assert_cancelled(pending_task, "dropped in block_on");

            let inner = build();
            let pending_task = inner.spawn(pending::<()>());
            outer
                .block_on(outer.spawn(async move { inner.shutdown_background() }))
                .unwrap();
            assert_cancelled(pending_task, "shut down in the background from a task");

            for (outer_name, build_outer) in FLAVORS {
                let outer = build_outer();
                let inner = build();
                let pending_task = inner.spawn(pending::<()>());
                let (tx, rx) = mpsc::channel();
                let owner = outer.spawn(async move {
                    let _inner = inner;
                    tx.send(()).unwrap();
                    pending::<()>().await
                });
                outer.block_on(async {
                    while rx.try_recv().is_err() {
                        genrt::yield_now().await;
                    }
                });
                drop(outer);
                assert_cancelled(owner, outer_name);
                assert_cancelled(pending_task, "dropped by another runtime's shutdown");
            }
        });
    }
}

/// The last `Arc<Runtime>` held by one of its own tasks, which drops it as its future is
/// dropped after completing, as it is aborted, or in its body: the runtime shuts down from
/// inside itself, on a worker or on a current-thread runtime's driver, without a hang, and
/// its other tasks are cancelled.
#[test]
fn the_last_arc_of_a_runtime_dropped_by_its_own_task() {
    for (name, build) in FLAVORS {
        for how in ["completes", "aborted", "in its body"] {
            Watchdog::new(name).run(move || {
                let rt = Arc::new(build());
                let handle = rt.handle().clone();
                let other = rt.spawn(pending::<()>());
                let own = rt.clone();
                // Sent once this thread has dropped its `Arc`: the task's is the last.
                let (dropped, last) = futures::channel::oneshot::channel::<()>();
                let join = match how {
                    "completes" => rt.spawn(async move {
                        let _own = own;
                        last.await.unwrap();
                        1
                    }),
                    "aborted" => rt.spawn(async move {
                        let _own = own;
                        let _last = last;
                        pending::<()>().await;
                        1
                    }),
                    _ => rt.spawn(async move {
                        last.await.unwrap();
                        drop(own);
                        let late = genrt::spawn(async {}).await;
                        assert!(late.unwrap_err().is_cancelled());
                        3
                    }),
                };
                let abort = join.abort_handle();
                drop(rt);
                let _ = dropped.send(());
                if how == "aborted" {
                    abort.abort();
                }
                if name == "current-thread" {
                    // Nobody drives it otherwise; the drive ends with the runtime's drop.
                    handle.block_on(async {
                        while !abort.is_finished() {
                            genrt::yield_now().await;
                        }
                    });
                }
                let result = futures::executor::block_on(join);
                match how {
                    "aborted" => assert!(result.unwrap_err().is_cancelled()),
                    "completes" => assert_eq!(result.unwrap(), 1),
                    _ => assert_eq!(result.unwrap(), 3),
                }
                let other = futures::executor::block_on(other);
                assert!(other.unwrap_err().is_cancelled(), "{name}, {how}");
                assert!(handle.try_enter().is_none(), "{name}, {how}: still open");
            });
        }
    }
}

// ---------------------------------------------------------------- handles after the drop

/// Join and abort handles after their runtime is gone: finished, aborts do nothing, the id
/// stays, awaiting (in another runtime) gives the cancelled error with that id; spawns and
/// blocking spawns through a kept `Handle` are cancelled at once.
#[test]
fn join_and_abort_handles_after_the_drop() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let handle = rt.handle().clone();
            let join = rt.spawn(pending::<()>());
            let abort = join.abort_handle();
            let id = join.id();
            drop(rt);
            assert!(join.is_finished() && abort.is_finished(), "{name}");
            assert_eq!((join.id(), abort.id()), (id, id));
            abort.abort();
            join.abort();
            let other = mt(1);
            let error = other.block_on(join).unwrap_err();
            assert!(error.is_cancelled(), "{name}");
            assert_eq!(error.id(), id);
            assert_eq!(error.to_string(), format!("task {id} was cancelled"));

            let late = handle.spawn(async { 1 });
            assert!(late.is_finished(), "{name}");
            let late_id = late.id();
            let error = late.now_or_never().expect("ready at once").unwrap_err();
            assert!(error.is_cancelled() && error.id() == late_id, "{name}");
            let blocking = handle.spawn_blocking(|| 1);
            assert!(blocking.now_or_never().unwrap().unwrap_err().is_cancelled());
            assert_eq!(handle.metrics().num_alive_tasks(), 0, "{name}");
        });
    }
}

/// `shutdown_timeout` with a task blocked in synchronous code and another that keeps
/// spawning: it gives up on the first (returns `false`) and cancels the rest; the first's
/// future is dropped once its poll returns, and its handle resolves to cancelled.
#[test]
fn shutdown_timeout_leaves_a_blocked_task_and_stops_a_spawning_one() {
    for (name, build) in &FLAVORS[1..] {
        Watchdog::new(name).run(move || {
            let rt = build();
            let (release, blocked) = mpsc::channel::<()>();
            let (started_tx, started) = mpsc::channel();
            let drops = Arc::new(AtomicUsize::new(0));
            let drop = DropCounter(drops.clone());
            let stuck = rt.spawn(async move {
                let _drop = drop;
                started_tx.send(()).unwrap();
                let _ = blocked.recv();
                genrt::yield_now().await;
            });
            let spawner = rt.spawn(async {
                loop {
                    genrt::spawn(genrt::yield_now());
                    genrt::yield_now().await;
                }
            });
            recv(&started, "the blocked task to start");
            assert!(!rt.shutdown_timeout(Duration::from_millis(50)));
            assert!(spawner.now_or_never().unwrap().unwrap_err().is_cancelled());
            assert_eq!(drops.load(Ordering::SeqCst), 0, "dropped while polled");
            std::mem::drop(release);
            let result = futures::executor::block_on(stuck);
            assert!(result.unwrap_err().is_cancelled(), "{name}");
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }
}

/// After the drop nothing is queued: `global_queue_depth` is 0, as in Tokio (whose shutdown
/// drains its injection queue), beside `num_alive_tasks`. It stayed at the number of keys
/// spawned from outside and never run (a current-thread runtime nobody drove, here 5), which
/// name nothing once the sweep cancelled their tasks.
#[test]
fn the_global_queue_is_empty_after_the_drop() {
    for (name, build) in FLAVORS {
        let (before, after) = Watchdog::new(name).run(move || {
            let rt = build();
            let metrics = rt.metrics();
            let (release, blocked) = mpsc::channel::<()>();
            let (started_tx, started) = mpsc::channel();
            let mut joins = Vec::new();
            if name != "current-thread" {
                // Keep the one worker (every worker, for 4) busy, so that keys stay queued.
                let workers = metrics.num_workers();
                let blocked = Arc::new(Mutex::new(blocked));
                for _ in 0..workers {
                    let (blocked, started_tx) = (blocked.clone(), started_tx.clone());
                    joins.push(rt.spawn(async move {
                        started_tx.send(()).unwrap();
                        let _ = blocked.lock().unwrap().recv();
                    }));
                }
                for _ in 0..workers {
                    recv(&started, "a worker to block");
                }
            }
            joins.extend((0..5).map(|_| rt.spawn(async {})));
            let before = metrics.global_queue_depth();
            if name == "current-thread" {
                drop(rt);
            } else {
                // The blocked workers are left behind, then released.
                assert!(!rt.shutdown_timeout(Duration::from_millis(10)));
                drop(release);
            }
            for join in joins {
                let _ = futures::executor::block_on(join);
            }
            // A left-behind worker counts its task's end just after the handle saw it.
            wait_until("no task alive", || metrics.num_alive_tasks() == 0);
            (
                before,
                (metrics.global_queue_depth(), metrics.num_alive_tasks()),
            )
        });
        assert!(before >= 5, "{name}: {before} queued before the drop");
        assert_eq!(after, (0, 0), "{name}: (global queue depth, alive tasks)");
    }
}

// ---------------------------------------------------------------- a completed future's drop

/// Ready at its first poll with a `DropCounter` (the task's output); its own `Drop` panics.
struct ReadyThenPanicsOnDrop(Option<DropCounter>);

impl Future for ReadyThenPanicsOnDrop {
    type Output = DropCounter;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<DropCounter> {
        Poll::Ready(self.0.take().expect("polled once"))
    }
}

impl Drop for ReadyThenPanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{INTENTIONAL}: the completed future's drop");
        }
    }
}

/// A future whose `Drop` panics after it returned its output makes its task report that
/// panic, as in Tokio (its `Core::poll` drops the future inside the poll's `catch_unwind`),
/// and the output is dropped, on every flavor and in a `LocalSet`. genrt dropped that panic
/// and reported the output.
#[test]
fn a_completed_futures_drop_panic_is_the_tasks_panic() {
    let _quiet = quiet_panics();
    for (name, build) in FLAVORS {
        let (outputs, spawned, local) = Watchdog::new(name).run(move || {
            let rt = build();
            let outputs = Arc::new(AtomicUsize::new(0));
            let future = ReadyThenPanicsOnDrop(Some(DropCounter(outputs.clone())));
            let spawned = rt.block_on(rt.spawn(future)).map(drop);
            let future = ReadyThenPanicsOnDrop(Some(DropCounter(outputs.clone())));
            let set = genrt::task::LocalSet::new();
            let local = rt
                .block_on(set.run_until(async move { genrt::task::spawn_local(future).await }))
                .map(drop);
            (outputs.load(Ordering::SeqCst), spawned, local)
        });
        for (how, result) in [("spawned", spawned), ("local", local)] {
            let error = result.expect_err("the drop's panic is the task's");
            assert!(error.is_panic(), "{name}, {how}: {error:?}");
            let message = text_of(error.into_panic());
            assert!(message.contains("the completed future's drop"), "{message}");
        }
        assert_eq!(outputs, 2, "{name}: each output dropped once");
    }
}

/// Under `UnhandledPanic::ShutdownRuntime` that panic shuts the runtime down, as a panic of
/// the poll does (Tokio calls its `unhandled_panic` for both).
#[test]
fn a_completed_futures_drop_panic_counts_for_shutdown_runtime() {
    let _quiet = quiet_panics();
    let flavors: [Flavor; 2] = [
        ("current-thread", || {
            Builder::new_current_thread()
                .unhandled_panic(UnhandledPanic::ShutdownRuntime)
                .build()
                .unwrap()
        }),
        ("2 workers", || shutdown_on_panic_mt(2)),
    ];
    for (name, build) in flavors {
        let message = Watchdog::new(name).run(move || {
            let rt = build();
            let payload = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async {
                    let future = ReadyThenPanicsOnDrop(Some(DropCounter(Default::default())));
                    genrt::spawn(future);
                    pending::<()>().await;
                })
            }))
            .expect_err("the block_on panics");
            text_of(payload)
        });
        assert!(
            message.contains(TOKIO_SHUTDOWN_ON_PANIC),
            "{name}: {message}"
        );
    }
}

// ---------------------------------------------------------------- where an output is dropped

/// Where an output's `Drop` ran: its thread, its task id, whether a runtime was current.
type DropSite = (std::thread::ThreadId, Option<genrt::task::Id>, bool);

/// A task's output that reports where it is dropped.
struct ReportsItsDrop(mpsc::Sender<DropSite>);

impl Drop for ReportsItsDrop {
    fn drop(&mut self) {
        let site = (
            std::thread::current().id(),
            genrt::task::try_id(),
            Handle::try_current().is_ok(),
        );
        let _ = self.0.send(site);
    }
}

/// A task's output is dropped where Tokio drops it: by the thread that drops the join handle
/// of a finished task (inside the task's id, outside any runtime there), and by the runtime,
/// inside its context and the task's id, when the handle was dropped first.
#[test]
fn outputs_are_dropped_by_the_handle_or_by_the_runtime() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let (tx, sites) = mpsc::channel();

            // Finished, then the handle dropped on another thread.
            let output = ReportsItsDrop(tx.clone());
            let join = rt.spawn(async move { output });
            let id = join.id();
            rt.block_on(async {
                while !join.is_finished() {
                    genrt::yield_now().await;
                }
            });
            let dropper = std::thread::spawn(move || {
                drop(join);
                std::thread::current().id()
            });
            let dropper = dropper.join().unwrap();
            let site = recv(&sites, "the output's drop");
            assert_eq!(site, (dropper, Some(id), false), "{name}: by the handle");

            // The handle dropped first: the runtime drops the output as the task finishes.
            let (go, gate) = futures::channel::oneshot::channel::<()>();
            let output = ReportsItsDrop(tx.clone());
            let join = rt.spawn(async move {
                gate.await.unwrap();
                output
            });
            let id = join.id();
            drop(join);
            go.send(()).unwrap();
            let site = if name == "current-thread" {
                // This thread drives it.
                rt.block_on(async {
                    loop {
                        if let Ok(site) = sites.try_recv() {
                            break site;
                        }
                        genrt::yield_now().await;
                    }
                })
            } else {
                recv(&sites, "the output's drop")
            };
            assert_eq!((site.1, site.2), (Some(id), true), "{name}: by the runtime");
            if name != "current-thread" {
                assert_ne!(site.0, std::thread::current().id(), "{name}: on a worker");
            }
        });
    }
}

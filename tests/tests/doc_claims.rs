//! The documentation's claims, checked: behaviour that a doc comment of the `genrt` crate
//! (`runtime/src/**`), README.md or ARCHITECTURE.md promises and that no other test or
//! doctest checked (or checked only in part) when this file was written. Each test quotes the
//! claim it checks and names the file it comes from; most are edge cases the words promise
//! (zero durations, finished or aborted handles, calls after shutdown, calls from other
//! threads, the current-thread runtime beside the multi-thread one, the text of errors and
//! panics).
//!
//! Three claims were false for a current-thread runtime when this file was written, and were
//! fixed with it: `block_in_place` panicked in its blocking closures and under its `enter`
//! guard (where `f` "simply runs"); under `UnhandledPanic::ShutdownRuntime` its other tasks
//! were cancelled only when the runtime was dropped; and its drop (or `shutdown_timeout`)
//! returned while a `Handle::block_on` on another thread was still polling one of its
//! tasks, whose future was dropped after `drop` returned.
//!
//! Every test runs under a [`Watchdog`]; none bounds a real-time duration from above.

use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::task::{Spawn, SpawnExt};
use genrt::runtime::RuntimeFlavor;
use genrt::task::{self, coop};
use genrt::time::{self, Instant};
use genrt::{Builder, Handle, JoinSet};
use support::current_thread;
use support::{
    panic_text, quiet_panics, recv, runtime, wait_for, wait_until, DropCounter, Watchdog, DEADLINE,
    INTENTIONAL,
};

/// Runs `f` on a watched thread (the default limit): a hang fails the test.
#[track_caller]
fn watch<T: Send + 'static>(what: &'static str, f: impl FnOnce() -> T + Send + 'static) -> T {
    Watchdog::new(what).run(f)
}

/// A counter shared with a [`DropCounter`].
fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// A waker that counts its wakes.
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn count_wakes() -> (Arc<CountWakes>, Waker) {
    let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
    (wakes.clone(), Waker::from(wakes))
}

// ---------------------------------------------------------------------------------------
// block_in_place
// ---------------------------------------------------------------------------------------

// runtime/src/block_in_place.rs, `block_in_place`: "Outside a runtime, on a thread that is
// not a worker (a blocking closure's, `block_on`'s on a multi-thread runtime), or inside
// another `block_in_place`, `f` simply runs." A blocking closure of a current-thread runtime
// is such a thread: it is no worker, and nothing is queued on it (Tokio runs `f` there too).
#[test]
fn block_in_place_in_a_blocking_closure_of_a_current_thread_runtime_runs() {
    watch(
        "block_in_place in a current-thread runtime's blocking closure",
        || {
            let rt = current_thread();
            let join = rt.spawn_blocking(|| task::block_in_place(|| 7));
            assert_eq!(rt.block_on(join).unwrap(), 7);
        },
    );
}

// The same sentence, for a plain thread inside an `enter` guard of a current-thread runtime:
// no worker, nothing to hand over (Tokio's `block_in_place` runs `f` there too; only its
// current-thread `block_on` and tasks refuse).
#[test]
fn block_in_place_under_an_enter_guard_of_a_current_thread_runtime_runs() {
    watch("block_in_place under a current-thread enter guard", || {
        let rt = current_thread();
        let _entered = rt.enter();
        assert_eq!(task::block_in_place(|| 8), 8);
    });
}

// runtime/src/block_in_place.rs: "The worker counts as busy while `f` runs:
// [`Runtime::settle`] waits for it, and a paused clock does not auto-advance meanwhile".
#[test]
fn a_worker_blocked_in_place_keeps_settle_waiting_and_the_paused_clock_still() {
    watch("settle and the paused clock around block_in_place", || {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .start_paused(true)
            .build()
            .unwrap();
        let start = {
            let _entered = rt.enter();
            Instant::now()
        };
        let (release, released) = mpsc::channel::<()>();
        let (inside_tx, inside) = mpsc::channel();
        let blocked = rt.spawn(async move {
            task::block_in_place(move || {
                inside_tx.send(()).unwrap();
                released.recv().unwrap();
            })
        });
        // A timer that a jump of the clock would fire.
        let sleeper = rt.spawn(async { time::sleep(Duration::from_secs(3600)).await });
        recv(&inside, "the closure running in place");
        assert!(
            !rt.try_settle(Duration::from_millis(50)),
            "settle returned while a worker was blocked in place"
        );
        let now = {
            let _entered = rt.enter();
            Instant::now()
        };
        assert_eq!(
            now, start,
            "the paused clock moved while a worker was blocked in place"
        );
        assert!(!sleeper.is_finished());
        release.send(()).unwrap();
        rt.block_on(blocked).unwrap();
        rt.block_on(sleeper).unwrap();
        rt.settle();
    });
}

// ---------------------------------------------------------------------------------------
// Runtime and Handle after shutdown.
// ---------------------------------------------------------------------------------------

// runtime/src/handle.rs, `impl Spawn for Handle`: "After shutdown it returns
// [`SpawnError::shutdown`] instead of spawning."
#[test]
fn spawn_trait_reports_shutdown_after_drop_and_after_shutdown_background() {
    watch("Spawn::status after shutdown", || {
        for how in ["drop", "shutdown_background", "shutdown_timeout"] {
            let rt = runtime(1);
            let handle = rt.handle().clone();
            assert!(handle.status().is_ok(), "{how}: open before");
            match how {
                "drop" => drop(rt),
                "shutdown_background" => rt.shutdown_background(),
                _ => assert!(rt.shutdown_timeout(Duration::from_secs(10))),
            }
            let err = handle.status().unwrap_err();
            assert!(err.is_shutdown(), "{how}: {err:?}");
            let ran = counter();
            let seen = ran.clone();
            let err = SpawnExt::spawn(&handle, async move {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap_err();
            assert!(err.is_shutdown(), "{how}: {err:?}");
            assert_eq!(ran.load(Ordering::SeqCst), 0, "{how}: nothing ran");
        }
    });
}

// runtime/src/runtime.rs, `UnhandledPanic::ShutdownRuntime`: "The first panic shuts the
// runtime down ... later spawns are cancelled at once"; runtime/src/handle.rs: "After
// shutdown [`Spawn`] returns [`SpawnError::shutdown`]". And: "The blocking pool stays open
// until the runtime is dropped."
#[test]
fn after_a_panic_shut_the_runtime_down_spawn_says_so_and_blocking_closures_still_run() {
    let _quiet = quiet_panics();
    watch("a runtime shut down by a panic", || {
        let rt = Builder::new()
            .worker_threads(1)
            .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        let boom = rt.spawn(async { panic!("{INTENTIONAL}: shut the runtime down") });
        assert!(wait_for("the panicking task", boom).unwrap_err().is_panic());
        assert!(rt.handle().status().unwrap_err().is_shutdown());
        let late = rt.spawn(async { 1 });
        assert!(wait_for("a late spawn", late).unwrap_err().is_cancelled());
        let blocking = rt.spawn_blocking(|| 5);
        assert_eq!(
            wait_for("a blocking closure after the close", blocking).unwrap(),
            5
        );
    });
}

// runtime/src/runtime.rs, `UnhandledPanic::ShutdownRuntime`: "The first panic shuts the
// runtime down promptly ...: the panicking task's handle reports the panic; every other task
// is cancelled by the workers as they leave their loops (its handle reports cancelled) ...
// every `block_on` in progress on the runtime, and any later one, panics with a message
// saying a task panicked", on a current-thread runtime too, whose one worker is run by the
// `block_on` that panics (or by a `settle`). The other tasks are cancelled then, not when the
// runtime is dropped (as in Tokio, whose current-thread runtime shuts every task down at the
// panic).
#[test]
fn a_panic_under_shutdown_runtime_on_a_current_thread_runtime_cancels_the_other_tasks() {
    let _quiet = quiet_panics();
    // Twice the usual limit: a task left uncancelled fails the bounded wait below, by name.
    let watchdog = Watchdog::new("ShutdownRuntime on a current-thread runtime").limit(2 * DEADLINE);
    let message = watchdog.run(|| {
        let rt = Builder::new_current_thread()
            .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        let pending_task = rt.spawn(pending::<()>());
        let boom = rt.spawn(async { panic!("{INTENTIONAL}: in a current-thread task") });
        let message = panic_text(|| rt.block_on(pending::<()>()));
        assert!(wait_for("the panicking task", boom).unwrap_err().is_panic());
        assert!(wait_for("the other task", pending_task)
            .unwrap_err()
            .is_cancelled());
        assert_eq!(rt.metrics().num_alive_tasks(), 0);
        let later = panic_text(|| rt.block_on(async { 1 }));
        assert!(later.contains("a spawned task panicked"), "{later}");
        // The same when the panic happens while a host settles the runtime.
        let rt = Builder::new_current_thread()
            .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        let pending_task = rt.spawn(pending::<()>());
        let boom = rt.spawn(async { panic!("{INTENTIONAL}: in a settled task") });
        rt.settle();
        assert!(wait_for("the panicking task", boom).unwrap_err().is_panic());
        assert!(wait_for("the other task", pending_task)
            .unwrap_err()
            .is_cancelled());
        message
    });
    assert!(message.contains("a spawned task panicked"), "{message}");
}

// runtime/src/runtime.rs, `Runtime::shutdown_background`: "[`shutdown_timeout`] with a zero
// timeout ... Tasks are cancelled as on drop"; `shutdown_timeout`: "Every task that is not
// being polled is cancelled and its future dropped before this returns".
#[test]
fn shutdown_background_drops_every_idle_future_before_it_returns() {
    watch("shutdown_background", || {
        let rt = runtime(2);
        let dropped = counter();
        let joins: Vec<_> = (0..16)
            .map(|_| {
                let guard = DropCounter(dropped.clone());
                rt.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await;
                })
            })
            .collect();
        rt.settle();
        rt.shutdown_background();
        assert_eq!(dropped.load(Ordering::SeqCst), 16);
        for join in joins {
            assert!(wait_for("a join handle", join).unwrap_err().is_cancelled());
        }
    });
}

// runtime/src/handle.rs, `Handle`: "once the [`Runtime`] is dropped, a task spawned through
// a handle is cancelled at once": its future is dropped before `spawn` returns.
#[test]
fn a_spawn_after_the_drop_drops_the_future_before_it_returns() {
    watch("a spawn after the drop", || {
        let rt = runtime(1);
        let handle = rt.handle().clone();
        drop(rt);
        let dropped = counter();
        let guard = DropCounter(dropped.clone());
        let join = handle.spawn(async move {
            let _guard = guard;
        });
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "dropped at once");
        assert!(join.is_finished());
        assert!(wait_for("the join handle", join)
            .unwrap_err()
            .is_cancelled());
    });
}

// runtime/src/runtime.rs, `Id`: "unique in the process, never reused by a later runtime";
// runtime/src/handle.rs, `Handle::id`: "different for any other runtime of the process,
// also one built after this one is gone", and the handle keeps answering after the drop.
#[test]
fn a_handle_answers_id_and_flavor_after_its_runtime_is_gone() {
    watch("id and flavor after the drop", || {
        let rt = current_thread();
        let handle = rt.handle().clone();
        let id = handle.id();
        drop(rt);
        assert_eq!(handle.id(), id);
        assert_eq!(handle.runtime_flavor(), RuntimeFlavor::CurrentThread);
        assert_eq!(handle.metrics().num_workers(), 1);
        let later = runtime(1);
        assert_ne!(later.handle().id(), id);
        assert!(id.to_string().parse::<u64>().unwrap() > 0);
    });
}

// runtime/src/handle.rs, `Handle::enter`: "# Panics If the [`Runtime`] was already dropped:
// there is nothing to enter"; `Handle::block_on`: "# Panics ... If the runtime was already
// dropped".
#[test]
fn enter_and_block_on_through_a_handle_of_a_dropped_runtime_panic() {
    let _quiet = quiet_panics();
    watch("enter and block_on after the drop", || {
        let rt = runtime(1);
        let handle = rt.handle().clone();
        drop(rt);
        let _ = panic_text(|| drop(handle.enter()));
        let _ = panic_text(|| handle.block_on(async { 1 }));
        // And the thread is left outside any runtime.
        assert!(Handle::try_current().is_err());
    });
}

// runtime/src/metrics.rs, `RuntimeMetrics`: "a value kept ... keeps reporting, also after the
// runtime is dropped"; `num_alive_tasks`: "Tasks spawned and not finished yet". Tasks the
// drop cancelled are finished.
#[test]
fn metrics_count_no_live_task_after_the_drop() {
    watch("metrics after the drop", || {
        let rt = runtime(2);
        let metrics = rt.metrics();
        let joins: Vec<_> = (0..5).map(|_| rt.spawn(pending::<()>())).collect();
        rt.settle();
        assert_eq!(metrics.num_alive_tasks(), 5);
        drop(rt);
        assert_eq!(metrics.num_alive_tasks(), 0);
        assert_eq!(metrics.spawned_tasks_count(), 5);
        drop(joins);
    });
}

// runtime/src/metrics.rs, `worker_park_unpark_count`: "Times worker `worker` went to sleep
// plus times it woke up (Tokio's count): even while it runs, odd while it sleeps."
#[test]
fn the_park_unpark_count_is_odd_while_the_worker_sleeps_and_even_after_exit() {
    watch("park/unpark parity", || {
        let rt = runtime(1);
        let metrics = rt.metrics();
        rt.block_on(rt.spawn(async {})).unwrap();
        wait_until("the idle worker sleeps (an odd count)", || {
            metrics.worker_park_unpark_count(0) % 2 == 1
        });
        drop(rt);
        assert_eq!(metrics.worker_park_unpark_count(0) % 2, 0);
    });
}

// ---------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------

// runtime/src/runtime.rs, `Builder::build`: "Fails with `InvalidInput` for zero workers or
// zero blocking threads": the errors' text names the setting.
#[test]
fn build_errors_name_the_setting() {
    let err = Builder::new().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("max_blocking_threads must be at least 1"),
        "{err}"
    );
    let err = Builder::new().worker_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("worker_threads must be at least 1"),
        "{err}"
    );
}

// runtime/src/runtime.rs, `Builder::new_current_thread`: "[`Builder::worker_threads`] is
// ignored, as in Tokio", zero included.
#[test]
fn a_current_thread_builder_ignores_worker_threads() {
    watch("current-thread worker_threads", || {
        for workers in [0, 5] {
            let rt = Builder::new_current_thread()
                .worker_threads(workers)
                .build()
                .unwrap();
            assert_eq!(rt.metrics().num_workers(), 1);
            assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
        }
    });
}

// runtime/src/runtime.rs, `Builder::new`: "A builder with one worker per CPU, threads named
// `genrt-worker`" (blocking threads included: `thread_name` "Sets the name of every worker
// and blocking thread").
#[test]
fn default_thread_names_are_genrt_worker() {
    watch("default thread names", || {
        let rt = runtime(1);
        let name = || thread::current().name().map(str::to_owned);
        let worker = rt.block_on(rt.spawn(async move { name() })).unwrap();
        let blocking = rt.block_on(rt.spawn_blocking(name)).unwrap();
        assert_eq!(worker.as_deref(), Some("genrt-worker"));
        assert_eq!(blocking.as_deref(), Some("genrt-worker"));
    });
}

// runtime/src/runtime.rs, `Builder::new_current_thread`: "it starts no worker thread";
// `on_thread_start`: "Runs `f` on every worker thread when it starts ... and on every
// blocking thread before its first closure". A current-thread runtime has no worker thread:
// only its blocking threads run the hooks.
#[test]
fn a_current_thread_runtime_runs_thread_hooks_on_blocking_threads_only() {
    watch("hooks of a current-thread runtime", || {
        let started = counter();
        let stopped = counter();
        let (s, t) = (started.clone(), stopped.clone());
        let rt = Builder::new_current_thread()
            .on_thread_start(move || {
                s.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                t.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        rt.block_on(rt.spawn(async {})).unwrap();
        assert_eq!(
            started.load(Ordering::SeqCst),
            0,
            "no worker thread started"
        );
        rt.block_on(rt.spawn_blocking(|| ())).unwrap();
        drop(rt);
        assert_eq!(started.load(Ordering::SeqCst), 1, "the blocking thread");
        assert_eq!(
            stopped.load(Ordering::SeqCst),
            1,
            "the blocking thread, at shutdown"
        );
    });
}

// ---------------------------------------------------------------------------------------
// JoinHandle, AbortHandle, JoinError
// ---------------------------------------------------------------------------------------

// runtime/src/task/join.rs, `JoinHandle::abort`: "the handle resolves to a [`JoinError`]
// with [`is_cancelled`] unless the task finished first"; runtime/src/task/abort.rs,
// `AbortHandle::abort`: "Aborting a finished task ... does nothing."
#[test]
fn aborting_a_finished_task_keeps_its_value() {
    watch("abort after completion", || {
        let rt = runtime(1);
        let join = rt.spawn(async { 11 });
        let abort = join.abort_handle();
        wait_until("the task finishes", || join.is_finished());
        join.abort();
        abort.abort();
        assert!(abort.is_finished());
        assert_eq!(wait_for("the finished task", join).unwrap(), 11);
        // A blocking closure too.
        let join = rt.spawn_blocking(|| 12);
        wait_until("the closure finishes", || join.is_finished());
        join.abort();
        assert_eq!(wait_for("the finished closure", join).unwrap(), 12);
    });
}

// runtime/src/task/join.rs, `JoinHandle::abort_handle`: "Detaching (dropping) the join
// handle does not affect it"; `AbortHandle` "never keeps the runtime alive": aborting once
// the runtime is gone does nothing.
#[test]
fn an_abort_handle_outlives_its_join_handle_and_its_runtime() {
    watch("abort handle without its join handle", || {
        let rt = runtime(1);
        let dropped = counter();
        let guard = DropCounter(dropped.clone());
        let join = rt.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        let abort = join.abort_handle();
        drop(join);
        rt.settle();
        assert!(!abort.is_finished());
        abort.abort();
        wait_until("the aborted task's future is dropped", || {
            dropped.load(Ordering::SeqCst) == 1
        });
        assert!(abort.is_finished());
        // After the runtime is gone.
        let join = rt.spawn(pending::<()>());
        let abort = join.abort_handle();
        drop(rt);
        abort.abort();
        assert!(abort.is_finished());
        assert!(wait_for("the join handle", join)
            .unwrap_err()
            .is_cancelled());
    });
}

// runtime/src/task/join.rs, `JoinHandle`: "Dropping it detaches the task, which keeps
// running; its result is then dropped when it finishes."
#[test]
fn a_detached_task_runs_on_and_its_result_is_dropped_when_it_finishes() {
    watch("a detached task's result", || {
        let rt = runtime(1);
        let dropped = counter();
        let out = DropCounter(dropped.clone());
        let (done_tx, done) = mpsc::channel();
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        drop(rt.spawn(async move {
            let _ = rx.await;
            done_tx.send(()).unwrap();
            out
        }));
        // Detached while it waits; then let it finish.
        tx.send(()).unwrap();
        recv(&done, "the detached task ran on");
        wait_until("its output is dropped", || {
            dropped.load(Ordering::SeqCst) == 1
        });
    });
}

// runtime/src/task/join.rs, `JoinError`'s `Display` (Tokio's words) and `into_panic`: "#
// Panics If the task was cancelled rather than panicked"; `From<JoinError> for io::Error`.
#[test]
fn join_error_texts() {
    let _quiet = quiet_panics();
    watch("JoinError texts", || {
        let rt = runtime(1);
        let join = rt.spawn(pending::<()>());
        let id = join.id();
        join.abort();
        let cancelled = wait_for("the aborted task", join).unwrap_err();
        assert_eq!(cancelled.to_string(), format!("task {id} was cancelled"));
        assert_eq!(
            format!("{cancelled:?}"),
            format!("JoinError::Cancelled({id:?})")
        );
        let io: std::io::Error = cancelled.into();
        assert_eq!(io.kind(), std::io::ErrorKind::Other);
        assert_eq!(io.to_string(), format!("task {id} was cancelled"));

        let join = rt.spawn(async { panic!("{INTENTIONAL}: boom") });
        let id = join.id();
        let panicked = wait_for("the panicking task", join).unwrap_err();
        assert_eq!(
            panicked.to_string(),
            format!("task {id} panicked with message \"{INTENTIONAL}: boom\"")
        );
        let join = rt.spawn(async { std::panic::panic_any(7u8) });
        let id = join.id();
        let opaque = wait_for("the task panicking with a number", join).unwrap_err();
        assert_eq!(opaque.to_string(), format!("task {id} panicked"));

        let join = rt.spawn(pending::<()>());
        join.abort();
        let cancelled = wait_for("the aborted task", join).unwrap_err();
        let message = panic_text(|| cancelled.into_panic());
        assert!(message.contains("cancelled"), "{message}");
    });
}

// ---------------------------------------------------------------------------------------
// Task ids
// ---------------------------------------------------------------------------------------

// runtime/src/task/id.rs, `try_id`: "a `block_on` inside a blocking closure runs inside that
// closure's task, so it sees the closure's id, as in Tokio".
#[test]
fn a_blocking_closure_and_a_block_on_inside_it_see_the_closures_id() {
    watch("ids in a blocking closure", || {
        let rt = runtime(1);
        let join = rt.spawn_blocking(|| {
            let own = task::try_id();
            let inside = Handle::current().block_on(async { task::try_id() });
            (own, inside)
        });
        let id = join.id();
        let (own, inside) = rt.block_on(join).unwrap();
        assert_eq!(own, Some(id));
        assert_eq!(inside, Some(id));
    });
}

/// Records the current task id when dropped.
struct RecordId(Arc<Mutex<Option<Option<task::Id>>>>);

impl Drop for RecordId {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(task::try_id());
    }
}

// runtime/src/task/id.rs: the current task is set "around the drop of its future or of an
// output nobody reads (cancellation, shutdown, a finished task whose handle is gone), so code
// in those `Drop`s sees its task too"; README.md: "`genrt::task::id()`/`try_id()` inside a
// task (also while its future or unread output is dropped)".
#[test]
fn drops_of_a_cancelled_future_and_of_an_unread_output_see_their_task() {
    watch("ids in drops", || {
        let rt = runtime(1);
        // A future cancelled by abort, one by shutdown, and an output nobody reads.
        let aborted = Arc::new(Mutex::new(None));
        let record = RecordId(aborted.clone());
        let join = rt.spawn(async move {
            let _record = record;
            pending::<()>().await;
        });
        let aborted_id = join.id();
        join.abort();
        let _ = wait_for("the aborted task", join);
        assert_eq!(*aborted.lock().unwrap(), Some(Some(aborted_id)));

        let unread = Arc::new(Mutex::new(None));
        let record = RecordId(unread.clone());
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let join = rt.spawn(async move {
            let _ = rx.await;
            record
        });
        let unread_id = join.id();
        drop(join);
        tx.send(()).unwrap();
        wait_until("the unread output is dropped", || {
            unread.lock().unwrap().is_some()
        });
        assert_eq!(*unread.lock().unwrap(), Some(Some(unread_id)));

        let shut = Arc::new(Mutex::new(None));
        let record = RecordId(shut.clone());
        let join = rt.spawn(async move {
            let _record = record;
            pending::<()>().await;
        });
        let shut_id = join.id();
        rt.settle();
        drop(rt);
        assert_eq!(*shut.lock().unwrap(), Some(Some(shut_id)));
    });
}

// ---------------------------------------------------------------------------------------
// JoinSet
// ---------------------------------------------------------------------------------------

// runtime/src/task/join_set.rs, `JoinSet::spawn_on`: "As with [`Handle::spawn`], a task
// spawned onto a runtime that is gone is cancelled at once."
#[test]
fn a_join_set_member_spawned_onto_a_dropped_runtime_is_cancelled() {
    watch("spawn_on a dropped runtime", || {
        let rt = runtime(1);
        let handle = rt.handle().clone();
        drop(rt);
        let mut set = JoinSet::new();
        let abort = set.spawn_on(async { 1 }, &handle);
        assert!(abort.is_finished());
        assert_eq!(set.len(), 1);
        let result = set.try_join_next().expect("the cancelled member is ready");
        assert!(result.unwrap_err().is_cancelled());
        assert!(set.is_empty());
    });
}

// runtime/src/task/join_set.rs, `JoinSet::join_all`: "If a task panicked, its panic is
// resumed here ... Either way the tasks still in the set are aborted (the set is dropped)."
#[test]
fn join_all_resumes_a_panic_and_aborts_the_rest() {
    let _quiet = quiet_panics();
    watch("join_all with a panic", || {
        let rt = runtime(2);
        let dropped = counter();
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let guard = DropCounter(dropped.clone());
            set.spawn_on(
                async move {
                    let _guard = guard;
                    pending::<()>().await;
                },
                rt.handle(),
            );
        }
        set.spawn_on(
            async { panic!("{INTENTIONAL}: a member panics") },
            rt.handle(),
        );
        let message = panic_text(|| rt.block_on(set.join_all()));
        assert!(message.starts_with(INTENTIONAL), "{message}");
        wait_until("the other members are aborted", || {
            dropped.load(Ordering::SeqCst) == 3
        });
        // A cancelled member: join_all panics saying so.
        let mut set = JoinSet::new();
        set.spawn_on(pending::<()>(), rt.handle()).abort();
        let message = panic_text(|| rt.block_on(set.join_all()));
        assert!(message.contains("a task did not finish"), "{message}");
    });
}

// runtime/src/task/join_set.rs, `FromIterator`/`Extend`: "# Panics Outside a task or
// `block_on` of a genrt runtime (when the iterator is not empty)"; `JoinSet::spawn`: "with
// a message saying so".
#[test]
fn collecting_nothing_into_a_join_set_works_anywhere() {
    let _quiet = quiet_panics();
    let set: JoinSet<u8> = std::iter::empty::<std::future::Ready<u8>>().collect();
    assert!(set.is_empty());
    let message = panic_text(|| {
        let _set: JoinSet<u8> = std::iter::once(std::future::ready(1u8)).collect();
    });
    assert!(message.contains("outside a genrt runtime"), "{message}");
}

// runtime/src/task/join_set.rs, `poll_join_next`: "`Pending`, in which case `cx`'s waker is
// woken when a task finishes. The waker of the latest call is the one woken."
#[test]
fn poll_join_next_wakes_the_waker_of_the_latest_call() {
    watch("the latest waker of poll_join_next", || {
        let rt = runtime(1);
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let mut set = JoinSet::new();
        set.spawn_on(
            async move {
                let _ = rx.await;
                4
            },
            rt.handle(),
        );
        let (first, first_waker) = count_wakes();
        let (latest, latest_waker) = count_wakes();
        assert!(set
            .poll_join_next(&mut Context::from_waker(&first_waker))
            .is_pending());
        assert!(set
            .poll_join_next(&mut Context::from_waker(&latest_waker))
            .is_pending());
        tx.send(()).unwrap();
        wait_until("the latest waker is woken", || {
            latest.0.load(Ordering::SeqCst) >= 1
        });
        assert_eq!(
            first.0.load(Ordering::SeqCst),
            0,
            "the replaced waker is not woken"
        );
        let out = set.poll_join_next(&mut Context::from_waker(&latest_waker));
        assert!(matches!(out, Poll::Ready(Some(Ok(4)))));
    });
}

// ---------------------------------------------------------------------------------------
// Shell requests
// ---------------------------------------------------------------------------------------

// runtime/src/shell.rs, `Resolver::resolve`: "Returns `Err(value)` when nobody waits any
// more: the request was dropped because its task finished, was aborted or cancelled, or its
// runtime was dropped. That is never a panic and wakes nothing."
#[test]
fn resolving_after_the_waiting_task_is_gone_hands_the_value_back() {
    watch("late resolves", || {
        let rt = runtime(1);
        // Finished without awaiting its request.
        let (request, finished) = genrt::shell::request::<u32>();
        rt.block_on(rt.spawn(async move {
            let _kept = request;
        }))
        .unwrap();
        assert!(finished.is_cancelled());
        assert_eq!(finished.resolve(1), Err(1));
        // Aborted while awaiting it.
        let (request, aborted) = genrt::shell::request::<u32>();
        let join = rt.spawn(request);
        rt.settle();
        assert!(!aborted.is_cancelled());
        join.abort();
        assert!(wait_for("the aborted task", join)
            .unwrap_err()
            .is_cancelled());
        assert!(aborted.is_cancelled());
        assert_eq!(aborted.resolve(2), Err(2));
        // Its runtime dropped; a stream too.
        let (request, orphaned) = genrt::shell::request::<u32>();
        let (mut stream, sender) = genrt::shell::stream::<u32>();
        drop(rt.spawn(request));
        drop(rt.spawn(async move { stream.next().await }));
        rt.settle();
        drop(rt);
        assert_eq!(orphaned.resolve(3), Err(3));
        assert_eq!(sender.send(4), Err(4));
        assert!(sender.is_cancelled());
    });
}

// runtime/src/shell.rs, `Abandoned`'s `Display`, and `ShellStream::next`: "`None` once the
// resolver is dropped and nothing is left" (and again after that).
#[test]
fn an_abandoned_request_says_so_and_an_ended_stream_stays_ended() {
    watch("abandoned and ended", || {
        let rt = current_thread();
        let (request, resolver) = genrt::shell::request::<u8>();
        drop(resolver);
        let err = rt.block_on(request).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the shell dropped the resolver without resolving the request"
        );
        let (mut stream, sender) = genrt::shell::stream::<u8>();
        sender.send(1).unwrap();
        drop(sender);
        rt.block_on(async {
            assert_eq!(stream.next().await, Some(1));
            assert_eq!(stream.next().await, None);
            assert_eq!(stream.next().await, None);
        });
    });
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

// runtime/src/time/sleep.rs, `Sleep::reset`: "Sets a new deadline, also on a sleep that has
// completed (it is re-armed)"; `is_elapsed`: "Whether it has completed".
#[test]
fn a_completed_sleep_reset_to_the_future_is_pending_again() {
    watch("re-arming a sleep", || {
        let rt = Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let mut sleep = time::sleep(Duration::ZERO);
            (&mut sleep).await;
            assert!(sleep.is_elapsed());
            let at = Instant::now() + Duration::from_secs(5);
            Pin::new(&mut sleep).reset(at);
            assert!(!sleep.is_elapsed(), "re-armed");
            let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut sleep).poll(cx))).await;
            assert!(polled.is_pending());
            (&mut sleep).await;
            assert!(sleep.is_elapsed());
            assert_eq!(Instant::now(), at);
            // A deadline in the past: completes at once.
            let past = Instant::now() - Duration::from_secs(1);
            let mut late = time::sleep_until(past);
            let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut late).poll(cx))).await;
            assert!(polled.is_ready());
            assert!(late.is_elapsed());
        });
    });
}

// runtime/src/time/interval.rs, `Interval::reset_at`: "Makes the next tick come at
// `deadline` (at once if it has passed); the ticks after it follow one period apart".
#[test]
fn an_interval_reset_to_a_past_instant_ticks_at_once() {
    watch("reset_at in the past", || {
        let rt = Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let mut every = time::interval(Duration::from_secs(1));
            every.tick().await;
            time::advance(Duration::from_millis(300)).await;
            let now = Instant::now();
            let past = now - Duration::from_millis(200);
            every.reset_at(past);
            let tick = poll_fn(|cx| Poll::Ready(every.poll_tick(cx))).await;
            assert_eq!(
                tick,
                Poll::Ready(past),
                "at once, returning its scheduled instant"
            );
            assert_eq!(every.tick().await, past + Duration::from_secs(1));
        });
    });
}

// runtime/src/time/timeout.rs, `timeout`: "`Err(Elapsed)` if `duration` passes first (the
// future is then dropped with the `Timeout`)" -- not before.
#[test]
fn a_timed_out_future_is_dropped_with_its_timeout() {
    watch("the future of an elapsed timeout", || {
        let rt = current_thread();
        let dropped = counter();
        let guard = DropCounter(dropped.clone());
        let mut limited = Box::pin(time::timeout(Duration::ZERO, async move {
            let _guard = guard;
            pending::<()>().await;
        }));
        assert!(rt.block_on(limited.as_mut()).is_err());
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            0,
            "kept until the Timeout drops"
        );
        drop(limited);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    });
}

// runtime/src/time/mod.rs, `advance`: "Moves the current runtime's paused clock forward by
// `duration`, fires every timer then due, and yields once so that the tasks they woke can
// run": on a current-thread runtime they have run when `advance` returns (as in Tokio).
#[test]
fn advance_lets_the_tasks_it_woke_run_before_it_returns() {
    watch("advance and the woken tasks", || {
        let rt = Builder::new_current_thread()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let fired = counter();
            for _ in 0..3 {
                let fired = fired.clone();
                drop(genrt::spawn(async move {
                    time::sleep(Duration::from_secs(1)).await;
                    fired.fetch_add(1, Ordering::SeqCst);
                }));
            }
            genrt::yield_now().await; // the tasks register their timers
            time::advance(Duration::from_secs(1)).await;
            assert_eq!(fired.load(Ordering::SeqCst), 3);
        });
    });
}

// runtime/src/time/mod.rs, `pause`: "# Panics Outside a genrt runtime (a task,
// [`block_on`], or an [`enter`] guard)": an enter guard of a current-thread runtime is
// enough, and `Instant::now` there reads the paused clock; `resume` from the same place.
#[test]
fn pause_and_resume_work_under_an_enter_guard() {
    watch("pause under an enter guard", || {
        let rt = current_thread();
        let _entered = rt.enter();
        time::pause();
        let at = Instant::now();
        thread::sleep(Duration::from_millis(5));
        assert_eq!(Instant::now(), at, "paused");
        time::resume();
        let message = panic_text(time::resume);
        assert!(message.contains("not paused"), "{message}");
    });
}

// ---------------------------------------------------------------------------------------
// The cooperative budget
// ---------------------------------------------------------------------------------------

// runtime/src/task/coop.rs, `has_budget_remaining`: "`true` outside any task or `block_on`,
// and inside [`unconstrained`]" -- also once the task spent its budget; and the module docs:
// "A poll that returns `Pending` for its own reasons spends nothing."
#[test]
fn budget_edges() {
    watch("budget edges", || {
        let rt = runtime(1);
        let (unconstrained, spent) = rt
            .block_on(rt.spawn(async {
                let (tx, rx) = futures::channel::oneshot::channel::<()>();
                let mut other = genrt::spawn(async move {
                    let _ = rx.await;
                });
                let mut tx = Some(tx);
                poll_fn(|cx| {
                    // 300 pending polls of a join handle spend nothing ...
                    for _ in 0..300 {
                        assert!(Pin::new(&mut other).poll(cx).is_pending());
                    }
                    // ... so the whole budget is left.
                    let mut spent = 0;
                    while coop::has_budget_remaining() {
                        let mut unit = std::pin::pin!(coop::consume_budget());
                        assert!(unit.as_mut().poll(cx).is_ready());
                        spent += 1;
                    }
                    let mut inside =
                        std::pin::pin!(task::unconstrained(async { coop::has_budget_remaining() }));
                    let unconstrained = match inside.as_mut().poll(cx) {
                        Poll::Ready(left) => left,
                        Poll::Pending => unreachable!("an async block with no await"),
                    };
                    drop(tx.take());
                    Poll::Ready((unconstrained, spent))
                })
                .await
            }))
            .unwrap();
        assert!(unconstrained);
        assert_eq!(spent, 128);
    });
}

// ---------------------------------------------------------------------------------------
// on_worker_thread, spawn outside runtimes, LocalSet
// ---------------------------------------------------------------------------------------

// runtime/src/lib.rs, `on_worker_thread`: "Whether the calling thread is a worker thread of
// any genrt runtime": not a blocking thread, not a thread in a multi-thread runtime's
// `block_on`, nor a thread inside an enter guard.
#[test]
fn on_worker_thread_is_false_off_the_workers() {
    watch("on_worker_thread", || {
        let rt = runtime(1);
        assert!(!rt.block_on(async { genrt::on_worker_thread() }));
        assert!(!rt
            .block_on(rt.spawn_blocking(genrt::on_worker_thread))
            .unwrap());
        let _entered = rt.enter();
        assert!(!genrt::on_worker_thread());
    });
}

// runtime/src/handle.rs, `spawn_blocking` (the function): "# Panics Outside a task,
// `block_on`, blocking closure or `enter` guard of a genrt runtime, with a message saying
// so"; `Handle::current`, the same for `TryCurrentError`'s text.
#[test]
fn spawning_outside_a_runtime_panics_saying_so() {
    let _quiet = quiet_panics();
    let message = panic_text(|| genrt::spawn_blocking(|| ()));
    assert!(message.contains("outside a genrt runtime"), "{message}");
    let message = panic_text(|| genrt::spawn(async {}));
    assert!(message.contains("outside a genrt runtime"), "{message}");
    let message = panic_text(Handle::current);
    assert!(message.contains("outside a genrt runtime"), "{message}");
    let message = panic_text(|| task::spawn_local(async {}));
    assert!(
        message.contains("outside of a `task::LocalSet`"),
        "{message}"
    );
}

// runtime/src/task/local_set.rs, `LocalSet::spawn_local`: "it runs when the set is driven
// (as Tokio's, it does not run before)"; `run_until`: "tasks still unfinished then stay in the
// set"; `LocalSet`: "Dropping the set drops every task left in it, on its thread; their join
// handles then report cancelled".
#[test]
fn local_set_tasks_wait_for_the_set_stay_in_it_and_go_with_it() {
    watch("a LocalSet's tasks", || {
        let rt = current_thread();
        let local = task::LocalSet::new();
        let ran = std::rc::Rc::new(std::cell::Cell::new(0));
        let seen = ran.clone();
        let slow = local.spawn_local(async move {
            for _ in 0..3 {
                genrt::yield_now().await;
            }
            seen.set(seen.get() + 1);
        });
        rt.block_on(async { genrt::yield_now().await });
        assert_eq!(ran.get(), 0, "not run before the set is driven");
        local.block_on(&rt, async {});
        assert_eq!(ran.get(), 0, "still unfinished");
        assert!(!slow.is_finished());
        local.block_on(&rt, slow).unwrap();
        assert_eq!(ran.get(), 1);
        let dropped = counter();
        let guard = DropCounter(dropped.clone());
        let left = local.spawn_local(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        local.block_on(&rt, genrt::yield_now());
        let thread = thread::current().id();
        drop(local);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert_eq!(thread, thread::current().id());
        assert!(wait_for("the dropped set's task", left)
            .unwrap_err()
            .is_cancelled());
    });
}

// runtime/src/task/join_set.rs, `JoinSet::spawn`: "# Panics Outside a task or `block_on` of a
// genrt runtime"; `JoinSet::spawn_blocking`: "Outside a task, `block_on` or blocking closure".
// Both find the runtime wherever `Handle::current` does: inside an `enter` guard and a
// blocking closure too (as `genrt::spawn` does, and Tokio's `JoinSet::spawn`).
#[test]
fn join_set_spawns_work_inside_an_enter_guard_and_a_blocking_closure() {
    watch("JoinSet::spawn off the runtime's tasks", || {
        let rt = runtime(1);
        let mut set = JoinSet::new();
        {
            let _entered = rt.enter();
            set.spawn(async { 1 });
            set.spawn_blocking(|| 2);
        }
        let inner = rt.spawn_blocking(|| {
            let mut set = JoinSet::new();
            set.spawn(async { 3 });
            set.spawn_blocking(|| 4);
            Handle::current()
                .block_on(set.join_all())
                .into_iter()
                .sum::<u32>()
        });
        let mut values = rt.block_on(set.join_all());
        values.sort();
        assert_eq!(values, [1, 2]);
        assert_eq!(rt.block_on(inner).unwrap(), 7);
    });
}

// runtime/src/task/join.rs, `JoinHandle::abort` (and `AbortHandle::abort`): "Its future is
// dropped the next time a worker would poll it (at once if it is idle)": nobody needs to
// await the handle. On a current-thread runtime "at once" means once a thread drives it
// (its one worker is run by `block_on` or `settle`).
#[test]
fn an_aborted_idle_task_is_dropped_without_awaiting_its_handle() {
    watch("abort of an idle task", || {
        for flavor in [RuntimeFlavor::MultiThread, RuntimeFlavor::CurrentThread] {
            let rt = match flavor {
                RuntimeFlavor::CurrentThread => current_thread(),
                _ => runtime(1),
            };
            let dropped = counter();
            let guard = DropCounter(dropped.clone());
            let join = rt.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
            rt.settle();
            join.abort();
            if flavor == RuntimeFlavor::CurrentThread {
                rt.settle(); // drives its worker
            }
            wait_until("the aborted task's future is dropped", || {
                dropped.load(Ordering::SeqCst) == 1
            });
            assert!(join.is_finished(), "{flavor:?}");
        }
    });
}

// runtime/src/runtime.rs, `Builder::thread_keep_alive`: "Sets how long a blocking thread
// waits for a new closure before it exits" -- zero included: threads exit as soon as they
// are idle, and no closure is lost between a thread's exit and the next spawn
// (runtime/src/blocking.rs: "every queued task is taken by some thread").
#[test]
fn a_zero_keep_alive_loses_no_closure() {
    watch("thread_keep_alive(ZERO)", || {
        let rt = Builder::new()
            .worker_threads(1)
            .max_blocking_threads(2)
            .thread_keep_alive(Duration::ZERO)
            .build()
            .unwrap();
        for round in 0..100 {
            let joins: Vec<_> = (0..6).map(|i| rt.spawn_blocking(move || i)).collect();
            for (i, join) in joins.into_iter().enumerate() {
                assert_eq!(wait_for("a closure", join).unwrap(), i, "round {round}");
            }
        }
    });
}

// runtime/src/runtime.rs, `Builder::on_thread_park`: "Runs `f` on a worker thread each time
// it is about to park for want of work"; `on_thread_unpark`: "each time it is back". A
// current-thread runtime's worker parks in its `block_on` (as Tokio's runs its park hooks).
#[test]
fn a_current_thread_runtime_runs_its_park_hooks_around_block_on_waits() {
    watch("park hooks of a current-thread runtime", || {
        let parks = counter();
        let unparks = counter();
        let (p, u) = (parks.clone(), unparks.clone());
        let rt = Builder::new_current_thread()
            .on_thread_park(move || {
                p.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_unpark(move || {
                u.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        rt.block_on(time::sleep(Duration::from_millis(5)));
        assert!(parks.load(Ordering::SeqCst) >= 1);
        assert!(unparks.load(Ordering::SeqCst) >= 1);
    });
}

// runtime/src/task/local_set.rs, `LocalSet::run_until`: "Each turn polls `future` first, then
// up to 61 of the set's scheduled tasks, and yields to whatever drives it if more are
// queued."
#[test]
fn run_until_polls_its_future_first_and_at_most_61_tasks_between_its_polls() {
    watch("run_until's turns", || {
        let rt = current_thread();
        let local = task::LocalSet::new();
        let ran = std::rc::Rc::new(std::cell::Cell::new(0usize));
        for _ in 0..200 {
            let ran = ran.clone();
            local.spawn_local(async move { ran.set(ran.get() + 1) });
        }
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let (ran2, seen2) = (ran.clone(), seen.clone());
        local.block_on(
            &rt,
            poll_fn(move |cx| {
                seen2.borrow_mut().push(ran2.get());
                if ran2.get() == 200 {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }),
        );
        let seen = seen.borrow();
        assert_eq!(seen[0], 0, "the future is polled first");
        for pair in seen.windows(2) {
            assert!(pair[1] - pair[0] <= 61, "{seen:?}");
        }
        assert_eq!(*seen.last().unwrap(), 200);
    });
}

// runtime/src/runtime.rs, `Runtime`: "Dropping it shuts it down: every task is cancelled and
// every future dropped before `drop` returns", the one exception being a runtime "Dropped
// from inside one of its own tasks". A current-thread runtime driven by another thread's
// `Handle::block_on`, in the middle of a task's poll there, is no exception: the drop waits
// for that poll to return, as it waits for a multi-thread runtime's workers.
#[test]
fn dropping_a_current_thread_runtime_waits_for_the_poll_its_driver_is_in() {
    watch("dropping a current-thread runtime mid-poll", || {
        let rt = current_thread();
        let handle = rt.handle().clone();
        let dropped = counter();
        let guard = DropCounter(dropped.clone());
        let (in_poll_tx, in_poll) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let task = rt.spawn(async move {
            let _guard = guard;
            in_poll_tx.send(()).unwrap();
            let _ = released.recv(); // blocks the driver inside this poll
            pending::<()>().await;
        });
        let driver = thread::spawn(move || handle.block_on(task));
        recv(&in_poll, "the task's poll on the driving thread");
        let seen = dropped.clone();
        let dropper = thread::spawn(move || {
            drop(rt);
            seen.load(Ordering::SeqCst)
        });
        // Time for a drop that does not wait to return (nothing is measured: a drop that
        // waits passes whatever the delay).
        thread::sleep(Duration::from_millis(50));
        release.send(()).unwrap();
        let at_return = dropper.join().unwrap();
        assert_eq!(
            at_return, 1,
            "the drop returned before the task's future was dropped"
        );
        assert!(driver.join().unwrap().unwrap_err().is_cancelled());
    });
}

// runtime/src/runtime.rs, `Runtime::shutdown_timeout`: "a worker stuck in a long poll is left
// behind, and drops its task when that poll returns ... Returns whether every worker and
// blocking thread had exited": a current-thread runtime's driver stuck in a task's poll on
// another thread is such a worker.
#[test]
fn shutdown_timeout_gives_up_on_a_current_thread_driver_stuck_in_a_poll() {
    watch(
        "shutdown_timeout of a current-thread runtime mid-poll",
        || {
            let rt = current_thread();
            let handle = rt.handle().clone();
            let dropped = counter();
            let guard = DropCounter(dropped.clone());
            let (in_poll_tx, in_poll) = mpsc::channel();
            let (release, released) = mpsc::channel::<()>();
            let task = rt.spawn(async move {
                let _guard = guard;
                in_poll_tx.send(()).unwrap();
                let _ = released.recv();
                pending::<()>().await;
            });
            let driver = thread::spawn(move || handle.block_on(task));
            recv(&in_poll, "the task's poll on the driving thread");
            assert!(!rt.shutdown_timeout(Duration::from_millis(20)));
            assert_eq!(dropped.load(Ordering::SeqCst), 0, "still in its poll");
            release.send(()).unwrap();
            wait_until("the driver drops the task as its poll returns", || {
                dropped.load(Ordering::SeqCst) == 1
            });
            assert!(driver.join().unwrap().unwrap_err().is_cancelled());
        },
    );
}

//! Behaviour a Tokio user expects around drops and panics: a value the runtime drops on a
//! user's behalf never re-raises its `Drop` panic in the user's code or on a worker; a task
//! whose future panics in `Drop` when aborted or shut down reports a panic, not a
//! cancellation; cleanup code in such a `Drop` finds the runtime with `Handle::try_current`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use support::{drop_runtime, panic_message, runtime, wait_for, wait_until, Watchdog};

/// Panics when dropped, with a message starting "intentional".
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("intentional panic in Drop");
        }
    }
}

/// The reproduction: the output of a finished task panics in `Drop`; dropping its
/// join handle drops the output and must not panic in the caller (Tokio catches it).
#[test]
fn dropping_a_join_handle_whose_output_panics_in_drop_does_not_panic() {
    let _quiet = QuietPanics::install();
    let rt = runtime(2);
    let handle = rt.spawn(async { PanicsOnDrop });
    rt.settle();
    assert!(handle.is_finished());
    catch_unwind(AssertUnwindSafe(|| drop(handle)))
        .expect("dropping the join handle re-raised the output's Drop panic");
    drop_runtime(rt);
}

/// The same output, but its handle is gone before the task finishes: the worker drops the
/// output, survives, and runs later tasks.
#[test]
fn an_unwanted_output_that_panics_in_drop_does_not_kill_the_worker() {
    let _quiet = QuietPanics::install();
    let rt = runtime(1);
    for _ in 0..10 {
        drop(rt.spawn(async {
            genrt::yield_now().await;
            PanicsOnDrop
        }));
    }
    rt.settle();
    assert_eq!(wait_for("a later task", rt.spawn(async { 5 })).unwrap(), 5);
    rt.settle();
    let m = rt.metrics().snapshot();
    assert_eq!((m.completed, m.live_tasks), (11, 0), "{m:?}");
    drop_runtime(rt);
}

/// A task's panic payload that itself panics in `Drop`, dropped with the join handle.
#[test]
fn dropping_a_join_handle_whose_panic_payload_panics_in_drop_does_not_panic() {
    let rt = runtime(1);
    let _quiet = QuietPanics::install();
    let handle = rt.spawn(async { std::panic::resume_unwind(Box::new(PanicsOnDrop)) });
    rt.settle();
    assert!(handle.is_finished());
    catch_unwind(AssertUnwindSafe(|| drop(handle)))
        .expect("dropping the join handle re-raised the payload's Drop panic");
    assert_eq!(wait_for("a later task", rt.spawn(async { 5 })).unwrap(), 5);
    drop_runtime(rt);
}

/// Tokio's `test_abort_task_that_panics_on_drop_returned`: aborting a task whose future
/// panics in `Drop` gives a `JoinError` that is a panic, carrying the `Drop`'s payload.
#[test]
fn aborting_a_task_whose_future_panics_in_drop_reports_a_panic() {
    let _quiet = QuietPanics::install();
    let rt = runtime(2);
    let started = Arc::new(AtomicBool::new(false));
    let handle = {
        let started = started.clone();
        rt.spawn(async move {
            let _bomb = PanicsOnDrop;
            started.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
        })
    };
    wait_until("the task is suspended", || started.load(Ordering::SeqCst));
    handle.abort();
    let err = wait_for("an aborted task", handle).unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled(), "{err:?}");
    let payload = err.into_panic();
    assert_eq!(
        panic_message(&*payload),
        Some("intentional panic in Drop"),
        "the payload is the Drop's"
    );
    // Aborted before its first poll (the bomb is captured, so dropped with the unstarted
    // future): the same.
    let bomb = PanicsOnDrop;
    let handle = rt.spawn(async move {
        let _bomb = bomb;
        std::future::pending::<()>().await;
    });
    handle.abort();
    assert!(wait_for("a task aborted at once", handle)
        .unwrap_err()
        .is_panic());
    drop_runtime(rt);
}

/// Shutdown drops every pending future; one that panics in `Drop` reports a panic.
#[test]
fn a_future_panicking_in_drop_at_shutdown_reports_a_panic() {
    let _quiet = QuietPanics::install();
    let rt = runtime(2);
    let bomb = rt.spawn(async move {
        let _bomb = PanicsOnDrop;
        std::future::pending::<()>().await;
    });
    let quiet = rt.spawn(std::future::pending::<()>());
    rt.settle();
    drop_runtime(rt);
    assert!(wait_for("the bomb", bomb).unwrap_err().is_panic());
    assert!(wait_for("the quiet one", quiet).unwrap_err().is_cancelled());
}

/// What a `Drop` run by shutdown saw of the runtime.
#[derive(Default)]
struct Seen {
    current: AtomicUsize,
    spawn_cancelled: AtomicUsize,
}

/// Looks the runtime up in its `Drop`, as cleanup code may, and spawns a task there.
struct LooksUpTheRuntime(Arc<Seen>);

impl Drop for LooksUpTheRuntime {
    fn drop(&mut self) {
        if let Ok(handle) = genrt::Handle::try_current() {
            self.0.current.fetch_add(1, Ordering::SeqCst);
            // The runtime is shutting down: the spawn is cancelled at once, no panic.
            let join = handle.spawn(async { 1 });
            if join.is_finished() {
                let err = futures::executor::block_on(join).unwrap_err();
                if err.is_cancelled() {
                    self.0.spawn_cancelled.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }
}

/// `Handle::try_current` inside the `Drop` of a future that shutdown drops finds the runtime
/// being shut down (also when the drop happens inside another runtime's `block_on`), and a
/// spawn there is cancelled gracefully.
#[test]
fn handle_try_current_works_in_drops_run_by_shutdown() {
    const TASKS: usize = 10;
    let seen = Arc::new(Seen::default());
    let rt = runtime(2);
    for _ in 0..TASKS {
        let guard = LooksUpTheRuntime(seen.clone());
        rt.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
    }
    rt.settle();
    drop_runtime(rt);
    assert_eq!(seen.current.load(Ordering::SeqCst), TASKS);
    assert_eq!(seen.spawn_cancelled.load(Ordering::SeqCst), TASKS);

    // Dropped from inside another runtime's block_on: the dropped runtime is the current
    // one while its futures are dropped (the spawn is cancelled, so it went to the closed
    // runtime), and the other one is current again afterwards.
    let seen = Arc::new(Seen::default());
    let outer = runtime(1);
    let inner = runtime(1);
    for _ in 0..TASKS {
        let guard = LooksUpTheRuntime(seen.clone());
        inner.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
    }
    inner.settle();
    let _watchdog = Watchdog::new("dropping a runtime inside another's block_on").arm();
    let outer_still_current = outer.block_on(async move {
        drop(inner);
        genrt::spawn(async { 7 }).await.unwrap()
    });
    assert_eq!(outer_still_current, 7);
    assert_eq!(seen.current.load(Ordering::SeqCst), TASKS);
    assert_eq!(seen.spawn_cancelled.load(Ordering::SeqCst), TASKS);
    drop_runtime(outer);
}

/// Keeps panics whose message starts with "intentional" out of the test log while alive.
struct QuietPanics;

type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send>;

static PREVIOUS: Mutex<Option<Hook>> = Mutex::new(None);

impl QuietPanics {
    fn install() -> QuietPanics {
        let mut previous = PREVIOUS.lock().unwrap();
        if previous.is_none() {
            *previous = Some(std::panic::take_hook());
            std::panic::set_hook(Box::new(|info| {
                let intentional = panic_message(info.payload())
                    .is_some_and(|m| m.starts_with("intentional"))
                    || info.payload().is::<PanicsOnDrop>();
                if !intentional {
                    if let Some(previous) = PREVIOUS.lock().unwrap().as_ref() {
                        previous(info);
                    }
                }
            }));
        }
        QuietPanics
    }
}

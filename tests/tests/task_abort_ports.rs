//! Tokio's `tests/task_abort.rs` (aborting tasks, and the text of a `JoinError`), the tests
//! not ported elsewhere, translated to genrt. Each test names the Tokio test it ports. Every
//! test runs under a watchdog; none bounds a real-time duration from above.
//!
//! Ported here: `test_abort_without_panic_3157`, `test_abort_without_panic_3662`,
//! `remote_abort_local_set_3929`, `test_abort_wakes_task_3964`,
//! `test_abort_task_that_panics_on_drop_contained`, `test_join_error_display`.
//!
//! What changed in the port:
//! - `remote_abort_local_set_3929`: Tokio's check panics in the `Drop` of a value that is not
//!   `Send` if it is dropped on another thread than its own. genrt catches a panic of a
//!   future's `Drop` and reports it through the join handle, which this test drops unread, so
//!   the panic alone would go unseen: the `Drop` also records where it ran, and the test
//!   asserts it ran once, on the set's thread.
//! - `test_abort_task_that_panics_on_drop_contained` and `test_join_error_display`: the panic
//!   messages start with `support::INTENTIONAL` (so `quiet_panics` keeps them out of the
//!   log); `test_join_error_display` checks the same prefix and suffix as Tokio's.
//! - The 10 ms sleeps that let an aborted task run are kept: they are waits inside the
//!   runtime, on the current-thread flavor, where the `block_on` thread runs the aborted task
//!   while its future sleeps.
//!
//! Ported elsewhere (not repeated here): `test_abort_task_that_panics_on_drop_returned`
//! (`parity.rs`, `aborting_a_task_whose_future_panics_in_drop_reports_a_panic`),
//! `test_join_error_debug` (`api_parity_ports.rs`).
//!
//! Skipped: nothing else (the file has no I/O or `tokio_unstable` tests).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use genrt::runtime::Builder;
use genrt::task::{self, LocalSet};
use support::{quiet_panics, Watchdog, INTENTIONAL};

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{INTENTIONAL}: well what did you expect would happen...");
    }
}

/// `task_abort::test_abort_without_panic_3157` (Tokio #3157): a task suspended in a sleep,
/// on a one-worker multi-thread runtime, is aborted and joined without a panic.
#[test]
fn test_abort_without_panic_3157() {
    Watchdog::new("test_abort_without_panic_3157").run(|| {
        let rt = Builder::new_multi_thread()
            .enable_time()
            .worker_threads(1)
            .build()
            .unwrap();
        rt.block_on(async move {
            let handle =
                genrt::spawn(async move { genrt::time::sleep(Duration::new(100, 0)).await });
            // Let the task reach its sleep.
            genrt::time::sleep(Duration::from_millis(10)).await;
            handle.abort();
            let _ = handle.await;
        });
    });
}

/// Sets its flag when dropped.
struct DropCheck(Arc<AtomicBool>);

impl Drop for DropCheck {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `task_abort::test_abort_without_panic_3662` (Tokio #3662): on a current-thread runtime,
/// a task is aborted from another thread (with no access to the runtime); joining it drops
/// its future and reports cancelled, and the runtime carries on.
#[test]
fn test_abort_without_panic_3662() {
    Watchdog::new("test_abort_without_panic_3662").run(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        rt.block_on(async move {
            let drop_flag = Arc::new(AtomicBool::new(false));
            let drop_check = DropCheck(drop_flag.clone());
            let j = genrt::spawn(async move {
                // Moved into the task's future.
                let _drop_check = drop_check;
                futures::future::pending::<()>().await;
            });
            let drop_flag2 = drop_flag.clone();
            let task = thread::spawn(move || {
                // Another thread, outside the runtime: the abort completes the task there,
                // but its future must be dropped by the runtime.
                assert!(!drop_flag2.load(Ordering::SeqCst));
                j.abort();
                j
            })
            .join()
            .unwrap();
            let result = task.await;
            assert!(drop_flag.load(Ordering::SeqCst));
            assert!(result.unwrap_err().is_cancelled());
            // A task that is pending once, as Tokio's deferred clean-up needs.
            let i = genrt::spawn(async move {
                task::yield_now().await;
            });
            i.await.unwrap();
        });
    });
}

/// A value that is not `Send` and records the thread it is dropped on.
struct NotSendDropCheck {
    created_on: ThreadId,
    dropped_on: Arc<Mutex<Vec<ThreadId>>>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for NotSendDropCheck {
    fn drop(&mut self) {
        let here = thread::current().id();
        self.dropped_on.lock().unwrap().push(here);
        if here != self.created_on {
            panic!("non-Send value dropped in another thread!");
        }
    }
}

/// `task_abort::remote_abort_local_set_3929` (Tokio #3929): a suspended task of a
/// `LocalSet` is aborted from another thread; the set, awaited as a future, then completes,
/// and the task's future (which is not `Send`) is dropped on the set's thread.
#[test]
fn remote_abort_local_set_3929() {
    let dropped_on = Arc::new(Mutex::new(Vec::new()));
    let set_thread = Watchdog::new("remote_abort_local_set_3929").run({
        let dropped_on = dropped_on.clone();
        move || {
            let rt = Builder::new_current_thread().build().unwrap();
            let local = LocalSet::new();
            let check = NotSendDropCheck {
                created_on: thread::current().id(),
                dropped_on,
                _not_send: PhantomData,
            };
            let jh = local.spawn_local(async move {
                futures::future::pending::<()>().await;
                drop(check);
            });
            let jh2 = thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                jh.abort();
            });
            rt.block_on(local);
            jh2.join().unwrap();
            thread::current().id()
        }
    });
    assert_eq!(*dropped_on.lock().unwrap(), [set_thread]);
}

/// `task_abort::test_abort_wakes_task_3964` (Tokio #3964): aborting a suspended task and
/// dropping its join handle at once still wakes the task, which drops its future.
#[test]
fn test_abort_wakes_task_3964() {
    Watchdog::new("test_abort_wakes_task_3964").run(|| {
        let rt = Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async move {
            let notify_dropped = Arc::new(());
            let weak_notify_dropped = Arc::downgrade(&notify_dropped);
            let handle = genrt::spawn(async move {
                // Moved into the task's future.
                let _notify_dropped = notify_dropped;
                genrt::time::sleep(Duration::new(100, 0)).await
            });
            // Let the task reach its sleep.
            genrt::time::sleep(Duration::from_millis(10)).await;
            handle.abort();
            drop(handle);
            // Let the aborted task run.
            genrt::time::sleep(Duration::from_millis(10)).await;
            assert!(weak_notify_dropped.upgrade().is_none());
        });
    });
}

/// `task_abort::test_abort_task_that_panics_on_drop_contained`: aborting a task whose future
/// panics in `Drop`, its join handle dropped, does not let the panic out of the task.
#[test]
fn test_abort_task_that_panics_on_drop_contained() {
    let _quiet = quiet_panics();
    let dropped = Arc::new(AtomicUsize::new(0));
    Watchdog::new("test_abort_task_that_panics_on_drop_contained").run({
        let dropped = dropped.clone();
        move || {
            let rt = Builder::new_current_thread().enable_time().build().unwrap();
            rt.block_on(async move {
                let handle = genrt::spawn(async move {
                    let _count = support::DropCounter(dropped);
                    let _panic_dropped = PanicOnDrop;
                    genrt::time::sleep(Duration::new(100, 0)).await
                });
                // Let the task reach its sleep.
                genrt::time::sleep(Duration::from_millis(10)).await;
                handle.abort();
                drop(handle);
                // Let the aborted task run.
                genrt::time::sleep(Duration::from_millis(10)).await;
            });
        }
    });
    // Not in Tokio's test: the future was indeed dropped (its panic was the drop's).
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

/// Asserts that `text` starts with `prefix` and ends with `suffix`.
#[track_caller]
fn assert_framed(text: &str, prefix: &str, suffix: &str) {
    assert!(
        text.starts_with(prefix) && text.ends_with(suffix),
        "unexpected JoinError text {text:?}"
    );
}

/// `task_abort::test_join_error_display`: a `JoinError` of a panic shows as `task <id>
/// panicked with message "<message>"` when the payload is a string (`String` or `&'static
/// str`), and `task <id> panicked` otherwise. (The task id is not checked, as in Tokio.)
#[test]
fn test_join_error_display() {
    let _quiet = quiet_panics();
    Watchdog::new("test_join_error_display").run(|| {
        let rt = Builder::new_current_thread().build().unwrap();
        rt.block_on(async move {
            // A `String` payload.
            let join_err = genrt::spawn(async move {
                let value = 1234;
                panic!("{INTENTIONAL}: format-args payload: {value}")
            })
            .await
            .unwrap_err();
            assert_framed(
                &join_err.to_string(),
                "task ",
                " panicked with message \"intentional panic: format-args payload: 1234\"",
            );

            // A `&'static str` payload.
            let join_err = genrt::spawn(async move { panic!("intentional panic: const payload") })
                .await
                .unwrap_err();
            assert_framed(
                &join_err.to_string(),
                "task ",
                " panicked with message \"intentional panic: const payload\"",
            );

            // Any other payload.
            let join_err = genrt::spawn(async move { std::panic::panic_any(1234i32) })
                .await
                .unwrap_err();
            assert_framed(&join_err.to_string(), "task ", " panicked");
        });
    });
}

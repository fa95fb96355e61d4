//! Tokio behaviours of the time, blocking, `JoinSet` and `Handle` APIs that a Tokio user's
//! code or tests rely on, checked on genrt. Each test names the Tokio test or documented
//! behaviour it checks. Every wait is bounded.
//!
//! Checked here:
//! - `tokio::time::error::Elapsed` converts into `std::io::Error` of kind `TimedOut` (its
//!   `From` impl), so `timeout(..).await?` works in a function returning `io::Result`;
//!   `Elapsed`'s text "deadline has elapsed"; `Elapsed: Clone + Copy + Eq + Error`.
//! - `timeout` of a future that panics: the panic comes out of the timeout's poll (the
//!   task's `JoinError` is a panic, with the payload).
//! - `time_interval.rs` `interval_zero_duration`, with Tokio's message "`period` must be
//!   non-zero." (also for `interval`).
//! - `sleep_until` with a deadline in the past, and `sleep(Duration::ZERO)`, are ready on the
//!   first poll; `Instant + Duration::MAX` panics like `std::time::Instant`'s.
//! - `task_join_set.rs` (`join_set_coop` is ported in `coop.rs`): the
//!   `FromIterator` and `Extend` impls (Tokio's docs: spawn each future on the current
//!   runtime, panic outside one); `detach_all` (Tokio's test of the same name: the tasks
//!   keep running, the set is empty); `join_next` on an empty set is `None` at once;
//!   `JoinSet: Default + Debug`.
//! - `spawn`, `spawn_blocking` and `JoinSet::spawn` outside a runtime panic with a message
//!   naming the runtime (Tokio: "must be called from the context of a Tokio 1.x runtime").
//! - `Handle::current()` inside `spawn_blocking` is the closure's runtime (Tokio's docs of
//!   `spawn_blocking`); `Handle: Clone + Debug`.
//!
//! - `task_abort.rs` `test_join_error_debug` (`JoinError`'s exact Debug form);
//!   `task_join_set.rs` `runtime_gone` (with a member that never finishes: a genrt task runs
//!   without `block_on`); `Runtime::handle` borrows, as Tokio's (`spawn_on(.., rt.handle())`).
//! - `tokio::time::Duration` and `tokio::time::error::Elapsed` at genrt's same paths;
//!   `JoinHandle`, `AbortHandle`, `Runtime` and `Handle` are `UnwindSafe + RefUnwindSafe`
//!   (Tokio's `unwindsafe.rs`), so `catch_unwind(|| rt.block_on(..))` compiles as is.
//! - a `block_on` on a worker thread panics with Tokio's words, "Cannot start a runtime
//!   from within a runtime" (`task::unconstrained` and the budget are tested in `coop.rs`).
//!
//! Auto traits (`Send`/`Sync`/`Unpin`) are checked at compile time in `auto_traits.rs`.

use std::future::Future;
use std::pin::pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use genrt::time::{interval, interval_at, sleep, sleep_until, timeout, Elapsed, Instant};
use genrt::JoinSet;
use support::{panic_message, quiet_panics, recv, runtime, wait_for};

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    pin!(future).poll(&mut cx)
}

/// Runs `f`, which must panic, and returns its message.
#[track_caller]
fn panic_text<R>(f: impl FnOnce() -> R) -> String {
    let _quiet = quiet_panics();
    let payload = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload,
    };
    panic_message(&*payload)
        .expect("a text panic message")
        .to_string()
}

// ---- time ----

#[test]
fn elapsed_converts_into_an_io_error_of_kind_timed_out() {
    async fn read_with_limit() -> std::io::Result<u32> {
        let value = timeout(Duration::ZERO, std::future::pending::<u32>()).await?;
        Ok(value)
    }
    let rt = runtime(1);
    let err = rt.block_on(read_with_limit()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);

    let elapsed: Elapsed = rt
        .block_on(timeout(Duration::ZERO, std::future::pending::<()>()))
        .unwrap_err();
    let copy = elapsed;
    assert_eq!(copy, elapsed.clone());
    assert_eq!(elapsed.to_string(), "deadline has elapsed");
    let _: &(dyn std::error::Error + Send + Sync + 'static) = &elapsed;
}

#[test]
fn a_panic_inside_a_timeout_comes_out_of_its_poll() {
    let rt = runtime(1);
    let task = rt.spawn(timeout(Duration::from_secs(3600), async {
        panic!("boom inside a timeout")
    }));
    let _quiet = quiet_panics();
    let err = wait_for("the task of the panicking timeout", task).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        panic_message(&*err.into_panic()),
        Some("boom inside a timeout")
    );
}

#[test]
fn interval_zero_period_panics_with_tokios_message() {
    let rt = runtime(1);
    let _guard = rt.enter();
    let text = panic_text(|| interval(Duration::ZERO));
    assert!(text.contains("`period` must be non-zero."), "{text}");
    let text = panic_text(|| interval_at(Instant::now(), Duration::ZERO));
    assert!(text.contains("`period` must be non-zero."), "{text}");
}

#[test]
fn a_sleep_whose_deadline_has_passed_is_ready_on_the_first_poll() {
    let rt = runtime(1);
    let _guard = rt.enter();
    let past = Instant::now()
        .checked_sub(Duration::from_millis(50))
        .unwrap_or_else(Instant::now);
    assert!(poll_once(sleep_until(past)).is_ready());
    assert!(poll_once(sleep_until(Instant::now())).is_ready());
    assert!(poll_once(sleep(Duration::ZERO)).is_ready());
    // And a sleep of `Duration::MAX` neither panics nor completes.
    assert!(poll_once(sleep(Duration::MAX)).is_pending());
}

#[test]
fn instant_overflow_panics_like_std() {
    let now = Instant::now();
    let _ = panic_text(|| now + Duration::MAX);
    let _ = panic_text(|| now - Duration::MAX);
    assert!(now.checked_add(Duration::MAX).is_none());
    // `later - earlier` saturates to zero, as std's `Instant` does since Rust 1.60.
    assert_eq!(now - (now + Duration::from_secs(1)), Duration::ZERO);
}

// ---- JoinSet ----

#[test]
fn join_set_collects_and_extends_from_futures() {
    let rt = runtime(2);
    let mut values = rt.block_on(async {
        let mut set: JoinSet<u32> = (0..5u32).map(|i| async move { i }).collect();
        assert_eq!(set.len(), 5);
        set.extend((5..10u32).map(|i| async move { i }));
        assert_eq!(set.len(), 10);
        set.join_all().await
    });
    values.sort_unstable();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
}

#[test]
fn join_set_from_iter_outside_a_runtime_panics_with_a_clear_message() {
    let text = panic_text(|| std::iter::once(async { 1u8 }).collect::<JoinSet<u8>>());
    assert!(text.contains("outside a genrt runtime"), "{text}");
}

#[test]
fn join_set_detach_all_leaves_the_tasks_running() {
    let rt = runtime(2);
    let (gate_tx, gate_rx) = futures::channel::oneshot::channel::<()>();
    let gate = futures::future::FutureExt::shared(gate_rx);
    let (done_tx, done_rx) = mpsc::channel();
    let mut set = JoinSet::new();
    for i in 0..3 {
        let gate = gate.clone();
        let done = done_tx.clone();
        set.spawn_on(
            async move {
                let _ = gate.await;
                done.send(i).unwrap();
            },
            rt.handle(),
        );
    }
    set.detach_all();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    assert!(matches!(poll_once(set.join_next()), Poll::Ready(None)));
    drop(set);
    gate_tx.send(()).unwrap();
    let mut finished: Vec<i32> = (0..3).map(|_| recv(&done_rx, "a detached task")).collect();
    finished.sort_unstable();
    assert_eq!(finished, [0, 1, 2]);
}

#[test]
fn join_set_detach_all_then_reuse() {
    let rt = runtime(1);
    let out = rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(std::future::pending::<u32>());
        set.detach_all();
        set.spawn(async { 7 });
        let first = set.join_next().await.unwrap().unwrap();
        (first, set.join_next().await.is_none())
    });
    assert_eq!(out, (7, true));
}

#[test]
fn join_next_on_an_empty_set_is_none_at_once() {
    let mut set = JoinSet::<u8>::default();
    assert!(matches!(poll_once(set.join_next()), Poll::Ready(None)));
    assert!(set.try_join_next().is_none());
    assert!(format!("{set:?}").contains("JoinSet"));
}

// ---- spawning outside a runtime, Handle ----

#[test]
fn spawning_outside_a_runtime_panics_with_a_clear_message() {
    let text = panic_text(|| genrt::spawn(async {}));
    assert!(text.contains("outside a genrt runtime"), "{text}");
    let text = panic_text(|| genrt::spawn_blocking(|| ()));
    assert!(text.contains("outside a genrt runtime"), "{text}");
    let text = panic_text(|| JoinSet::<()>::new().spawn(async {}));
    assert!(text.contains("outside a genrt runtime"), "{text}");
    let text = panic_text(|| JoinSet::<()>::new().spawn_blocking(|| ()));
    assert!(text.contains("outside a genrt runtime"), "{text}");
    let text = panic_text(genrt::Handle::current);
    assert!(text.contains("outside a genrt runtime"), "{text}");
}

#[test]
fn handle_current_inside_spawn_blocking_is_the_closures_runtime() {
    let rt = runtime(1);
    let other = runtime(1);
    // Inside `other`'s context, spawn onto `rt`: the closure must see `rt`.
    let join = {
        let _guard = other.enter();
        rt.handle().spawn_blocking(genrt::Handle::current)
    };
    let inner = wait_for("the blocking closure", join).unwrap();
    let before = (
        rt.metrics().snapshot().live_tasks,
        other.metrics().snapshot().live_tasks,
    );
    let probe = inner.spawn(std::future::pending::<()>());
    assert_eq!(
        rt.metrics().snapshot().live_tasks,
        before.0 + 1,
        "spawned onto the closure's runtime"
    );
    assert_eq!(other.metrics().snapshot().live_tasks, before.1);
    probe.abort();
    assert!(wait_for("the aborted probe", probe)
        .unwrap_err()
        .is_cancelled());
    assert!(format!("{inner:?}").contains("Handle"));
    let _clone: genrt::Handle = inner.clone();
}

// Tokio: task_abort.rs, `test_join_error_debug`: the exact Debug form, which code and tests
// match on (the id varies).
#[test]
fn test_join_error_debug() {
    let _quiet = quiet_panics();
    let rt = runtime(1);
    let debug_of =
        |task: genrt::JoinHandle<()>| format!("{:?}", wait_for("a task", task).unwrap_err());

    let value = 1234;
    let text = debug_of(rt.spawn(async move { panic!("Format-args payload: {}", value) }));
    assert!(
        text.starts_with("JoinError::Panic(Id(")
            && text.ends_with("), \"Format-args payload: 1234\", ...)"),
        "{text}"
    );
    let text = debug_of(rt.spawn(async { panic!("Const payload") }));
    assert!(
        text.starts_with("JoinError::Panic(Id(") && text.ends_with("), \"Const payload\", ...)"),
        "{text}"
    );
    let text = debug_of(rt.spawn(async { std::panic::panic_any(1234i32) }));
    assert!(
        text.starts_with("JoinError::Panic(Id(") && text.ends_with("), ...)"),
        "{text}"
    );
    let task = rt.spawn(std::future::pending::<()>());
    task.abort();
    let text = debug_of(task);
    assert!(
        text.starts_with("JoinError::Cancelled(Id(") && text.ends_with("))"),
        "{text}"
    );
}

// Tokio's paths: `tokio::time::Duration`, `tokio::time::error::Elapsed`.
#[test]
fn duration_and_elapsed_are_at_tokios_paths() {
    let d: genrt::time::Duration = genrt::time::Duration::from_millis(3);
    assert_eq!(d, Duration::from_millis(3));
    let rt = runtime(1);
    let err: genrt::time::error::Elapsed = support::Watchdog::new("a 3 ms timeout")
        .run(move || rt.block_on(timeout(d, std::future::pending::<()>())))
        .unwrap_err();
    let _same: Elapsed = err;
}

// Tokio declares its `JoinHandle`, `AbortHandle`, `Runtime` and `Handle` unwind-safe, so
// `catch_unwind(|| rt.block_on(..))` needs no `AssertUnwindSafe` (Tokio's unwindsafe.rs).
#[test]
fn handles_and_the_runtime_are_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<genrt::JoinHandle<u32>>();
    unwind_safe::<genrt::AbortHandle>();
    unwind_safe::<genrt::Runtime>();
    unwind_safe::<genrt::Handle>();

    let _quiet = quiet_panics();
    let rt = runtime(1);
    let caught = std::panic::catch_unwind(|| rt.block_on(async { panic!("in block_on") }));
    assert!(caught.is_err());
    assert_eq!(
        wait_for("a task after the panic", rt.spawn(async { 5 })).unwrap(),
        5,
        "still usable"
    );
}

// Tokio: task_join_set.rs, `runtime_gone`, with `Runtime::handle` borrowed as in Tokio
// (`spawn_on(.., rt.handle())`). The member never finishes here: a genrt task also runs
// without `block_on`, so Tokio's `async { 1 }` could complete before the drop.
#[test]
fn runtime_gone() {
    let mut set = JoinSet::new();
    {
        let rt = runtime(1);
        set.spawn_on(std::future::pending::<i32>(), rt.handle());
        drop(rt);
    }
    let other = runtime(1);
    let joined = support::Watchdog::new("runtime_gone")
        .run(move || other.block_on(set.join_next()))
        .unwrap();
    assert!(joined.unwrap_err().is_cancelled());
}

// Tokio's message for a `block_on` that would block a thread driving tasks.
#[test]
fn block_on_inside_a_runtime_says_what_tokio_says() {
    let _quiet = quiet_panics();
    let rt = runtime(1);
    let nested = wait_for(
        "a block_on inside a task",
        rt.spawn(async {
            let handle = genrt::Handle::current();
            std::panic::catch_unwind(move || handle.block_on(async {})).unwrap_err()
        }),
    )
    .unwrap();
    let text = panic_message(&*nested).unwrap().to_string();
    assert!(
        text.contains("Cannot start a runtime from within a runtime"),
        "{text}"
    );
}

#[test]
fn unconstrained_runs_its_future_as_it_is() {
    let rt = runtime(2);
    let out = support::Watchdog::new("unconstrained").run(move || {
        rt.block_on(genrt::task::unconstrained(async {
            genrt::task::yield_now().await;
            genrt::spawn(async { 7 }).await.unwrap()
        }))
    });
    assert_eq!(out, 7);
}

// Tokio's `TryCurrentError::{is_missing_context, is_thread_local_destroyed}`: outside any
// runtime, the context is missing; from a thread-local's destructor that runs after the
// context's own (the thread is exiting), the thread-local is destroyed.
#[test]
fn try_current_error_tells_a_missing_context_from_a_destroyed_thread_local() {
    use std::cell::RefCell;
    use std::sync::{Arc, Mutex};

    let err = genrt::Handle::try_current().unwrap_err();
    assert!(err.is_missing_context() && !err.is_thread_local_destroyed());

    struct Probe(Arc<Mutex<Option<(bool, bool, String)>>>);
    impl Drop for Probe {
        fn drop(&mut self) {
            let err = genrt::Handle::try_current().unwrap_err();
            *self.0.lock().unwrap() = Some((
                err.is_missing_context(),
                err.is_thread_local_destroyed(),
                err.to_string(),
            ));
        }
    }
    thread_local! {
        static PROBE: RefCell<Option<Probe>> = const { RefCell::new(None) };
    }
    let seen = Arc::new(Mutex::new(None));
    let rt = runtime(1);
    let handle = rt.handle().clone();
    std::thread::spawn({
        let seen = seen.clone();
        move || {
            // Registered first, so destroyed last: after genrt's context (entered below).
            PROBE.with(|probe| *probe.borrow_mut() = Some(Probe(seen)));
            drop(handle.enter());
        }
    })
    .join()
    .unwrap();
    let (missing, destroyed, text) = seen.lock().unwrap().take().expect("the probe ran");
    assert!(!missing && destroyed, "{text}");
    assert!(text.contains("being destroyed"), "{text}");
}

/// Tokio's `JoinHandle<T>` methods carry no bound on `T`: generic code over any handle (a
/// helper taking `&JoinHandle<T>`) compiles and cancels through the abort handle it takes.
#[test]
fn abort_handle_is_available_on_a_handle_of_any_output_type() {
    fn abort_of<T>(handle: &genrt::JoinHandle<T>) -> genrt::AbortHandle {
        handle.abort_handle()
    }
    let rt = runtime(2);
    let join = rt.spawn(std::future::pending::<String>());
    let abort = abort_of(&join);
    assert_eq!(abort.id(), join.id());
    abort.abort();
    let err = wait_for("the task aborted through a generic helper", join).unwrap_err();
    assert!(err.is_cancelled());
    assert!(abort.is_finished());
}

//! Bad use gets a clear error: the cases of misuse that the other test files do not cover.
//!
//! Already covered elsewhere, and not repeated here:
//! - zero workers is an `InvalidInput` error, not a panic: `tasks.rs`
//!   (`zero_worker_threads_is_an_error_not_a_panic`); here, what its message says;
//! - spawning through a `Handle` after the runtime dropped: `tasks.rs`
//!   (`spawning_after_shutdown_gives_a_cancelled_join_handle`); here, `genrt::spawn` from inside
//!   the task that dropped its own runtime. `block_on` after shutdown cannot be written:
//!   `shutdown_timeout` and `drop` consume the `Runtime`, and `block_on` needs a `&Runtime`;
//! - `block_on` inside a task of the same runtime, and inside another `block_on`: `tasks.rs`;
//!   here, `block_on` of another runtime inside a worker;
//! - dropping a runtime inside its own task: `shutdown.rs`
//!   (`dropping_the_runtime_from_inside_its_own_task_does_not_deadlock`);
//! - a stale waker woken after another runtime reused its registry entry: `stale_wakers.rs`;
//!   here, the same through `JoinHandle::abort`, which wakes the task's key;
//! - `settle` on a worker thread: `settle.rs`.
//!
//! New here as well: the 257th live runtime, a `JoinHandle` polled after it returned its
//! result, and `JoinError::into_panic` on a cancelled task's error.
//!
//! One test runs at a time: the registry test fills the process-wide table of runtimes,
//! during which no other test could build one.

use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::task::{noop_waker, Spawn};
use genrt_waker::{key_of_waker, TaskKey, MAX_RUNTIMES};
use support::{
    drop_runtime, panic_message, recv, runtime, serial, take_waker, wait_for, wait_until,
    waker_slot, CountPolls, DropCounter, Watchdog,
};

fn key(waker: &Waker) -> TaskKey {
    key_of_waker(waker).expect("a waker handed out by genrt is a genrt key waker")
}

#[test]
fn zero_worker_threads_error_says_what_to_do() {
    let _serial = serial();
    let err = genrt::Builder::new()
        .worker_threads(0)
        .build()
        .expect_err("zero workers must be refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(
        message.contains("worker_threads") && message.contains("at least 1"),
        "the error should name the setting and the fix: {message:?}"
    );
}

#[test]
fn block_on_of_another_runtime_inside_a_worker_panics_with_a_message() {
    let _serial = serial();
    let rt = runtime(1);
    let other = Arc::new(runtime(1));
    let task = {
        let other = other.clone();
        rt.spawn(async move { other.block_on(async { 1 }) })
    };
    let err = wait_for("a task calling another runtime's block_on", task).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    let payload = err.into_panic();
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("block_on") && message.contains("worker"),
        "the panic should say that block_on on a worker thread is the problem: {message:?}"
    );
    // Both runtimes are unharmed.
    assert_eq!(wait_for("a later task", rt.spawn(async { 2 })).unwrap(), 2);
    let other = Arc::try_unwrap(other).expect("the panicked task dropped its clone");
    {
        let _watchdog = Watchdog::new("block_on of the other runtime from the test thread").arm();
        assert_eq!(other.block_on(async { 3 }), 3);
    }
    drop_runtime(other);
    drop_runtime(rt);
}

/// What the task that dropped its own runtime saw afterwards.
#[derive(Debug)]
struct AfterOwnDrop {
    child_finished_at_once: bool,
    child_dropped_at_once: bool,
    child_cancelled: bool,
    current_is_closed: bool,
}

#[test]
fn spawning_from_the_task_that_dropped_its_own_runtime_gives_a_cancelled_handle() {
    let _serial = serial();
    let rt = runtime(2);
    let shared = Arc::new(Mutex::new(Some(rt)));
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    let dropper = {
        let (shared, drops) = (shared.clone(), drops.clone());
        let handle = shared.lock().unwrap().as_ref().unwrap().handle().clone();
        handle.spawn(async move {
            let rt = shared.lock().unwrap().take().expect("the runtime is there");
            drop(rt);
            // Still inside the runtime's context, which is shut down.
            let guard = DropCounter(drops.clone());
            let child = genrt::spawn(async move {
                let _guard = guard;
                5
            });
            let child_finished_at_once = child.is_finished();
            let child_dropped_at_once = drops.load(Ordering::SeqCst) == 1;
            let child_cancelled = child.await.is_err_and(|err| err.is_cancelled());
            let current = genrt::Handle::current();
            let current_is_closed = current.status().is_err_and(|err| err.is_shutdown());
            tx.send(AfterOwnDrop {
                child_finished_at_once,
                child_dropped_at_once,
                child_cancelled,
                current_is_closed,
            })
            .unwrap();
            7
        })
    };
    let seen = recv(&rx, "the task that dropped its own runtime to report");
    assert!(seen.child_finished_at_once, "{seen:?}");
    assert!(seen.child_dropped_at_once, "{seen:?}");
    assert!(seen.child_cancelled, "{seen:?}");
    assert!(seen.current_is_closed, "{seen:?}");
    // A poll that returns Ready after the drop completes the task as usual (ARCHITECTURE.md,
    // "Dropping a runtime from inside its own task").
    assert_eq!(wait_for("the dropping task", dropper).unwrap(), 7);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn aborting_a_dropped_runtimes_task_does_not_touch_the_runtime_that_reused_its_entry() {
    let _serial = serial();
    let rt = runtime(1);
    let polls = Arc::new(AtomicUsize::new(0));
    let slot = waker_slot();
    let old = rt.spawn(CountPolls {
        polls: polls.clone(),
        waker: slot.clone(),
    });
    wait_until("the old task's first poll", || {
        polls.load(Ordering::SeqCst) == 1
    });
    let old_key = key(&take_waker(&slot));
    drop_runtime(rt);
    assert!(
        old.is_finished(),
        "the runtime's drop cancelled the old task"
    );

    // Registry entries are reused; cycle runtimes until one gets the old runtime's entry.
    for _ in 0..4 * MAX_RUNTIMES {
        let rt = runtime(1);
        let polls = Arc::new(AtomicUsize::new(0));
        let slot = waker_slot();
        let new = rt.spawn(CountPolls {
            polls: polls.clone(),
            waker: slot.clone(),
        });
        wait_until("the new task's first poll", || {
            polls.load(Ordering::SeqCst) == 1
        });
        let new_key = key(&slot.lock().unwrap().clone().unwrap());
        if new_key.runtime() != old_key.runtime() {
            drop_runtime(rt);
            continue;
        }
        let stale_before = rt.metrics().snapshot().stale_wakes;
        old.abort();
        // Everything queued before it on the one worker has been polled by then.
        wait_for("a sentinel task", rt.spawn(async {})).unwrap();
        assert_eq!(
            polls.load(Ordering::SeqCst),
            1,
            "aborting a dropped runtime's task polled a task of the runtime that reused its \
             registry entry"
        );
        assert!(
            !new.is_finished(),
            "aborting a dropped runtime's task cancelled a task of another runtime"
        );
        assert_eq!(
            rt.metrics().snapshot().stale_wakes,
            stale_before + 1,
            "the abort's wake counts as one stale wake in the runtime that reused the entry"
        );
        assert!(wait_for("the old join handle", old)
            .unwrap_err()
            .is_cancelled());
        drop_runtime(rt);
        assert!(wait_for("the new join handle", new)
            .unwrap_err()
            .is_cancelled());
        return;
    }
    panic!(
        "no runtime took registry entry {:?} in {} tries",
        old_key.runtime(),
        4 * MAX_RUNTIMES
    );
}

#[test]
fn a_runtime_past_max_runtimes_is_refused_with_a_message_and_a_freed_entry_is_reused() {
    let _serial = serial();
    // Current-thread runtimes: no thread each.
    let build = || genrt::Builder::new_current_thread().build();
    let mut alive = Vec::with_capacity(MAX_RUNTIMES);
    let err = loop {
        match build() {
            Ok(rt) => {
                alive.push(rt);
                assert!(
                    alive.len() <= MAX_RUNTIMES,
                    "more than {MAX_RUNTIMES} runtimes alive at once"
                );
            }
            Err(err) => break err,
        }
    };
    assert_eq!(
        alive.len(),
        MAX_RUNTIMES,
        "the registry refused a runtime before it was full (another test's runtime alive?)"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("{MAX_RUNTIMES} runtimes are already alive"))
            && message.contains("drop one"),
        "the error should say why and what to do: {message:?}"
    );

    // Dropping one frees its entry for the next.
    drop_runtime(alive.pop().unwrap());
    let rt = build().expect("a freed registry entry is reused");
    let rt = support::Watchdog::new("a task on the reused entry").run(move || {
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
        rt
    });
    alive.push(rt);
    support::Watchdog::new("dropping every runtime").run(move || drop(alive));
}

#[test]
fn polling_a_join_handle_after_it_returned_its_result_panics_with_a_message() {
    let _serial = serial();
    let rt = runtime(1);
    let mut join = rt.spawn(async { 1 });
    wait_until("the task finished", || join.is_finished());
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let first = Pin::new(&mut join).poll(&mut cx);
    assert!(matches!(first, Poll::Ready(Ok(1))), "{first:?}");
    let payload = catch_unwind(AssertUnwindSafe(|| {
        let _ = Pin::new(&mut join).poll(&mut cx);
    }))
    .expect_err("a second poll after the result must panic");
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("JoinHandle polled after completion"),
        "{message:?}"
    );
    drop(join);
    drop_runtime(rt);
}

#[test]
fn into_panic_on_a_cancelled_tasks_error_panics_with_a_message() {
    let _serial = serial();
    let rt = runtime(1);
    let join = rt.spawn(pending::<()>());
    join.abort();
    let err = wait_for("an aborted task", join).unwrap_err();
    assert!(err.is_cancelled());
    let payload = catch_unwind(AssertUnwindSafe(|| err.into_panic()))
        .expect_err("into_panic on a cancelled task's error must panic");
    let message = panic_message(&*payload).unwrap_or_default();
    assert!(
        message.contains("cancelled") && message.contains("is_panic"),
        "the panic should say why and what to check first: {message:?}"
    );
    drop_runtime(rt);
}

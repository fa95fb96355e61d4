//! `Runtime::enter`, `Handle::enter` and `Handle::block_on`: entering makes a runtime the
//! thread's current one, nests, restores the covered context, refuses out-of-order drops, and
//! lets `block_on` run inside it (not on a worker, not inside another `block_on`).
//!
//! Ported from Tokio's `tests/rt_handle.rs`: `basic_enter`, `interleave_enter_same_rt`,
//! `interleave_enter_different_rt`, `interleave_then_enter`. The others are genrt's own.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;

use support::{drop_runtime, panic_message, runtime, wait_for, Watchdog};

/// Whether the thread's current runtime is `rt`.
fn current_is(rt: &genrt::Runtime) -> bool {
    let Ok(current) = genrt::Handle::try_current() else {
        return false;
    };
    // A spawn through the current handle shows in `rt`'s metrics.
    let before = rt.metrics().snapshot().spawned;
    drop(current.spawn(async {}));
    rt.metrics().snapshot().spawned == before + 1
}

#[test]
fn basic_enter() {
    let rt1 = runtime(1);
    let rt2 = runtime(1);

    let enter1 = rt1.enter();
    let enter2 = rt2.enter();

    drop(enter2);
    drop(enter1);
    drop_runtime(rt1);
    drop_runtime(rt2);
}

#[test]
#[should_panic(expected = "dropped out of order")]
fn interleave_enter_different_rt() {
    let rt1 = runtime(1);
    let rt2 = runtime(1);

    let enter1 = rt1.enter();
    let enter2 = rt2.enter();

    drop(enter1);
    drop(enter2);
}

#[test]
#[should_panic(expected = "dropped out of order")]
fn interleave_enter_same_rt() {
    let rt1 = runtime(1);

    let _enter1 = rt1.enter();
    let enter2 = rt1.enter();
    let enter3 = rt1.enter();

    drop(enter2);
    drop(enter3);
}

#[test]
fn interleave_then_enter() {
    let _ = catch_unwind(|| {
        let rt1 = runtime(1);
        let rt2 = runtime(1);

        let enter1 = rt1.enter();
        let enter2 = rt2.enter();

        drop(enter1);
        drop(enter2);
    });

    // The out-of-order drop left no runtime current (none that was already left).
    assert!(genrt::Handle::try_current().is_err());
    // Can still enter
    let rt3 = runtime(1);
    let _enter = rt3.enter();
    assert!(current_is(&rt3));
}

#[test]
fn spawn_and_current_work_inside_enter_only() {
    let rt = runtime(2);
    assert!(genrt::Handle::try_current().is_err());
    let join = {
        let _guard = rt.enter();
        assert!(current_is(&rt));
        genrt::spawn(async { 5 })
    };
    assert!(genrt::Handle::try_current().is_err());
    assert_eq!(wait_for("the task spawned inside enter", join).unwrap(), 5);
    drop_runtime(rt);
}

#[test]
fn nested_enters_restore_the_covered_runtime() {
    let rt1 = runtime(1);
    let rt2 = runtime(1);
    let outer = rt1.enter();
    assert!(current_is(&rt1));
    {
        let _inner = rt2.handle().enter();
        assert!(current_is(&rt2));
        {
            let _again = rt1.enter();
            assert!(current_is(&rt1));
        }
        assert!(current_is(&rt2));
    }
    assert!(current_is(&rt1));
    drop(outer);
    assert!(genrt::Handle::try_current().is_err());
    drop_runtime(rt1);
    drop_runtime(rt2);
}

#[test]
fn handle_block_on_from_a_plain_thread() {
    let rt = runtime(2);
    let handle = rt.handle().clone();
    let out = Watchdog::new("Handle::block_on on a plain thread").run(move || {
        handle.block_on(async {
            let child = genrt::spawn(async { 20 });
            genrt::yield_now().await;
            child.await.unwrap() + 22
        })
    });
    assert_eq!(out, 42);
    drop_runtime(rt);
}

/// As in Tokio: entering does not make the thread "blocking", so `block_on` works inside an
/// `enter` guard, of the same runtime or another one, and the guard's runtime is current
/// again afterwards.
#[test]
fn block_on_inside_enter() {
    let rt1 = runtime(1);
    let rt2 = runtime(1);
    let _guard = rt1.enter();
    assert_eq!(
        rt1.block_on(async { genrt::spawn(async { 1 }).await.unwrap() }),
        1
    );
    assert_eq!(rt2.handle().block_on(async { 2 }), 2);
    assert!(current_is(&rt1));
}

#[test]
fn block_on_inside_block_on_panics_even_through_enter() {
    let rt = runtime(1);
    let handle = rt.handle().clone();
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let _guard = handle.enter();
            handle.block_on(async {})
        })
    }))
    .unwrap_err();
    let message = panic_message(&*err).unwrap_or_default().to_owned();
    assert!(message.contains("already inside block_on"), "{message}");
    drop_runtime(rt);
}

#[test]
fn block_on_on_a_worker_panics_even_inside_enter() {
    let rt1 = runtime(1);
    let rt2 = runtime(1);
    let h2 = rt2.handle().clone();
    let task = rt1.spawn(async move {
        let _guard = h2.enter();
        // The current runtime is rt2 now, but the thread is still rt1's worker.
        h2.block_on(async {})
    });
    let err = wait_for("the task calling block_on", task).unwrap_err();
    assert!(err.is_panic());
    let payload = err.into_panic();
    let message = panic_message(&*payload).unwrap_or_default().to_owned();
    assert!(message.contains("worker thread"), "{message}");
    drop_runtime(rt1);
    drop_runtime(rt2);
}

#[test]
fn enter_on_a_worker_spawns_onto_the_entered_runtime() {
    let rt1 = runtime(1);
    let rt2 = runtime(1);
    let h2 = rt2.handle().clone();
    let task = rt1.spawn(async move {
        let child = {
            let _guard = h2.enter();
            genrt::spawn(async { thread::current().name().map(str::to_owned) })
        };
        child.await.unwrap()
    });
    let name = wait_for("the task entering rt2", task).unwrap();
    assert_eq!(name.as_deref(), Some("genrt-worker"));
    rt2.settle();
    assert_eq!(rt2.metrics().snapshot().completed, 1);
    drop_runtime(rt1);
    drop_runtime(rt2);
}

/// A runtime dropped while another thread is inside `Handle::block_on`: the future is still
/// driven to completion there, and its spawns are cancelled.
#[test]
fn handle_block_on_survives_the_runtime_dropped_elsewhere() {
    let rt = runtime(1);
    let handle = rt.handle().clone();
    let (dropped_tx, dropped_rx) = std::sync::mpsc::channel::<()>();
    let (inside_tx, inside_rx) = std::sync::mpsc::channel::<()>();
    let blocker = thread::spawn(move || {
        handle.block_on(async move {
            inside_tx.send(()).unwrap();
            // Park this thread until the runtime is gone.
            support::recv(&dropped_rx, "the runtime's drop");
            genrt::spawn(async { 1 }).await
        })
    });
    // Only once the blocker is inside `block_on`: entering a runtime already dropped is
    // refused (`entering_a_dropped_runtime_panics`), which is not what this test is about.
    support::recv(&inside_rx, "the blocker inside block_on");
    drop_runtime(rt);
    dropped_tx.send(()).unwrap();
    let out = Watchdog::new("joining the block_on thread").run(move || blocker.join().unwrap());
    assert!(out.unwrap_err().is_cancelled());
}

#[test]
fn entering_a_dropped_runtime_panics() {
    let rt = runtime(1);
    let handle = rt.handle().clone();
    drop_runtime(rt);
    let err = catch_unwind(AssertUnwindSafe(|| drop(handle.enter()))).unwrap_err();
    let message = panic_message(&*err).unwrap_or_default().to_owned();
    assert!(message.contains("has been dropped"), "{message}");
}

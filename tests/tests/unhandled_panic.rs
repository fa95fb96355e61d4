//! `Builder::unhandled_panic`: under `UnhandledPanic::Ignore` (the default) a task's panic is
//! only its result; under `UnhandledPanic::ShutdownRuntime` the first one shuts the runtime
//! down from the worker that caught it: the task's handle reports the panic, every other
//! task is cancelled (without waiting for the runtime's drop), later spawns are cancelled,
//! and every `block_on` in progress panics saying a task panicked, none hangs.
//!
//! Ported from Tokio: `tests/rt_common.rs`'s `shutdown_on_panic` and `spawns_do_nothing`
//! (the `unhandled_panic` tests, `cfg(tokio_unstable)` there) and `tests/rt_threaded.rs`'s
//! `shutdown_all_concurrent_block_on`. The others are genrt's own.

use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread;

use genrt::UnhandledPanic;
use support::{
    drop_runtime, panic_message, quiet_panics, recv, serial, wait_for, Watchdog, INTENTIONAL,
};

fn shutdown_on_panic_runtime(workers: usize) -> genrt::Runtime {
    genrt::Builder::new()
        .worker_threads(workers)
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap()
}

/// Runs `f` under a watchdog, returning its panic message (failing if it returns).
fn panic_of<T>(what: &'static str, f: impl FnOnce() -> T + Send + 'static) -> String {
    Watchdog::new(what).run(move || {
        let err = match catch_unwind(AssertUnwindSafe(f)) {
            Ok(_) => panic!("{what}: returned instead of panicking"),
            Err(err) => err,
        };
        panic_message(&*err).unwrap_or_default().to_owned()
    })
}

#[test]
fn shutdown_on_panic() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt = shutdown_on_panic_runtime(2);
    let message = panic_of("block_on of a runtime whose task panics", move || {
        rt.block_on(async {
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
            pending::<()>().await;
        })
    });
    assert!(message.contains("a spawned task panicked"), "{message}");
}

#[test]
fn spawns_do_nothing() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt1 = Arc::new(shutdown_on_panic_runtime(2));
    let rt2 = rt1.clone();
    let message = panic_of("block_on on another thread", move || {
        rt2.block_on(async {
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
            pending::<()>().await;
        })
    });
    assert!(message.contains("a spawned task panicked"), "{message}");
    let task = rt1.spawn(async {});
    assert!(wait_for("a spawn after the close", task)
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn shutdown_all_concurrent_block_on() {
    const N: usize = 2;
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt = Arc::new(shutdown_on_panic_runtime(2));
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let rt = rt.clone();
            let tx = tx.clone();
            thread::spawn(move || {
                rt.block_on(async {
                    tx.send(()).unwrap();
                    pending::<()>().await;
                });
            })
        })
        .collect();
    for _ in 0..N {
        recv(&rx, "a block_on started");
    }
    drop(rt.spawn(async { panic!("{INTENTIONAL}: boom") }));
    for thread in threads {
        let err = Watchdog::new("a block_on thread").run(move || thread.join().unwrap_err());
        let message = panic_message(&*err).unwrap_or_default();
        assert!(message.contains("a spawned task panicked"), "{message}");
    }
    let rt = Arc::into_inner(rt).expect("the threads are gone");
    drop_runtime(rt);
}

#[test]
fn the_panicking_task_reports_its_panic_and_every_other_is_cancelled() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt = shutdown_on_panic_runtime(2);
    let pending_tasks: Vec<_> = (0..100).map(|_| rt.spawn(pending::<()>())).collect();
    let boom = rt.spawn(async {
        genrt::yield_now().await;
        panic!("{INTENTIONAL}: boom")
    });
    let err = wait_for("the panicking task", boom).unwrap_err();
    assert!(err.is_panic());
    // Cancelled by the workers leaving, while the runtime is still alive.
    for task in pending_tasks {
        assert!(wait_for("a pending task", task).unwrap_err().is_cancelled());
    }
    let late = rt.spawn(async { 1 });
    assert!(wait_for("a late spawn", late).unwrap_err().is_cancelled());
    // settle and the drop finish at once on a closed runtime.
    let rt = Watchdog::new("settle after the close").run(move || {
        rt.settle();
        rt
    });
    drop_runtime(rt);
}

#[test]
fn block_on_awaiting_the_panicking_task_panics() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt = shutdown_on_panic_runtime(1);
    let message = panic_of("block_on awaiting the task", move || {
        rt.block_on(async {
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") })
                .await
                .map_err(|e| e.is_panic())
        })
    });
    assert!(message.contains("a spawned task panicked"), "{message}");
}

#[test]
fn block_on_after_the_close_panics() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt = Arc::new(shutdown_on_panic_runtime(1));
    let boom = rt.spawn(async { panic!("{INTENTIONAL}: boom") });
    assert!(wait_for("the panicking task", boom).unwrap_err().is_panic());
    let handle = rt.handle().clone();
    let message = panic_of("Handle::block_on after the close", move || {
        handle.block_on(async { 1 })
    });
    assert!(message.contains("a spawned task panicked"), "{message}");
}

#[test]
fn ignore_is_the_default_and_keeps_running() {
    let _serial = serial();
    let _quiet = quiet_panics();
    for mut builder in [genrt::Builder::new(), {
        let mut b = genrt::Builder::new();
        b.unhandled_panic(UnhandledPanic::Ignore);
        b
    }] {
        let rt = builder.worker_threads(2).build().unwrap();
        let outcome = rt.block_on(async {
            let boom = genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
            let err = boom.await.unwrap_err();
            (err.is_panic(), genrt::spawn(async { 7 }).await.unwrap())
        });
        assert_eq!(outcome, (true, 7));
        drop_runtime(rt);
    }
}

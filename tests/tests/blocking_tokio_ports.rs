//! Tokio's tests of `spawn_blocking`, ported to genrt where their semantics apply. genrt's
//! own blocking-pool tests are in `blocking.rs`.
//!
//! Ported (Tokio file: test), with the changes each needed:
//! - `rt_common.rs`: `shutdown_timeout` (the closure waits on a gate the test opens afterwards instead of
//!   sleeping 10,000 s, it is spawned through the runtime rather than inside `block_on`,
//!   whose output would be its join handle, and the `false` returned is asserted); `shutdown_timeout_0` (its
//!   "returns within 1 s" is an upper bound on a duration, which these tests never assert:
//!   the zero timeout's `false` is asserted instead). Its `spawn_from_blocking`,
//!   `spawn_blocking_from_blocking`, `sleep_from_blocking`, `sleep_at_root` and
//!   `sleep_in_spawn` are in `rt_common_ports.rs`, on the three flavors.
//! - `task_blocking.rs`: `basic_blocking` (a blocking closure awaited from a spawned task,
//!   100 rounds, 1 ms sleeps instead of 5 ms); `can_shutdown_with_zero_timeout_in_runtime`
//!   (a runtime shut down with a zero timeout inside another's `block_on`);
//!   `can_shutdown_now_in_runtime` (as is, with `Runtime::shutdown_background`);
//!   `blocking_when_paused`, `blocking_task_wakes_paused_runtime`,
//!   `unawaited_blocking_task_wakes_paused_runtime`,
//!   `panicking_blocking_task_wakes_paused_runtime` (the paused clock does not auto-advance
//!   while blocking work is in flight, as in Tokio; their "under 10 s of real time" upper
//!   bounds are replaced by checks on the paused clock and the bounded wait).
//! - `rt_handle_block_on.rs`: `basic_spawn_blocking`; `spawn_blocking_after_shutdown_fails`
//!   (through a `Handle`: genrt's `EnterGuard` borrows the runtime, which
//!   `shutdown_timeout` consumes); `spawn_blocking_started_before_shutdown_continues` (the
//!   test waits until the closure has started before shutting down: in Tokio the closure
//!   could still be queued, and a queued closure is cancelled by shutdown in both runtimes).
//! - `task_join_set.rs` has no `spawn_blocking` test of its own; its `abort_tasks` and
//!   `runtime_gone` are ported with blocking members (odd members aborted while queued
//!   behind a held one, instead of sleeping tasks under a paused clock; the member of
//!   `runtime_gone` is spawned just after the drop, as a closure spawned before it may
//!   already have run).
//! - `rt_threaded.rs`: `max_blocking_threads` (a closure is also run);
//!   `max_blocking_threads_set_to_zero` (Tokio panics in the builder; genrt's `build` returns
//!   `InvalidInput`, as for `worker_threads(0)`).
//!
//! Skipped, and why:
//! - `rt_common.rs`: `socket_from_blocking` (genrt has no I/O driver).
//! - `task_blocking.rs`: `block_in_blocking`, `block_in_block`, `no_block_in_*`,
//!   `yes_block_in_threaded_block_on`, `can_enter_*_rt_from_within_block_in_place` (these
//!   are `block_in_place.rs`'s business); `useful_panic_message_when_dropping_rt_in_rt` (genrt allows
//!   dropping a runtime inside another's task: see `Runtime`'s docs).
//! - `rt_threaded.rs`: `blocking`, `hang_on_shutdown`, `test_block_in_place*`,
//!   `test_nested_block_in_place_*` are in `rt_threaded_ports.rs`,
//!   `yield_after_block_in_place` in `block_in_place.rs`, `coop_and_block_in_place` in
//!   `coop.rs`.
//! - `rt_handle.rs`: nothing there concerns blocking work (its `enter` tests are ported in
//!   `enter.rs`).
//! - `rt_handle_block_on.rs`: the `test_with_runtimes` tests and its timer tests are in
//!   `rt_handle_ports.rs` (with the enter guard taken through a cloned `Handle` and held
//!   across `shutdown_timeout`, as Tokio's helper does); its `fs` and `net` tests need
//!   drivers genrt does not have.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use support::{recv, wait_for, Gate, Watchdog, DEADLINE};

fn rt() -> genrt::Runtime {
    genrt::Builder::new()
        .worker_threads(2)
        .build()
        .expect("the runtime starts")
}

// ---- rt_common.rs ----

#[test]
fn shutdown_timeout() {
    let gate = Gate::default();
    let (tx, rx) = futures::channel::oneshot::channel();
    let runtime = rt();
    let held = gate.clone();
    let join = Watchdog::new("block_on until the closure runs").run(move || {
        let join = runtime.spawn_blocking(move || {
            tx.send(()).unwrap();
            held.wait();
        });
        runtime.block_on(async move { rx.await.unwrap() });
        assert!(!runtime.shutdown_timeout(Duration::from_millis(100)));
        join
    });
    gate.open();
    wait_for("the closure left running", join).unwrap();
}

#[test]
fn shutdown_timeout_0() {
    let gate = Gate::default();
    let runtime = rt();
    let (started_tx, started) = mpsc::channel();
    let held = gate.clone();
    let join = runtime.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        held.wait();
    });
    recv(&started, "the closure to start");
    let exited = Watchdog::new("shutdown_timeout(0)")
        .run(move || runtime.shutdown_timeout(Duration::from_nanos(0)));
    assert!(!exited);
    gate.open();
    wait_for("the closure left running", join).unwrap();
}

// ---- task_blocking.rs ----

#[test]
fn basic_blocking() {
    let rt = rt();
    Watchdog::new("basic_blocking").run(move || {
        for _ in 0..100 {
            let out = rt
                .block_on(rt.spawn(async {
                    genrt::spawn_blocking(|| {
                        thread::sleep(Duration::from_millis(1));
                        "hello"
                    })
                    .await
                    .unwrap()
                }))
                .unwrap();
            assert_eq!(out, "hello");
        }
    });
}

#[test]
fn can_shutdown_with_zero_timeout_in_runtime() {
    let outer = rt();
    Watchdog::new("an inner shutdown_timeout(0)").run(move || {
        outer.block_on(async {
            let inner = genrt::Builder::new().worker_threads(1).build().unwrap();
            inner.shutdown_timeout(Duration::from_nanos(0));
        });
    });
}

#[test]
fn can_shutdown_now_in_runtime() {
    let outer = rt();
    Watchdog::new("an inner shutdown_background").run(move || {
        outer.block_on(async {
            let inner = genrt::Builder::new().worker_threads(1).build().unwrap();
            inner.shutdown_background();
        });
    });
}

/// Not a Tokio test: `shutdown_background` returns without waiting for a running blocking
/// closure, which runs on; a pending task is cancelled.
#[test]
fn shutdown_background_does_not_wait_for_a_running_closure() {
    let rt = rt();
    let (started_tx, started) = mpsc::channel();
    let (gate_tx, gate) = mpsc::channel::<()>();
    let closure = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
        "finished after the shutdown"
    });
    let pending = rt.spawn(std::future::pending::<()>());
    recv(&started, "the blocking closure to start");
    Watchdog::new("shutdown_background").run(move || rt.shutdown_background());
    assert!(wait_for("the pending task", pending)
        .unwrap_err()
        .is_cancelled());
    drop(gate_tx);
    assert_eq!(
        wait_for("the blocking closure", closure).unwrap(),
        "finished after the shutdown"
    );
}

/// Runs `body` as a task on a one-worker runtime whose clock starts paused (Tokio's
/// `#[tokio::test(start_paused = true)]`), bounded.
fn run_paused<F: std::future::Future<Output = ()> + Send + 'static>(what: &str, body: F) {
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .start_paused(true)
        .build()
        .unwrap();
    wait_for(what, rt.spawn(body)).unwrap();
}

/// `blocking_task_wakes_paused_runtime`. Tokio's "took under 10 s of real time" is an upper
/// bound on a duration, not asserted here: what matters is that the paused clock does not
/// jump to the timeout while the closure runs (Tokio inhibits auto-advance while blocking
/// work is in flight), so the timeout does not fire.
#[test]
fn blocking_task_wakes_paused_runtime() {
    run_paused("blocking_task_wakes_paused_runtime", async {
        let start = genrt::time::Instant::now();
        genrt::time::timeout(
            Duration::from_secs(15),
            genrt::spawn_blocking(|| thread::sleep(Duration::from_millis(250))),
        )
        .await
        .expect("timeout should not trigger")
        .expect("blocking task should finish");
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the paused clock jumped"
        );
    });
}

/// `blocking_when_paused`: even a timeout far shorter than the closure's real run time does
/// not fire, as the paused clock does not move while the closure is in flight.
#[test]
fn blocking_when_paused() {
    run_paused("blocking_when_paused", async {
        genrt::time::timeout(
            Duration::from_secs(3),
            genrt::spawn_blocking(|| thread::sleep(Duration::from_millis(1))),
        )
        .await
        .expect("timeout should not trigger")
        .expect("blocking task should finish");
        genrt::time::timeout(
            Duration::from_millis(1),
            genrt::spawn_blocking(|| thread::sleep(Duration::from_millis(50))),
        )
        .await
        .expect("timeout should not trigger")
        .expect("blocking task should finish");
    });
}

/// `unawaited_blocking_task_wakes_paused_runtime`: once the closure is done, the clock
/// auto-advances again (the worker, parked while the closure held the clock, is woken), even
/// though nothing awaits the closure's handle yet. A hang fails the bounded wait.
#[test]
fn unawaited_blocking_task_wakes_paused_runtime() {
    run_paused("unawaited_blocking_task_wakes_paused_runtime", async {
        let start = genrt::time::Instant::now();
        let a = genrt::spawn_blocking(|| thread::sleep(Duration::from_millis(1)));
        genrt::time::sleep(Duration::from_secs(15)).await;
        a.await.expect("blocking task should finish");
        assert!(start.elapsed() >= Duration::from_secs(15));
    });
}

/// `panicking_blocking_task_wakes_paused_runtime`.
#[test]
fn panicking_blocking_task_wakes_paused_runtime() {
    let _quiet = support::quiet_panics();
    run_paused("panicking_blocking_task_wakes_paused_runtime", async {
        let result = genrt::time::timeout(
            Duration::from_secs(15),
            genrt::spawn_blocking(|| {
                thread::sleep(Duration::from_millis(1));
                panic!("blocking task panicked");
            }),
        )
        .await
        .expect("timeout should not trigger");
        assert!(
            result.unwrap_err().is_panic(),
            "blocking task should have panicked"
        );
    });
}

/// Not a Tokio test: a closure cancelled while queued (behind one holding the only blocking
/// thread) gives the clock back when it is dropped unrun; a missing release would leave the
/// sleep below waiting for ever (the bounded wait fails).
#[test]
fn a_cancelled_queued_blocking_task_releases_the_paused_clock() {
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .max_blocking_threads(1)
        .start_paused(true)
        .build()
        .unwrap();
    let body = rt.spawn(async {
        let start = genrt::time::Instant::now();
        let held = genrt::spawn_blocking(|| thread::sleep(Duration::from_millis(20)));
        let queued = genrt::spawn_blocking(|| 5);
        queued.abort();
        genrt::time::sleep(Duration::from_secs(3600)).await;
        assert!(start.elapsed() >= Duration::from_secs(3600));
        held.await.unwrap();
        // Cancelled, or `Ok(5)` if the thread took it before the abort: either way it is done.
        let _ = queued.await;
    });
    wait_for(
        "a_cancelled_queued_blocking_task_releases_the_paused_clock",
        body,
    )
    .unwrap();
}

// ---- rt_handle_block_on.rs ----

#[test]
fn basic_spawn_blocking() {
    let rt = rt();
    let answer = Watchdog::new("basic_spawn_blocking").run(move || {
        let _enter = rt.enter();
        genrt::Handle::current()
            .block_on(genrt::spawn_blocking(|| {
                thread::sleep(Duration::from_millis(10));
                42
            }))
            .unwrap()
    });
    assert_eq!(answer, 42);
}

#[test]
fn spawn_blocking_after_shutdown_fails() {
    let rt = rt();
    let handle = rt.handle().clone();
    assert!(rt.shutdown_timeout(DEADLINE));
    let join_err = wait_for(
        "a closure spawned after shutdown",
        handle.spawn_blocking(|| {
            thread::sleep(Duration::from_millis(10));
            42
        }),
    )
    .unwrap_err();
    assert!(join_err.is_cancelled());
}

#[test]
fn spawn_blocking_started_before_shutdown_continues() {
    let rt = rt();
    let (started_tx, started) = mpsc::channel();
    let handle = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        thread::sleep(Duration::from_millis(100));
        42
    });
    recv(&started, "the closure to start");
    let exited = Watchdog::new("shutdown_timeout").run(move || rt.shutdown_timeout(DEADLINE));
    assert!(exited);
    assert!(handle.is_finished(), "shutdown returned before the closure");
    assert_eq!(wait_for("the closure", handle).unwrap(), 42);
}

// ---- task_join_set.rs, with blocking members ----

#[test]
fn abort_tasks() {
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut set = genrt::JoinSet::new();
    let held = gate.clone();
    set.spawn_blocking_on(
        move || {
            started_tx.send(()).unwrap();
            held.wait();
            0
        },
        rt.handle(),
    );
    recv(&started, "the held member to start");
    for i in 1..16 {
        let ran = ran.clone();
        let abort = set.spawn_blocking_on(
            move || {
                ran.fetch_add(1, Ordering::SeqCst);
                i
            },
            rt.handle(),
        );
        if i % 2 != 0 {
            // abort odd-numbered members (queued behind the held one).
            abort.abort();
        }
    }
    gate.open();
    let (mut num_canceled, mut num_completed) = (0, 0);
    while let Some(result) = wait_for("the next member", set.join_next()) {
        match result {
            Ok(res) => {
                num_completed += 1;
                assert_eq!(res % 2, 0);
            }
            Err(e) => {
                assert!(e.is_cancelled());
                num_canceled += 1;
            }
        }
    }
    assert_eq!(num_canceled, 8);
    assert_eq!(num_completed, 8);
    assert_eq!(ran.load(Ordering::SeqCst), 7);
}

#[test]
fn runtime_gone() {
    let mut set = genrt::JoinSet::new();
    {
        let rt = rt();
        let handle = rt.handle().clone();
        drop(rt);
        set.spawn_blocking_on(|| 1, &handle);
    }
    let result = wait_for("the member", set.join_next()).unwrap();
    assert!(result.unwrap_err().is_cancelled());
}

// ---- rt_threaded.rs ----

#[test]
fn max_blocking_threads_set_to_zero() {
    let err = genrt::Builder::new()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn max_blocking_threads() {
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    assert_eq!(wait_for("a closure", rt.spawn_blocking(|| 1)).unwrap(), 1);
}

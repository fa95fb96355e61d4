//! `genrt::task::block_in_place`: Tokio's tests of it (`task_blocking.rs`, `rt_threaded.rs`),
//! ported, and the liveness it must give: tasks queued on a worker that blocks still run,
//! also when every worker blocks at once. Every test runs under a watchdog.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use genrt::task;
use support::{panic_message, quiet_panics, Watchdog};

fn threaded(workers: usize) -> genrt::Runtime {
    genrt::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

// Tokio: task_blocking.rs, `block_in_blocking`: inside a blocking closure it just runs.
#[test]
fn block_in_blocking() {
    Watchdog::new("block_in_blocking").run(|| {
        let rt = threaded(2);
        rt.block_on(async {
            for _ in 0..20 {
                let out = genrt::spawn(async {
                    task::spawn_blocking(|| {
                        task::block_in_place(|| thread::sleep(Duration::from_millis(1)));
                        "hello"
                    })
                    .await
                    .unwrap()
                })
                .await
                .unwrap();
                assert_eq!(out, "hello");
            }
        });
    });
}

// Tokio: task_blocking.rs, `block_in_block`: nested, the inner one just runs.
#[test]
fn block_in_block() {
    Watchdog::new("block_in_block").run(|| {
        let rt = threaded(2);
        rt.block_on(async {
            for _ in 0..20 {
                let out = genrt::spawn(async {
                    task::block_in_place(|| {
                        task::block_in_place(|| thread::sleep(Duration::from_millis(1)));
                        "hello"
                    })
                })
                .await
                .unwrap();
                assert_eq!(out, "hello");
            }
        });
    });
}

// Tokio: task_blocking.rs, `no_block_in_current_thread_scheduler` and
// `no_block_in_current_thread_block_on` (`#[should_panic]` there).
#[test]
fn no_block_in_place_on_a_current_thread_runtime() {
    let _quiet = quiet_panics();
    let rt = genrt::Builder::new_current_thread().build().unwrap();
    let in_task = rt
        .block_on(rt.spawn(async { task::block_in_place(|| {}) }))
        .unwrap_err();
    assert!(in_task.is_panic());
    let text = panic_message(&*in_task.into_panic()).unwrap().to_string();
    assert!(text.contains("can call blocking only when running on the multi-threaded runtime"));
    let in_block_on = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { task::block_in_place(|| {}) })
    }));
    assert!(in_block_on.is_err());
}

// Tokio: task_blocking.rs, `yes_block_in_threaded_block_on`.
#[test]
fn yes_block_in_threaded_block_on() {
    let rt = threaded(2);
    rt.block_on(async { task::block_in_place(|| {}) });
}

#[test]
fn outside_a_runtime_it_just_runs() {
    assert_eq!(task::block_in_place(|| 5), 5);
}

// Tokio: task_blocking.rs, `can_enter_current_thread_rt_from_within_block_in_place`: the
// thread is no worker inside, so it may build and drive a runtime of its own.
#[test]
fn can_enter_current_thread_rt_from_within_block_in_place() {
    Watchdog::new("a runtime inside block_in_place").run(|| {
        let outer = threaded(2);
        let out = outer.block_on(outer.spawn(async {
            task::block_in_place(|| {
                let inner = genrt::Builder::new_current_thread().build().unwrap();
                inner.block_on(async { genrt::spawn(async { 7 }).await.unwrap() })
            })
        }));
        assert_eq!(out.unwrap(), 7);
    });
}

// Tokio: rt_threaded.rs, `yield_after_block_in_place`.
#[test]
fn yield_after_block_in_place() {
    Watchdog::new("yield_after_block_in_place").run(|| {
        let rt = threaded(1);
        rt.block_on(async {
            genrt::spawn(async move {
                task::block_in_place(|| {
                    let rt = genrt::Builder::new_current_thread().build().unwrap();
                    rt.block_on(async {});
                });
                task::yield_now().await;
            })
            .await
            .unwrap()
        });
    });
}

/// The one worker blocks until a task it had queued (in its LIFO slot, unstealable by any
/// worker) has run: the stand-in runs it.
#[test]
fn a_task_queued_behind_the_blocking_worker_runs() {
    Watchdog::new("queued behind a blocked worker").run(|| {
        let rt = threaded(1);
        let out = rt.block_on(rt.spawn(async {
            let (tx, rx) = mpsc::channel();
            // Queued on this worker (its LIFO slot).
            genrt::spawn(async move { tx.send(41).unwrap() });
            task::block_in_place(move || rx.recv().unwrap() + 1)
        }));
        assert_eq!(out.unwrap(), 42);
    });
}

/// Every worker blocks at once, each waiting for a task queued behind it; timers keep
/// firing too (a task sleeps before it answers).
#[test]
fn every_worker_blocking_at_once_does_not_stall_the_queued_tasks() {
    const WORKERS: usize = 3;
    Watchdog::new("every worker blocked").run(|| {
        let rt = threaded(WORKERS);
        let all_blocked = Arc::new(Barrier::new(WORKERS));
        let answered = Arc::new(AtomicUsize::new(0));
        let blockers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (all_blocked, answered) = (all_blocked.clone(), answered.clone());
                rt.spawn(async move {
                    let (tx, rx) = mpsc::channel();
                    let answered = answered.clone();
                    genrt::spawn(async move {
                        genrt::time::sleep(Duration::from_millis(2)).await;
                        answered.fetch_add(1, Ordering::SeqCst);
                        tx.send(()).unwrap();
                    });
                    task::block_in_place(move || {
                        all_blocked.wait();
                        rx.recv().unwrap();
                    });
                })
            })
            .collect();
        rt.block_on(async {
            for blocker in blockers {
                blocker.await.unwrap();
            }
        });
        assert_eq!(answered.load(Ordering::SeqCst), WORKERS);
    });
}

/// A panic inside the closure unwinds out of `block_in_place` into the task (its join
/// handle reports it), and the worker goes on running tasks.
#[test]
fn a_panic_in_the_closure_reaches_the_task() {
    let _quiet = quiet_panics();
    Watchdog::new("panic in block_in_place").run(|| {
        let rt = threaded(1);
        let err = rt
            .block_on(rt.spawn(async {
                task::block_in_place(|| panic!("{}: in block_in_place", support::INTENTIONAL))
            }))
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    });
}

/// A runtime dropped from a `block_in_place` closure of one of its own tasks: the drop does
/// not wait for the worker it runs on (that worker blocks in place on the drop itself), and
/// still drops every other task's future before it returns.
#[test]
fn dropping_the_runtime_from_its_own_block_in_place_closure_returns() {
    Watchdog::new("dropping the runtime inside block_in_place").run(|| {
        let rt = threaded(2);
        let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
        // A pending task whose future holds the sender: dropped by the runtime's drop.
        rt.spawn(async move {
            let _held = dropped_tx;
            std::future::pending::<()>().await
        });
        let slot = Arc::new(std::sync::Mutex::new(Some(rt)));
        let (done_tx, done_rx) = mpsc::channel();
        let handle = slot.lock().unwrap().as_ref().unwrap().handle().clone();
        handle.spawn({
            let slot = slot.clone();
            async move {
                task::block_in_place(move || {
                    let rt = slot.lock().unwrap().take();
                    drop(rt);
                    // The pending task's future is gone, so is its sender.
                    let gone = dropped_rx.recv().is_err();
                    done_tx.send(gone).unwrap();
                })
            }
        });
        assert!(
            done_rx.recv().unwrap(),
            "the pending task's future outlived the drop"
        );
    });
}

/// `shutdown_timeout` while a closure blocks in place on something no task holds: the
/// other tasks are dropped, and the shutdown gives up on the blocked worker at its timeout
/// (returning `false`); the blocked task finishes its poll once its closure returns, and the
/// worker exits.
#[test]
fn shutdown_timeout_gives_up_on_a_closure_blocked_in_place() {
    Watchdog::new("shutdown_timeout with a worker blocked in place").run(|| {
        let rt = threaded(2);
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (blocked_tx, blocked_rx) = mpsc::channel();
        let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
        rt.spawn(async move {
            let _held = dropped_tx;
            std::future::pending::<()>().await
        });
        let blocked = rt.spawn(async move {
            task::block_in_place(move || {
                blocked_tx.send(()).unwrap();
                let _ = gate_rx.recv();
            })
        });
        blocked_rx.recv().unwrap();
        assert!(!rt.shutdown_timeout(Duration::from_millis(50)));
        // The pending task was dropped although a worker is still blocked.
        assert!(dropped_rx.recv().is_err());
        drop(gate_tx);
        // The blocked task's poll ends with its output, which reaches its handle.
        futures::executor::block_on(blocked).unwrap();
    });
}

/// A stand-in counts for `settle` while it polls a task: the worker it stood in for has
/// returned from its closure and gone idle, but the task the stand-in runs is still in its
/// poll, so the runtime is not settled until that poll ends.
#[test]
fn settle_waits_for_a_task_a_stand_in_is_polling() {
    Watchdog::new("settle while a stand-in polls").run(|| {
        let rt = threaded(1);
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let done = Arc::new(AtomicUsize::new(0));
        let a = {
            let done = done.clone();
            rt.spawn(async move {
                // Queued behind this task on the only worker: the stand-in runs it.
                genrt::spawn(async move {
                    started_tx.send(()).unwrap();
                    let _ = gate_rx.recv();
                    done.fetch_add(1, Ordering::SeqCst);
                });
                // Until the stand-in is inside that task's poll.
                task::block_in_place(move || started_rx.recv().unwrap());
            })
        };
        futures::executor::block_on(a).unwrap();
        // The worker is idle; the stand-in is not.
        assert!(!rt.try_settle(Duration::from_millis(20)));
        assert_eq!(done.load(Ordering::SeqCst), 0);
        drop(gate_tx);
        rt.settle();
        assert_eq!(done.load(Ordering::SeqCst), 1);
    });
}

/// A runtime dropped while a closure blocked in place waits in a `block_on` of one of the
/// runtime's sleeps: no worker is left to fire it, so the drop wakes it (its poll then
/// panics, the runtime being gone, as Tokio's timers error at shutdown) instead of waiting
/// for ever.
#[test]
fn dropping_the_runtime_wakes_a_closure_blocked_in_place_on_a_sleep() {
    Watchdog::new("drop with a closure blocked in place on a sleep").run(|| {
        let _quiet = quiet_panics();
        let rt = threaded(2);
        let (blocked_tx, blocked_rx) = mpsc::channel();
        let sleeper = rt.spawn(async move {
            task::block_in_place(move || {
                blocked_tx.send(()).unwrap();
                genrt::Handle::current().block_on(genrt::time::sleep(Duration::from_secs(3600)));
            })
        });
        blocked_rx.recv().unwrap();
        drop(rt);
        let failure = futures::executor::block_on(sleeper).unwrap_err();
        assert!(failure.is_panic(), "{failure}");
    });
}

/// A runtime dropped from a `block_in_place` closure of its own worker keeps its registry
/// entry until that worker has left the runtime's context: the thread goes on, still in
/// that context, and builds 1,100 runtimes (more than the registry's 1,024 entries, so one
/// reuses the dropped runtime's entry); a wake it issues for each new runtime's task must
/// reach that runtime, not the dropped one.
#[test]
fn wakes_after_a_runtime_dropped_from_its_own_worker_reach_later_runtimes() {
    Watchdog::new("wakes after dropping the runtime in place").run(|| {
        let rt = threaded(1);
        let slot = Arc::new(std::sync::Mutex::new(Some(rt)));
        let handle = slot.lock().unwrap().as_ref().unwrap().handle().clone();
        let lost = handle.spawn(async move {
            task::block_in_place(move || {
                drop(slot.lock().unwrap().take());
                first_lost_wake(1_100)
            })
        });
        let lost = futures::executor::block_on(lost).unwrap();
        assert_eq!(
            lost, None,
            "a wake of the n-th runtime built after the drop was lost"
        );
    });
}

/// A worker that `shutdown_timeout` gave up on (blocked in place) keeps its runtime's
/// registry entry until it exits: the closure goes on, still in the runtime's context, and
/// builds 1,100 runtimes; a wake it issues for each one's task must reach that runtime.
#[test]
fn wakes_from_a_worker_left_behind_by_shutdown_timeout_reach_later_runtimes() {
    Watchdog::new("wakes from a worker left behind by shutdown_timeout").run(|| {
        let rt = threaded(1);
        let (inside_tx, inside_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (lost_tx, lost_rx) = mpsc::channel::<Option<usize>>();
        drop(rt.spawn(async move {
            task::block_in_place(move || {
                inside_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                lost_tx.send(first_lost_wake(1_100)).unwrap();
            })
        }));
        inside_rx.recv().unwrap();
        assert!(!rt.shutdown_timeout(Duration::from_millis(20)));
        go_tx.send(()).unwrap();
        assert_eq!(
            lost_rx.recv().unwrap(),
            None,
            "a wake of a later runtime was lost"
        );
    });
}

/// Builds `count` current-thread runtimes one after the other, each with a task waiting on
/// a channel that this thread then completes (a wake from outside the runtime's context);
/// returns the index of the first whose task was not woken.
fn first_lost_wake(count: usize) -> Option<usize> {
    for i in 0..count {
        let rt = genrt::Builder::new_current_thread().build().unwrap();
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let polled = Arc::new(AtomicUsize::new(0));
        let waiting = {
            let polled = polled.clone();
            rt.spawn(async move {
                polled.store(1, Ordering::SeqCst);
                rx.await.is_ok()
            })
        };
        rt.block_on(async {
            while polled.load(Ordering::SeqCst) == 0 {
                genrt::yield_now().await;
            }
        });
        tx.send(()).unwrap();
        if rt
            .block_on(genrt::time::timeout(Duration::from_secs(5), waiting))
            .is_err()
        {
            return Some(i);
        }
    }
    None
}

/// `settle` called by a task that a stand-in polls panics, as on a worker: the caller's own
/// poll counts for the settle, which would wait for itself for ever.
#[test]
fn settle_from_a_task_a_stand_in_polls_panics() {
    Watchdog::new("settle from a task on a stand-in").run(|| {
        let _quiet = quiet_panics();
        let rt = Arc::new(threaded(1));
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (message_tx, message_rx) = mpsc::channel::<String>();
        let a = {
            let inner = rt.clone();
            rt.spawn(async move {
                genrt::spawn(async move {
                    started_tx.send(()).unwrap();
                    let settle = std::panic::AssertUnwindSafe(|| inner.settle());
                    let payload = std::panic::catch_unwind(settle).unwrap_err();
                    let message = panic_message(&*payload).unwrap_or_default().to_string();
                    message_tx.send(message).unwrap();
                });
                task::block_in_place(move || started_rx.recv().unwrap());
            })
        };
        futures::executor::block_on(a).unwrap();
        let message = message_rx.recv().unwrap();
        assert!(message.contains("cannot settle"), "{message}");
    });
}

/// `settle` inside a `block_in_place` closure panics, as on a worker: the closure's task is
/// still in its poll, which the settle would wait for.
#[test]
fn settle_inside_a_block_in_place_closure_panics() {
    Watchdog::new("settle inside block_in_place").run(|| {
        let _quiet = quiet_panics();
        let rt = Arc::new(threaded(1));
        let inner = rt.clone();
        let failure = futures::executor::block_on(rt.spawn(async move {
            task::block_in_place(move || inner.settle());
        }))
        .unwrap_err();
        let payload = failure.into_panic();
        let message = panic_message(&*payload).unwrap_or_default().to_string();
        assert!(message.contains("cannot settle"), "{message}");
    });
}

/// `block_on` in a task that a stand-in polls panics, as in a task on a worker (Tokio's
/// "Cannot start a runtime from within a runtime"): the stand-in would stall with the
/// queued tasks it runs.
#[test]
fn block_on_in_a_task_a_stand_in_polls_panics() {
    Watchdog::new("block_on on a stand-in").run(|| {
        let _quiet = quiet_panics();
        let rt = threaded(1);
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (message_tx, message_rx) = mpsc::channel::<String>();
        let a = rt.spawn(async move {
            genrt::spawn(async move {
                started_tx.send(()).unwrap();
                let block = || genrt::Handle::current().block_on(async { 1 });
                let payload = std::panic::catch_unwind(block).unwrap_err();
                let message = panic_message(&*payload).unwrap_or_default().to_string();
                message_tx.send(message).unwrap();
            });
            task::block_in_place(move || started_rx.recv().unwrap());
        });
        futures::executor::block_on(a).unwrap();
        let message = message_rx.recv().unwrap();
        assert!(message.contains("Cannot start a runtime"), "{message}");
    });
}

/// On a worker of a multi-thread runtime, inside an `enter` guard of another runtime (of
/// either flavor), `block_in_place` hands over the worker this thread is, as Tokio's (whose
/// scheduler context such a guard does not change): the task waiting in the worker's LIFO
/// slot runs while the closure blocks. It used to look at the guard's runtime, of which
/// this thread is no worker, and run the closure in place: the one-worker runtime's queued
/// task then waited for the closure, which waited for it.
#[test]
fn a_worker_inside_another_runtimes_guard_hands_its_own_worker_over() {
    Watchdog::new("block_in_place inside another runtime's guard").run(|| {
        let others = [
            threaded(1),
            genrt::Builder::new_current_thread().build().unwrap(),
        ];
        for other in others {
            let rt = threaded(1);
            let other = other.handle().clone();
            let ran = rt.block_on(rt.spawn(async move {
                let (tx, rx) = mpsc::channel();
                // Queued in this worker's LIFO slot.
                genrt::spawn(async move { tx.send(()).unwrap() });
                let _other = other.enter();
                task::block_in_place(|| rx.recv_timeout(support::DEADLINE).is_ok())
            }));
            assert!(ran.unwrap(), "the queued task never ran");
        }
    });
}

/// On a multi-thread runtime's `block_on` thread (no worker), inside an `enter` guard of a
/// current-thread runtime that this thread does not drive, `block_in_place` runs the closure
/// in place, as Tokio's: no task of either runtime waits for this thread. It used to panic
/// as if the thread ran the current-thread runtime's work.
#[test]
fn a_multi_thread_block_on_inside_a_current_thread_guard_runs_the_closure() {
    Watchdog::new("block_in_place in a block_on inside a current-thread guard").run(|| {
        let rt = threaded(2);
        let current_thread = genrt::Builder::new_current_thread().build().unwrap();
        let five = rt.block_on(async {
            let _entered = current_thread.enter();
            task::block_in_place(|| 5)
        });
        assert_eq!(five, 5);
    });
}

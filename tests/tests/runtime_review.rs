//! genrt's runtime construction and handle APIs under review (adversarial), against Tokio's
//! documented behaviour of `tokio::runtime::{Builder, Runtime, Handle, RuntimeMetrics}` and
//! its tests (`rt_common.rs`, `rt_handle.rs`, `rt_metrics.rs`, `rt_threaded.rs`,
//! `rt_basic.rs`): builder options at their edges (keep-alives, thread names on the
//! blocking pool of both flavors), hooks on blocking threads, `shutdown_timeout` waiting as
//! long as it should, `Handle::block_on` racing the runtime's drop, the metrics after a
//! settle (blocking closures and spawns after shutdown are not alive tasks, as in Tokio).
//! Every wait is bounded.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use support::{recv, wait_until, DropCounter, Gate, Watchdog};

fn threaded() -> genrt::Runtime {
    genrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

fn current_thread() -> genrt::Runtime {
    genrt::Builder::new_current_thread().build().unwrap()
}

/// Tokio documents `thread_keep_alive` with any `Duration`: a huge one keeps idle blocking
/// threads for good, and the runtime's drop still wakes and joins them.
#[test]
fn a_huge_keep_alive_keeps_idle_blocking_threads_and_the_drop_joins_them() {
    Watchdog::new("a huge keep-alive").run(|| {
        for keep_alive in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
            let stopped = Arc::new(AtomicUsize::new(0));
            let rt = genrt::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_keep_alive(keep_alive)
                .on_thread_stop({
                    let stopped = stopped.clone();
                    move || {
                        stopped.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .build()
                .unwrap();
            assert_eq!(rt.block_on(rt.spawn_blocking(|| 3)).unwrap(), 3);
            // The blocking thread is idle now, waiting for ever for more work.
            assert_eq!(rt.block_on(rt.spawn_blocking(|| 4)).unwrap(), 4);
            drop(rt);
            // One worker and (at least) one blocking thread stopped.
            assert!(stopped.load(Ordering::SeqCst) >= 2);
        }
    });
}

/// A zero keep-alive: every blocking thread leaves as soon as it is idle; closures still all
/// run, and each thread's hooks pair up.
#[test]
fn a_zero_keep_alive_still_runs_every_closure_with_paired_hooks() {
    Watchdog::new("a zero keep-alive").run(|| {
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_keep_alive(Duration::ZERO)
            .on_thread_start({
                let started = started.clone();
                move || {
                    started.fetch_add(1, Ordering::SeqCst);
                }
            })
            .on_thread_stop({
                let stopped = stopped.clone();
                move || {
                    stopped.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
            .unwrap();
        for i in 0..50 {
            assert_eq!(rt.block_on(rt.spawn_blocking(move || i)).unwrap(), i);
        }
        drop(rt);
        assert_eq!(
            started.load(Ordering::SeqCst),
            stopped.load(Ordering::SeqCst)
        );
    });
}

/// Tokio: `thread_name` names every thread the runtime starts, its blocking pool's included,
/// on a current-thread runtime too (whose only threads are the pool's).
#[test]
fn thread_name_names_the_blocking_threads_of_both_flavors() {
    Watchdog::new("thread names").run(|| {
        for mut builder in [
            genrt::Builder::new_current_thread(),
            genrt::Builder::new_multi_thread(),
        ] {
            let rt = builder
                .worker_threads(1)
                .thread_name("review-pool")
                .build()
                .unwrap();
            let name = rt
                .block_on(rt.spawn_blocking(|| thread::current().name().map(str::to_owned)))
                .unwrap();
            assert_eq!(name.as_deref(), Some("review-pool"));
            let nested = rt
                .block_on(async {
                    genrt::spawn_blocking(|| thread::current().name().map(str::to_owned)).await
                })
                .unwrap();
            assert_eq!(nested.as_deref(), Some("review-pool"));
        }
    });
}

/// Tokio runs `on_thread_start`/`on_thread_stop` on every thread of the blocking pool, inside
/// the runtime's context, on a current-thread runtime too; it runs neither on the thread
/// calling `block_on` (no worker thread there).
#[test]
fn thread_hooks_run_on_blocking_threads_in_context_and_never_on_the_block_on_thread() {
    Watchdog::new("hooks on blocking threads").run(|| {
        for mut builder in [
            genrt::Builder::new_current_thread(),
            genrt::Builder::new_multi_thread(),
        ] {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let record = |what: &'static str| {
                let seen = seen.clone();
                move || {
                    let id = genrt::Handle::try_current().map(|h| h.id()).ok();
                    seen.lock()
                        .unwrap()
                        .push((what, thread::current().id(), id));
                }
            };
            let rt = builder
                .worker_threads(1)
                .on_thread_start(record("start"))
                .on_thread_stop(record("stop"))
                .build()
                .unwrap();
            let id = rt.handle().id();
            let flavor = rt.handle().runtime_flavor();
            let closure_thread = rt
                .block_on(rt.spawn_blocking(|| thread::current().id()))
                .unwrap();
            drop(rt);
            let seen = seen.lock().unwrap();
            let me = thread::current().id();
            assert!(
                seen.iter().all(|(_, thread, _)| *thread != me),
                "{flavor:?}: a hook ran on the block_on thread: {seen:?}"
            );
            assert!(
                seen.iter().all(|(_, _, rt)| *rt == Some(id)),
                "{flavor:?}: a hook ran outside the runtime's context: {seen:?}"
            );
            for what in ["start", "stop"] {
                assert!(
                    seen.iter()
                        .any(|(w, thread, _)| *w == what && *thread == closure_thread),
                    "{flavor:?}: no {what} hook on the blocking thread: {seen:?}"
                );
            }
            let starts = seen.iter().filter(|(w, ..)| *w == "start").count();
            let stops = seen.iter().filter(|(w, ..)| *w == "stop").count();
            assert_eq!(starts, stops, "{flavor:?}: {seen:?}");
        }
    });
}

/// Tokio: `shutdown_timeout` waits up to its timeout for running blocking closures; one
/// that finishes well within it is waited for, so when it returns `true` the closure has
/// returned and its join handle is resolved.
#[test]
fn shutdown_timeout_waits_for_a_closure_that_finishes_within_it() {
    Watchdog::new("shutdown_timeout waits").run(|| {
        for rt in [current_thread(), threaded()] {
            let finished = Arc::new(AtomicBool::new(false));
            let (started_tx, started) = mpsc::channel();
            let join = rt.spawn_blocking({
                let finished = finished.clone();
                move || {
                    started_tx.send(()).unwrap();
                    thread::sleep(Duration::from_millis(100));
                    finished.store(true, Ordering::SeqCst);
                    7
                }
            });
            recv(&started, "the closure started");
            assert!(rt.shutdown_timeout(Duration::from_secs(30)));
            assert!(finished.load(Ordering::SeqCst));
            assert_eq!(support::wait_for("the closure's handle", join).unwrap(), 7);
        }
    });
}

/// `shutdown_timeout` waits for a worker stuck in a long poll that ends within the timeout,
/// and then the task's future is dropped before it returns.
#[test]
fn shutdown_timeout_waits_for_a_long_poll_then_drops_the_future() {
    Watchdog::new("shutdown_timeout and a long poll").run(|| {
        let rt = threaded();
        let dropped = Arc::new(AtomicUsize::new(0));
        let (started_tx, started) = mpsc::channel();
        let join = rt.spawn({
            let guard = DropCounter(dropped.clone());
            async move {
                let _guard = guard;
                started_tx.send(()).unwrap();
                thread::sleep(Duration::from_millis(100));
                std::future::pending::<()>().await;
            }
        });
        recv(&started, "the task started");
        assert!(rt.shutdown_timeout(Duration::from_secs(30)));
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert!(support::wait_for("the join", join)
            .unwrap_err()
            .is_cancelled());
    });
}

/// Tokio (`rt_handle_block_on`): `Handle::block_on` from a plain thread keeps working while
/// the runtime is dropped on another thread; a join handle it awaits resolves cancelled and
/// neither side deadlocks, on both flavors (on a current-thread runtime that thread is the
/// driver when the drop comes).
#[test]
fn handle_block_on_on_a_plain_thread_races_the_drop_without_deadlock() {
    Watchdog::new("handle block_on racing the drop").run(|| {
        for round in 0..20 {
            let rt = if round % 2 == 0 {
                current_thread()
            } else {
                threaded()
            };
            let handle = rt.handle().clone();
            let pending = rt.spawn(std::future::pending::<()>());
            let (in_tx, inside) = mpsc::channel();
            let blocker = thread::spawn(move || {
                handle.block_on(async move {
                    in_tx.send(()).unwrap();
                    pending.await
                })
            });
            recv(&inside, "block_on polled its future");
            if round % 4 < 2 {
                thread::sleep(Duration::from_millis(1));
            }
            drop(rt);
            let out = blocker.join().unwrap();
            assert!(out.unwrap_err().is_cancelled());
        }
    });
}

/// Tokio's `num_alive_tasks` counts the runtime's tasks only: blocking closures are not
/// tasks of its scheduler (Tokio counts neither them nor their spawns).
#[test]
fn blocking_closures_are_not_alive_tasks() {
    Watchdog::new("blocking closures and num_alive_tasks").run(|| {
        for rt in [current_thread(), threaded()] {
            let metrics = rt.metrics();
            let gate = Gate::default();
            let join = rt.spawn_blocking({
                let gate = gate.clone();
                move || gate.wait()
            });
            rt.settle();
            assert_eq!(metrics.num_alive_tasks(), 0);
            gate.open();
            support::wait_for("the closure", join).unwrap();
            assert_eq!(metrics.num_alive_tasks(), 0);
        }
    });
}

/// After shutdown a spawn is cancelled at once: it is no alive task, then or later (Tokio
/// never binds it to the runtime's task list).
#[test]
fn a_spawn_after_shutdown_is_not_an_alive_task() {
    Watchdog::new("spawns after shutdown").run(|| {
        for rt in [current_thread(), threaded()] {
            let handle = rt.handle().clone();
            let metrics = rt.metrics();
            drop(rt);
            let late = handle.spawn(async { 1 });
            assert!(support::wait_for("the late spawn", late)
                .unwrap_err()
                .is_cancelled());
            assert_eq!(metrics.num_alive_tasks(), 0);
            assert_eq!(metrics.global_queue_depth(), 0);
        }
    });
}

/// Under `UnhandledPanic::ShutdownRuntime` the runtime closes while its value is alive: the
/// tasks it cancels and the spawns after the close are not alive once it settles.
#[test]
fn tasks_cancelled_by_a_panic_shutdown_are_not_alive() {
    Watchdog::new("alive tasks after a panic shutdown").run(|| {
        let _quiet = support::quiet_panics();
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(2)
            .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        let metrics = rt.metrics();
        let pending: Vec<_> = (0..10)
            .map(|_| rt.spawn(std::future::pending::<()>()))
            .collect();
        let boom = rt.spawn(async { panic!("{}", support::INTENTIONAL) });
        assert!(support::wait_for("the panic", boom).unwrap_err().is_panic());
        for join in pending {
            assert!(support::wait_for("a cancelled task", join)
                .unwrap_err()
                .is_cancelled());
        }
        let late = rt.spawn(async {});
        assert!(support::wait_for("the late spawn", late)
            .unwrap_err()
            .is_cancelled());
        wait_until("no task alive", || metrics.num_alive_tasks() == 0);
        drop(rt);
        assert_eq!(metrics.num_alive_tasks(), 0);
    });
}

/// Right after a settle the metrics are exact (genrt's promise): spawned counts every task,
/// alive ones are the suspended ones, and the global queue is empty, from tasks spawned by
/// every way in (runtime, handle on a plain thread, inside tasks, inside blocking closures).
#[test]
fn metrics_are_exact_right_after_a_settle() {
    Watchdog::new("metrics after settle").run(|| {
        for rt in [current_thread(), threaded()] {
            let metrics = rt.metrics();
            let spawned0 = metrics.spawned_tasks_count();
            let held = Arc::new(Mutex::new(Vec::new()));
            for _ in 0..5 {
                rt.spawn(async {});
                let held = held.clone();
                rt.spawn(async move {
                    held.lock()
                        .unwrap()
                        .push(genrt::spawn(std::future::pending::<()>()));
                });
            }
            let handle = rt.handle().clone();
            thread::spawn(move || {
                handle.spawn(async {});
            })
            .join()
            .unwrap();
            rt.block_on(rt.spawn_blocking(|| {
                genrt::spawn(std::future::pending::<()>());
            }))
            .unwrap();
            rt.settle();
            assert_eq!(metrics.spawned_tasks_count() - spawned0, 5 + 5 + 5 + 1 + 1);
            assert_eq!(metrics.num_alive_tasks(), 6);
            assert_eq!(metrics.global_queue_depth(), 0);
            for join in held.lock().unwrap().drain(..) {
                join.abort();
            }
            rt.settle();
            assert_eq!(metrics.num_alive_tasks(), 1);
        }
    });
}

/// Tokio (`rt_metrics`): `num_workers` is the configured count, and a current-thread runtime
/// has one whatever `worker_threads` says.
#[test]
fn num_workers_is_the_builders_count() {
    for workers in [1, 3] {
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .unwrap();
        assert_eq!(rt.metrics().num_workers(), workers);
    }
    let rt = genrt::Builder::new_current_thread()
        .worker_threads(7)
        .build()
        .unwrap();
    assert_eq!(rt.metrics().num_workers(), 1);
}

/// Tokio drains its global queue at shutdown (`rt_metrics` reads it as empty once the
/// runtime is gone): tasks queued from outside and never run are cancelled, and the queue
/// depth a kept `RuntimeMetrics` reports is 0 after the drop.
#[test]
fn the_global_queue_is_empty_after_the_drop() {
    Watchdog::new("global queue after the drop").run(|| {
        for shutdown in 0..3 {
            let rt = current_thread();
            let metrics = rt.metrics();
            let joins: Vec<_> = (0..5).map(|_| rt.spawn(async {})).collect();
            assert_eq!(metrics.global_queue_depth(), 5);
            match shutdown {
                0 => drop(rt),
                1 => assert!(rt.shutdown_timeout(Duration::from_secs(30))),
                _ => rt.shutdown_background(),
            }
            for join in joins {
                assert!(support::wait_for("a queued task", join)
                    .unwrap_err()
                    .is_cancelled());
            }
            assert_eq!(metrics.num_alive_tasks(), 0);
            assert_eq!(metrics.global_queue_depth(), 0, "shutdown {shutdown}");
        }
    });
}

/// Work a worker's `on_thread_start` hook spawns runs, and a `settle` begun after every
/// hook returned waits for it (the key must not sit in a worker that is not yet present).
#[test]
fn work_spawned_by_a_start_hook_runs_before_a_later_settle_returns() {
    Watchdog::new("spawns from start hooks").run(|| {
        for round in 0..50 {
            let hooks = Arc::new(AtomicUsize::new(0));
            let ran = Arc::new(AtomicUsize::new(0));
            let rt = genrt::Builder::new_multi_thread()
                .worker_threads(2)
                .on_thread_start({
                    let hooks = hooks.clone();
                    let ran = ran.clone();
                    move || {
                        let ran = ran.clone();
                        genrt::spawn(async move {
                            genrt::yield_now().await;
                            ran.fetch_add(1, Ordering::SeqCst);
                        });
                        hooks.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .build()
                .unwrap();
            wait_until("both start hooks ran", || hooks.load(Ordering::SeqCst) == 2);
            rt.settle();
            assert_eq!(ran.load(Ordering::SeqCst), 2, "round {round}");
        }
    });
}

/// Tokio's `thread_stack_size` applies to every thread the runtime starts: a worker and a
/// blocking thread each get room for a deep recursion (far past the 2 MiB default of a
/// spawned thread).
#[test]
fn thread_stack_size_applies_to_workers_and_blocking_threads() {
    #[inline(never)]
    fn deep(depth: usize) -> usize {
        let frame = std::hint::black_box([depth as u8; 1024]);
        if depth == 0 {
            frame[0] as usize
        } else {
            deep(depth - 1) + std::hint::black_box(frame)[1] as usize
        }
    }
    Watchdog::new("stack size").run(|| {
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_stack_size(64 << 20)
            .build()
            .unwrap();
        // About 8 MiB of frames.
        let depth = 8 * 1024;
        assert!(rt.block_on(rt.spawn(async move { deep(depth) })).is_ok());
        assert!(rt.block_on(rt.spawn_blocking(move || deep(depth))).is_ok());
    });
}

/// Tokio (`rt_handle`, `interleave_enter_different_rt`) panics on guards dropped out of
/// order; after that panic the thread is left in a consistent state: dropping the other
/// guard leaves it outside every runtime, and both runtimes drop (no hold left behind).
#[test]
fn after_an_out_of_order_guard_drop_the_thread_is_outside_and_the_runtimes_drop() {
    Watchdog::new("out-of-order guards").run(|| {
        let _quiet = support::quiet_panics();
        let rt1 = threaded();
        let rt2 = current_thread();
        let (id1, id2) = (rt1.handle().id(), rt2.handle().id());
        let g1 = rt1.enter();
        let g2 = rt2.enter();
        assert_eq!(genrt::Handle::current().id(), id2);
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(g1)));
        assert!(res.is_err(), "an out-of-order drop panics, as Tokio's");
        let after = genrt::Handle::try_current().map(|h| h.id()).ok();
        assert!(after == Some(id2) || after.is_none(), "{after:?}");
        drop(g2);
        assert!(genrt::Handle::try_current().is_err());
        let _ = id1;
        drop(rt1);
        drop(rt2);
    });
}

/// Two threads in `Handle::block_on` of one current-thread runtime (one drives, one waits
/// for the worker) while a third drops the runtime: both return with their join handles
/// cancelled, and the drop returns.
#[test]
fn two_block_on_threads_of_a_current_thread_runtime_race_its_drop() {
    Watchdog::new("two block_on threads racing the drop").run(|| {
        for round in 0..30 {
            let rt = current_thread();
            let (in_tx, inside) = mpsc::channel();
            let blockers: Vec<_> = (0..2)
                .map(|_| {
                    let handle = rt.handle().clone();
                    let pending = rt.spawn(std::future::pending::<()>());
                    let in_tx = in_tx.clone();
                    thread::spawn(move || {
                        handle.block_on(async move {
                            in_tx.send(()).unwrap();
                            pending.await
                        })
                    })
                })
                .collect();
            recv(&inside, "a block_on polled its future");
            recv(&inside, "the other block_on polled its future");
            if round % 2 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
            drop(rt);
            for blocker in blockers {
                assert!(blocker.join().unwrap().unwrap_err().is_cancelled());
            }
        }
    });
}

/// A blocking thread's `on_thread_stop` hook runs inside the runtime's context even at
/// shutdown, and a `Handle::block_on` there (its spawn run or cancelled, depending on the
/// scheduler's close) returns instead of deadlocking with the drop that waits for the thread.
#[test]
fn handle_block_on_in_a_blocking_threads_stop_hook_during_the_drop() {
    Watchdog::new("block_on in a stop hook at shutdown").run(|| {
        for mut builder in [
            genrt::Builder::new_current_thread(),
            genrt::Builder::new_multi_thread(),
        ] {
            let outcomes = Arc::new(Mutex::new(Vec::new()));
            let rt = builder
                .worker_threads(1)
                .on_thread_stop({
                    let outcomes = outcomes.clone();
                    move || {
                        if genrt::runtime::worker_index().is_some() {
                            return;
                        }
                        let handle = genrt::Handle::current();
                        let out = handle.block_on(async { genrt::spawn(async { 5 }).await });
                        outcomes
                            .lock()
                            .unwrap()
                            .push(out.map_err(|e| e.is_cancelled()));
                    }
                })
                .build()
                .unwrap();
            assert_eq!(rt.block_on(rt.spawn_blocking(|| 1)).unwrap(), 1);
            drop(rt);
            let outcomes = outcomes.lock().unwrap();
            assert!(!outcomes.is_empty());
            // The pool closes first: a hook that runs before the scheduler's close sees its
            // spawn run, one after sees it cancelled.
            assert!(
                outcomes.iter().all(|o| *o == Err(true) || *o == Ok(5)),
                "{outcomes:?}"
            );
        }
    });
}

/// Under `ShutdownRuntime` the pool stays open after the panic's close: a worker's stop hook
/// that spawns a blocking closure starts a thread during the shutdown; that thread runs its
/// start and stop hooks in pairs, the closure runs, and the drop returns.
#[test]
fn a_blocking_thread_started_by_a_stop_hook_after_a_panic_close_gets_its_hooks() {
    Watchdog::new("threads started during shutdown").run(|| {
        let _quiet = support::quiet_panics();
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(2)
            .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
            .on_thread_start({
                let started = started.clone();
                move || {
                    started.fetch_add(1, Ordering::SeqCst);
                }
            })
            .on_thread_stop({
                let stopped = stopped.clone();
                let ran = ran.clone();
                move || {
                    stopped.fetch_add(1, Ordering::SeqCst);
                    if genrt::runtime::worker_index().is_some() {
                        let ran = ran.clone();
                        drop(genrt::spawn_blocking(move || {
                            ran.fetch_add(1, Ordering::SeqCst);
                        }));
                    }
                }
            })
            .build()
            .unwrap();
        let boom = rt.spawn(async { panic!("{}", support::INTENTIONAL) });
        assert!(support::wait_for("the panic", boom).unwrap_err().is_panic());
        wait_until("both closures ran", || ran.load(Ordering::SeqCst) == 2);
        drop(rt);
        assert_eq!(
            started.load(Ordering::SeqCst),
            stopped.load(Ordering::SeqCst)
        );
    });
}

// Tokio: tests/rt_common_before_park.rs, `before_park_wakes_block_on_task`. A park hook of a
// current-thread runtime wakes the `block_on` future: the driver polls it instead of
// sleeping. (Tokio's `Notify`, runtime-agnostic, for the notification.)
#[test]
fn before_park_wakes_block_on_task() {
    Watchdog::new("before_park_wakes_block_on_task").run(|| {
        let notify = Arc::new(tokio::sync::Notify::new());
        let woken = Arc::new(AtomicBool::new(false));
        let rt = genrt::Builder::new_current_thread()
            .enable_all()
            .on_thread_park({
                let notify = notify.clone();
                let woken = woken.clone();
                move || {
                    if !woken.swap(true, Ordering::SeqCst) {
                        notify.notify_one();
                    }
                }
            })
            .build()
            .unwrap();
        rt.block_on(async {
            notify.notified().await;
        });
        assert!(woken.load(Ordering::SeqCst));
    });
}

// Tokio: tests/rt_common_before_park.rs, `before_park_spawns_task`. A task the park hook
// spawns runs before the driver sleeps, and wakes the `block_on` future.
#[test]
fn before_park_spawns_task() {
    Watchdog::new("before_park_spawns_task").run(|| {
        let notify = Arc::new(tokio::sync::Notify::new());
        let woken = Arc::new(AtomicBool::new(false));
        let rt = genrt::Builder::new_current_thread()
            .enable_all()
            .on_thread_park({
                let notify = notify.clone();
                let woken = woken.clone();
                move || {
                    if !woken.swap(true, Ordering::SeqCst) {
                        let notify = notify.clone();
                        genrt::spawn(async move {
                            notify.notify_one();
                        });
                    }
                }
            })
            .build()
            .unwrap();
        rt.block_on(async {
            notify.notified().await;
        });
        assert!(woken.load(Ordering::SeqCst));
    });
}

// Tokio: tests/rt_common_before_park.rs, `wake_from_other_thread_block_on`. A second
// `block_on` on another thread wakes the first one's future.
#[test]
fn wake_from_other_thread_block_on() {
    Watchdog::new("wake_from_other_thread_block_on").run(|| {
        let rt = current_thread();
        let handle = rt.handle().clone();
        let notify = Arc::new(tokio::sync::Notify::new());
        let th = thread::spawn({
            let notify = notify.clone();
            move || {
                thread::sleep(Duration::from_millis(5));
                handle.block_on(async move {
                    notify.notify_one();
                });
            }
        });
        rt.block_on(async {
            notify.notified().await;
        });
        th.join().unwrap();
    });
}

// Tokio: tests/rt_common_before_park.rs, `before_park_does_not_stall_spawned_timer` (Tokio
// issue #8212). A park hook that wakes the `block_on` future at every park must not keep
// the driver from firing a task's due timer. Tokio's 100 rounds of 1 ms become rounds until
// the timer fired, under the watchdog.
#[test]
fn before_park_does_not_stall_spawned_timer() {
    Watchdog::new("before_park_does_not_stall_spawned_timer").run(|| {
        let notify = Arc::new(tokio::sync::Notify::new());
        let task_done = Arc::new(AtomicBool::new(false));
        let rt = genrt::Builder::new_current_thread()
            .enable_all()
            .on_thread_park({
                let notify = notify.clone();
                move || notify.notify_waiters()
            })
            .build()
            .unwrap();
        rt.spawn({
            let task_done = task_done.clone();
            async move {
                genrt::time::sleep(Duration::from_millis(1)).await;
                task_done.store(true, Ordering::SeqCst);
            }
        });
        rt.block_on(genrt::yield_now());
        let mut rounds = 0;
        while !task_done.load(Ordering::SeqCst) {
            rounds += 1;
            assert!(
                rounds < 10_000,
                "the spawned task's timer never fired (Tokio issue #8212)"
            );
            rt.block_on(notify.notified());
            thread::sleep(Duration::from_millis(1));
        }
    });
}

// Tokio: tests/rt_spawn_blocking.rs, `issue_8056_regression_test` (a closure spawned while a
// blocking thread was between its idle count and its claim was queued for nobody). genrt's
// port: std's bounded channels for Tokio's `mpsc` (the sends happen in `block_on`, on a
// thread that may block), a `JoinSet` of blocking closures as in Tokio, and the watchdog
// for Tokio's one-second timeout.
#[test]
fn issue_8056_regression_test() {
    type Senders = Vec<mpsc::SyncSender<()>>;
    type Handles = genrt::JoinSet<()>;

    fn make_writer() -> (Senders, Handles) {
        let mut senders = vec![];
        let mut handles = genrt::JoinSet::new();
        for _ in 0..2 {
            let (tx, rx) = mpsc::sync_channel::<()>(1);
            senders.push(tx);
            handles.spawn_blocking(move || while rx.recv().is_ok() {});
        }
        (senders, handles)
    }

    async fn drive_writer(senders: Senders, mut handles: Handles) {
        for tx in &senders {
            tx.send(()).unwrap();
        }
        drop(senders);
        while let Some(res) = handles.join_next().await {
            res.unwrap();
        }
    }

    Watchdog::new("issue_8056_regression_test").run(|| {
        for _ in 0..512 {
            let rt = genrt::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let quick = || async {
                    genrt::task::spawn_blocking(|| {}).await.unwrap();
                };
                quick().await;
                quick().await;
                let (persistent_senders, persistent_handles) = make_writer();
                for _ in 0..2 {
                    quick().await;
                    quick().await;
                    let (senders, mut handles) = make_writer();
                    drop(senders);
                    while let Some(res) = handles.join_next().await {
                        res.unwrap();
                    }
                }
                quick().await;
                quick().await;
                let (second_senders, second_handles) = make_writer();
                drive_writer(persistent_senders, persistent_handles).await;
                drive_writer(second_senders, second_handles).await;
            });
        }
    });
}

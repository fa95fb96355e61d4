//! A gap audit against the test suites of genrt's peers: the tests of smol's `async-executor`
//! (doc examples and benches), `smol`, futures-rs (`futures-executor` doc examples and the
//! `futures/tests/` files that run futures on an executor or across threads) and `async-std`
//! that `peer_ports.rs`, `async_task_ports.rs` and `user_programs.rs` did not port yet,
//! translated to genrt's API. Each test names the repository, file and test it ports.
//!
//! The translation: `Executor::spawn` and `ThreadPool::spawn_ok`/`run_in_background` become
//! `Handle::spawn` or `futures::task::SpawnExt::spawn` on a `Handle`; `block_on`/`smol::run`
//! become `Runtime::block_on` (or `Handle::block_on` from other threads); threads that sit in
//! `Executor::run(pending)` become threads in `Handle::block_on` of a current-thread runtime
//! (they drive it) or nothing on a multi-thread one (its workers run the tasks);
//! `Task::detach` is dropping the `JoinHandle` (genrt, like Tokio, detaches a task whose handle
//! is dropped); `LocalExecutor` is `LocalSet`.
//!
//! # Ported
//!
//! - futures-rs `futures/tests/eventual.rs`: `join1`..`join5`, `select1`..`select4` (the
//!   futures spawned onto a 2-worker runtime; the receivers' hang-up checks that a finished
//!   task's future, which owns the sender, is dropped although nobody joins it). genrt's
//!   variant: the source drops its `ThreadPool` right after spawning and the task keeps the
//!   pool alive; dropping a genrt runtime cancels the task instead (documented difference).
//! - futures-rs `futures/tests/oneshot.rs`: `oneshot_send1`..`3`, `oneshot_drop_tx1`, `2`
//!   (`run_in_background` as a spawn onto a runtime).
//! - futures-rs `futures/tests/future_shared.rs`: `one_thread`, `two_threads`, `many_threads`
//!   (clones of one `Shared` awaited by 1, 2 and 1,000 tasks: `Shared` tells wakers apart
//!   with `will_wake`), `drop_on_one_task_ok`, `shared_future_that_wakes_itself_until_pending_is_returned`,
//!   `panic_while_poll` (tasks), `poll_while_panic` (`Handle::block_on` inside a `Drop` run by
//!   a panic's unwinding).
//! - futures-rs `futures/tests/ready_queue.rs`: `stress` (a `FuturesUnordered` fed by threads,
//!   drained by `block_on` and by a task, on both flavors; fewer rounds).
//! - futures-rs `futures/tests/stream_futures_unordered.rs`: `clear_in_loop` (in a task; 200
//!   rounds of 24 futures, not 10,000).
//! - futures-rs `futures/tests/recurse.rs`: `lots` (1,000 nested `then`s on a worker, in
//!   `block_on`, on a current-thread runtime).
//! - futures-rs `futures/tests/task_atomic_waker.rs` (`atomic_waker.rs` before): `basic` (the
//!   future pending exactly once, in `block_on` and in a task, on both flavors).
//! - futures-rs `futures/tests/task_arc_wake.rs`: `proper_refcount_on_wake_panic` as genrt can
//!   express it: the waker of a `JoinHandle` panics when the runtime wakes it; the output is
//!   kept and the runtime keeps working.
//! - futures-rs `futures-channel/tests/mpsc-close.rs` `smoke` and `mpsc.rs`
//!   `stress_shared_bounded_hard`, `stress_receiver_multi_task_bounded_hard` (the receiver moved
//!   between two tasks), `stress_drop_sender`, `stress_close_receiver`, `stress_poll_ready`,
//!   with tasks in place of threads (fewer rounds).
//! - futures-rs `future_shared.rs` `many_threads`, genrt's variant: clones awaited from two
//!   runtimes, a `LocalSet` and `block_on` threads; and a `JoinHandle` polled by a task of one
//!   runtime, then awaited by a task of another (both rely on `will_wake` telling apart
//!   wakers of equal slots in different runtimes).
//! - futures-rs `stream_futures_unordered.rs` (`from_iterator`, `works_1`) over 10,000 join
//!   handles; `SpawnExt::spawn_with_handle` and `RemoteHandle::forget` on a `Handle`.
//! - async-task `basic.rs` `cancel_and_run` / async-executor `drop.rs`, genrt's variant: the
//!   `Drop` of a future aborted from a plain thread spawns cleanup work, which runs.
//! - futures-rs `futures-executor/src/lib.rs` and `thread_pool.rs` doc examples (`spawn_ok` of
//!   a producer, `block_on` of the collecting stream).
//! - smol `tests/task.rs`: `spawn`, `spawn_detach`, `blocking`, `blocking_detach`.
//! - smol `tests/block_on.rs`: `smoke`, `panic`, `nested_block_on` (genrt refuses a nested
//!   `block_on` with a panic, as Tokio does; the nesting that works is through
//!   `spawn_blocking`, and a foreign `block_on` inside genrt's).
//! - smol `tests/timer.rs`: `timer_at`, `timer_after`, `timer_submilli` (lower bounds only).
//! - smol `examples/thread-pool.rs` (its stoppable pool): threads in `Handle::block_on` of a
//!   current-thread runtime drive a task spawned from the main thread.
//! - async-executor `src/lib.rs` doc examples: `Executor` (4 threads run until a signal),
//!   `Executor::run`, `LocalExecutor::run`, `is_empty` (as `num_alive_tasks`), `spawn`.
//! - async-executor `benches/executor.rs` as behaviours: `create`, `spawn_one`,
//!   `spawn_many_local`, `spawn_recursively`, `yield_now`, single- and multi-threaded.
//! - async-executor `tests/drop.rs` `executor_cancels_everything`, genrt's variant: which
//!   thread drops the futures (the one dropping the runtime; a `LocalSet`'s owner).
//! - async-std `tests/block_on.rs`: `smoke`, `panic`; `tests/task_local.rs`: `drop_local`
//!   (Tokio-style scoped task-locals: the value is dropped before the join handle is ready);
//!   `tests/thread_pool.rs`: `slow_join`, `slow_join_interrupted` (fewer closures, no timing).
//! - async-task semantics not ported elsewhere: a detached task's output is dropped when the
//!   task finishes, on the runtime, while the runtime lives.
//!
//! # Skipped, and why
//!
//! - async-executor `tests/*`, async-task `tests/*`, futures-executor `local_pool.rs`,
//!   `thread_pool.rs`'s `test_drop_after_start`, `futures/tests/lock_mutex.rs`: already in
//!   `peer_ports.rs` and `async_task_ports.rs`.
//! - futures-rs `task_arc_wake.rs` `create_from_arc` (reference counts of an `ArcWake`: genrt's
//!   wakers have none) and `ref_wake_same` (in `waker_alloc.rs`); `future_shared.rs` `peek`,
//!   `downgrade`, `ptr_eq`, `drop_in_poll`, `dont_*_clone*`; `ready_queue.rs` and
//!   `stream_futures_unordered.rs` tests that poll with a noop context: they test `futures`,
//!   not an executor.
//! - futures-rs `futures-executor/tests/block_on.rs` (`block_on_cannot_spawn_more`): written
//!   against the 0.2 API (spawning through the `Context`), which no longer exists.
//! - futures-rs `future_remote_handle.rs`: `RemoteHandle` without an executor.
//! - smol `tests/async_io.rs`, `futures.rs` (`async_std::sync::Mutex`, not a dependency; the
//!   same scenario with `futures`' mutex is `peer_ports.rs`'s `mutex_contested`), examples
//!   with I/O; async-std's I/O, channel and lock tests; async-std `spawn_task.rs` (a thread
//!   API genrt does not have).
//! - async-executor `examples/priority.rs`, `limit.rs`: executor composition genrt has no API
//!   for (several executors polled by one `run`).
//!
//! Every test runs under a [`Watchdog`]; none bounds a real-time duration from above.

use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self as std_mpsc, RecvTimeoutError};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{self, BoxFuture, Either, FutureExt, TryFutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::{AtomicWaker, SpawnExt};
use genrt::task::LocalSet;
use genrt::time::{sleep, sleep_until, Instant};
use genrt::{Builder, Handle, Runtime};
use support::{current_thread, multi_thread, FLAVORS};
use support::{
    drop_runtime, panic_message, panic_text, quiet_panics, recv, wait_for, wait_until, DropCounter,
    Watchdog, DEADLINE, INTENTIONAL,
};

// ---- Runtimes ----

/// Runs `f` under a watchdog named `what`.
#[track_caller]
fn watch<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    Watchdog::new(what).run(f)
}

/// [`watch`] for a loop of thousands of rounds: its length is the machine's, so it runs
/// under the limit of a whole scenario (`support::LIMIT`), which only turns a hang into a
/// failure; a loaded core can stretch such a loop past one wait's limit.
fn watch_loop<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    Watchdog::new(what).limit(support::LIMIT).run(f)
}

/// Asserts that every sender of `rx` is gone without sending more.
#[track_caller]
fn assert_hung_up<T: std::fmt::Debug>(rx: &std_mpsc::Receiver<T>, what: &str) {
    match rx.recv_timeout(DEADLINE) {
        Err(RecvTimeoutError::Disconnected) => {}
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: the sender is still alive after {DEADLINE:?}")
        }
        Ok(value) => panic!("{what}: received {value:?}, expected the sender gone"),
    }
}

// ---- futures-rs: futures/tests/eventual.rs ----

/// The source's `run`: spawns `future` onto a thread pool, dropping its output. Here the pool
/// is `handle`'s runtime, which the test keeps alive (see
/// `eventual_dropping_the_runtime_cancels_what_a_thread_pool_would_run`).
fn run<F: Future + Send + 'static>(handle: &Handle, future: F) {
    SpawnExt::spawn(handle, future.map(drop)).expect("the runtime is running");
}

// futures-rs, futures/tests/eventual.rs, `join1`.
#[test]
fn eventual_join1() {
    watch("eventual join1", || {
        let rt = multi_thread();
        let (tx, rx) = std_mpsc::channel();
        run(
            rt.handle(),
            future::try_join(future::ok::<i32, i32>(1), future::ok(2))
                .map_ok(move |v| tx.send(v).unwrap()),
        );
        assert_eq!(recv(&rx, "the joined values"), (1, 2));
        assert_hung_up(&rx, "the finished task's future");
    });
}

// futures-rs, futures/tests/eventual.rs, `join2`.
#[test]
fn eventual_join2() {
    watch("eventual join2", || {
        let rt = multi_thread();
        let (c1, p1) = oneshot::channel::<i32>();
        let (c2, p2) = oneshot::channel::<i32>();
        let (tx, rx) = std_mpsc::channel();
        run(
            rt.handle(),
            future::try_join(p1, p2).map_ok(move |v| tx.send(v).unwrap()),
        );
        assert!(rx.try_recv().is_err());
        c1.send(1).unwrap();
        assert!(rx.try_recv().is_err());
        c2.send(2).unwrap();
        assert_eq!(recv(&rx, "the joined values"), (1, 2));
        assert_hung_up(&rx, "the finished task's future");
    });
}

// futures-rs, futures/tests/eventual.rs, `join3`.
#[test]
fn eventual_join3() {
    watch("eventual join3", || {
        let rt = multi_thread();
        let (c1, p1) = oneshot::channel::<i32>();
        let (c2, p2) = oneshot::channel::<i32>();
        let (tx, rx) = std_mpsc::channel();
        run(
            rt.handle(),
            future::try_join(p1, p2).map_err(move |_v| tx.send(1).unwrap()),
        );
        assert!(rx.try_recv().is_err());
        drop(c1);
        assert_eq!(recv(&rx, "the error"), 1);
        assert_hung_up(&rx, "the finished task's future");
        drop(c2);
    });
}

// futures-rs, futures/tests/eventual.rs, `join4`.
#[test]
fn eventual_join4() {
    watch("eventual join4", || {
        let rt = multi_thread();
        let (c1, p1) = oneshot::channel::<i32>();
        let (c2, p2) = oneshot::channel::<i32>();
        let (tx, rx) = std_mpsc::channel();
        run(
            rt.handle(),
            future::try_join(p1, p2).map_err(move |v| tx.send(v).unwrap()),
        );
        assert!(rx.try_recv().is_err());
        drop(c1);
        assert_eq!(recv(&rx, "the error"), oneshot::Canceled);
        drop(c2);
        assert_hung_up(&rx, "the finished task's future");
    });
}

// futures-rs, futures/tests/eventual.rs, `join5`.
#[test]
fn eventual_join5() {
    watch("eventual join5", || {
        let rt = multi_thread();
        let (c1, p1) = oneshot::channel::<i32>();
        let (c2, p2) = oneshot::channel::<i32>();
        let (c3, p3) = oneshot::channel::<i32>();
        let (tx, rx) = std_mpsc::channel();
        run(
            rt.handle(),
            future::try_join(future::try_join(p1, p2), p3).map_ok(move |v| tx.send(v).unwrap()),
        );
        assert!(rx.try_recv().is_err());
        c1.send(1).unwrap();
        assert!(rx.try_recv().is_err());
        c2.send(2).unwrap();
        assert!(rx.try_recv().is_err());
        c3.send(3).unwrap();
        assert_eq!(recv(&rx, "the joined values"), ((1, 2), 3));
        assert_hung_up(&rx, "the finished task's future");
    });
}

/// What `try_select` of two oneshot receivers gives: the value and the other receiver.
type Selected<T> = Either<(T, oneshot::Receiver<i32>), (T, oneshot::Receiver<i32>)>;

// futures-rs, futures/tests/eventual.rs, `select1`.
#[test]
fn eventual_select1() {
    watch("eventual select1", || {
        let rt = multi_thread();
        let (c1, p1) = oneshot::channel::<i32>();
        let (c2, p2) = oneshot::channel::<i32>();
        let (tx, rx) = std_mpsc::channel::<Selected<i32>>();
        run(
            rt.handle(),
            future::try_select(p1, p2).map_ok(move |v| tx.send(v).unwrap()),
        );
        assert!(rx.try_recv().is_err());
        c1.send(1).unwrap();
        let (v, p2) = recv(&rx, "the selected value").into_inner();
        assert_eq!(v, 1);
        assert_hung_up(&rx, "the finished task's future");

        let (tx, rx) = std_mpsc::channel();
        run(rt.handle(), p2.map_ok(move |v| tx.send(v).unwrap()));
        c2.send(2).unwrap();
        assert_eq!(recv(&rx, "the other value"), 2);
        assert_hung_up(&rx, "the second task's future");
    });
}

// futures-rs, futures/tests/eventual.rs, `select2`.
#[test]
fn eventual_select2() {
    watch("eventual select2", || {
        let rt = multi_thread();
        let (c1, p1) = oneshot::channel::<i32>();
        let (c2, p2) = oneshot::channel::<i32>();
        let (tx, rx) = std_mpsc::channel();
        run(
            rt.handle(),
            future::try_select(p1, p2).map_err(move |v| tx.send((1, v.into_inner().1)).unwrap()),
        );
        assert!(rx.try_recv().is_err());
        drop(c1);
        let (v, p2) = recv(&rx, "the error");
        assert_eq!(v, 1);
        assert_hung_up(&rx, "the finished task's future");

        let (tx, rx) = std_mpsc::channel();
        run(rt.handle(), p2.map_ok(move |v| tx.send(v).unwrap()));
        c2.send(2).unwrap();
        assert_eq!(recv(&rx, "the other value"), 2);
        assert_hung_up(&rx, "the second task's future");
    });
}

// futures-rs, futures/tests/eventual.rs, `select3`.
#[test]
fn eventual_select3() {
    watch("eventual select3", || {
        let rt = multi_thread();
        let (c1, p1) = oneshot::channel::<i32>();
        let (c2, p2) = oneshot::channel::<i32>();
        let (tx, rx) = std_mpsc::channel();
        run(
            rt.handle(),
            future::try_select(p1, p2).map_err(move |v| tx.send((1, v.into_inner().1)).unwrap()),
        );
        assert!(rx.try_recv().is_err());
        drop(c1);
        let (v, p2) = recv(&rx, "the error");
        assert_eq!(v, 1);
        assert_hung_up(&rx, "the finished task's future");

        let (tx, rx) = std_mpsc::channel();
        run(rt.handle(), p2.map_err(move |_v| tx.send(2).unwrap()));
        drop(c2);
        assert_eq!(recv(&rx, "the second error"), 2);
        assert_hung_up(&rx, "the second task's future");
    });
}

// futures-rs, futures/tests/eventual.rs, `select4`: 10,000 tasks, each woken by a send from
// another thread, one at a time.
#[test]
fn eventual_select4() {
    watch_loop("eventual select4", || {
        let rt = multi_thread();
        let (tx, rx) = std_mpsc::channel::<oneshot::Sender<i32>>();
        let t = thread::spawn(move || {
            for c in rx {
                c.send(1).unwrap();
            }
        });
        let (tx2, rx2) = std_mpsc::channel();
        for _ in 0..10_000 {
            let (c1, p1) = oneshot::channel::<i32>();
            let (c2, p2) = oneshot::channel::<i32>();
            let tx3 = tx2.clone();
            run(
                rt.handle(),
                future::try_select(p1, p2).map_ok(move |_| tx3.send(()).unwrap()),
            );
            tx.send(c1).unwrap();
            recv(&rx2, "the task's signal");
            drop(c2);
        }
        drop(tx);
        t.join().unwrap();
    });
}

// futures-rs, futures/tests/eventual.rs, `run` (genrt's variant, a documented difference):
// the source drops its `ThreadPool` right after spawning, and the spawned task keeps the
// pool's threads alive until it completes. Dropping a genrt runtime cancels the task instead:
// its future, which owns the sender, is dropped before the drop returns, without running.
#[test]
fn eventual_dropping_the_runtime_cancels_what_a_thread_pool_would_run() {
    watch("eventual, runtime dropped after the spawn", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (c1, p1) = oneshot::channel::<i32>();
            let (tx, rx) = std_mpsc::channel();
            run(rt.handle(), p1.map_ok(move |v| tx.send(v).unwrap()));
            drop_runtime(rt);
            assert_hung_up(&rx, name);
            assert!(c1.send(1).is_err(), "{name}: the receiver was dropped");
        }
    });
}

// ---- futures-rs: futures/tests/oneshot.rs (run_in_background as a spawn) ----

// futures-rs, futures/tests/oneshot.rs, `oneshot_send1`.
#[test]
fn oneshot_send1() {
    watch("oneshot_send1", || {
        let rt = multi_thread();
        let (tx1, rx1) = oneshot::channel::<i32>();
        let (tx2, rx2) = std_mpsc::channel();
        let t = thread::spawn(|| tx1.send(1).unwrap());
        drop(rt.spawn(rx1.map_ok(move |x| tx2.send(x))));
        assert_eq!(recv(&rx2, "the value"), 1);
        t.join().unwrap();
    });
}

// futures-rs, futures/tests/oneshot.rs, `oneshot_send2`.
#[test]
fn oneshot_send2() {
    watch("oneshot_send2", || {
        let rt = multi_thread();
        let (tx1, rx1) = oneshot::channel::<i32>();
        let (tx2, rx2) = std_mpsc::channel();
        thread::spawn(|| tx1.send(1).unwrap()).join().unwrap();
        drop(rt.spawn(rx1.map_ok(move |x| tx2.send(x).unwrap())));
        assert_eq!(recv(&rx2, "the value"), 1);
    });
}

// futures-rs, futures/tests/oneshot.rs, `oneshot_send3`.
#[test]
fn oneshot_send3() {
    watch("oneshot_send3", || {
        let rt = multi_thread();
        let (tx1, rx1) = oneshot::channel::<i32>();
        let (tx2, rx2) = std_mpsc::channel();
        drop(rt.spawn(rx1.map_ok(move |x| tx2.send(x).unwrap())));
        thread::spawn(|| tx1.send(1).unwrap()).join().unwrap();
        assert_eq!(recv(&rx2, "the value"), 1);
    });
}

// futures-rs, futures/tests/oneshot.rs, `oneshot_drop_tx1`.
#[test]
fn oneshot_drop_tx1() {
    watch("oneshot_drop_tx1", || {
        let rt = multi_thread();
        let (tx1, rx1) = oneshot::channel::<i32>();
        let (tx2, rx2) = std_mpsc::channel();
        drop(tx1);
        drop(rt.spawn(rx1.map(move |result| tx2.send(result).unwrap())));
        assert_eq!(recv(&rx2, "the result"), Err(oneshot::Canceled));
    });
}

// futures-rs, futures/tests/oneshot.rs, `oneshot_drop_tx2`.
#[test]
fn oneshot_drop_tx2() {
    watch("oneshot_drop_tx2", || {
        let rt = multi_thread();
        let (tx1, rx1) = oneshot::channel::<i32>();
        let (tx2, rx2) = std_mpsc::channel();
        let t = thread::spawn(|| drop(tx1));
        drop(rt.spawn(rx1.map(move |result| tx2.send(result).unwrap())));
        t.join().unwrap();
        assert_eq!(recv(&rx2, "the result"), Err(oneshot::Canceled));
    });
}

// ---- futures-rs: futures/tests/future_shared.rs, on tasks ----

/// The source's `send_shared_oneshot_and_wait_on_multiple_threads`, with a task per clone
/// instead of a thread per clone: each task's waker is kept in the `Shared`'s waker list,
/// which replaces a waker only when `will_wake` says it is another task's.
fn send_shared_oneshot_and_wait_on_multiple_tasks(tasks: usize) {
    for (name, make) in FLAVORS {
        let rt = make();
        let (tx, rx) = oneshot::channel::<i32>();
        let f = rx.shared();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let cloned = f.clone();
                rt.spawn(async move { assert_eq!(cloned.await.unwrap(), 6) })
            })
            .collect();
        // Let every task poll its clone and leave its waker first (a current-thread runtime
        // runs them in `block_on` below either way).
        if name.starts_with("multi") {
            rt.settle();
        }
        tx.send(6).unwrap();
        rt.block_on(async move {
            assert_eq!(f.await.unwrap(), 6);
            for handle in handles {
                handle.await.expect("a task awaiting a clone");
            }
        });
        drop_runtime(rt);
    }
}

// futures-rs, futures/tests/future_shared.rs, `one_thread`.
#[test]
fn shared_one_task() {
    watch("shared, one task", || {
        send_shared_oneshot_and_wait_on_multiple_tasks(1)
    });
}

// futures-rs, futures/tests/future_shared.rs, `two_threads`.
#[test]
fn shared_two_tasks() {
    watch("shared, two tasks", || {
        send_shared_oneshot_and_wait_on_multiple_tasks(2)
    });
}

// futures-rs, futures/tests/future_shared.rs, `many_threads` (1,000 tasks).
#[test]
fn shared_many_tasks() {
    watch("shared, 1,000 tasks", || {
        send_shared_oneshot_and_wait_on_multiple_tasks(1000)
    });
}

// futures-rs, futures/tests/future_shared.rs, `drop_on_one_task_ok`, with tasks in place of
// threads: a task that drops its clone (its select resolved the other way) does not keep the
// other clone's task from being woken.
#[test]
fn shared_drop_on_one_task_ok() {
    watch("shared, dropped on one task", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (tx, rx) = oneshot::channel::<u32>();
            let f1 = rx.shared();
            let f2 = f1.clone();
            let (tx2, rx2) = oneshot::channel::<u32>();
            let t1 = rt.spawn(async move {
                let f = future::try_select(f1.map_err(|_| ()), rx2.map_err(|_| ()));
                drop(f.await);
            });
            let (tx3, rx3) = oneshot::channel::<u32>();
            let t2 = rt.spawn(async move {
                let _ = f2.map_ok(|x| tx3.send(x).unwrap()).map_err(|_| ()).await;
            });
            tx2.send(11).unwrap(); // cancel `f1`
            rt.block_on(t1).expect("t1");
            tx.send(42).unwrap(); // resolves `f2`, then `rx3`
            let result = rt.block_on(rx3).unwrap();
            assert_eq!(result, 42, "{name}");
            rt.block_on(t2).expect("t2");
        }
    });
}

// futures-rs, futures/tests/future_shared.rs,
// `shared_future_that_wakes_itself_until_pending_is_returned`: the join completes only if
// the second future runs after the first returned `Pending`; in `block_on` and in a task.
#[test]
fn shared_future_that_wakes_itself_until_pending_is_returned() {
    watch("shared, self-waking", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let joined = |proceed: Arc<AtomicBool>| {
                let fut = {
                    let proceed = proceed.clone();
                    poll_fn(move |cx| {
                        if proceed.load(SeqCst) {
                            Poll::Ready(())
                        } else {
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                    })
                    .shared()
                };
                future::join(fut, async move { proceed.store(true, SeqCst) })
            };
            let in_block_on = rt.block_on(joined(Arc::new(AtomicBool::new(false))));
            assert_eq!(in_block_on, ((), ()), "{name}");
            let in_task = rt.block_on(rt.spawn(joined(Arc::new(AtomicBool::new(false)))));
            assert_eq!(in_task.unwrap(), ((), ()), "{name}");
        }
    });
}

// futures-rs, futures/tests/future_shared.rs, `panic_while_poll`: the first task's poll of
// the shared future panics (its join handle reports it); the next task to await a clone
// panics with `Shared`'s message, also reported through its handle; the runtime lives on.
#[test]
fn shared_panic_while_poll() {
    let _quiet = quiet_panics();
    watch("shared, panic while polled", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let fut = poll_fn::<i8, _>(|_cx| panic!("{INTENTIONAL}: test")).shared();
            let captured = fut.clone();
            let first = rt.block_on(rt.spawn(captured)).unwrap_err();
            assert!(first.is_panic(), "{name}");
            let second = rt.block_on(rt.spawn(fut)).unwrap_err();
            let payload = second.into_panic();
            let message = panic_message(&*payload).unwrap_or_default();
            assert!(
                message.contains("inner future panicked during poll"),
                "{name}: {message:?}"
            );
            assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3, "{name}");
        }
    });
}

// futures-rs, futures/tests/future_shared.rs, `poll_while_panic`: a `Drop` run while a panic
// unwinds calls `Handle::block_on` (twice) on a plain thread; both work, and the original
// panic is the one the thread ends with.
#[test]
fn shared_poll_while_panic() {
    let _quiet = quiet_panics();
    watch("block_on inside a Drop during a panic", || {
        for (name, make) in FLAVORS {
            let rt = make();
            struct S(Handle, Arc<AtomicUsize>);
            impl Drop for S {
                fn drop(&mut self) {
                    let fut = future::ready(1).shared();
                    assert_eq!(self.0.block_on(fut.clone()), 1);
                    assert_eq!(self.0.block_on(self.0.spawn(fut)).unwrap(), 1);
                    self.1.fetch_add(1, SeqCst);
                }
            }
            let dropped = Arc::new(AtomicUsize::new(0));
            let s = S(rt.handle().clone(), dropped.clone());
            let payload = thread::spawn(move || {
                let _s = s;
                panic!("{INTENTIONAL}: test_marker");
            })
            .join()
            .unwrap_err();
            assert_eq!(
                panic_message(&*payload),
                Some(&*format!("{INTENTIONAL}: test_marker")),
                "{name}"
            );
            assert_eq!(dropped.load(SeqCst), 1, "{name}: the Drop ran to its end");
        }
    });
}

// ---- futures-rs: futures/tests/ready_queue.rs, stream_futures_unordered.rs ----

// futures-rs, futures/tests/ready_queue.rs, `stress`: a `FuturesUnordered` of oneshot
// receivers whose senders are threads released together; drained by `block_on` (even
// rounds) and by a task (odd rounds), on both flavors. 60 rounds per flavor (300 upstream).
#[test]
fn ready_queue_stress() {
    watch("ready_queue stress", || {
        for (name, make) in FLAVORS {
            let rt = make();
            for i in 0..60 {
                let n = (i % 10) + 1;
                let mut queue = FuturesUnordered::new();
                for round in 0..5 {
                    let barrier = Arc::new(Barrier::new(n + 1));
                    for num in 0..n {
                        let barrier = barrier.clone();
                        let (tx, rx) = oneshot::channel();
                        queue.push(rx);
                        thread::spawn(move || {
                            barrier.wait();
                            tx.send(num).unwrap();
                        });
                    }
                    barrier.wait();
                    let drain = async move {
                        let mut got = Vec::with_capacity(n);
                        for _ in 0..n {
                            got.push(queue.next().await.unwrap().unwrap());
                        }
                        (queue, got)
                    };
                    let (back, mut got) = if (i + round) % 2 == 0 {
                        rt.block_on(drain)
                    } else {
                        rt.block_on(rt.spawn(drain)).expect("the draining task")
                    };
                    queue = back;
                    got.sort();
                    assert_eq!(got, (0..n).collect::<Vec<_>>(), "{name}, round {i}");
                }
            }
        }
    });
}

// futures-rs, futures/tests/stream_futures_unordered.rs, `clear_in_loop`
// (futures-rs#2529): in a task, 24 futures each woken by its own thread, the first awaited,
// the rest cleared (their threads' wakes then reach futures that are gone); 200 rounds, not
// 10,000.
#[test]
fn futures_unordered_clear_in_loop() {
    watch("FuturesUnordered clear in a loop", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let done = rt.block_on(rt.spawn(async {
                async fn task() {
                    let (s, r) = oneshot::channel();
                    thread::spawn(|| {
                        thread::sleep(Duration::from_micros(100));
                        let _ = s.send(());
                    });
                    r.await.unwrap()
                }
                let mut futures = FuturesUnordered::new();
                for _ in 0..200 {
                    for _ in 0..24 {
                        futures.push(task());
                    }
                    let _ = futures.next().await;
                    futures.clear();
                }
                "done"
            }));
            assert_eq!(done.unwrap(), "done", "{name}");
        }
    });
}

// ---- futures-rs: futures/tests/recurse.rs ----

fn do_it(input: (i32, i32)) -> BoxFuture<'static, i32> {
    let (n, x) = input;
    if n == 0 {
        future::ready(x).boxed()
    } else {
        future::ready((n - 1, x + n)).then(do_it).boxed()
    }
}

// futures-rs, futures/tests/recurse.rs, `lots`: 1,000 nested `then`s polled on a worker
// thread (default stack), in `block_on`, and on a current-thread runtime's driver.
#[test]
fn recurse_lots() {
    watch("recurse lots", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (tx, rx) = std_mpsc::channel();
            drop(rt.spawn(do_it((1_000, 0)).map(move |x| tx.send(x).unwrap())));
            if name.starts_with("current") {
                rt.settle();
            }
            assert_eq!(recv(&rx, "the sum from a task"), 500_500, "{name}");
            assert_eq!(rt.block_on(do_it((1_000, 0))), 500_500, "{name}");
        }
    });
}

// ---- futures-rs: futures/tests/task_atomic_waker.rs ----

/// The source's `basic` on `rt`: the future, in `block_on` on another thread (or in a task
/// that thread awaits), returns `Pending` exactly once and is woken through an `AtomicWaker`.
fn atomic_waker_basic(rt: &Runtime, in_task: bool) {
    let atomic_waker = Arc::new(AtomicWaker::new());
    let atomic_waker_copy = atomic_waker.clone();
    let returned_pending = Arc::new(AtomicUsize::new(0));
    let returned_pending_copy = returned_pending.clone();
    let woken = Arc::new(AtomicUsize::new(0));
    let woken_copy = woken.clone();
    let mut pending_count = 0;
    let future = poll_fn(move |cx| {
        if woken_copy.load(SeqCst) == 1 {
            Poll::Ready(())
        } else {
            // Assert we return pending exactly once.
            assert_eq!(0, pending_count);
            pending_count += 1;
            atomic_waker_copy.register(cx.waker());
            returned_pending_copy.store(1, SeqCst);
            Poll::Pending
        }
    });
    let handle = rt.handle().clone();
    let t = thread::spawn(move || {
        if in_task {
            handle.block_on(handle.spawn(future)).expect("the task")
        } else {
            handle.block_on(future)
        }
    });
    wait_until("the future returned Pending", || {
        returned_pending.load(SeqCst) == 1
    });
    // Give the thread some time to sleep in `block_on`.
    thread::yield_now();
    woken.store(1, SeqCst);
    atomic_waker.wake();
    t.join().unwrap();
}

// futures-rs, futures/tests/task_atomic_waker.rs (atomic_waker.rs before), `basic`.
#[test]
fn atomic_waker_basic_in_block_on_and_in_a_task() {
    watch("AtomicWaker basic", || {
        for (_, make) in FLAVORS {
            let rt = make();
            atomic_waker_basic(&rt, false);
            atomic_waker_basic(&rt, true);
        }
    });
}

// ---- futures-rs: futures/tests/task_arc_wake.rs ----

/// A waker that counts its wakes and panics at each.
struct PanicWaker(AtomicUsize);

impl Wake for PanicWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
        panic!("{INTENTIONAL}: WAKE UP");
    }
}

// futures-rs, futures/tests/task_arc_wake.rs, `proper_refcount_on_wake_panic`, as genrt can
// express it: a join handle is polled with a waker that panics when woken; the task then
// completes on the runtime (a worker, or the thread in `block_on`), which wakes that waker.
// The panic stays in the runtime: the output is kept for the handle, and the runtime (and
// the thread driving it) carries on.
#[test]
fn a_join_waker_that_panics_when_woken_loses_nothing() {
    let _quiet = quiet_panics();
    watch("a panicking join waker", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (tx, rx) = oneshot::channel::<u32>();
            let mut task = rt.spawn(async move { rx.await.unwrap() + 1 });
            let panicky = Arc::new(PanicWaker(AtomicUsize::new(0)));
            let waker = Waker::from(panicky.clone());
            assert!(Pin::new(&mut task)
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            tx.send(41).unwrap();
            // The runtime runs the task and wakes the panicking waker (a current-thread
            // runtime in this `block_on`, which must not see that panic).
            rt.block_on(async {
                poll_fn(|cx| {
                    if panicky.0.load(SeqCst) == 0 {
                        // Wait for the worker, without a busy loop that starves it.
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    } else {
                        Poll::Ready(())
                    }
                })
                .await;
            });
            assert_eq!(panicky.0.load(SeqCst), 1, "{name}: woken once");
            assert_eq!(wait_for("the output", task).unwrap(), 42, "{name}");
            assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7, "{name}");
            drop_runtime(rt);
        }
    });
}

// ---- futures-rs: futures-executor doc examples ----

// futures-rs, futures-executor/src/lib.rs (crate docs, "Using a thread pool") and
// thread_pool.rs (`spawn_ok`): a producer spawned onto the pool, the stream collected by
// `block_on`; the producer's sender is dropped when it finishes, which ends the stream.
#[test]
fn thread_pool_doc_example() {
    watch("futures-executor doc example", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (tx, rx) = mpsc::unbounded::<i32>();
            let values: Vec<i32> = rt.block_on(async {
                let fut_tx_result = async move {
                    (0..100).for_each(|v| {
                        tx.unbounded_send(v).expect("Failed to send");
                    })
                };
                SpawnExt::spawn(&Handle::current(), fut_tx_result).unwrap();
                rx.map(|v| v * 2).collect().await
            });
            assert_eq!(
                values,
                (0..100).map(|v| v * 2).collect::<Vec<_>>(),
                "{name}"
            );
        }
    });
}

// ---- smol: tests/task.rs ----

// smol, tests/task.rs, `spawn`.
#[test]
fn smol_task_spawn() {
    watch("smol spawn", || {
        for (name, make) in FLAVORS {
            let rt = make();
            assert_eq!(rt.block_on(rt.spawn(async { 42 })).unwrap(), 42, "{name}");
        }
    });
}

// smol, tests/task.rs, `spawn_detach`: a detached task (its handle dropped) still runs.
#[test]
fn smol_task_spawn_detach() {
    watch("smol spawn_detach", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (s, mut r) = mpsc::channel::<()>(1);
            drop(rt.spawn(async move {
                let mut s = s;
                futures::SinkExt::send(&mut s, ()).await
            }));
            assert_eq!(rt.block_on(r.next()), Some(()), "{name}");
        }
    });
}

// smol, tests/task.rs, `blocking`: smol's `Task::blocking` runs a future on a blocking
// thread; here `spawn_blocking` with a closure that blocks on the future.
#[test]
fn smol_task_blocking() {
    watch("smol blocking", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let out = rt.block_on(rt.spawn_blocking(|| futures::executor::block_on(async { 42 })));
            assert_eq!(out.unwrap(), 42, "{name}");
            let out = rt.block_on(
                rt.spawn_blocking(|| Handle::current().block_on(genrt::spawn(async { 42 }))),
            );
            assert_eq!(out.unwrap().unwrap(), 42, "{name}");
        }
    });
}

// smol, tests/task.rs, `blocking_detach`.
#[test]
fn smol_task_blocking_detach() {
    watch("smol blocking_detach", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (s, mut r) = mpsc::channel::<()>(1);
            drop(rt.spawn_blocking(move || {
                let mut s = s;
                futures::executor::block_on(futures::SinkExt::send(&mut s, ()))
            }));
            assert_eq!(rt.block_on(r.next()), Some(()), "{name}");
        }
    });
}

// ---- smol: tests/block_on.rs, examples/thread-pool.rs ----

/// Starts `threads` threads that sit in `Handle::block_on` of `rt` until the returned senders
/// are dropped (smol's "stoppable thread pool"); returns the senders and the threads.
fn start_pool(
    rt: &Runtime,
    threads: usize,
) -> (Vec<oneshot::Sender<()>>, Vec<thread::JoinHandle<()>>) {
    (0..threads)
        .map(|_| {
            let (s, r) = oneshot::channel::<()>();
            let handle = rt.handle().clone();
            (
                s,
                thread::spawn(move || {
                    let _ = handle.block_on(r);
                }),
            )
        })
        .unzip()
}

/// Stops the threads of [`start_pool`].
fn stop_pool(pool: (Vec<oneshot::Sender<()>>, Vec<thread::JoinHandle<()>>)) {
    drop(pool.0);
    for thread in pool.1 {
        thread.join().unwrap();
    }
}

// smol, tests/block_on.rs, `smoke`: a thread runs the executor for ever; `block_on` on
// another thread still completes.
#[test]
fn smol_block_on_smoke() {
    watch("smol block_on smoke", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let pool = start_pool(&rt, 1);
            assert_eq!(rt.block_on(async { 1 + 2 }), 3, "{name}");
            stop_pool(pool);
        }
    });
}

// smol, tests/block_on.rs, `panic` (and async-std, tests/block_on.rs, `panic`): a panic in
// the future propagates out of `block_on` as is, and the runtime stays usable.
#[test]
fn smol_block_on_panic() {
    let _quiet = quiet_panics();
    watch("smol block_on panic", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let pool = start_pool(&rt, 1);
            let message = panic_text(|| {
                rt.block_on(async {
                    panic!("{INTENTIONAL}: boom");
                })
            });
            assert_eq!(message, format!("{INTENTIONAL}: boom"), "{name}");
            assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5, "{name}");
            stop_pool(pool);
        }
    });
}

// smol, tests/block_on.rs, `nested_block_on`: smol's `block_on` nests; genrt's refuses to
// (as Tokio's does), with a panic saying why, and the runtime stays usable. What nests in
// genrt: a foreign `block_on` inside genrt's, and genrt's `Handle::block_on` inside a
// blocking closure (3 + 2 as in the source).
#[test]
fn smol_nested_block_on() {
    let _quiet = quiet_panics();
    watch("smol nested block_on", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let handle = rt.handle().clone();
            let message = panic_text(|| rt.block_on(async { handle.block_on(async { 3 }) }));
            assert!(
                message.contains("block_on"),
                "{name}: the panic says why: {message:?}"
            );
            let x = rt.block_on(async {
                // (futures' own `block_on` does not nest in itself either.)
                let a = futures::executor::block_on(async { future::ready(3).await });
                let b = genrt::spawn_blocking(|| {
                    Handle::current().block_on(async {
                        genrt::spawn_blocking(|| {
                            Handle::current().block_on(async { future::ready(2).await })
                        })
                        .await
                        .unwrap()
                    })
                })
                .await
                .unwrap();
                a + b
            });
            assert_eq!(x, 3 + 2, "{name}");
        }
    });
}

// smol, examples/thread-pool.rs (its stoppable pool): threads in `Handle::block_on` drive
// the runtime (a current-thread one: one of them at a time), `block_on` of a spawned task on
// the main thread completes, and dropping the senders stops the pool.
#[test]
fn smol_thread_pool_example() {
    watch("smol thread-pool example", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let pool = start_pool(&rt, 4);
            let val = rt.block_on(rt.spawn(async { 1 + 2 })).unwrap();
            assert_eq!(val, 3, "{name}");
            // A task spawned from a plain thread, with only the pool's threads to run it
            // on a current-thread runtime.
            let (tx, rx) = std_mpsc::channel();
            drop(rt.spawn(async move { tx.send(4).unwrap() }));
            assert_eq!(recv(&rx, "a value from a task the pool ran"), 4, "{name}");
            stop_pool(pool);
        }
    });
}

// ---- smol: tests/timer.rs ----

// smol, tests/timer.rs, `timer_at` (200 ms, not 1 s): never early.
#[test]
fn smol_timer_at() {
    watch("smol timer_at", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let duration = rt.block_on(async {
                let now = Instant::now();
                let when = now + Duration::from_millis(200);
                sleep_until(when).await;
                now.elapsed()
            });
            assert!(
                duration >= Duration::from_millis(200),
                "{name}: {duration:?}"
            );
        }
    });
}

// smol, tests/timer.rs, `timer_after` (200 ms, not 1 s), also in a task.
#[test]
fn smol_timer_after() {
    watch("smol timer_after", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let duration = rt
                .block_on(rt.spawn(async {
                    let now = Instant::now();
                    sleep(Duration::from_millis(200)).await;
                    now.elapsed()
                }))
                .unwrap();
            assert!(
                duration >= Duration::from_millis(200),
                "{name}: {duration:?}"
            );
        }
    });
}

// smol, tests/timer.rs, `timer_submilli`: a deadline between two milliseconds is not
// rounded down.
#[test]
fn smol_timer_submilli() {
    watch("smol timer_submilli", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let duration = rt.block_on(async {
                let now = std::time::Instant::now();
                sleep(Duration::from_micros(5100)).await;
                now.elapsed()
            });
            assert!(
                duration >= Duration::from_micros(5100),
                "{name}: {duration:?}"
            );
        }
    });
}

// ---- async-executor: src/lib.rs doc examples ----

// async-executor, src/lib.rs, `Executor` doc example: four threads run the executor until a
// signal is dropped, while the main future runs on the main thread.
#[test]
fn executor_doc_example_four_threads_until_a_signal() {
    watch("async-executor Executor doc example", || {
        for (name, make) in FLAVORS {
            let rt = make();
            // async-channel's receivers all see the close; so do clones of a `Shared`.
            let (signal, shutdown) = oneshot::channel::<()>();
            let shutdown = shutdown.shared();
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let handle = rt.handle().clone();
                    let shutdown = shutdown.clone();
                    thread::spawn(move || {
                        let _ = handle.block_on(shutdown);
                    })
                })
                .collect();
            let hello = rt.block_on(async {
                let hello = genrt::spawn(async { "Hello world!" }).await.unwrap();
                drop(signal);
                hello
            });
            assert_eq!(hello, "Hello world!", "{name}");
            for thread in threads {
                thread.join().unwrap();
            }
        }
    });
}

// async-executor, src/lib.rs, `Executor::run` and `Executor::spawn` doc examples.
#[test]
fn executor_run_doc_example() {
    watch("async-executor run doc example", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let task = rt.spawn(async { 1 + 2 });
            let res = rt.block_on(async { task.await.unwrap() * 2 });
            assert_eq!(res, 6, "{name}");
            // The crate docs' first example: a task that prints, run until it completes.
            let task = rt.spawn(async { println!("Hello world") });
            rt.block_on(task).unwrap();
        }
    });
}

// async-executor, src/lib.rs, `LocalExecutor::run` and `LocalExecutor::spawn` doc examples.
#[test]
fn local_executor_run_doc_example() {
    watch("async-executor LocalExecutor doc example", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let local = LocalSet::new();
            let task = local.spawn_local(async { 1 + 2 });
            let res = local.block_on(&rt, async { task.await.unwrap() * 2 });
            assert_eq!(res, 6, "{name}");
            let shared = Rc::new(5);
            let task = local.spawn_local({
                let shared = shared.clone();
                async move { *shared + 1 }
            });
            assert_eq!(local.block_on(&rt, task).unwrap(), 6, "{name}");
            drop(local);
            assert_eq!(Rc::strong_count(&shared), 1, "{name}");
        }
    });
}

// async-executor, src/lib.rs, `Executor::is_empty` and `LocalExecutor::is_empty` doc
// examples, as `num_alive_tasks`: empty, one task after a spawn, empty once it ran.
#[test]
fn executor_is_empty_doc_example() {
    watch("async-executor is_empty doc example", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let metrics = rt.metrics();
            assert_eq!(metrics.num_alive_tasks(), 0, "{name}");
            let (tx, rx) = oneshot::channel::<()>();
            let task = rt.spawn(async move { rx.await.unwrap() });
            assert_eq!(metrics.num_alive_tasks(), 1, "{name}");
            tx.send(()).unwrap();
            rt.block_on(task).unwrap();
            rt.settle();
            assert_eq!(metrics.num_alive_tasks(), 0, "{name}");
            // A task whose handle was dropped counts until it finished too.
            drop(rt.spawn(async {}));
            rt.settle();
            assert_eq!(metrics.num_alive_tasks(), 0, "{name}");
        }
    });
}

// ---- async-executor: benches/executor.rs, as behaviours ----

// async-executor, benches/executor.rs, `create`: build, spawn one task, run it, drop; 100
// times.
#[test]
fn bench_create() {
    watch("async-executor create", || {
        for (_, make) in FLAVORS {
            for _ in 0..100 {
                let rt = make();
                let task = rt.spawn(async {});
                rt.block_on(task).unwrap();
                drop_runtime(rt);
            }
        }
    });
}

/// The benches' `run(f, multithread)`: `f` with the runtime to use, single-threaded (a
/// current-thread runtime) or multi-threaded.
fn bench_runtimes() -> [(&'static str, Runtime); 2] {
    [
        ("single_thread", current_thread()),
        ("multi_thread", multi_thread()),
    ]
}

// async-executor, benches/executor.rs, `spawn_one`.
#[test]
fn bench_spawn_one() {
    watch_loop("async-executor spawn_one", || {
        for (name, rt) in bench_runtimes() {
            for _ in 0..1_000 {
                rt.block_on(async { genrt::spawn(async {}).await })
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    });
}

// async-executor, benches/executor.rs, `spawn_many_local`: 25,000 empty tasks spawned, then
// awaited in order.
#[test]
fn bench_spawn_many_local() {
    watch_loop("async-executor spawn_many_local", || {
        for (name, rt) in bench_runtimes() {
            let done = Arc::new(AtomicUsize::new(0));
            rt.block_on(async {
                let mut tasks = Vec::new();
                for _ in 0..25_000 {
                    let done = done.clone();
                    tasks.push(genrt::spawn(async move {
                        done.fetch_add(1, SeqCst);
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
            });
            assert_eq!(done.load(SeqCst), 25_000, "{name}");
        }
    });
}

fn go(i: usize, count: Arc<AtomicUsize>) -> BoxFuture<'static, ()> {
    async move {
        count.fetch_add(1, SeqCst);
        if i != 0 {
            genrt::spawn(async move {
                let fut = go(i - 1, count);
                fut.await;
            })
            .await
            .unwrap();
        }
    }
    .boxed()
}

// async-executor, benches/executor.rs, `spawn_recursively`: tasks each spawning a chain of
// children, each awaiting the next (100 chains of 100, not 300 of 300).
#[test]
fn bench_spawn_recursively() {
    watch("async-executor spawn_recursively", || {
        for (name, rt) in bench_runtimes() {
            let count = Arc::new(AtomicUsize::new(0));
            rt.block_on(async {
                let mut tasks = Vec::new();
                for _ in 0..100 {
                    tasks.push(genrt::spawn(go(100, count.clone())));
                }
                for task in tasks {
                    task.await.unwrap();
                }
            });
            assert_eq!(count.load(SeqCst), 100 * 101, "{name}");
        }
    });
}

// async-executor, benches/executor.rs, `yield_now`: 300 tasks yielding 300 times each; all
// finish, and every task got its polls (none starved while the others yield).
#[test]
fn bench_yield_now() {
    watch("async-executor yield_now", || {
        for (name, rt) in bench_runtimes() {
            let steps: Arc<Vec<AtomicUsize>> =
                Arc::new((0..300).map(|_| AtomicUsize::new(0)).collect());
            rt.block_on(async {
                let mut tasks = Vec::new();
                for t in 0..300 {
                    let steps = steps.clone();
                    tasks.push(genrt::spawn(async move {
                        for _ in 0..300 {
                            steps[t].fetch_add(1, SeqCst);
                            genrt::yield_now().await;
                        }
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
            });
            assert!(
                steps.iter().all(|s| s.load(SeqCst) == 300),
                "{name}: every task took its 300 steps"
            );
        }
    });
}

// ---- async-executor: tests/drop.rs, genrt's variant: which thread drops the futures ----

/// Records the thread it is dropped on.
struct RecordDropThread(Arc<Mutex<Vec<ThreadId>>>);

impl Drop for RecordDropThread {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(thread::current().id());
    }
}

// async-executor, tests/drop.rs, `executor_cancels_everything` (genrt's variant):
// `Executor::drop` drops the pending tasks' futures on the dropping thread; so does
// dropping a genrt runtime for its suspended tasks (on both flavors), and dropping a
// `LocalSet` for its local tasks (on the set's thread).
#[test]
fn the_thread_that_drops_the_runtime_drops_the_suspended_futures() {
    watch("which thread drops the futures", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let threads = Arc::new(Mutex::new(Vec::new()));
            let mut tasks = Vec::new();
            for _ in 0..10 {
                let guard = RecordDropThread(threads.clone());
                tasks.push(rt.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await;
                }));
            }
            rt.block_on(genrt::yield_now());
            rt.settle();
            assert!(threads.lock().unwrap().is_empty(), "{name}");
            let dropper = thread::spawn(move || {
                drop(rt);
                thread::current().id()
            });
            let dropper = dropper.join().unwrap();
            let seen = threads.lock().unwrap().clone();
            assert_eq!(seen.len(), 10, "{name}: every future dropped once");
            assert!(
                seen.iter().all(|&id| id == dropper),
                "{name}: on the dropping thread"
            );
            for task in tasks {
                assert!(wait_for("a cancelled handle", task)
                    .unwrap_err()
                    .is_cancelled());
            }
        }
        // A `LocalSet` dropped on its thread, while its runtime lives.
        let rt = multi_thread();
        let threads = Arc::new(Mutex::new(Vec::new()));
        let local = LocalSet::new();
        for _ in 0..10 {
            let guard = RecordDropThread(threads.clone());
            let not_send = Rc::new(());
            drop(local.spawn_local(async move {
                let _guard = guard;
                let _not_send = not_send;
                pending::<()>().await;
            }));
        }
        local.block_on(&rt, genrt::yield_now());
        drop(local);
        let seen = threads.lock().unwrap().clone();
        assert_eq!(seen.len(), 10, "LocalSet: every future dropped once");
        assert!(seen.iter().all(|&id| id == thread::current().id()));
    });
}

// ---- async-task semantics: the output of a detached task ----

// async-task, `Task::detach` ("the output is dropped when the task completes"), and
// async-executor, tests/drop.rs, `drop_finished_task_and_then_drop_executor` from the other
// side: a task whose handle was dropped before it finished has its output dropped once, when
// it finishes, while the runtime lives.
#[test]
fn a_detached_tasks_output_is_dropped_when_it_finishes() {
    watch("detached output", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = oneshot::channel::<()>();
            let output = DropCounter(drops.clone());
            drop(rt.spawn(async move {
                rx.await.unwrap();
                output
            }));
            rt.settle();
            assert_eq!(drops.load(SeqCst), 0, "{name}");
            tx.send(()).unwrap();
            rt.settle();
            wait_until("the output dropped", || drops.load(SeqCst) == 1);
            drop_runtime(rt);
            assert_eq!(drops.load(SeqCst), 1, "{name}: dropped once");
        }
    });
}

// ---- async-std: tests/block_on.rs, tests/task_local.rs, tests/thread_pool.rs ----

// async-std, tests/block_on.rs, `smoke`; `panic` is `smol_block_on_panic`.
#[test]
fn async_std_block_on_smoke() {
    watch("async-std block_on smoke", || {
        for (name, make) in FLAVORS {
            let rt = make();
            assert_eq!(rt.block_on(async { 1 + 2 }), 3, "{name}");
        }
    });
}

static DROP_LOCAL: AtomicBool = AtomicBool::new(false);

/// The source's task-local value, which records its drop.
struct Local;

impl Drop for Local {
    fn drop(&mut self) {
        DROP_LOCAL.store(true, SeqCst);
    }
}

genrt::task_local! {
    static LOCAL: Local;
}

// async-std, tests/task_local.rs, `drop_local`: a task touches its task-local; once its
// join handle is ready, the value was dropped. (genrt's task-locals are Tokio's, scoped to a
// future: the value is the scope's, dropped with the scoped future.)
#[test]
fn async_std_drop_local() {
    watch("async-std drop_local", || {
        let rt = multi_thread();
        let handle = rt.spawn(LOCAL.scope(Local, async {
            LOCAL.with(|_| ());
        }));
        rt.block_on(async {
            handle.await.unwrap();
            assert!(DROP_LOCAL.load(SeqCst));
        });
    });
}

// async-std, tests/thread_pool.rs, `slow_join` and `slow_join_interrupted`: a burst of
// short blocking closures joined, a pause (long enough for idle blocking threads to exit,
// with a short keep-alive, and not), then another burst of longer ones; every closure runs
// once. 5,000 and 500 closures (1,000,000 and 10,000 upstream), no timing checks.
#[test]
fn async_std_slow_join() {
    watch("async-std slow_join", || {
        for pause in [Duration::from_millis(150), Duration::from_millis(10)] {
            let rt = Builder::new_multi_thread()
                .worker_threads(2)
                .thread_keep_alive(Duration::from_millis(50))
                .build()
                .unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            let burst = |count: usize, each: Duration| {
                let handles: Vec<_> = (0..count)
                    .map(|_| {
                        let ran = ran.clone();
                        rt.spawn_blocking(move || {
                            thread::sleep(each);
                            ran.fetch_add(1, SeqCst);
                        })
                    })
                    .collect();
                for result in rt.block_on(future::join_all(handles)) {
                    result.unwrap();
                }
            };
            burst(5_000, Duration::from_millis(1));
            thread::sleep(pause);
            burst(500, Duration::from_millis(10));
            assert_eq!(ran.load(SeqCst), 5_500, "pause {pause:?}");
        }
    });
}

// ---- futures-rs: futures-channel/tests/mpsc.rs, mpsc-close.rs, with tasks for threads ----

// futures-rs, futures-channel/tests/mpsc-close.rs, `smoke`: a task sends until the channel
// closes; the receiver takes three items and is dropped, which ends the sending task.
#[test]
fn mpsc_close_smoke() {
    watch("mpsc-close smoke", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (mut sender, receiver) = mpsc::channel(1);
            let t = rt.spawn(async move {
                while let Ok(()) = futures::SinkExt::send(&mut sender, 42).await {}
            });
            let taken: Vec<i32> = rt.block_on(receiver.take(3).collect());
            assert_eq!(taken, [42, 42, 42], "{name}");
            rt.block_on(t).expect("the sender task ends");
        }
    });
}

// futures-rs, futures-channel/tests/mpsc.rs, `stress_shared_bounded_hard`: 8 sender tasks on
// a channel of no capacity, each send waiting for the receiver (2,000 each, not 10,000).
#[test]
fn mpsc_stress_shared_bounded_hard() {
    const AMT: usize = 2_000;
    const NTASKS: usize = 8;
    watch("mpsc stress_shared_bounded_hard", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (tx, rx) = mpsc::channel::<i32>(0);
            let collector = rt.spawn(rx.collect::<Vec<_>>());
            for _ in 0..NTASKS {
                let mut tx = tx.clone();
                drop(rt.spawn(async move {
                    for _ in 0..AMT {
                        futures::SinkExt::send(&mut tx, 1).await.unwrap();
                    }
                }));
            }
            drop(tx);
            let result = rt.block_on(collector).unwrap();
            assert_eq!(result.len(), AMT * NTASKS, "{name}");
            assert!(result.iter().all(|&item| item == 1), "{name}");
        }
    });
}

// futures-rs, futures-channel/tests/mpsc.rs, `stress_receiver_multi_task_bounded_hard`: two
// tasks take turns with one receiver (every fifth turn awaits an item, the others poll it
// once and put it back, leaving their waker in it), while the test thread sends 10,000
// items into a channel of no capacity; every item is received once.
#[test]
fn mpsc_stress_receiver_multi_task_bounded_hard() {
    const AMT: usize = 10_000;
    watch("mpsc stress_receiver_multi_task_bounded_hard", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let (mut tx, rx) = mpsc::channel::<usize>(0);
            let rx = Arc::new(futures::lock::Mutex::new(Some(rx)));
            let n = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let (rx, n) = (rx.clone(), n.clone());
                    rt.spawn(async move {
                        let mut i = 0;
                        loop {
                            i += 1;
                            let mut lock = rx.lock().await;
                            let Some(mut receiver) = lock.take() else {
                                break;
                            };
                            if i % 5 == 0 {
                                match receiver.next().await {
                                    None => break,
                                    Some(_) => {
                                        n.fetch_add(1, SeqCst);
                                        *lock = Some(receiver);
                                    }
                                }
                            } else {
                                // Just poll.
                                let polled =
                                    poll_fn(|cx| Poll::Ready(receiver.poll_next_unpin(cx))).await;
                                match polled {
                                    Poll::Ready(None) => break,
                                    Poll::Ready(Some(_)) => {
                                        n.fetch_add(1, SeqCst);
                                    }
                                    Poll::Pending => {}
                                }
                                *lock = Some(receiver);
                            }
                            drop(lock);
                            genrt::yield_now().await;
                        }
                    })
                })
                .collect();
            rt.block_on(async {
                for i in 0..AMT {
                    futures::SinkExt::send(&mut tx, i).await.unwrap();
                }
            });
            drop(tx);
            for task in tasks {
                rt.block_on(task).expect("a receiving task");
            }
            assert_eq!(n.load(SeqCst), AMT, "{name}");
        }
    });
}

// futures-rs, futures-channel/tests/mpsc.rs, `stress_drop_sender`: a task sends three items
// and drops its sender; the receiver gets all three, then the end (2,000 rounds, not
// 10,000).
#[test]
fn mpsc_stress_drop_sender() {
    watch_loop("mpsc stress_drop_sender", || {
        for (name, make) in FLAVORS {
            let rt = make();
            for _ in 0..2_000 {
                let (mut tx, rx) = mpsc::channel::<i32>(1);
                drop(rt.spawn(async move {
                    for i in 1..=3 {
                        futures::SinkExt::send(&mut tx, i).await.unwrap();
                    }
                }));
                let v: Vec<i32> = rt.block_on(rx.collect());
                assert_eq!(v, [1, 2, 3], "{name}");
            }
        }
    });
}

// futures-rs, futures-channel/tests/mpsc.rs, `stress_close_receiver`: after the receiver
// closes, it still receives every item sent before the close, in order; the sender, a
// thread, learns which item was not written (1,000 rounds, not 10,000; the receiver in
// `block_on` and in a task).
//
// How many items a round sends depends on scheduling (the thread sends until the receiver
// closes; on a loaded core it may send for a whole time slice first, and the receiver then
// reads them all), so the 2,000 rounds take as long as the machine makes them: they run
// under the limit of a whole scenario (`support::LIMIT`), reporting their round; each wait
// of a round (`recv`) keeps the limit of one wait.
#[test]
fn mpsc_stress_close_receiver() {
    let scenario = Watchdog::new("mpsc stress_close_receiver").limit(support::LIMIT);
    scenario.run_reporting(|progress| {
        for (flavor, (name, make)) in FLAVORS.into_iter().enumerate() {
            let rt = make();
            for round in 0..1_000 {
                progress.at_round("a round", flavor * 1_000 + round);
                let (tx, mut rx) = mpsc::unbounded();
                let (unwritten_tx, unwritten_rx) = std_mpsc::channel();
                let th = thread::spawn(move || {
                    for i in 1.. {
                        if tx.unbounded_send(i).is_err() {
                            unwritten_tx.send(i).expect("unwritten_tx");
                            return;
                        }
                    }
                });
                let receive = async move {
                    // Read one message to make sure the thread started.
                    assert_eq!(rx.next().await, Some(1));
                    rx.close();
                    let mut i = 2;
                    while let Some(r) = rx.next().await {
                        assert_eq!(r, i);
                        i += 1;
                    }
                    i
                };
                let end = if round % 2 == 0 {
                    rt.block_on(receive)
                } else {
                    rt.block_on(rt.spawn(receive)).expect("the receiving task")
                };
                assert_eq!(recv(&unwritten_rx, "the unwritten item"), end, "{name}");
                th.join().unwrap();
            }
        }
    });
}

/// futures' `SenderTask`: sends `count` items, checking with `poll_ready` first and asserting
/// that `start_send` then never fails.
struct SenderTask {
    sender: mpsc::Sender<u32>,
    count: u32,
}

impl Future for SenderTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        while self.count > 0 {
            match self.sender.poll_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(ready) => ready.unwrap(),
            }
            let count = self.count;
            assert!(self.sender.start_send(count).is_ok());
            self.count -= 1;
        }
        Poll::Ready(())
    }
}

// futures-rs, futures-channel/tests/mpsc.rs, `stress_poll_ready`: 8 sender tasks that send
// once `poll_ready` says there is room, with capacities 0, 1, 8 and 16.
#[test]
fn mpsc_stress_poll_ready() {
    const AMT: u32 = 1_000;
    const NTASKS: u32 = 8;
    watch("mpsc stress_poll_ready", || {
        for (name, make) in FLAVORS {
            let rt = make();
            for capacity in [0, 1, 8, 16] {
                let (tx, rx) = mpsc::channel(capacity);
                let senders: Vec<_> = (0..NTASKS)
                    .map(|_| {
                        rt.spawn(SenderTask {
                            sender: tx.clone(),
                            count: AMT,
                        })
                    })
                    .collect();
                drop(tx);
                let result: Vec<u32> = rt.block_on(rx.collect());
                assert_eq!(result.len() as u32, AMT * NTASKS, "{name}, {capacity}");
                for sender in senders {
                    rt.block_on(sender).expect("a sender task");
                }
            }
        }
    });
}

// ---- will_wake across runtimes and sets: what `Shared` and join handles rely on ----

// futures-rs, futures/tests/future_shared.rs, `many_threads`, genrt's variant: clones of one
// `Shared` awaited by tasks of two runtimes, by local tasks of a `LocalSet` and by `block_on`
// threads. `Shared` keeps one waker per clone and replaces it only when `will_wake` says it
// wakes another task; tasks in different runtimes or sets may sit in equal slots with equal
// generations, and must still be told apart.
#[test]
fn shared_awaited_from_two_runtimes_a_local_set_and_block_on() {
    watch("shared across runtimes", || {
        let (rt_a, rt_b) = (multi_thread(), current_thread());
        let pool = start_pool(&rt_b, 1);
        let (tx, rx) = oneshot::channel::<i32>();
        let f = rx.shared();
        let mut handles = Vec::new();
        for _ in 0..3 {
            handles.push(rt_a.spawn(f.clone()));
            handles.push(rt_b.spawn(f.clone()));
        }
        let local_rt = current_thread();
        let local = LocalSet::new();
        let locals: Vec<_> = (0..3).map(|_| local.spawn_local(f.clone())).collect();
        // Let every task poll its clone once.
        rt_a.settle();
        local.block_on(&local_rt, genrt::yield_now());
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (handle, f) = (rt_a.handle().clone(), f.clone());
                thread::spawn(move || handle.block_on(f).unwrap())
            })
            .collect();
        tx.send(6).unwrap();
        for handle in handles {
            assert_eq!(wait_for("a task's clone", handle).unwrap().unwrap(), 6);
        }
        let from_locals = local.block_on(&local_rt, async {
            let mut values = Vec::new();
            for handle in locals {
                values.push(handle.await.unwrap().unwrap());
            }
            values
        });
        assert_eq!(from_locals, [6, 6, 6]);
        for thread in threads {
            assert_eq!(thread.join().unwrap(), 6);
        }
        stop_pool(pool);
    });
}

// The same for a `JoinHandle`, whose waker is replaced only when `will_wake` says it wakes
// another task: the handle is polled once by a task of one runtime, then awaited by a task of
// another runtime (each runtime's only task: equal slots); the second is woken.
#[test]
fn a_join_handle_moved_between_runtimes_wakes_its_last_poller() {
    watch("join handle moved between runtimes", || {
        for (name, make) in FLAVORS {
            let (rt_a, rt_b, rt_c) = (make(), make(), multi_thread());
            let (tx, rx) = oneshot::channel::<u32>();
            let mut joined = rt_c.spawn(async move { rx.await.unwrap() });
            // The first task polls the handle once and hands it back through a channel.
            let (back_tx, back_rx) = std_mpsc::channel();
            rt_a.block_on(rt_a.spawn(async move {
                assert!(poll_fn(|cx| Poll::Ready(Pin::new(&mut joined).poll(cx)))
                    .await
                    .is_pending());
                back_tx.send(joined).unwrap();
            }))
            .unwrap();
            let joined = recv(&back_rx, "the handle polled once");
            let (started_tx, started_rx) = std_mpsc::channel();
            let waiter = rt_b.spawn(async move {
                let mut joined = joined;
                let mut first = true;
                poll_fn(|cx| {
                    let poll = Pin::new(&mut joined).poll(cx);
                    if first {
                        first = false;
                        started_tx.send(()).unwrap();
                    }
                    poll
                })
                .await
            });
            let pool = start_pool(&rt_b, 1);
            recv(&started_rx, "the second runtime's task polled the handle");
            tx.send(5).unwrap();
            let got = wait_for("the task awaiting the moved handle", waiter);
            assert_eq!(got.unwrap().unwrap(), 5, "{name}");
            stop_pool(pool);
        }
    });
}

// ---- async-task / async-executor: spawning from a future's `Drop` ----

// async-task, tests/basic.rs (`cancel_and_run`) and async-executor, tests/drop.rs: the
// future of a cancelled task is dropped by the runtime; genrt's variant: its `Drop` spawns a
// task (cleanup work), which runs, when the abort comes from a plain thread, on both
// flavors.
#[test]
fn an_aborted_futures_drop_can_spawn_cleanup_work() {
    watch("spawn from the Drop of an aborted future", || {
        for (name, make) in FLAVORS {
            let rt = make();
            struct SpawnOnDrop(Option<oneshot::Sender<&'static str>>);
            impl Drop for SpawnOnDrop {
                fn drop(&mut self) {
                    let tx = self.0.take().unwrap();
                    drop(genrt::spawn(async move {
                        genrt::yield_now().await;
                        tx.send("cleaned up").unwrap();
                    }));
                }
            }
            let (tx, rx) = oneshot::channel();
            let guard = SpawnOnDrop(Some(tx));
            let task = rt.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
            rt.settle();
            task.abort();
            let aborted = rt.block_on(task).unwrap_err();
            assert!(aborted.is_cancelled(), "{name}");
            assert_eq!(rt.block_on(rx).unwrap(), "cleaned up", "{name}");
        }
    });
}

// ---- futures-rs: FuturesUnordered of join handles, SpawnExt::spawn_with_handle ----

// futures-rs, futures/tests/stream_futures_unordered.rs (`from_iterator`, `works_1`) with
// join handles as the futures: 10,000 tasks finishing on the runtime, each waking its own
// `FuturesUnordered` waker, collected in `block_on` and in a task; every output comes back
// once.
#[test]
fn futures_unordered_of_ten_thousand_join_handles() {
    watch("FuturesUnordered of join handles", || {
        for (name, make) in FLAVORS {
            let rt = make();
            for in_task in [false, true] {
                let collect = async {
                    let handles: FuturesUnordered<_> = (0..10_000u32)
                        .map(|i| {
                            genrt::spawn(async move {
                                if i % 3 == 0 {
                                    genrt::yield_now().await;
                                }
                                i
                            })
                        })
                        .collect();
                    let mut outputs: Vec<u32> =
                        handles.map(|output| output.unwrap()).collect().await;
                    outputs.sort_unstable();
                    outputs
                };
                let outputs = if in_task {
                    rt.block_on(rt.spawn(collect)).unwrap()
                } else {
                    rt.block_on(collect)
                };
                assert_eq!(
                    outputs,
                    (0..10_000).collect::<Vec<_>>(),
                    "{name}, in a task: {in_task}"
                );
            }
        }
    });
}

// futures-rs, futures-util/src/task/spawn.rs (`SpawnExt::spawn_with_handle` docs) and
// `RemoteHandle::forget`: a remote handle awaited gives the output; a forgotten one lets the
// future run to completion on the runtime.
#[test]
fn spawn_with_handle_output_and_forget() {
    watch("spawn_with_handle", || {
        for (name, make) in FLAVORS {
            let rt = make();
            let remote = rt.handle().spawn_with_handle(async { 1 + 2 }).unwrap();
            assert_eq!(rt.block_on(remote), 3, "{name}");
            let (tx, rx) = oneshot::channel::<u32>();
            let ran = Arc::new(AtomicBool::new(false));
            let remote = rt
                .handle()
                .spawn_with_handle({
                    let ran = ran.clone();
                    async move {
                        let v = rx.await.unwrap();
                        ran.store(true, SeqCst);
                        v
                    }
                })
                .unwrap();
            remote.forget();
            tx.send(4).unwrap();
            rt.block_on(async {
                while !ran.load(SeqCst) {
                    genrt::yield_now().await;
                }
            });
            assert!(ran.load(SeqCst), "{name}");
        }
    });
}

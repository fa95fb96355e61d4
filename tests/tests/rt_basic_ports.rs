//! Tokio's `rt_basic.rs` (its tests of the current-thread runtime), ported to genrt's
//! `Builder::new_current_thread()`, followed by genrt's own tests of the current-thread
//! semantics that file leaves out.
//!
//! Ported: `spawned_task_does_not_progress_without_block_on`, `no_extra_poll` (a hand-written
//! poll-counting stream over a `futures` channel in place of `pin_project` and Tokio's
//! `mpsc_stream`), `acquire_mutex_in_drop`, `drop_tasks_in_context`,
//! `wake_in_drop_after_panic` (`catch_unwind` in place of `#[should_panic]`), `spawn_two`
//! and `spawn_remote` (without their `cfg(tokio_unstable)` schedule-count metrics), and the
//! `unhandled_panic` tests `shutdown_on_panic`, `spawns_do_nothing` and
//! `shutdown_all_concurrent_block_on` (genrt's message holds Tokio's sentence, "a spawned task
//! panicked and the runtime is configured to shut down on unhandled panic").
//!
//! Skipped: `timeout_panics_when_no_time_handle` (genrt's timers are always on and
//! `enable_time` is a no-op; `timeout_works_without_enable_time` checks that instead);
//! `rng_seed` and `rng_seed_multi_enter` (genrt has no `rng_seed` nor
//! `thread_rng_n`).
//!
//! genrt's own: a task spawned from outside waits for a `block_on`; tasks run on the
//! `block_on` thread; two concurrent `block_on`s, the second taking over the tasks when the
//! first returns; `Handle::block_on` inside `spawn_blocking` while the main thread is in
//! `block_on`; dropping the runtime drops futures that never ran; `Runtime::settle` runs the
//! tasks on the calling thread; the park and unpark hooks run on the `block_on` thread.
//!
//! `tokio::sync` channels become `futures`' or std's. Every test runs under a watchdog or a
//! bounded wait; none bounds a real-time duration from above.

use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{Stream, StreamExt};
use genrt::{Handle, Runtime, UnhandledPanic};
use support::{panic_message, quiet_panics, recv, wait_for, DropCounter, Watchdog, INTENTIONAL};

fn rt() -> Runtime {
    genrt::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn shutdown_on_panic_rt() -> Runtime {
    genrt::Builder::new_current_thread()
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap()
}

/// Runs `f` under a watchdog, returning its panic message (failing if it returns).
fn panic_of<T>(what: &'static str, f: impl FnOnce() -> T + Send + 'static) -> String {
    Watchdog::new(what).run(move || match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("{what}: returned instead of panicking"),
        Err(err) => panic_message(&*err).unwrap_or_default().to_owned(),
    })
}

// ----------------------------------------------------------------------------------------
// Tokio's rt_basic.rs
// ----------------------------------------------------------------------------------------

#[test]
fn spawned_task_does_not_progress_without_block_on() {
    Watchdog::new("spawned_task_does_not_progress_without_block_on").run(|| {
        let (tx, mut rx) = oneshot::channel();
        let rt = rt();
        rt.spawn(async move { tx.send("hello").unwrap() });
        thread::sleep(Duration::from_millis(50));
        assert_eq!(rx.try_recv(), Ok(None));
        assert_eq!(rt.block_on(rx).unwrap(), "hello");
    });
}

/// Counts the polls of the stream it wraps.
struct TrackPolls<S> {
    npolls: Arc<AtomicUsize>,
    s: S,
}

impl<S: Stream + Unpin> Stream for TrackPolls<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.npolls.fetch_add(1, SeqCst);
        self.s.poll_next_unpin(cx)
    }
}

#[test]
fn no_extra_poll() {
    Watchdog::new("no_extra_poll").run(|| {
        let (tx, rx) = mpsc::unbounded::<()>();
        let npolls = Arc::new(AtomicUsize::new(0));
        let mut rx = TrackPolls {
            npolls: npolls.clone(),
            s: rx,
        };
        let rt = rt();
        rt.spawn(async move { while rx.next().await.is_some() {} });
        rt.block_on(genrt::yield_now());
        // Polled exactly once: the initial poll.
        assert_eq!(npolls.load(SeqCst), 1);

        tx.unbounded_send(()).unwrap();
        rt.block_on(genrt::yield_now());
        // Twice more: once to yield Some, once to yield Pending.
        assert_eq!(npolls.load(SeqCst), 1 + 2);

        drop(tx);
        rt.block_on(genrt::yield_now());
        // Once more: to yield None.
        assert_eq!(npolls.load(SeqCst), 1 + 2 + 1);
    });
}

#[test]
fn acquire_mutex_in_drop() {
    Watchdog::new("acquire_mutex_in_drop").run(|| {
        let (tx1, rx1) = oneshot::channel::<()>();
        let (tx2, rx2) = oneshot::channel::<()>();
        let rt = rt();
        rt.spawn(async move {
            let _ = rx2.await;
            unreachable!();
        });
        rt.spawn(async move {
            let _ = rx1.await;
            tx2.send(()).unwrap();
            unreachable!();
        });
        // A task that never notifies.
        rt.spawn(async move {
            pending::<()>().await;
            tx1.send(()).unwrap();
        });
        // Tick the loop, then drop the runtime: the drops wake tasks being dropped.
        rt.block_on(genrt::yield_now());
        drop(rt);
    });
}

#[test]
fn drop_tasks_in_context() {
    static SUCCESS: AtomicBool = AtomicBool::new(false);

    struct ContextOnDrop;

    impl Future for ContextOnDrop {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    impl Drop for ContextOnDrop {
        fn drop(&mut self) {
            if Handle::try_current().is_ok() {
                SUCCESS.store(true, SeqCst);
            }
        }
    }

    Watchdog::new("drop_tasks_in_context").run(|| {
        let rt = rt();
        rt.spawn(ContextOnDrop);
        drop(rt);
    });
    assert!(SUCCESS.load(SeqCst));
}

#[test]
fn wake_in_drop_after_panic() {
    struct WakeOnDrop(Option<oneshot::Sender<()>>);

    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            self.0.take().unwrap().send(()).unwrap();
        }
    }

    let _quiet = quiet_panics();
    let message = panic_of("wake_in_drop_after_panic", || {
        let (tx, rx) = oneshot::channel::<()>();
        let rt = rt();
        rt.spawn(async move {
            let _wake_on_drop = WakeOnDrop(Some(tx));
            pending::<()>().await;
        });
        let _join = rt.spawn(rx);
        // The runtime is dropped while this panic unwinds.
        rt.block_on(async {
            genrt::yield_now().await;
            panic!("{INTENTIONAL}: boom");
        });
    });
    assert!(message.ends_with("boom"), "{message}");
}

#[test]
fn spawn_two() {
    let out = Watchdog::new("spawn_two").run(|| {
        rt().block_on(async {
            let (tx, rx) = oneshot::channel();
            genrt::spawn(async move {
                genrt::spawn(async move { tx.send("ZOMG").unwrap() });
            });
            rx.await.unwrap()
        })
    });
    assert_eq!(out, "ZOMG");
}

#[test]
fn spawn_remote() {
    let out = Watchdog::new("spawn_remote").run(|| {
        rt().block_on(async {
            let (tx, rx) = oneshot::channel();
            let handle = genrt::spawn(async move {
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(10));
                    tx.send("ZOMG").unwrap();
                });
                rx.await.unwrap()
            });
            handle.await.unwrap()
        })
    });
    assert_eq!(out, "ZOMG");
}

// Tokio's `timeout_panics_when_no_time_handle`, inverted: genrt's timers are always on.
#[test]
fn timeout_works_without_enable_time() {
    Watchdog::new("timeout_works_without_enable_time").run(|| {
        let rt = genrt::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let (_tx, rx) = oneshot::channel::<()>();
            let dur = Duration::from_millis(20);
            assert!(genrt::time::timeout(dur, rx).await.is_err());
        });
    });
}

#[test]
fn shutdown_on_panic() {
    let _quiet = quiet_panics();
    let rt = shutdown_on_panic_rt();
    let message = panic_of("shutdown_on_panic", move || {
        rt.block_on(async {
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
            pending::<()>().await;
        })
    });
    assert!(message.contains("a spawned task panicked"), "{message}");
}

#[test]
fn spawns_do_nothing() {
    let _quiet = quiet_panics();
    let rt1 = Arc::new(shutdown_on_panic_rt());
    let rt2 = rt1.clone();
    let message = panic_of("block_on on another thread", move || {
        rt2.block_on(async {
            genrt::spawn(async { panic!("{INTENTIONAL}: boom") });
            pending::<()>().await;
        })
    });
    assert!(message.contains("a spawned task panicked"), "{message}");
    let task = rt1.spawn(async {});
    assert!(wait_for("a spawn after the close", task).is_err());
}

#[test]
fn shutdown_all_concurrent_block_on() {
    const N: usize = 2;
    let _quiet = quiet_panics();
    let rt = Arc::new(shutdown_on_panic_rt());
    let (tx, rx) = std_mpsc::channel();
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let (rt, tx) = (rt.clone(), tx.clone());
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
    rt.spawn(async { panic!("{INTENTIONAL}: boom") });
    for thread in threads {
        let err = Watchdog::new("a block_on thread").run(move || thread.join().unwrap_err());
        let message = panic_message(&*err).unwrap_or_default();
        assert!(message.contains("a spawned task panicked"), "{message}");
    }
}

// ----------------------------------------------------------------------------------------
// genrt's own
// ----------------------------------------------------------------------------------------

#[test]
fn task_spawned_from_outside_waits_for_block_on() {
    Watchdog::new("task_spawned_from_outside_waits_for_block_on").run(|| {
        let rt = rt();
        let ran = Arc::new(AtomicUsize::new(0));
        let handle = rt.handle().clone();
        let from_thread = {
            let ran = ran.clone();
            thread::spawn(move || handle.spawn(async move { ran.fetch_add(1, SeqCst) }))
                .join()
                .unwrap()
        };
        let from_enter = {
            let _entered = rt.enter();
            let ran = ran.clone();
            genrt::spawn(async move { ran.fetch_add(1, SeqCst) })
        };
        thread::sleep(Duration::from_millis(50));
        assert_eq!(ran.load(SeqCst), 0, "a task ran with no thread in block_on");
        assert!(!from_thread.is_finished() && !from_enter.is_finished());
        rt.block_on(genrt::yield_now());
        assert_eq!(ran.load(SeqCst), 2);
        rt.block_on(async {
            from_thread.await.unwrap();
            from_enter.await.unwrap();
        });
    });
}

#[test]
fn tasks_run_on_the_block_on_thread() {
    Watchdog::new("tasks_run_on_the_block_on_thread").run(|| {
        let rt = rt();
        let me = thread::current().id();
        let handle = rt.handle().clone();
        let remote = thread::spawn(move || handle.spawn(async { thread::current().id() }))
            .join()
            .unwrap();
        let ids = rt.block_on(async move {
            let mut joins: Vec<_> = (0..10)
                .map(|_| genrt::spawn(async { thread::current().id() }))
                .collect();
            joins.push(remote);
            joins.push(genrt::spawn(async {
                genrt::time::sleep(Duration::from_millis(5)).await;
                genrt::spawn(async { thread::current().id() })
                    .await
                    .unwrap()
            }));
            futures::future::join_all(joins).await
        });
        let ids: Vec<_> = ids.into_iter().map(Result::unwrap).collect();
        assert_eq!(ids.len(), 12);
        assert!(ids.iter().all(|id| *id == me), "{ids:?} vs {me:?}");
    });
}

#[test]
fn second_block_on_takes_over_when_the_first_returns() {
    Watchdog::new("second_block_on_takes_over_when_the_first_returns").run(|| {
        let rt = Arc::new(rt());
        let (in_tx, in_rx) = std_mpsc::channel::<&str>();
        let (release_a, released_a) = oneshot::channel::<()>();
        let a = thread::spawn({
            let (rt, in_tx) = (rt.clone(), in_tx.clone());
            move || {
                rt.block_on(async move {
                    in_tx.send("a").unwrap();
                    // Runs on this thread, the one driving.
                    let id = genrt::spawn(async { thread::current().id() })
                        .await
                        .unwrap();
                    released_a.await.unwrap();
                    id
                })
            }
        });
        assert_eq!(recv(&in_rx, "block_on A started"), "a");
        let (gate_tx, gate_rx) = oneshot::channel::<()>();
        let b = thread::spawn({
            let rt = rt.clone();
            move || {
                let task = rt.spawn(async move {
                    gate_rx.await.unwrap();
                    thread::current().id()
                });
                rt.block_on(async move {
                    in_tx.send("b").unwrap();
                    (thread::current().id(), task.await.unwrap())
                })
            }
        });
        assert_eq!(recv(&in_rx, "block_on B started"), "b");
        let a_id = a.thread().id();
        release_a.send(()).unwrap();
        assert_eq!(a.join().unwrap(), a_id, "A's task ran on A's thread");
        // A has returned; B's task can only run if B took over.
        gate_tx.send(()).unwrap();
        let (b_id, task_id) = b.join().unwrap();
        assert_eq!(task_id, b_id, "the task ran on B's thread after A returned");
    });
}

#[test]
fn handle_block_on_in_spawn_blocking_while_main_is_in_block_on() {
    Watchdog::new("handle_block_on_in_spawn_blocking").run(|| {
        let rt = rt();
        let me = thread::current().id();
        let (inner_thread, task_thread, value) = rt.block_on(async {
            let handle = Handle::current();
            genrt::spawn_blocking(move || {
                handle.block_on(async {
                    genrt::time::sleep(Duration::from_millis(1)).await;
                    let (id, value) = genrt::spawn(async { (thread::current().id(), 5) })
                        .await
                        .unwrap();
                    (thread::current().id(), id, value)
                })
            })
            .await
            .unwrap()
        });
        assert_eq!(value, 5);
        assert_ne!(
            inner_thread, me,
            "the inner block_on ran on the blocking thread"
        );
        assert_eq!(
            task_thread, me,
            "the task ran on the driving block_on's thread"
        );
    });
}

#[test]
fn dropping_the_runtime_drops_tasks_that_never_ran() {
    const N: usize = 20;
    let drops = Arc::new(AtomicUsize::new(0));
    let polls = Arc::new(AtomicUsize::new(0));
    let joins = Watchdog::new("dropping_the_runtime_drops_tasks_that_never_ran").run({
        let (drops, polls) = (drops.clone(), polls.clone());
        move || {
            let rt = rt();
            let joins: Vec<_> = (0..N)
                .map(|_| {
                    let counter = DropCounter(drops.clone());
                    let polls = polls.clone();
                    rt.spawn(async move {
                        let _counter = counter;
                        polls.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            thread::sleep(Duration::from_millis(20)); // time they would have had to run
            drop(rt);
            joins
        }
    });
    assert_eq!(polls.load(SeqCst), 0, "no task ran");
    assert_eq!(drops.load(SeqCst), N, "every future was dropped");
    for join in joins {
        assert!(wait_for("a join handle", join).unwrap_err().is_cancelled());
    }
}

#[test]
fn settle_runs_queued_tasks_on_the_calling_thread() {
    Watchdog::new("settle_runs_queued_tasks_on_the_calling_thread").run(|| {
        let rt = rt();
        let me = thread::current().id();
        let ids = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
        for _ in 0..10 {
            let ids = ids.clone();
            rt.spawn(async move {
                ids.lock().unwrap().push(thread::current().id());
                genrt::yield_now().await;
                genrt::spawn(async move { ids.lock().unwrap().push(thread::current().id()) });
            });
        }
        // A suspended task does not keep settle waiting.
        let (_never_tx, never) = oneshot::channel::<()>();
        rt.spawn(never);
        assert!(ids.lock().unwrap().is_empty());
        rt.settle();
        let ids = ids.lock().unwrap();
        assert_eq!(ids.len(), 20);
        assert!(ids.iter().all(|id| *id == me), "{ids:?} vs {me:?}");
    });
}

#[test]
fn park_hooks_run_on_the_block_on_thread() {
    Watchdog::new("park_hooks_run_on_the_block_on_thread").run(|| {
        let parks = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
        let unparks = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
        let record = |ids: &Arc<Mutex<Vec<ThreadId>>>| {
            let ids = ids.clone();
            move || ids.lock().unwrap().push(thread::current().id())
        };
        let rt = genrt::Builder::new_current_thread()
            .on_thread_park(record(&parks))
            .on_thread_unpark(record(&unparks))
            .build()
            .unwrap();
        thread::sleep(Duration::from_millis(20));
        assert!(parks.lock().unwrap().is_empty(), "parked outside block_on");
        let me = thread::current().id();
        rt.block_on(async {
            let (tx, rx) = oneshot::channel();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                tx.send(()).unwrap();
            });
            rx.await.unwrap();
        });
        let parks = parks.lock().unwrap().clone();
        assert!(
            !parks.is_empty(),
            "the block_on thread idled without parking"
        );
        assert!(parks.iter().all(|id| *id == me), "{parks:?} vs {me:?}");
        let unparks = unparks.lock().unwrap();
        assert!(
            !unparks.is_empty(),
            "the block_on thread parked and never unparked"
        );
        assert!(unparks.iter().all(|id| *id == me), "{unparks:?} vs {me:?}");
    });
}

//! `genrt::task::LocalSet` and `spawn_local`: Tokio's `task_local_set.rs` ported (each test
//! names its Tokio test; `tokio::sync` channels become `futures`' and a
//! `#[tokio::test(flavor = ..)]` body runs in `block_on` of a runtime of that flavor), and
//! what genrt adds: a local task's waker is a key that owns nothing, so a waker kept after
//! its set is dropped retains no bytes and wakes nothing. Every wait is bounded.

use std::cell::Cell;
use std::future::{pending, ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, StreamExt};
use genrt::task::{self, LocalSet};
use support::{panic_message, quiet_panics, Watchdog};

fn current_thread() -> genrt::Runtime {
    genrt::Builder::new_current_thread().build().unwrap()
}

fn multi_thread() -> genrt::Runtime {
    genrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Runs `body` in `block_on` of `rt` under a watchdog (the body need not be `Send`: it is
/// built on the watchdog's thread).
fn run<F, B>(what: &'static str, rt: fn() -> genrt::Runtime, body: B)
where
    B: FnOnce() -> F + Send + 'static,
    F: Future<Output = ()>,
{
    Watchdog::new(what).run(move || rt().block_on(body()));
}

thread_local! {
    static ON_TEST_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn mark_test_thread() {
    ON_TEST_THREAD.with(|cell| cell.set(true));
}

fn on_test_thread() -> bool {
    ON_TEST_THREAD.with(|cell| cell.get())
}

// Tokio: `local_basic_scheduler`.
#[test]
fn local_basic_scheduler() {
    run("local_basic_scheduler", current_thread, || async {
        LocalSet::new()
            .run_until(async {
                task::spawn_local(async {}).await.unwrap();
            })
            .await;
    });
}

// Tokio: `local_threadpool`.
#[test]
fn local_threadpool() {
    run("local_threadpool", multi_thread, || async {
        mark_test_thread();
        LocalSet::new()
            .run_until(async {
                assert!(on_test_thread());
                task::spawn_local(async { assert!(on_test_thread()) })
                    .await
                    .unwrap();
            })
            .await;
    });
}

// Tokio: `localset_future_threadpool`.
#[test]
fn localset_future_threadpool() {
    run("localset_future_threadpool", multi_thread, || async {
        mark_test_thread();
        let local = LocalSet::new();
        local.spawn_local(async move { assert!(on_test_thread()) });
        local.await;
    });
}

// Tokio: `localset_future_timers`.
#[test]
fn localset_future_timers() {
    static RAN1: AtomicBool = AtomicBool::new(false);
    static RAN2: AtomicBool = AtomicBool::new(false);
    run("localset_future_timers", multi_thread, || async {
        let local = LocalSet::new();
        local.spawn_local(async move {
            genrt::time::sleep(Duration::from_millis(5)).await;
            RAN1.store(true, Ordering::SeqCst);
        });
        local.spawn_local(async move {
            genrt::time::sleep(Duration::from_millis(10)).await;
            RAN2.store(true, Ordering::SeqCst);
        });
        local.await;
        assert!(RAN1.load(Ordering::SeqCst));
        assert!(RAN2.load(Ordering::SeqCst));
    });
}

// Tokio: `localset_future_drives_all_local_futs`.
#[test]
fn localset_future_drives_all_local_futs() {
    static RAN1: AtomicBool = AtomicBool::new(false);
    static RAN2: AtomicBool = AtomicBool::new(false);
    static RAN3: AtomicBool = AtomicBool::new(false);
    run(
        "localset_future_drives_all_local_futs",
        multi_thread,
        || async {
            let local = LocalSet::new();
            local.spawn_local(async move {
                task::spawn_local(async {
                    task::yield_now().await;
                    RAN3.store(true, Ordering::SeqCst);
                });
                task::yield_now().await;
                RAN1.store(true, Ordering::SeqCst);
            });
            local.spawn_local(async move {
                task::yield_now().await;
                RAN2.store(true, Ordering::SeqCst);
            });
            local.await;
            assert!(RAN1.load(Ordering::SeqCst));
            assert!(RAN2.load(Ordering::SeqCst));
            assert!(RAN3.load(Ordering::SeqCst));
        },
    );
}

// Tokio: `local_threadpool_timer`.
#[test]
fn local_threadpool_timer() {
    run("local_threadpool_timer", multi_thread, || async {
        mark_test_thread();
        LocalSet::new()
            .run_until(async {
                let join = task::spawn_local(async move {
                    assert!(on_test_thread());
                    genrt::time::sleep(Duration::from_millis(10)).await;
                    assert!(on_test_thread());
                });
                join.await.unwrap();
            })
            .await;
    });
}

// Tokio: `enter_guard_spawn`.
#[test]
fn enter_guard_spawn() {
    Watchdog::new("enter_guard_spawn").run(|| {
        let local = LocalSet::new();
        let _guard = local.enter();
        let join = task::spawn_local(async { true });
        let rt = current_thread();
        local.block_on(&rt, async move {
            assert!(join.await.unwrap());
        });
    });
}

// Tokio: `local_threadpool_blocking_run`.
#[test]
fn local_threadpool_blocking_run() {
    run("local_threadpool_blocking_run", multi_thread, || async {
        mark_test_thread();
        LocalSet::new()
            .run_until(async {
                let join = task::spawn_local(async move {
                    task::spawn_blocking(|| {
                        assert!(
                            !on_test_thread(),
                            "blocking must not run on the local task set's thread"
                        );
                    })
                    .await
                    .unwrap();
                    assert!(on_test_thread());
                });
                join.await.unwrap();
            })
            .await;
    });
}

// Tokio: `all_spawns_are_local`.
#[test]
fn all_spawns_are_local() {
    run("all_spawns_are_local", multi_thread, || async {
        mark_test_thread();
        LocalSet::new()
            .run_until(async {
                let handles = (0..128)
                    .map(|_| task::spawn_local(async { assert!(on_test_thread()) }))
                    .collect::<Vec<_>>();
                for joined in futures::future::join_all(handles).await {
                    joined.unwrap();
                }
            })
            .await;
    });
}

// Tokio: `nested_spawn_is_local`.
#[test]
fn nested_spawn_is_local() {
    run("nested_spawn_is_local", multi_thread, || async {
        mark_test_thread();
        LocalSet::new()
            .run_until(async {
                task::spawn_local(async {
                    assert!(on_test_thread());
                    task::spawn_local(async {
                        assert!(on_test_thread());
                        task::spawn_local(async { assert!(on_test_thread()) })
                            .await
                            .unwrap();
                    })
                    .await
                    .unwrap();
                })
                .await
                .unwrap();
            })
            .await;
    });
}

// Tokio: `join_local_future_elsewhere`: a local task's join handle awaited by a task on a
// worker, which wakes the local task from its own thread.
#[test]
fn join_local_future_elsewhere() {
    Watchdog::new("join_local_future_elsewhere").run(|| {
        mark_test_thread();
        let rt = multi_thread();
        let local = LocalSet::new();
        local.block_on(&rt, async move {
            let (tx, rx) = oneshot::channel::<()>();
            let join = task::spawn_local(async move {
                assert!(
                    on_test_thread(),
                    "local task must run on local thread, no matter where it is awaited"
                );
                rx.await.unwrap();
                "hello world"
            });
            let join2 = task::spawn(async move {
                assert!(!on_test_thread(), "spawned task should be on a worker");
                tx.send(()).expect("task shouldn't have ended yet");
                join.await.expect("task should complete successfully")
            });
            assert_eq!(join2.await.unwrap(), "hello world");
        });
    });
}

// Tokio: `drop_cancels_tasks` (its issue #1842).
#[test]
fn drop_cancels_tasks() {
    Watchdog::new("drop_cancels_tasks").run(|| {
        let rt = current_thread();
        let rc1 = Rc::new(());
        let rc2 = rc1.clone();
        let (started_tx, started_rx) = oneshot::channel();
        let local = LocalSet::new();
        local.spawn_local(async move {
            let _rc2 = rc2;
            started_tx.send(()).unwrap();
            pending::<()>().await;
        });
        local.block_on(&rt, async {
            started_rx.await.unwrap();
        });
        drop(local);
        drop(rt);
        assert_eq!(1, Rc::strong_count(&rc1));
    });
}

// Tokio: `drop_cancels_remote_tasks` (its issue #1885: a loop on remote wakes at drop).
#[test]
fn drop_cancels_remote_tasks() {
    Watchdog::new("drop_cancels_remote_tasks").run(|| {
        let (tx, mut rx) = mpsc::channel::<()>(1024);
        let rt = current_thread();
        let local = LocalSet::new();
        local.spawn_local(async move { while rx.next().await.is_some() {} });
        local.block_on(&rt, async {
            genrt::time::sleep(Duration::from_millis(1)).await;
        });
        drop(tx);
        drop(local);
    });
}

// Tokio: `local_tasks_wake_join_all` (its issue #2460).
#[test]
fn local_tasks_wake_join_all() {
    Watchdog::new("local_tasks_wake_join_all").run(|| {
        let rt = current_thread();
        let set = LocalSet::new();
        let handles: Vec<_> = (1..=128)
            .map(|_| {
                set.spawn_local(async move {
                    task::spawn_local(async move {}).await.unwrap();
                })
            })
            .collect();
        for joined in rt.block_on(set.run_until(futures::future::join_all(handles))) {
            joined.unwrap();
        }
    });
}

// Tokio: `local_tasks_are_polled_after_tick` (its issues #1899 and #1900), without Tokio's
// retries: every one of 500 local tasks, each spawned on a message from a task on a worker
// and woken from there, runs.
#[test]
fn local_tasks_are_polled_after_tick() {
    const EXPECTED: usize = 500;
    static RX1: AtomicUsize = AtomicUsize::new(0);
    static RX2: AtomicUsize = AtomicUsize::new(0);
    run(
        "local_tasks_are_polled_after_tick",
        current_thread,
        || async {
            let (tx, mut rx) = mpsc::unbounded::<oneshot::Receiver<()>>();
            let local = LocalSet::new();
            local
                .run_until(async {
                    let task2 = task::spawn(async move {
                        genrt::time::sleep(Duration::from_millis(10)).await;
                        let mut oneshots = Vec::with_capacity(EXPECTED);
                        for _ in 0..EXPECTED {
                            let (oneshot_tx, oneshot_rx) = oneshot::channel();
                            oneshots.push(oneshot_tx);
                            tx.unbounded_send(oneshot_rx).unwrap();
                        }
                        genrt::time::sleep(Duration::from_millis(10)).await;
                        for tx in oneshots.drain(..) {
                            tx.send(()).unwrap();
                        }
                        drop(tx);
                    });
                    let mut locals = Vec::new();
                    while let Some(oneshot) = rx.next().await {
                        RX1.fetch_add(1, Ordering::SeqCst);
                        locals.push(task::spawn_local(async move {
                            oneshot.await.unwrap();
                            RX2.fetch_add(1, Ordering::SeqCst);
                        }));
                    }
                    task2.await.unwrap();
                    for local in locals {
                        local.await.unwrap();
                    }
                    assert_eq!(EXPECTED, RX1.load(Ordering::SeqCst));
                    assert_eq!(EXPECTED, RX2.load(Ordering::SeqCst));
                })
                .await;
        },
    );
}

// Tokio: `acquire_mutex_in_drop`: dropping the set drops futures whose drops wake other
// tasks of the set.
#[test]
fn acquire_mutex_in_drop() {
    run("acquire_mutex_in_drop", current_thread, || async {
        let (tx1, rx1) = oneshot::channel::<()>();
        let (tx2, rx2) = oneshot::channel::<()>();
        let local = LocalSet::new();
        local.spawn_local(async move {
            let _ = rx2.await;
            unreachable!();
        });
        local.spawn_local(async move {
            let _ = rx1.await;
            tx2.send(()).unwrap();
            unreachable!();
        });
        local.spawn_local(async move {
            pending::<()>().await;
            tx1.send(()).unwrap();
        });
        local
            .run_until(async {
                task::yield_now().await;
            })
            .await;
        drop(local);
    });
}

// Tokio: `spawn_wakes_localset`: a spawn onto a set waiting in `run_until` wakes it.
#[test]
fn spawn_wakes_localset() {
    run("spawn_wakes_localset", current_thread, || async {
        let local = LocalSet::new();
        let ret = futures::select! {
            _ = local.run_until(pending::<()>()).fuse() => unreachable!(),
            ret = async { local.spawn_local(ready(7)).await.unwrap() }.fuse() => ret,
        };
        assert_eq!(ret, 7);
    });
}

#[test]
fn spawn_local_outside_a_set_panics_with_tokios_words() {
    let _quiet = quiet_panics();
    let panicked = std::panic::catch_unwind(|| task::spawn_local(async {})).unwrap_err();
    let text = panic_message(&*panicked).unwrap();
    assert!(
        text.contains("`spawn_local` called from outside of a `task::LocalSet`"),
        "{text}"
    );
}

#[test]
fn a_local_task_can_be_aborted_and_reports_its_panic() {
    let _quiet = quiet_panics();
    run("abort and panic", current_thread, || async {
        let local = LocalSet::new();
        local
            .run_until(async {
                let pending_task = task::spawn_local(pending::<()>());
                let abort = pending_task.abort_handle();
                // From another thread: the wake reaches the set through its key.
                std::thread::spawn(move || abort.abort()).join().unwrap();
                assert!(pending_task.await.unwrap_err().is_cancelled());

                let panicking = task::spawn_local(async { panic!("local boom") });
                let err = panicking.await.unwrap_err();
                assert!(err.is_panic());
                assert_eq!(panic_message(&*err.into_panic()), Some("local boom"));

                // The set goes on.
                assert_eq!(task::spawn_local(async { 3 }).await.unwrap(), 3);
            })
            .await;
    });
}

#[test]
fn a_local_task_woken_from_other_threads_runs_on_its_set() {
    run("foreign wakes", multi_thread, || async {
        mark_test_thread();
        let local = LocalSet::new();
        local
            .run_until(async {
                let (tx, mut rx) = mpsc::unbounded::<u32>();
                let consumer = task::spawn_local(async move {
                    let mut sum = 0;
                    while let Some(n) = rx.next().await {
                        assert!(on_test_thread());
                        sum += n;
                    }
                    sum
                });
                let producers: Vec<_> = (0..4)
                    .map(|_| {
                        let tx = tx.clone();
                        std::thread::spawn(move || {
                            for n in 0..1_000 {
                                tx.unbounded_send(n).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                for producer in producers {
                    producer.join().unwrap();
                }
                assert_eq!(consumer.await.unwrap(), 4 * 499_500);
            })
            .await;
    });
}

/// genrt's own promise, for local tasks too: a waker kept after its set is dropped owns
/// nothing (its task's future is freed with the set) and waking it does nothing.
#[test]
fn a_waker_kept_after_its_set_is_dropped_is_a_harmless_no_op() {
    struct Tracked(Arc<AtomicBool>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    Watchdog::new("stale local waker").run(|| {
        let rt = current_thread();
        let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
        let dropped = Arc::new(AtomicBool::new(false));
        let local = LocalSet::new();
        local.spawn_local({
            let (kept, tracked) = (kept.clone(), Tracked(dropped.clone()));
            std::future::poll_fn(move |cx| {
                let _own = &tracked;
                *kept.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            })
        });
        local.block_on(&rt, task::yield_now());
        let waker = kept.lock().unwrap().take().expect("the task was polled");
        assert!(!dropped.load(Ordering::SeqCst));
        drop(local);
        assert!(
            dropped.load(Ordering::SeqCst),
            "the set's drop freed the future"
        );
        assert_eq!(
            std::mem::size_of_val(&waker),
            std::mem::size_of::<Waker>(),
            "a waker is a key"
        );
        waker.wake_by_ref();
        std::thread::spawn(move || waker.wake()).join().unwrap();
        // A set made afterwards may reuse the registry entry; the old key names nothing in it.
        let local = LocalSet::new();
        assert_eq!(local.block_on(&rt, async { 5 }), 5);
    });
}

// Tokio: `store_local_set_in_thread_local_with_runtime`: a set kept in a thread-local is
// dropped by its destructor at thread exit, possibly after the thread's current-set
// thread-local is gone (this aborted the process before the drop learnt to do without it).
#[test]
fn store_local_set_in_thread_local_with_runtime() {
    Watchdog::new("store_local_set_in_thread_local_with_runtime").run(|| {
        std::thread::spawn(|| {
            thread_local! {
                static CURRENT: RtAndLocalSet = RtAndLocalSet::new();
            }
            struct RtAndLocalSet {
                rt: genrt::Runtime,
                local: LocalSet,
            }
            impl RtAndLocalSet {
                fn new() -> RtAndLocalSet {
                    RtAndLocalSet {
                        rt: current_thread(),
                        local: LocalSet::new(),
                    }
                }
                async fn inner_method(&self) {
                    self.local
                        .run_until(async move {
                            task::spawn_local(async {});
                        })
                        .await
                }
                fn method(&self) {
                    self.rt.block_on(self.inner_method());
                }
            }
            CURRENT.with(|f| f.method());
        })
        .join()
        .expect("the thread exits cleanly");
    });
}

// Tokio: `localset_in_thread_local` (its issue #4973), with the thread joined.
#[test]
fn localset_in_thread_local() {
    thread_local! {
        static LOCAL_SET: LocalSet = LocalSet::new();
    }
    Watchdog::new("localset_in_thread_local").run(|| {
        let rt = multi_thread();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = rt.handle().clone();
        let thread = std::thread::spawn(move || {
            LOCAL_SET.with(|local_set| {
                handle.block_on(local_set.run_until(async move {
                    let _ = rx.await;
                }))
            });
        });
        drop(tx);
        thread.join().expect("the thread exits cleanly");
    });
}

// Tokio: `sleep_with_local_enter_guard` (its issue #5020).
#[test]
fn sleep_with_local_enter_guard() {
    run("sleep_with_local_enter_guard", current_thread, || async {
        let local = LocalSet::new();
        let _guard = local.enter();
        let (tx, rx) = oneshot::channel();
        local
            .run_until(async move {
                task::spawn_local(async move {
                    genrt::time::sleep(Duration::ZERO).await;
                    tx.send(()).expect("failed to send");
                });
                assert_eq!(rx.await, Ok(()));
            })
            .await;
    });
}

/// Sets nested 20 deep, each driven by a task of the one outside it, the innermost task
/// woken from another thread: every level's owner waker is itself a key waker. The registry
/// wakes a set's owner only after the wake's window is closed, so the wakes chain one after
/// the other (before, each level held a spare record inside the window below it, and past
/// 16 levels the waking thread waited for a spare for ever).
#[test]
fn nested_sets_are_woken_through_a_chain_of_key_wakers() {
    fn nested(depth: usize, rx: oneshot::Receiver<()>) -> Pin<Box<dyn Future<Output = ()>>> {
        if depth == 0 {
            return Box::pin(async move { rx.await.unwrap() });
        }
        Box::pin(async move {
            let set = Rc::new(LocalSet::new());
            let driver = set.clone();
            let inner =
                set.spawn_local(async move { driver.run_until(nested(depth - 1, rx)).await });
            set.run_until(inner).await.unwrap();
        })
    }
    Watchdog::new("nested sets").run(|| {
        let rt = current_thread();
        let (tx, rx) = oneshot::channel();
        let outer = LocalSet::new();
        let waker_thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(()).unwrap();
        });
        outer.block_on(&rt, nested(20, rx));
        waker_thread.join().unwrap();
    });
}

// Tokio: `JoinSet::spawn_local` / `spawn_local_on` (task_join_set.rs uses them inside a
// `LocalSet`): members that are not `Send`, joined in completion order; dropping the set
// aborts the rest.
#[test]
fn join_sets_take_local_tasks() {
    run("join sets of local tasks", current_thread, || async {
        let local = LocalSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        let dropped = Rc::new(Cell::new(false));
        local
            .run_until(async {
                let mut set = genrt::JoinSet::new();
                for i in 0..5u32 {
                    let not_send = Rc::new(i);
                    set.spawn_local(async move { *not_send });
                }
                let mut seen = Vec::new();
                while let Some(joined) = set.join_next().await {
                    seen.push(joined.unwrap());
                }
                seen.sort_unstable();
                assert_eq!(seen, [0, 1, 2, 3, 4]);

                struct Flag(Rc<Cell<bool>>);
                impl Drop for Flag {
                    fn drop(&mut self) {
                        self.0.set(true);
                    }
                }
                let mut pending = genrt::JoinSet::new();
                let flag = Flag(dropped.clone());
                pending.spawn_local_on(
                    async move {
                        let _flag = flag;
                        let _ = rx.await;
                    },
                    &local,
                );
                task::yield_now().await;
                drop(pending);
                // The abort wakes the member; the set drops its future on its next turn.
                task::yield_now().await;
                task::yield_now().await;
            })
            .await;
        assert!(
            dropped.get(),
            "dropping the JoinSet aborted its local member"
        );
        drop(tx);
    });
}

/// A waker that wakes another waker when its last clone is dropped.
struct WakeOnDrop(Mutex<Option<Waker>>);

impl std::task::Wake for WakeOnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if let Some(waker) = self.0.lock().unwrap().take() {
            waker.wake();
        }
    }
}

/// A set polled again with another waker drops the owner waker it replaces after its queue's
/// lock: here the old waker's drop wakes one of the set's tasks, which queues it under that
/// lock (Tokio's `replace_parent_waker_drops_outside_lock`, for a `LocalSet`).
#[test]
fn a_local_set_drops_the_owner_waker_it_replaces_outside_its_lock() {
    Watchdog::new("local set: replaced owner waker wakes a task on drop").run(|| {
        let local = LocalSet::new();
        let task_waker = Arc::new(Mutex::new(None::<Waker>));
        let polls = Rc::new(Cell::new(0));
        {
            let (task_waker, polls) = (task_waker.clone(), polls.clone());
            local.spawn_local(std::future::poll_fn(move |cx| {
                polls.set(polls.get() + 1);
                *task_waker.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            }));
        }
        let mut run = Box::pin(local.run_until(pending::<()>()));
        let shared = Arc::new(WakeOnDrop(Mutex::new(None)));
        let first = Waker::from(shared.clone());
        assert!(run
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&first))
            .is_pending());
        assert_eq!(polls.get(), 1);
        *shared.0.lock().unwrap() = task_waker.lock().unwrap().take();
        drop((first, shared));
        let noop = futures::task::noop_waker_ref();
        assert!(run
            .as_mut()
            .poll(&mut std::task::Context::from_waker(noop))
            .is_pending());
        // The wake from the old waker's drop was queued; the next poll runs the task.
        assert!(run
            .as_mut()
            .poll(&mut std::task::Context::from_waker(noop))
            .is_pending());
        assert_eq!(polls.get(), 2);
    });
}

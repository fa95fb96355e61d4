//! An adversarial review of the current-thread runtime (`Builder::new_current_thread`, whose
//! one worker has no thread and is driven by whichever thread is in `block_on` or `settle`),
//! after the bug fixed by `Driver::ticking` (a runtime dropped from another thread while a
//! driver polled one of its tasks). Tokio's `current_thread` scheduler is the reference where
//! the semantics are unclear.
//!
//! Bugs found, each with its test here (now fixed):
//! - with `event_interval(u32::MAX)`, `try_settle` never came back while tasks kept the
//!   settling thread busy (its deadline was looked at once per batch of `event_interval`
//!   polls), and a woken `block_on` future was never polled again while a task looped on
//!   `yield_now` (Tokio's loop goes back to its `block_on` future when only yields are left);
//! - the `block_on` future was polled inside the worker's context, which a thread enters
//!   only while it drives: an `EnterGuard` held across an `.await`, made while another
//!   thread drove and dropped once this one did, panicked as "dropped out of order"; and
//!   one held by a part of the future while another part panicked (or leaked) kept the
//!   worker, so that every later `block_on` panicked ("lost its scheduler"). The driver now
//!   polls the future in the chain of contexts the caller entered, swapped in around each
//!   poll, and the tasks in the worker's context (`DriverContexts` in genrt-scheduler's
//!   `worker` module), as Tokio keeps its scheduler context apart from the `enter` stack;
//!   the future's spawns then go to the injector, in spawn order, as Tokio's FIFO queue;
//! - `settle` inside a current-thread `block_on` panicked only if that thread drove at the
//!   time (its documentation says it panics there), and otherwise waited from inside the
//!   `block_on` future; `on_worker_thread` there said `true` only while that thread drove;
//! - each `block_on` whose future completed while another thread drove (and each `settle`
//!   then) left a waker among the threads waiting for the worker, until that drive ended:
//!   memory grew without bound beside a `block_on` that lasts.
//!
//! The other tests guard what the review checked and found working: a `block_on` future that
//! drops its runtime, a task calling `Handle::block_on` of another current-thread runtime,
//! park and unpark hooks that panic, a runtime dropped while its driver is inside its park
//! hook, a current-thread runtime dropped by a thread-local destructor, a `LocalSet` inside
//! `block_on`, timers of `block_on` futures that do not drive (paused clock or not, three
//! threads at once), `event_interval`/`global_queue_interval` at their extremes, and
//! `block_on` handovers racing `try_settle` and the runtime's drop.
//!
//! Every test runs under a watchdog; none bounds a real-time duration from above.

use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc as std_mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use genrt::Runtime;
use support::{panic_message, quiet_panics, recv, DropCounter, Watchdog, INTENTIONAL};

/// Counts live bytes, for [`block_on_beside_a_lasting_drive_keeps_no_memory`]. It counts in
/// every test of this binary; only that one reads the figures, in a process of its own.
#[global_allocator]
static ALLOC: support::counting::CountingAlloc = support::counting::CountingAlloc;

fn ct() -> Runtime {
    genrt::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A current-thread runtime whose batch between two looks at its `block_on` future (or a
/// settle's deadline) never ends by itself.
fn endless_batches() -> Runtime {
    genrt::Builder::new_current_thread()
        .enable_all()
        .event_interval(u32::MAX)
        .build()
        .unwrap()
}

/// Two tasks waking each other for ever (each wake of a task polled on the driver lands in
/// its LIFO slot: no yield, no deferred list, the queues never run dry).
fn spawn_ping_pong(rt: &Runtime) {
    let (to_a, mut a_rx) = mpsc::unbounded::<()>();
    let (to_b, mut b_rx) = mpsc::unbounded::<()>();
    let to_a2 = to_a.clone();
    rt.spawn(async move {
        while a_rx.next().await.is_some() {
            let _ = to_b.unbounded_send(());
        }
    });
    rt.spawn(async move {
        while b_rx.next().await.is_some() {
            let _ = to_a2.unbounded_send(());
        }
    });
    to_a.unbounded_send(()).unwrap();
}

/// A task looping on `yield_now` for ever.
fn spawn_yield_loop(rt: &Runtime) -> genrt::JoinHandle<()> {
    rt.spawn(async {
        loop {
            genrt::yield_now().await;
        }
    })
}

// ----------------------------------------------------------------------------------------
// The bugs found
// ----------------------------------------------------------------------------------------

/// `try_settle` on a current-thread runtime runs the tasks on the calling thread: it must
/// still give up at its deadline while they keep it busy, also when `event_interval` makes a
/// batch of polls endless (the deadline was looked at only between two batches), whether
/// the tasks wake each other or yield.
#[test]
fn try_settle_gives_up_at_its_deadline_with_endless_batches() {
    Watchdog::new("try_settle beside busy tasks, event_interval u32::MAX").run(|| {
        let rt = endless_batches();
        spawn_ping_pong(&rt);
        assert!(!rt.try_settle(Duration::from_millis(20)));
        let yields = spawn_yield_loop(&rt);
        assert!(!rt.try_settle(Duration::from_millis(20)));
        yields.abort();
        drop(rt);
    });
}

/// A woken `block_on` future is polled again once the tasks left to run are only yields, as
/// in Tokio's current-thread loop (its yields wait aside until the run queue is empty, and
/// the `block_on` future comes first then): a task looping on `yield_now` held the future
/// back for a whole batch of `event_interval` polls, for ever with `u32::MAX`. Woken by
/// itself (a yield) and by a timer.
#[test]
fn a_woken_block_on_future_is_not_held_back_by_a_yield_loop() {
    Watchdog::new("block_on beside a yield loop, event_interval u32::MAX").run(|| {
        let rt = endless_batches();
        let yields = spawn_yield_loop(&rt);
        rt.block_on(async {
            for _ in 0..3 {
                genrt::yield_now().await;
            }
            genrt::time::sleep(Duration::from_millis(1)).await;
        });
        yields.abort();
        drop(rt);
    });
}

/// A `block_on` future one part of which holds an `EnterGuard` of the runtime across an
/// `.await` while another part panics: the panic reaches the caller and the runtime stays
/// usable. The future was dropped in `block_on`'s frame after the drive had tried to put the
/// worker back, which the guard's context held: every later `block_on` then panicked
/// ("lost its scheduler").
#[test]
fn a_block_on_panic_beside_a_held_enter_guard_leaves_the_runtime_usable() {
    let _quiet = quiet_panics();
    Watchdog::new("a panic beside an EnterGuard held across an await").run(|| {
        let rt = ct();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let holds = async {
                let handle = genrt::Handle::current();
                let _entered = handle.enter();
                for _ in 0..3 {
                    genrt::yield_now().await;
                }
            };
            let panics = async {
                genrt::yield_now().await;
                panic!("{INTENTIONAL}: beside a held EnterGuard");
            };
            // Combinators that keep both futures in the `block_on` future itself (an `async`
            // block's panic would drop them while it unwinds).
            rt.block_on(futures::future::join(Box::pin(holds), Box::pin(panics)))
        }));
        assert!(panicked.is_err());
        let after = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { genrt::spawn(async { 5 }).await.unwrap() })
        }));
        match after {
            Ok(five) => assert_eq!(five, 5),
            Err(e) => panic!("the next block_on panicked: {:?}", panic_message(&*e)),
        }
    });
}

/// An `EnterGuard` (of this runtime, or of another) held across an `.await` in a `block_on`
/// future, made while another thread drove the runtime and dropped once this thread drives
/// it: no "dropped out of order" panic, as in Tokio. The worker's context was entered above
/// the guard when this thread took the worker over.
#[test]
fn an_enter_guard_held_across_an_await_survives_taking_the_worker_over() {
    let _quiet = quiet_panics();
    for same_runtime in [true, false] {
        Watchdog::new("an EnterGuard across a handover").run(move || {
            let rt = Arc::new(ct());
            let other = ct();
            // `first` drives until it is told to return.
            let (first_done_tx, first_done) = oneshot::channel::<()>();
            let (first_in_tx, first_in) = std_mpsc::channel();
            let first = {
                let rt = rt.clone();
                thread::spawn(move || {
                    rt.block_on(async move {
                        first_in_tx.send(()).unwrap();
                        let _ = first_done.await;
                    })
                })
            };
            recv(&first_in, "the first block_on drives");
            let (go_tx, go) = oneshot::channel::<()>();
            let (entered_tx, entered) = std_mpsc::channel();
            let other_handle = other.handle().clone();
            let second = {
                let rt = rt.clone();
                thread::spawn(move || {
                    catch_unwind(AssertUnwindSafe(|| {
                        rt.block_on(async move {
                            let this = genrt::Handle::current();
                            let guard = if same_runtime {
                                this.enter()
                            } else {
                                other_handle.enter()
                            };
                            entered_tx.send(()).unwrap();
                            let _ = go.await;
                            drop(guard);
                            genrt::spawn(async { 1 }).await.unwrap()
                        })
                    }))
                    .map_err(|e| panic_message(&*e).unwrap_or_default().to_owned())
                })
            };
            // The guard is made while `first` drives: `second` polls its future alone.
            recv(&entered, "the second block_on made its guard");
            first_done_tx.send(()).unwrap();
            first.join().unwrap();
            // Only a driver runs this task: `second`, which has taken the worker over, so
            // the wake it sends is taken by a poll inside `second`'s drive.
            rt.spawn(async move {
                let _ = go_tx.send(());
            });
            assert_eq!(second.join().unwrap(), Ok(1));
        });
    }
}

/// A `block_on` future that leaks an `EnterGuard` of its runtime: that `block_on` panics as
/// Tokio's does (its own guard is dropped out of order), and the runtime keeps its worker:
/// later `block_on` calls, on this thread and on another, run tasks. The leaked guard's
/// context held the worker, which could then never be put back ("lost its scheduler").
#[test]
fn a_leaked_enter_guard_in_block_on_does_not_lose_the_worker() {
    let _quiet = quiet_panics();
    Watchdog::new("a leaked EnterGuard in block_on").run(|| {
        let rt = Arc::new(ct());
        let leaked = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                genrt::spawn(async {}).await.unwrap();
                let handle = genrt::Handle::current();
                std::mem::forget(handle.enter());
                genrt::yield_now().await;
                genrt::spawn(async { 2 }).await.unwrap()
            })
        }));
        let payload = leaked.expect_err("the block_on's guard is out of order");
        let message = panic_message(&*payload).unwrap_or_default();
        assert!(message.contains("out of order"), "{message}");
        let elsewhere = {
            let rt = rt.clone();
            thread::spawn(move || rt.block_on(async { genrt::spawn(async { 3 }).await.unwrap() }))
        };
        assert_eq!(elsewhere.join().expect("another thread's block_on"), 3);
        assert_eq!(
            rt.block_on(async { genrt::spawn(async { 4 }).await.unwrap() }),
            4
        );
    });
}

/// Tasks spawned by a current-thread `block_on` future run in the order they were spawned,
/// as on Tokio's current-thread runtime (its run queue is FIFO).
#[test]
fn tasks_spawned_by_the_block_on_future_run_in_spawn_order() {
    Watchdog::new("spawn order of a current-thread block_on").run(|| {
        let rt = ct();
        let order = Arc::new(Mutex::new(Vec::new()));
        rt.block_on(async {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let order = order.clone();
                    genrt::spawn(async move { order.lock().unwrap().push(i) })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    });
}

/// `settle` inside a current-thread runtime's `block_on` panics, as documented, whichever
/// thread drives the runtime at the time: it panicked only if this one did, and otherwise
/// waited for the driver from inside the `block_on` future (and took the worker over, nested
/// in that poll, when the driver returned).
#[test]
fn settle_inside_block_on_panics_also_while_another_thread_drives() {
    let _quiet = quiet_panics();
    Watchdog::new("settle in a block_on that does not drive").run(|| {
        let rt = Arc::new(ct());
        let (driver_done_tx, driver_done) = oneshot::channel::<()>();
        let (driving_tx, driving) = std_mpsc::channel();
        let driver = {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.block_on(async move {
                    driving_tx.send(()).unwrap();
                    let _ = driver_done.await;
                })
            })
        };
        recv(&driving, "the other thread drives");
        let settled = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { rt.settle() })));
        driver_done_tx.send(()).unwrap();
        driver.join().unwrap();
        let message = settled
            .err()
            .map(|e| panic_message(&*e).unwrap_or_default().to_owned());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("cannot settle") && m.contains("block_on")),
            "settle inside block_on did not panic: {message:?}"
        );
    });
}

/// `on_worker_thread` inside a current-thread runtime's `block_on` future says `true`
/// whether this thread drives the runtime at the time or another one does (a synchronous API
/// over a runtime checks it before waiting, as genrt-crux does): it said `true` only while
/// this thread drove, so the same code panicked or went on depending on timing.
#[test]
fn on_worker_thread_in_block_on_does_not_depend_on_who_drives() {
    Watchdog::new("on_worker_thread in a current-thread block_on").run(|| {
        let rt = Arc::new(ct());
        assert!(rt.block_on(async { genrt::on_worker_thread() }), "driving");
        let (driver_done_tx, driver_done) = oneshot::channel::<()>();
        let (driving_tx, driving) = std_mpsc::channel();
        let driver = {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.block_on(async move {
                    driving_tx.send(()).unwrap();
                    let _ = driver_done.await;
                })
            })
        };
        recv(&driving, "the other thread drives");
        let while_another_drives = rt.block_on(async { genrt::on_worker_thread() });
        driver_done_tx.send(()).unwrap();
        driver.join().unwrap();
        assert!(while_another_drives, "while another thread drives");
        // A multi-thread runtime's block_on is no worker.
        let mt = support::runtime(1);
        assert!(!mt.block_on(async { genrt::on_worker_thread() }));
    });
}

/// Set in the child process of [`block_on_beside_a_lasting_drive_keeps_no_memory`].
const LEAK_CHILD: &str = "GENRT_CURRENT_THREAD_REVIEW_LEAK_CHILD";

/// 20,000 `Handle::block_on` calls whose futures complete while another thread drives (and
/// a few `try_settle`s) keep no memory: each left its waker among the threads waiting for
/// the worker until the drive ended (about 70 bytes a call), so memory grew without bound
/// beside a `block_on` that lasts (a program's main loop). Run in a child process, alone, so
/// that the live-byte count sees nothing else.
#[test]
fn block_on_beside_a_lasting_drive_keeps_no_memory() {
    const CALLS: usize = 20_000;
    if std::env::var_os(LEAK_CHILD).is_none() {
        let output = Watchdog::new("the child process")
            .limit(Duration::from_secs(120))
            .run(|| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "block_on_beside_a_lasting_drive_keeps_no_memory",
                        "--test-threads=1",
                    ])
                    .env(LEAK_CHILD, "1")
                    .output()
                    .unwrap()
            });
        assert!(
            output.status.success(),
            "the child failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    let rt = Arc::new(ct());
    let (driver_done_tx, driver_done) = oneshot::channel::<()>();
    let (driving_tx, driving) = std_mpsc::channel();
    let driver = {
        let rt = rt.clone();
        thread::spawn(move || {
            rt.block_on(async move {
                driving_tx.send(()).unwrap();
                let _ = driver_done.await;
            })
        })
    };
    recv(&driving, "the other thread drives");
    let handle = rt.handle().clone();
    // Warm-up: whatever the first calls allocate for good.
    for _ in 0..100 {
        assert_eq!(handle.block_on(async { 1 }), 1);
    }
    let before = support::counting::live_bytes();
    for _ in 0..CALLS {
        assert_eq!(handle.block_on(async { 1 }), 1);
    }
    for _ in 0..5 {
        let _ = rt.try_settle(Duration::from_millis(1));
    }
    let grown = support::counting::live_bytes() - before;
    driver_done_tx.send(()).unwrap();
    driver.join().unwrap();
    assert!(
        grown < (CALLS * 16) as isize,
        "{grown} bytes more after {CALLS} block_on calls beside a drive"
    );
}

// ----------------------------------------------------------------------------------------
// Checked, and found working
// ----------------------------------------------------------------------------------------

/// A `block_on` future (through a handle) that drops its own runtime: the drop returns
/// inside the poll with every task's future dropped, the task it awaits reports cancelled,
/// and `block_on` returns.
#[test]
fn a_block_on_future_drops_its_runtime() {
    Watchdog::new("a block_on future dropping its runtime").run(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let rt = ct();
        let handle = rt.handle().clone();
        let sleeper = DropCounter(drops.clone());
        rt.spawn(async move {
            let _sleeper = sleeper;
            genrt::time::sleep(Duration::from_secs(3600)).await;
        });
        let counted = drops.clone();
        let cancelled = handle.block_on(async move {
            let waiter = DropCounter(counted.clone());
            let task = genrt::spawn(async move {
                let _waiter = waiter;
                pending::<()>().await
            });
            genrt::yield_now().await;
            drop(rt);
            assert_eq!(
                counted.load(SeqCst),
                2,
                "a future outlived the runtime's drop"
            );
            task.await.unwrap_err().is_cancelled()
        });
        assert!(cancelled);
    });
}

/// A task of a current-thread runtime that calls `Handle::block_on` of another one panics
/// (Tokio's "Cannot start a runtime from within a runtime"), and both runtimes stay usable.
#[test]
fn a_task_calling_block_on_of_another_current_thread_runtime_panics() {
    let _quiet = quiet_panics();
    Watchdog::new("block_on of another runtime inside a task").run(|| {
        let a = ct();
        let b = ct();
        let b_handle = b.handle().clone();
        let joined =
            a.block_on(
                async move { genrt::spawn(async move { b_handle.block_on(async { 1 }) }).await },
            );
        assert!(joined.unwrap_err().is_panic());
        assert_eq!(
            a.block_on(async { genrt::spawn(async { 2 }).await.unwrap() }),
            2
        );
        assert_eq!(
            b.block_on(async { genrt::spawn(async { 3 }).await.unwrap() }),
            3
        );
    });
}

/// Park and unpark hooks that panic at every park of the driver: `block_on` still parks,
/// wakes on timers and returns, again and again.
#[test]
fn panicking_park_hooks_do_not_stop_the_driver() {
    let _quiet = quiet_panics();
    Watchdog::new("panicking park hooks").run(|| {
        let parks = Arc::new(AtomicUsize::new(0));
        let counted = parks.clone();
        let rt = genrt::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || {
                counted.fetch_add(1, SeqCst);
                panic!("{INTENTIONAL}: park hook")
            })
            .on_thread_unpark(|| panic!("{INTENTIONAL}: unpark hook"))
            .build()
            .unwrap();
        for _ in 0..3 {
            rt.block_on(async {
                genrt::spawn(async { genrt::time::sleep(Duration::from_millis(2)).await })
                    .await
                    .unwrap();
                genrt::time::sleep(Duration::from_millis(2)).await;
            });
        }
        assert!(parks.load(SeqCst) > 0);
    });
}

/// The runtime dropped from another thread while its driver (a `Handle::block_on`) is inside
/// its park hook, between two batches of polls: the drop returns with the task's future
/// dropped, and the driver goes on once the hook returns.
#[test]
fn dropped_while_the_driver_is_in_its_park_hook() {
    Watchdog::new("a drop during the park hook").run(|| {
        for _ in 0..20 {
            let in_hook = Arc::new(Barrier::new(2));
            let release = Arc::new(Mutex::new(()));
            let held = release.lock().unwrap();
            let armed = Arc::new(AtomicBool::new(false));
            let rt = {
                let (in_hook, release, armed) = (in_hook.clone(), release.clone(), armed.clone());
                genrt::Builder::new_current_thread()
                    .enable_all()
                    .on_thread_park(move || {
                        if armed.swap(false, SeqCst) {
                            in_hook.wait();
                            drop(release.lock());
                        }
                    })
                    .build()
                    .unwrap()
            };
            let drops = Arc::new(AtomicUsize::new(0));
            let counter = DropCounter(drops.clone());
            rt.spawn(async move {
                let _counter = counter;
                pending::<()>().await
            });
            let handle = rt.handle().clone();
            let driver = thread::spawn(move || {
                handle.block_on(async move {
                    genrt::yield_now().await;
                    armed.store(true, SeqCst);
                    let _ = genrt::time::timeout(Duration::from_millis(5), pending::<()>()).await;
                })
            });
            in_hook.wait();
            Watchdog::new("dropping the runtime").run(move || drop(rt));
            assert_eq!(
                drops.load(SeqCst),
                1,
                "the task outlived the runtime's drop"
            );
            drop(held);
            // Its timer was shut down with the runtime: the future may panic, as in Tokio.
            let _ = driver.join();
        }
    });
}

/// Tokio's `rt_common::runtime_in_thread_local` on the current-thread flavor: a runtime with
/// a suspended task and a sleeping one, kept in a thread-local that is destroyed after
/// genrt's own (the thread exits): every future is dropped.
#[test]
fn a_current_thread_runtime_dropped_by_a_thread_local_destructor() {
    use std::cell::RefCell;
    thread_local! {
        static KEPT: RefCell<Option<(Runtime, DropCounter)>> = const { RefCell::new(None) };
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let counted = drops.clone();
    Watchdog::new("a thread whose thread-local holds a current-thread runtime").run(move || {
        thread::spawn(move || {
            // Touched first: destroyed after genrt's thread-local, registered later.
            KEPT.with(|_| ());
            let rt = ct();
            let sleeper = DropCounter(counted.clone());
            rt.spawn(async move {
                let _sleeper = sleeper;
                genrt::time::sleep(Duration::from_secs(3600)).await;
            });
            let waiter = DropCounter(counted.clone());
            rt.block_on(async move {
                genrt::spawn(async move {
                    let _waiter = waiter;
                    pending::<()>().await
                });
                genrt::yield_now().await;
            });
            KEPT.with(|kept| *kept.borrow_mut() = Some((rt, DropCounter(counted.clone()))));
        })
        .join()
        .unwrap();
    });
    assert_eq!(drops.load(SeqCst), 3);
}

/// A `LocalSet` driven by `block_on` on a current-thread runtime: local tasks woken from
/// other threads await runtime tasks that sleep.
#[test]
fn a_local_set_inside_block_on() {
    Watchdog::new("a LocalSet inside block_on").run(|| {
        let rt = ct();
        let local = genrt::task::LocalSet::new();
        let sum = local.block_on(&rt, async {
            let total = std::rc::Rc::new(std::cell::Cell::new(0));
            let tasks: Vec<_> = (0..50)
                .map(|i| {
                    let total = total.clone();
                    genrt::task::spawn_local(async move {
                        let (tx, rx) = oneshot::channel();
                        thread::spawn(move || tx.send(i).unwrap());
                        let v = rx.await.unwrap();
                        let w = genrt::spawn(async move {
                            genrt::time::sleep(Duration::from_millis(1)).await;
                            v
                        })
                        .await
                        .unwrap();
                        total.set(total.get() + w);
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            total.get()
        });
        assert_eq!(sum, (0..50).sum::<i32>());
    });
}

/// Three threads in `block_on` on a paused clock, each future sleeping (hours) on its own
/// and none of them a task: the clock jumps for each while one drives and the others poll
/// only their own future.
#[test]
fn paused_clock_three_block_on_futures_sleeping() {
    Watchdog::new("three sleeping block_on futures, paused clock").run(|| {
        let rt = Arc::new(
            genrt::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap(),
        );
        for _ in 0..50 {
            let threads: Vec<_> = (0..3u64)
                .map(|k| {
                    let rt = rt.clone();
                    thread::spawn(move || {
                        rt.block_on(genrt::time::sleep(Duration::from_secs(3600 * (k + 1))))
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
    });
}

/// `block_on` futures that do not drive (another thread does, parked on a future of its
/// own) wait on timers, and on tasks that sleep: the parked driver fires them, with the
/// clock running and paused.
#[test]
fn timers_of_block_on_futures_that_do_not_drive_fire() {
    for paused in [false, true] {
        Watchdog::new("timers of block_on futures beside a parked driver").run(move || {
            let rt = Arc::new(
                genrt::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(paused)
                    .build()
                    .unwrap(),
            );
            let (driver_done_tx, driver_done) = oneshot::channel::<()>();
            let (driving_tx, driving) = std_mpsc::channel();
            let driver = {
                let rt = rt.clone();
                thread::spawn(move || {
                    rt.block_on(async move {
                        driving_tx.send(()).unwrap();
                        let _ = driver_done.await;
                    })
                })
            };
            recv(&driving, "the other thread drives");
            let sleepers: Vec<_> = (0..2u64)
                .map(|k| {
                    let rt = rt.clone();
                    thread::spawn(move || {
                        for i in 0..200u64 {
                            rt.block_on(async move {
                                let micros = 300 + 100 * ((i + k) % 5);
                                genrt::time::sleep(Duration::from_micros(micros)).await;
                                if i % 4 == 0 {
                                    genrt::spawn(async {
                                        genrt::time::sleep(Duration::from_micros(200)).await;
                                    })
                                    .await
                                    .unwrap();
                                }
                            });
                        }
                    })
                })
                .collect();
            for sleeper in sleepers {
                sleeper.join().unwrap();
            }
            driver_done_tx.send(()).unwrap();
            driver.join().unwrap();
        });
    }
}

/// `event_interval` and `global_queue_interval` at 1 and at `u32::MAX`, in every pairing:
/// foreign spawns, a timer and a foreign wake of the `block_on` future, beside a task that
/// yields a few thousand times; then `try_settle`.
#[test]
fn intervals_at_their_extremes() {
    for (event, global) in [(1, 1), (1, u32::MAX), (u32::MAX, 1), (u32::MAX, u32::MAX)] {
        Watchdog::new("extreme intervals").run(move || {
            let rt = genrt::Builder::new_current_thread()
                .enable_all()
                .event_interval(event)
                .global_queue_interval(global)
                .build()
                .unwrap();
            let yields = rt.spawn(async {
                for _ in 0..2000 {
                    genrt::yield_now().await;
                }
            });
            let handle = rt.handle().clone();
            let foreign = thread::spawn(move || {
                (0..100)
                    .map(|i| handle.spawn(async move { i }))
                    .collect::<Vec<_>>()
            });
            let total = rt.block_on(async move {
                let mut sum = 0;
                for task in foreign.join().unwrap() {
                    sum += task.await.unwrap();
                }
                genrt::time::sleep(Duration::from_millis(2)).await;
                let (tx, rx) = oneshot::channel();
                thread::spawn(move || tx.send(5).unwrap());
                sum + rx.await.unwrap()
            });
            assert_eq!(
                total, 4955,
                "event_interval {event}, global_queue_interval {global}"
            );
            rt.block_on(yields).unwrap();
            assert!(rt.try_settle(Duration::from_secs(10)));
        });
    }
}

/// Pends once, then completes; for the `block_on` futures of
/// [`block_on_handovers_race_settle_and_the_drop`].
struct OnceMore(bool);

impl Future for OnceMore {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Two threads handing the worker back and forth through short `block_on`s (each spawning a
/// task that sleeps or yields), a third in `try_settle`, and the runtime dropped at a varying
/// point meanwhile: nothing hangs, and every future is dropped exactly once (two per
/// `block_on` call, whether it ran, was refused after the drop, or unwound).
#[test]
fn block_on_handovers_race_settle_and_the_drop() {
    let _quiet = quiet_panics();
    Watchdog::new("block_on handovers racing settle and the drop")
        .limit(Duration::from_secs(120))
        .run(|| {
            for round in 0..100u64 {
                let drops = Arc::new(AtomicUsize::new(0));
                let calls = Arc::new(AtomicUsize::new(0));
                let rt = Arc::new(ct());
                let mut threads = Vec::new();
                for k in 0..2u64 {
                    let handle = rt.handle().clone();
                    let (drops, calls) = (drops.clone(), calls.clone());
                    threads.push(thread::spawn(move || {
                        for i in 0..20u64 {
                            let root = DropCounter(drops.clone());
                            let task = DropCounter(drops.clone());
                            calls.fetch_add(1, SeqCst);
                            let ran = catch_unwind(AssertUnwindSafe(|| {
                                handle.block_on(async move {
                                    let joined = genrt::spawn(async move {
                                        let _task = task;
                                        if (i + k) % 3 == 0 {
                                            genrt::time::sleep(Duration::from_micros(100)).await;
                                        }
                                        genrt::yield_now().await;
                                    });
                                    OnceMore(false).await;
                                    let _ = joined.await;
                                    drop(root);
                                })
                            }));
                            if ran.is_err() {
                                break; // the runtime is gone
                            }
                        }
                    }));
                }
                {
                    let rt = rt.clone();
                    threads.push(thread::spawn(move || {
                        for _ in 0..5 {
                            let _ = rt.try_settle(Duration::from_millis(2));
                        }
                    }));
                }
                thread::sleep(Duration::from_micros(200 * (round % 7)));
                // The last of the `Arc`s may be a thread's: the drop happens there, then.
                drop(rt);
                for t in threads {
                    t.join().unwrap();
                }
                assert_eq!(drops.load(SeqCst), 2 * calls.load(SeqCst), "round {round}");
            }
        });
}

//! The tests of genrt's peers in the comparison suite, smol's `async-executor` (its `tests/`
//! folder) and `futures-executor`'s `ThreadPool`, translated to genrt's API. Each test names
//! the test it ports; the ones marked "genrt's variant" push the same scenario further where
//! genrt promises more (every future dropped with the runtime, stale wakers as no-ops).
//!
//! Ported from `async-executor`, and what changed:
//! - `drop.rs`: `executor_cancels_everything` (on a current-thread and a 2-worker runtime; the
//!   task's handle reports cancelled instead of panicking when awaited, and the stored waker
//!   is woken after the drop: nothing happens), with a genrt variant in which a future's
//!   `Drop` wakes every other task and spawns a new one while the runtime drops (what
//!   `Executor::drop` does by waking every active task); `leaked_executor_leaks_everything`
//!   (`mem::forget` of the runtime); `await_task_after_dropping_executor` (the future owns
//!   its `String`: genrt's tasks are `'static`, `Executor<'a>`'s may borrow);
//!   `drop_executor_and_then_drop_finished_task`; `drop_finished_task_and_then_drop_executor`
//!   (`Runtime::settle` in place of `try_tick`); `iterator_panics_mid_run` (`JoinSet`'s
//!   `Extend` in place of `spawn_many`; the tasks spawned before the panic are joined).
//! - `local_queue.rs`: `local_two_queues` (two `run_until` futures of one `LocalSet`, the first
//!   dropped after one poll; then a task spawned into the set runs through the second).
//! - `different_executors.rs`: `shared_queue_slot` (two `LocalSet`s on one thread), with
//!   genrt variants on two current-thread runtimes on one thread and two multi-thread
//!   runtimes (a task spawned onto one runtime from inside the other never runs on the
//!   other).
//! - `larger_tasks.rs`: `smoke`, `yield_now`, `timer` and their `_local` forms, in the modes
//!   genrt has: the future under `block_on`, and under `block_on` while 16 other threads sit
//!   in `Handle::block_on` of the same runtime (`run` on many threads); on a current-thread
//!   and a 2-worker runtime. `async_io::Timer` becomes `genrt::time::sleep`. genrt's
//!   variant: large futures (64 KiB held across awaits) through every way in; and futures
//!   and closures of 256 KiB in a debug build, which overflowed a 2 MiB stack until genrt
//!   boxed large ones, as Tokio does.
//! - `spawn_many.rs`: `spawn_many` and `spawn_many_local` (50,000 ready futures spawned
//!   before anything drives them, awaited in order), with a genrt variant: 8 threads spawn at
//!   once, and every task spawns a child.
//!
//! Ported from `futures-executor` and `futures`, and what changed:
//! - `thread_pool.rs` (its tests module): `test_drop_after_start` (`on_thread_start` for
//!   `after_start`; genrt keeps the hook until the runtime is dropped, as Tokio does, since
//!   blocking threads started later run it too: the count is bounded by a wait, and the
//!   hook's sender is gone once the runtime is).
//! - `futures/tests/lock_mutex.rs`: `mutex_contested` (1,000 tasks spawned through genrt's
//!   `futures_task::Spawn` impl on `Handle`, onto 16 workers, as the source's pool; the
//!   source's `pending_once` is written out).
//!
//! Skipped, and why:
//! - `async-executor` `panic_prop.rs` (`test_panic_propagation`, `test_local_panic_propagation`):
//!   genrt reports a task's panic through its handle, tested in `tasks.rs` and `local_set.rs`.
//! - `local_queue.rs` `two_queues`: two runners of one executor, one dropped; for genrt two
//!   `block_on`s of one current-thread runtime, the second taking over when the first
//!   returns, is `rt_basic_ports.rs`'s `second_block_on_takes_over_when_the_first_returns`.
//! - `larger_tasks.rs`'s `tick` modes (tests 2 and 4): genrt has no `tick` (one poll of one
//!   task by the caller).
//! - `scope.rs` `test_basic_scope`: genrt has no scoped spawn (its tasks are `'static`).
//! - `futures-executor` `local_pool.rs` and `futures` tests without a `ThreadPool`: not about
//!   the thread pool (genrt's `LocalSet` is tested from Tokio's suite in `local_set.rs`).
//!
//! Every test runs under a watchdog or a bounded wait; none bounds a real-time duration from
//! above.

use std::cell::Cell;
use std::future::{pending, poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{BoxFuture, LocalBoxFuture};
use futures::{FutureExt, StreamExt};
use genrt::task::LocalSet;
use genrt::{Handle, JoinHandle, JoinSet, Runtime};
use support::{
    drop_runtime, has_waker, quiet_panics, recv, take_waker, wait_for, waker_slot, DropCounter,
    WakerSlot, Watchdog, DEADLINE, INTENTIONAL,
};

fn current_thread() -> Runtime {
    genrt::Builder::new_current_thread().build().unwrap()
}

fn multi_thread() -> Runtime {
    genrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// A runtime flavor: its name, and how to build one.
type Flavor = (&'static str, fn() -> Runtime);

/// The flavors every scenario here runs on, by name.
const FLAVORS: [Flavor; 2] = [
    ("current-thread runtime", current_thread),
    ("multi-thread runtime", multi_thread),
];

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

// ---- async-executor: tests/drop.rs ----

/// Spawns a task that holds a drop counter and stays pending, leaving its waker in `slot` at
/// every poll (counted in `polls`); returns once the task was polled, having driven `rt`
/// (through `block_on`) until then.
fn spawn_suspended(
    rt: &Runtime,
    drops: &Arc<AtomicUsize>,
    polls: &Arc<AtomicUsize>,
    slot: &WakerSlot,
) -> JoinHandle<()> {
    let (polled_tx, polled_rx) = oneshot::channel();
    let (counter, polls, slot) = (DropCounter(drops.clone()), polls.clone(), slot.clone());
    let task = rt.spawn(async move {
        let _counter = counter;
        let mut polled = Some(polled_tx);
        poll_fn(|cx| {
            polls.fetch_add(1, SeqCst);
            *slot.lock().unwrap() = Some(cx.waker().clone());
            if let Some(tx) = polled.take() {
                let _ = tx.send(());
            }
            Poll::<()>::Pending
        })
        .await;
    });
    rt.block_on(polled_rx).unwrap();
    task
}

/// async-executor: `drop.rs`, `executor_cancels_everything`. The waker the task left behind is
/// woken after the drop: it does nothing (no poll, no second drop).
#[test]
fn executor_cancels_everything() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let (drops, polls, slot) = (Arc::default(), Arc::default(), waker_slot());
            let rt = build();
            let task = spawn_suspended(&rt, &drops, &polls, &slot);
            assert!(has_waker(&slot));
            assert_eq!(drops.load(SeqCst), 0);

            drop_runtime(rt);
            assert_eq!(drops.load(SeqCst), 1, "{name}: the drop dropped the future");

            let err = wait_for("the cancelled task", task).unwrap_err();
            assert!(err.is_cancelled(), "{name}");
            assert_eq!(drops.load(SeqCst), 1);

            let polled = polls.load(SeqCst);
            let waker = take_waker(&slot);
            waker.wake_by_ref();
            let by_value = waker.clone();
            by_value.wake();
            drop(waker);
            assert_eq!(polls.load(SeqCst), polled, "{name}: a stale waker polled");
            assert_eq!(drops.load(SeqCst), 1);
        });
    }
}

/// Wakes every waker in `wakers` and spawns a task through `handle` from its `Drop`: a future
/// dropped while its runtime drops, acting as `Executor::drop` does (it wakes every task).
struct WakeAllOnDrop {
    wakers: Arc<Mutex<Vec<Waker>>>,
    handle: Handle,
    late: Arc<Mutex<Option<JoinHandle<()>>>>,
    late_drops: Arc<AtomicUsize>,
}

impl Drop for WakeAllOnDrop {
    fn drop(&mut self) {
        for waker in self.wakers.lock().unwrap().drain(..) {
            waker.wake();
        }
        let counter = DropCounter(self.late_drops.clone());
        let late = self.handle.spawn(async move {
            let _counter = counter;
            pending::<()>().await;
        });
        *self.late.lock().unwrap() = Some(late);
    }
}

/// genrt's variant of `executor_cancels_everything`: ten suspended tasks; while the runtime
/// drops them, one's `Drop` wakes all the others and spawns a new task. Every future is
/// dropped exactly once, the late task's too, and its handle reports cancelled.
#[test]
fn tasks_woken_and_spawned_while_the_runtime_drops_are_dropped_once() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let drops = Arc::new(AtomicUsize::new(0));
            let wakers = Arc::new(Mutex::new(Vec::new()));
            let late = Arc::new(Mutex::new(None));
            let late_drops = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for i in 0..10 {
                let (polled_tx, polled_rx) = oneshot::channel();
                let counter = DropCounter(drops.clone());
                let waker_list = wakers.clone();
                let trap = (i == 5).then(|| WakeAllOnDrop {
                    wakers: wakers.clone(),
                    handle: rt.handle().clone(),
                    late: late.clone(),
                    late_drops: late_drops.clone(),
                });
                let mut polled = Some(polled_tx);
                tasks.push(rt.spawn(async move {
                    let _counter = counter;
                    let _trap = trap;
                    poll_fn(|cx| {
                        waker_list.lock().unwrap().push(cx.waker().clone());
                        if let Some(tx) = polled.take() {
                            let _ = tx.send(());
                        }
                        Poll::<()>::Pending
                    })
                    .await;
                }));
                rt.block_on(polled_rx).unwrap();
            }
            drop_runtime(rt);
            assert_eq!(drops.load(SeqCst), 10, "{name}: every future dropped once");
            let late = late
                .lock()
                .unwrap()
                .take()
                .expect("the trap spawned its task");
            let err = wait_for("the task spawned during the drop", late).unwrap_err();
            assert!(err.is_cancelled(), "{name}");
            assert_eq!(
                late_drops.load(SeqCst),
                1,
                "{name}: the late future dropped once"
            );
            for task in tasks {
                assert!(wait_for("a cancelled task", task)
                    .unwrap_err()
                    .is_cancelled());
            }
            assert_eq!(drops.load(SeqCst), 10);
        });
    }
}

/// async-executor: `drop.rs`, `leaked_executor_leaks_everything` (`mem::forget` of the
/// runtime: nothing is dropped, the task stays pending; the leaked multi-thread runtime's
/// workers stay parked until the test process exits).
#[test]
fn leaked_executor_leaks_everything() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let (drops, polls, slot) = (Arc::default(), Arc::default(), waker_slot());
            let rt = build();
            let task = spawn_suspended(&rt, &drops, &polls, &slot);
            assert!(has_waker(&slot));
            assert_eq!(drops.load(SeqCst), 0);

            std::mem::forget(rt);
            assert_eq!(drops.load(SeqCst), 0, "{name}");
            assert!(
                task.now_or_never().is_none(),
                "{name}: the task is still pending"
            );
            assert_eq!(drops.load(SeqCst), 0, "{name}");
        });
    }
}

/// async-executor: `drop.rs`, `await_task_after_dropping_executor` (the future owns the
/// string).
#[test]
fn await_task_after_dropping_executor() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let s = String::from("hello");
            let rt = build();
            let task = rt.spawn(async move { s });
            rt.settle();
            assert!(task.is_finished(), "{name}");
            drop_runtime(rt);
            assert_eq!(wait_for("a finished task", task).unwrap(), "hello");
        });
    }
}

/// Spawns a task whose output is a drop counter, and runs it to completion.
fn finished_task_with_counted_output(
    rt: &Runtime,
    drops: &Arc<AtomicUsize>,
) -> JoinHandle<DropCounter> {
    let counter = DropCounter(drops.clone());
    let task = rt.spawn(async move { counter });
    rt.settle();
    assert!(task.is_finished());
    task
}

/// async-executor: `drop.rs`, `drop_executor_and_then_drop_finished_task`.
#[test]
fn drop_executor_and_then_drop_finished_task() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let drops = Arc::new(AtomicUsize::new(0));
            let rt = build();
            let task = finished_task_with_counted_output(&rt, &drops);
            assert_eq!(drops.load(SeqCst), 0);
            drop_runtime(rt);
            assert_eq!(drops.load(SeqCst), 0, "{name}: the output is the handle's");
            drop(task);
            assert_eq!(drops.load(SeqCst), 1, "{name}");
        });
    }
}

/// async-executor: `drop.rs`, `drop_finished_task_and_then_drop_executor`.
#[test]
fn drop_finished_task_and_then_drop_executor() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let drops = Arc::new(AtomicUsize::new(0));
            let rt = build();
            let task = finished_task_with_counted_output(&rt, &drops);
            assert_eq!(drops.load(SeqCst), 0);
            drop(task);
            assert_eq!(
                drops.load(SeqCst),
                1,
                "{name}: dropping the handle drops the output"
            );
            drop_runtime(rt);
            assert_eq!(drops.load(SeqCst), 1, "{name}");
        });
    }
}

/// async-executor: `drop.rs`, `iterator_panics_mid_run` (`JoinSet::extend` in place of
/// `spawn_many`): the panic comes out of the spawning call, and the tasks spawned before it
/// are in the set and finish.
#[test]
fn iterator_panics_mid_run() {
    let _quiet = quiet_panics();
    for (name, build) in FLAVORS {
        let values = Watchdog::new(name).run(move || {
            let rt = build();
            rt.block_on(async {
                let mut set = JoinSet::new();
                let spawned = catch_unwind(AssertUnwindSafe(|| {
                    set.extend((0..50).map(|i| {
                        if i == 25 {
                            panic!("{INTENTIONAL}: the iterator panics mid-run");
                        }
                        std::future::ready(i)
                    }))
                }));
                assert!(spawned.is_err());
                let mut values: Vec<i32> = set.join_all().await;
                values.sort_unstable();
                values
            })
        });
        assert_eq!(values, (0..25).collect::<Vec<_>>(), "{name}");
    }
}

// ---- async-executor: tests/local_queue.rs ----

/// async-executor: `local_queue.rs`, `local_two_queues`: two `run_until` futures of one set,
/// both polled, the first dropped; the second still drives the set (a task spawned into it
/// afterwards runs).
#[test]
fn local_two_queues() {
    Watchdog::new("local_two_queues").run(|| {
        let set = LocalSet::new();
        let mut run1 = Box::pin(set.run_until(pending::<()>()));
        let mut run2 = pin!(set.run_until(pending::<()>()));
        assert!(poll_once(run1.as_mut()).is_pending());
        assert!(poll_once(run2.as_mut()).is_pending());

        drop(run1);
        assert!(poll_once(run2.as_mut()).is_pending());

        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        let task = set.spawn_local(async move { flag.set(true) });
        assert!(poll_once(run2.as_mut()).is_pending());
        assert!(ran.get(), "the second runner ran the task");
        assert!(task.is_finished());
    });
}

// ---- async-executor: tests/different_executors.rs ----

/// async-executor: `different_executors.rs`, `shared_queue_slot`: two sets driven on one
/// thread; a task spawned into the first is not polled by the second.
#[test]
fn shared_queue_slot() {
    Watchdog::new("shared_queue_slot").run(|| {
        let was_polled = Rc::new(Cell::new(false));
        let flag = was_polled.clone();
        let future = async move {
            flag.set(true);
            pending::<()>().await;
        };

        let ex1 = LocalSet::new();
        let ex2 = LocalSet::new();
        let mut run1 = pin!(ex1.run_until(pending::<()>()));
        let mut run2 = pin!(ex2.run_until(pending::<()>()));
        assert!(poll_once(run1.as_mut()).is_pending());
        assert!(poll_once(run2.as_mut()).is_pending());

        // Spawn onto the first set, then drive the second.
        drop(ex1.spawn_local(future));
        assert!(poll_once(run2.as_mut()).is_pending());
        assert!(
            !was_polled.get(),
            "the second set polled the first one's task"
        );

        assert!(poll_once(run1.as_mut()).is_pending());
        assert!(was_polled.get());
    });
}

/// genrt's variant of `shared_queue_slot` on two current-thread runtimes driven by one thread:
/// a task spawned onto the first from inside the second's `block_on` waits for the first.
#[test]
fn shared_queue_slot_across_current_thread_runtimes() {
    Watchdog::new("shared_queue_slot_across_current_thread_runtimes").run(|| {
        let rt1 = current_thread();
        let rt2 = current_thread();
        let was_polled = Arc::new(AtomicBool::new(false));
        let flag = was_polled.clone();
        let handle1 = rt1.handle().clone();
        let mut spawned = None;
        rt2.block_on(async {
            spawned = Some(handle1.spawn(async move {
                flag.store(true, SeqCst);
            }));
            for _ in 0..10 {
                genrt::yield_now().await;
            }
        });
        let task = spawned.unwrap();
        rt2.settle();
        assert!(
            !was_polled.load(SeqCst),
            "the second runtime polled the first one's task"
        );
        assert!(!task.is_finished());
        rt1.block_on(task).unwrap();
        assert!(was_polled.load(SeqCst));
    });
}

/// genrt's variant of `shared_queue_slot` on two 1-worker runtimes: a task spawned onto one
/// from a task of the other runs on the first one's worker.
#[test]
fn shared_queue_slot_across_multi_thread_runtimes() {
    Watchdog::new("shared_queue_slot_across_multi_thread_runtimes").run(|| {
        let one_worker = || {
            genrt::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap()
        };
        let (rt1, rt2) = (one_worker(), one_worker());
        let worker1 =
            wait_for("rt1's worker", rt1.spawn(async { thread::current().id() })).unwrap();
        let handle1 = rt1.handle().clone();
        let cross = rt2.spawn(async move {
            let task = handle1.spawn(async { thread::current().id() });
            // Keeps rt2's worker busy for a while, then suspends on the task.
            for _ in 0..10 {
                genrt::yield_now().await;
            }
            task.await.unwrap()
        });
        let ran_on = wait_for("the cross-runtime task", cross).unwrap();
        assert_eq!(ran_on, worker1, "the task ran off its runtime");
        drop_runtime(rt1);
        drop_runtime(rt2);
    });
}

// ---- async-executor: tests/larger_tasks.rs ----

/// `larger_tasks.rs`'s `do_run`, in the modes genrt has, on both flavors: `f()` under
/// `block_on`; then under `block_on` while 16 threads sit in `Handle::block_on` of the same
/// runtime until the test lets them go.
fn do_run(f: fn() -> BoxFuture<'static, ()>) {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            // Test 1: the future under `block_on`.
            rt.block_on(f());

            // Test 3: with 16 other threads in `block_on` meanwhile.
            let (signal, shutdown) = oneshot::channel::<()>();
            let shutdown = shutdown.shared();
            thread::scope(|scope| {
                let waiters: Vec<_> = (0..16)
                    .map(|_| {
                        let (handle, shutdown) = (rt.handle().clone(), shutdown.clone());
                        scope.spawn(move || handle.block_on(shutdown))
                    })
                    .collect();
                rt.block_on(f());
                drop(signal);
                for waiter in waiters {
                    assert!(waiter.join().unwrap().is_err(), "the signal was dropped");
                }
            });
            drop_runtime(rt);
        });
    }
}

/// `larger_tasks.rs`'s `do_run_local` (its `run` mode): `f()` in a `LocalSet`, on both flavors.
fn do_run_local(f: fn() -> LocalBoxFuture<'static, ()>) {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            LocalSet::new().block_on(&rt, f());
            drop_runtime(rt);
        });
    }
}

/// async-executor: `larger_tasks.rs`, `smoke`.
#[test]
fn smoke() {
    do_run(|| async { genrt::spawn(async {}).await.unwrap() }.boxed());
}

/// async-executor: `larger_tasks.rs`, `yield_now`.
#[test]
fn yield_now() {
    do_run(|| async { genrt::spawn(genrt::yield_now()).await.unwrap() }.boxed());
}

/// async-executor: `larger_tasks.rs`, `timer`.
#[test]
fn timer() {
    do_run(|| {
        async {
            genrt::spawn(genrt::time::sleep(Duration::from_millis(5)))
                .await
                .unwrap()
        }
        .boxed()
    });
}

/// async-executor: `larger_tasks.rs`, `smoke_local`.
#[test]
fn smoke_local() {
    do_run_local(|| async { genrt::task::spawn_local(async {}).await.unwrap() }.boxed_local());
}

/// async-executor: `larger_tasks.rs`, `yield_now_local`.
#[test]
fn yield_now_local() {
    do_run_local(|| {
        async { genrt::task::spawn_local(genrt::yield_now()).await.unwrap() }.boxed_local()
    });
}

/// async-executor: `larger_tasks.rs`, `timer_local`.
#[test]
fn timer_local() {
    do_run_local(|| {
        async {
            genrt::task::spawn_local(genrt::time::sleep(Duration::from_millis(5)))
                .await
                .unwrap()
        }
        .boxed_local()
    });
}

/// A future of more than `N` bytes: it holds an `N`-byte buffer across a yield and a sleep,
/// then returns the sum of its bytes.
async fn large<const N: usize>() -> usize {
    let buffer = [3u8; N];
    genrt::yield_now().await;
    genrt::time::sleep(Duration::from_millis(1)).await;
    std::hint::black_box(&buffer)
        .iter()
        .map(|&b| usize::from(b))
        .sum()
}

/// Runs an `N`-byte future through every way into a runtime (`genrt::spawn`,
/// `Handle::spawn`, `JoinSet::spawn`, `spawn_local`, `LocalSet::spawn_local`, `block_on`), and
/// a `C`-byte closure through `spawn_blocking`, on both flavors, from a thread with the
/// standard 2 MiB stack. Each way is a function of its own: a debug build gives every
/// temporary of a function its own stack slot, so one function making them all would
/// overflow by itself.
fn run_large_futures<const N: usize, const C: usize>() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let want = 3 * N;
            assert_eq!(large_block_on::<N>(&rt), want, "block_on");
            assert_eq!(large_handle_spawn::<N>(&rt), want, "Handle::spawn");
            assert_eq!(large_genrt_spawn::<N>(&rt), want, "genrt::spawn");
            assert_eq!(large_join_set::<N>(&rt), want, "JoinSet::spawn");
            assert_eq!(large_blocking::<C>(&rt), 3 * C, "spawn_blocking");
            assert_eq!(large_local::<N>(&rt), 2 * want, "spawn_local");
            drop_runtime(rt);
        });
    }
}

#[inline(never)]
fn large_block_on<const N: usize>(rt: &genrt::Runtime) -> usize {
    rt.block_on(large::<N>())
}

#[inline(never)]
fn large_handle_spawn<const N: usize>(rt: &genrt::Runtime) -> usize {
    let task = rt.handle().spawn(large::<N>());
    rt.block_on(task).unwrap()
}

#[inline(never)]
fn large_genrt_spawn<const N: usize>(rt: &genrt::Runtime) -> usize {
    rt.block_on(async { genrt::spawn(large::<N>()).await.unwrap() })
}

#[inline(never)]
fn large_join_set<const N: usize>(rt: &genrt::Runtime) -> usize {
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(large::<N>());
        set.join_next().await.unwrap().unwrap()
    })
}

#[inline(never)]
fn large_blocking<const C: usize>(rt: &genrt::Runtime) -> usize {
    let buffer = [3u8; C];
    let closure = rt.spawn_blocking(move || buffer.iter().map(|&b| usize::from(b)).sum::<usize>());
    rt.block_on(closure).unwrap()
}

#[inline(never)]
fn large_local<const N: usize>(rt: &genrt::Runtime) -> usize {
    let local = LocalSet::new();
    let spawned = local.spawn_local(large::<N>());
    local.block_on(rt, async {
        genrt::task::spawn_local(large::<N>()).await.unwrap() + spawned.await.unwrap()
    })
}

/// genrt's variant of `larger_tasks.rs`: futures holding 64 KiB across awaits.
#[test]
fn large_futures_of_64_kib() {
    run_large_futures::<{ 64 << 10 }, { 64 << 10 }>();
}

/// Set in the child process of [`large_futures_of_256_kib`].
const CHILD: &str = "GENRT_PEER_PORTS_LARGE_FUTURE_CHILD";

/// genrt's variant of `larger_tasks.rs`: futures and a `spawn_blocking` closure of 256 KiB,
/// through each of these calls in a debug build, from a thread with a 2 MiB stack. Tokio
/// boxes futures and closures above its `BOX_FUTURE_THRESHOLD`, and so does genrt
/// (`cell::is_large` in the runtime crate); before it did, these overflowed the stack. Run in
/// a child process, because a stack overflow aborts the process.
#[test]
fn large_futures_of_256_kib() {
    if std::env::var_os(CHILD).is_some() {
        run_large_futures::<{ 256 << 10 }, { 256 << 10 }>();
        return;
    }
    let output = Watchdog::new("the child process").run(|| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "large_futures_of_256_kib", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap()
    });
    assert!(
        output.status.success(),
        "the child failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---- async-executor: tests/spawn_many.rs ----

const READY_COUNT: usize = 50_000;

/// async-executor: `spawn_many.rs`, `spawn_many`: 50,000 ready futures spawned from outside
/// before anything awaits them, then awaited in order under `block_on`.
#[test]
fn spawn_many() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let tasks: Vec<_> = (0..READY_COUNT)
                .map(|i| rt.spawn(std::future::ready(i)))
                .collect();
            rt.block_on(async move {
                for (i, task) in tasks.into_iter().enumerate() {
                    assert_eq!(task.await.unwrap(), i);
                }
            });
            drop_runtime(rt);
        });
    }
}

/// async-executor: `spawn_many.rs`, `spawn_many_local`.
#[test]
fn spawn_many_local() {
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let local = LocalSet::new();
            let tasks: Vec<_> = (0..READY_COUNT)
                .map(|i| local.spawn_local(std::future::ready(i)))
                .collect();
            local.block_on(&rt, async move {
                for (i, task) in tasks.into_iter().enumerate() {
                    assert_eq!(task.await.unwrap(), i);
                }
            });
            drop(local);
            drop_runtime(rt);
        });
    }
}

/// genrt's variant of `spawn_many`: 8 threads spawn 2,000 tasks each at once, and every task
/// spawns a child whose value it returns; all awaited in order.
#[test]
fn spawn_many_from_many_threads_with_children() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 2_000;
    for (name, build) in FLAVORS {
        Watchdog::new(name).run(move || {
            let rt = build();
            let per_thread: Vec<Vec<JoinHandle<usize>>> = thread::scope(|scope| {
                let spawners: Vec<_> = (0..THREADS)
                    .map(|t| {
                        let handle = rt.handle().clone();
                        scope.spawn(move || {
                            (0..PER_THREAD)
                                .map(|i| {
                                    let value = t * PER_THREAD + i;
                                    handle.spawn(async move {
                                        genrt::spawn(async move { value }).await.unwrap()
                                    })
                                })
                                .collect()
                        })
                    })
                    .collect();
                spawners.into_iter().map(|s| s.join().unwrap()).collect()
            });
            rt.block_on(async move {
                for (i, task) in per_thread.into_iter().flatten().enumerate() {
                    assert_eq!(task.await.unwrap(), i);
                }
            });
            drop_runtime(rt);
        });
    }
}

// ---- futures-executor: src/thread_pool.rs, tests module ----

/// futures-executor: `thread_pool.rs`, `test_drop_after_start`: the start hook runs once on
/// each of the 2 workers; the hook (and the sender it owns) is dropped with the runtime.
#[test]
fn test_drop_after_start() {
    let (tx, rx) = std_mpsc::sync_channel(2);
    let tx = Mutex::new(tx);
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(move || tx.lock().unwrap().send(1).unwrap())
        .build()
        .unwrap();
    assert_eq!(recv(&rx, "the first worker's start"), 1);
    assert_eq!(recv(&rx, "the second worker's start"), 1);
    drop_runtime(rt);
    match rx.recv_timeout(DEADLINE) {
        Err(std_mpsc::RecvTimeoutError::Disconnected) => {}
        other => panic!("the hook outlived its runtime, or ran again: {other:?}"),
    }
}

// ---- futures: tests/lock_mutex.rs ----

/// `futures`' `pending_once`: pending on the first poll (waking itself), ready on the second.
async fn pending_once() {
    let mut first = true;
    poll_fn(|cx| {
        if std::mem::take(&mut first) {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await
}

/// futures: `lock_mutex.rs`, `mutex_contested`, on genrt through `futures_task::Spawn`.
#[test]
fn mutex_contested() {
    use futures::task::SpawnExt;

    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(16)
        .build()
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded();
    let tx = Arc::new(tx);
    let mutex = Arc::new(futures::lock::Mutex::new(0));

    let num_tasks = 1000;
    for _ in 0..num_tasks {
        let (tx, mutex) = (tx.clone(), mutex.clone());
        SpawnExt::spawn(rt.handle(), async move {
            let mut lock = mutex.lock().await;
            pending_once().await;
            *lock += 1;
            tx.unbounded_send(()).unwrap();
            drop(lock);
        })
        .unwrap();
    }

    wait_for("the contested mutex", async {
        for _ in 0..num_tasks {
            rx.next().await.unwrap();
        }
        let lock = mutex.lock().await;
        assert_eq!(num_tasks, *lock);
    });
    drop_runtime(rt);
}

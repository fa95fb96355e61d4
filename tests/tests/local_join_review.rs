//! An adversarial review of `LocalSet`, `JoinSet` and task-locals: local tasks woken from
//! other threads while their set is idle, driven or dropped; futures dropped with their set on
//! its thread (also ones whose `Drop` spawns, or drops another set); sets nested, moved between
//! runtimes, driven from a blocking closure, beside tasks that yield for ever; join sets
//! racing aborts, dropped while members run on other workers, spanning two runtimes, 100,000
//! members (work counted, not timed), results in completion order, members whose `Drop`
//! blocks or whose output's `Drop` panics, `join_all` with a panic; task-local scopes nested,
//! dropped mid-poll, moved between workers, and their panics in Tokio's words.
//!
//! Every test runs under a `Watchdog`; none asserts a wall-clock bound.

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use futures::channel::oneshot;
use genrt::task::{self, LocalSet};
use genrt::JoinSet;
use support::{panic_message, quiet_panics, recv, wait_until, DropCounter, Watchdog};

fn current_thread() -> genrt::Runtime {
    genrt::Builder::new_current_thread().build().unwrap()
}

fn multi_thread(workers: usize) -> genrt::Runtime {
    genrt::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// Records the thread its value is dropped on.
struct DropsOn {
    thread: Arc<Mutex<Vec<ThreadId>>>,
    /// Not `Send`: only a local task can hold it.
    _local: Rc<()>,
}

impl DropsOn {
    fn new(thread: &Arc<Mutex<Vec<ThreadId>>>) -> DropsOn {
        DropsOn {
            thread: thread.clone(),
            _local: Rc::new(()),
        }
    }
}

impl Drop for DropsOn {
    fn drop(&mut self) {
        self.thread.lock().unwrap().push(thread::current().id());
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountWakes(AtomicUsize);

impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// LocalSet
// ---------------------------------------------------------------------------------------------

/// A local task woken from another thread while nobody drives its set runs at the next drive;
/// one woken while the set is driven (the driver parked) is not lost. Both flavors.
#[test]
fn foreign_wakes_while_the_set_is_idle_or_driven_are_not_lost() {
    for flavor in ["current-thread", "multi-thread"] {
        Watchdog::new(flavor).run(move || {
            let rt = if flavor == "current-thread" {
                current_thread()
            } else {
                multi_thread(2)
            };
            let local = LocalSet::new();
            let (tx1, rx1) = oneshot::channel::<u32>();
            let (tx2, rx2) = oneshot::channel::<u32>();
            let not_send = Rc::new(Cell::new(0));
            let first = local.spawn_local({
                let not_send = not_send.clone();
                async move {
                    let v = rx1.await.unwrap();
                    not_send.set(v);
                    v
                }
            });
            // Polled once: now waiting on `rx1`.
            local.block_on(&rt, task::yield_now());
            // Woken while nobody drives the set.
            thread::spawn(move || tx1.send(7).unwrap()).join().unwrap();
            assert_eq!(local.block_on(&rt, first).unwrap(), 7);
            assert_eq!(not_send.get(), 7);
            // Woken while the driver waits in `block_on` for the task.
            let second = local.spawn_local(async move { rx2.await.unwrap() + 1 });
            let sender = thread::spawn(move || {
                thread::sleep(Duration::from_millis(5));
                tx2.send(41).unwrap();
            });
            assert_eq!(local.block_on(&rt, second).unwrap(), 42);
            sender.join().unwrap();
        });
    }
}

/// Dropping a set drops every future left on the set's thread; a waker kept by another thread
/// and woken after the drop is a no-op (the future is not dropped twice, nothing runs).
#[test]
fn wakes_after_the_set_is_dropped_are_no_ops_and_futures_drop_on_its_thread() {
    Watchdog::new("wake after drop").run(|| {
        let rt = current_thread();
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let polls = Arc::new(AtomicUsize::new(0));
        let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
        let local = LocalSet::new();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let guard = DropsOn::new(&dropped_on);
                let (polls, waker_tx) = (polls.clone(), waker_tx.clone());
                local.spawn_local(poll_fn(move |cx| {
                    let _keep = &guard;
                    polls.fetch_add(1, Ordering::SeqCst);
                    let _ = waker_tx.send(cx.waker().clone());
                    Poll::<u32>::Pending
                }))
            })
            .collect();
        local.block_on(&rt, task::yield_now());
        let wakers: Vec<Waker> = waker_rx.try_iter().collect();
        assert_eq!(wakers.len(), 8);
        let set_thread = thread::current().id();
        // A thread waking the tasks over and over while the set is dropped, and after.
        let stop = Arc::new(AtomicBool::new(false));
        let waking = thread::spawn({
            let stop = stop.clone();
            move || {
                let mut rounds = 0u64;
                while !stop.load(Ordering::SeqCst) || rounds < 100 {
                    for waker in &wakers {
                        waker.wake_by_ref();
                    }
                    rounds += 1;
                }
                wakers
            }
        });
        drop(local);
        let polls_at_drop = polls.load(Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        let wakers = waking.join().unwrap();
        for waker in wakers {
            waker.wake();
        }
        assert_eq!(
            polls.load(Ordering::SeqCst),
            polls_at_drop,
            "no poll after the drop"
        );
        let dropped_on = dropped_on.lock().unwrap().clone();
        assert_eq!(dropped_on.len(), 8, "every future dropped once");
        assert!(
            dropped_on.iter().all(|&t| t == set_thread),
            "every future dropped on the set's thread"
        );
        for handle in handles {
            let err = rt.block_on(handle).unwrap_err();
            assert!(err.is_cancelled());
        }
    });
}

/// Futures dropped with their set may spawn local tasks from their `Drop`, whose futures may
/// spawn again from theirs: each such task is cancelled at once (its future dropped on the
/// set's thread, once), and nothing panics.
#[test]
fn futures_dropped_with_the_set_spawn_chains_of_local_tasks_from_drop() {
    struct SpawnsOnDrop {
        depth: usize,
        dropped: Rc<Cell<usize>>,
        handles: Rc<RefCell<Vec<genrt::JoinHandle<()>>>>,
    }
    impl Drop for SpawnsOnDrop {
        fn drop(&mut self) {
            self.dropped.set(self.dropped.get() + 1);
            if self.depth > 0 {
                let next = SpawnsOnDrop {
                    depth: self.depth - 1,
                    dropped: self.dropped.clone(),
                    handles: self.handles.clone(),
                };
                let handle = task::spawn_local(async move {
                    let _next = next;
                    pending::<()>().await;
                });
                self.handles.borrow_mut().push(handle);
            }
        }
    }
    Watchdog::new("spawn chains from drop").run(|| {
        let rt = current_thread();
        let dropped = Rc::new(Cell::new(0));
        let handles = Rc::new(RefCell::new(Vec::new()));
        let local = LocalSet::new();
        for _ in 0..4 {
            let guard = SpawnsOnDrop {
                depth: 5,
                dropped: dropped.clone(),
                handles: handles.clone(),
            };
            local.spawn_local(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        local.block_on(&rt, task::yield_now());
        drop(local);
        // Each of the 4 chains: the first future and 5 spawned from drops.
        assert_eq!(dropped.get(), 4 * 6);
        let handles = std::mem::take(&mut *handles.borrow_mut());
        assert_eq!(handles.len(), 4 * 5);
        for handle in handles {
            assert!(handle.is_finished());
            assert!(rt.block_on(handle).unwrap_err().is_cancelled());
        }
    });
}

/// A set whose task's future holds another set: dropping the outer set drops the inner one
/// from inside its close, and the inner set's futures (whose `Drop` spawns) find the inner set
/// as the current one, not the outer.
#[test]
fn a_set_dropped_from_the_destructor_of_another_sets_task() {
    Watchdog::new("set dropped in a drop").run(|| {
        let rt = current_thread();
        let outer = LocalSet::new();
        let inner = LocalSet::new();
        let inner_id = inner.id();
        let spawned_into: Rc<RefCell<Vec<bool>>> = Rc::default();
        struct Probe {
            inner_id: genrt::runtime::Id,
            spawned_into: Rc<RefCell<Vec<bool>>>,
        }
        impl Drop for Probe {
            fn drop(&mut self) {
                // The spawn lands in the closing set, which cancels it at once; whether that
                // set is the inner one shows in the handle: finished at once.
                let handle = task::spawn_local(async {});
                let _ = self.inner_id;
                self.spawned_into.borrow_mut().push(handle.is_finished());
            }
        }
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..3 {
            let probe = Probe {
                inner_id,
                spawned_into: spawned_into.clone(),
            };
            let guard = DropsOn::new(&dropped_on);
            inner.spawn_local(async move {
                let _probe = probe;
                let _guard = guard;
                pending::<()>().await;
            });
        }
        // Polled once, inside the outer set's task: the inner set is driven there.
        let inner = Rc::new(inner);
        outer.spawn_local({
            let inner = inner.clone();
            async move {
                inner.run_until(task::yield_now()).await;
                pending::<()>().await;
            }
        });
        drop(inner);
        outer.block_on(&rt, async {
            for _ in 0..4 {
                task::yield_now().await;
            }
        });
        assert!(dropped_on.lock().unwrap().is_empty());
        drop(outer);
        assert_eq!(dropped_on.lock().unwrap().len(), 3);
        assert!(dropped_on
            .lock()
            .unwrap()
            .iter()
            .all(|&t| t == thread::current().id()));
        assert_eq!(*spawned_into.borrow(), [true, true, true]);
    });
}

/// `run_until` of a set inside a task of another set: the inner set's tasks go to the inner
/// set, a spawn after the inner `run_until` returns goes to the outer set again, and the
/// inner tasks are woken from another thread through the outer task.
#[test]
fn run_until_nested_in_another_sets_task_keeps_the_current_set_straight() {
    Watchdog::new("nested run_until").run(|| {
        let rt = current_thread();
        let outer = LocalSet::new();
        let outer_thread = thread::current().id();
        let answer = outer.block_on(&rt, async move {
            task::spawn_local(async move {
                let inner = LocalSet::new();
                let (tx, rx) = oneshot::channel::<u32>();
                let woken_by_foreign = inner.spawn_local(async move { rx.await.unwrap() });
                let got = inner
                    .run_until(async move {
                        let sender = thread::spawn(move || tx.send(5).unwrap());
                        let got = task::spawn_local(async { 1 }).await.unwrap()
                            + woken_by_foreign.await.unwrap();
                        sender.join().unwrap();
                        got
                    })
                    .await;
                // Back in the outer set's task: a spawn goes to the outer set, which this
                // task's await lets run.
                let outer_task = task::spawn_local(async move { thread::current().id() });
                assert_eq!(outer_task.await.unwrap(), outer_thread);
                // The inner set, not driven any more, keeps a spawned task unrun.
                let left = inner.spawn_local(async { 99 });
                assert!(!left.is_finished());
                drop(inner);
                assert!(left.await.unwrap_err().is_cancelled());
                got
            })
            .await
            .unwrap()
        });
        assert_eq!(answer, 6);
    });
}

/// A set whose tasks wait across `block_on` calls of different runtimes (current-thread,
/// then multi-thread, then a new current-thread one): each drive finds them.
#[test]
fn a_set_moved_between_block_on_calls_of_different_runtimes() {
    Watchdog::new("set across runtimes").run(|| {
        let local = LocalSet::new();
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<u32>();
        let sum = Rc::new(Cell::new(0));
        let task = local.spawn_local({
            let sum = sum.clone();
            async move {
                use futures::StreamExt;
                while let Some(v) = rx.next().await {
                    sum.set(sum.get() + v);
                    task::yield_now().await;
                }
                sum.get()
            }
        });
        let a = current_thread();
        tx.unbounded_send(1).unwrap();
        local.block_on(&a, async {
            while sum.get() < 1 {
                task::yield_now().await;
            }
        });
        drop(a);
        let b = multi_thread(2);
        let tx2 = tx.clone();
        local.block_on(&b, async move {
            genrt::spawn(async move { tx2.unbounded_send(10).unwrap() })
                .await
                .unwrap();
            while sum.get() < 11 {
                task::yield_now().await;
            }
        });
        drop(b);
        let c = current_thread();
        let sender = thread::spawn(move || {
            tx.unbounded_send(100).unwrap();
        });
        sender.join().unwrap();
        assert_eq!(local.block_on(&c, task).unwrap(), 111);
    });
}

/// Local tasks that yield for ever neither starve the `run_until` future nor the runtime's
/// other tasks, on both flavors; the future's own yields come back within a turn of the set.
#[test]
fn local_tasks_yielding_for_ever_starve_neither_run_until_nor_the_runtime() {
    for flavor in ["current-thread", "multi-thread"] {
        Watchdog::new(flavor).run(move || {
            let rt = if flavor == "current-thread" {
                current_thread()
            } else {
                multi_thread(1)
            };
            let local = LocalSet::new();
            let spins = Rc::new(Cell::new(0u64));
            for _ in 0..100 {
                let spins = spins.clone();
                local.spawn_local(async move {
                    loop {
                        spins.set(spins.get() + 1);
                        task::yield_now().await;
                    }
                });
            }
            let done = local.block_on(&rt, async {
                // A runtime task that itself yields, awaited from the set's future.
                let rt_task = genrt::spawn(async {
                    for _ in 0..50 {
                        task::yield_now().await;
                    }
                    "runtime task"
                });
                let mut own = 0;
                for _ in 0..200 {
                    let before = spins.get();
                    task::yield_now().await;
                    // One turn of the set between two polls of the future: at most 61
                    // polls of the spinners (plus none, when the turn was the runtime's).
                    assert!(spins.get() - before <= 61, "{} polls", spins.get() - before);
                    own += 1;
                }
                (rt_task.await.unwrap(), own)
            });
            assert_eq!(done, ("runtime task", 200));
        });
    }
}

/// A set driven inside `spawn_blocking` through `Handle::block_on`, its tasks awaiting the
/// runtime's tasks, and a runtime task awaiting a local task's (`Send`) output.
#[test]
fn a_set_driven_in_a_blocking_closure_through_handle_block_on() {
    Watchdog::new("set in spawn_blocking").run(|| {
        let rt = multi_thread(2);
        let handle = rt.handle().clone();
        let out = rt.block_on(async move {
            genrt::task::spawn_blocking(move || {
                let local = LocalSet::new();
                let not_send = Rc::new(3u32);
                let local_task = local.spawn_local({
                    let not_send = not_send.clone();
                    async move {
                        let from_rt = genrt::spawn(async { 4u32 }).await.unwrap();
                        *not_send * from_rt
                    }
                });
                handle.block_on(local.run_until(async move {
                    // A runtime task joins the local task's output on a worker.
                    genrt::spawn(local_task).await.unwrap().unwrap() + *not_send
                }))
            })
            .await
            .unwrap()
        });
        assert_eq!(out, 15);
    });
}

genrt::task_local! {
    static LOCAL_KEY: u32;
}

/// Task-locals in local tasks: a scope inside a local task lasts across its yields and is
/// seen by no other local task; a local task spawned inside a scope does not inherit it.
#[test]
fn task_locals_inside_local_tasks_stay_with_their_task() {
    Watchdog::new("task-locals in local tasks").run(|| {
        let rt = current_thread();
        let local = LocalSet::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        local.block_on(&rt, async {
            let mut handles = Vec::new();
            for i in 0..4u32 {
                let seen = seen.clone();
                handles.push(task::spawn_local(LOCAL_KEY.scope(i, async move {
                    for _ in 0..3 {
                        task::yield_now().await;
                        seen.borrow_mut().push((i, LOCAL_KEY.get()));
                    }
                    // Spawned from inside the scope: the new task does not see it (its
                    // polls happen outside this task's poll).
                    let inner = task::spawn_local(async { LOCAL_KEY.try_get().ok() });
                    inner.await.unwrap()
                })));
            }
            for handle in handles {
                assert_eq!(handle.await.unwrap(), None);
            }
        });
        let seen = seen.borrow();
        assert_eq!(seen.len(), 12);
        assert!(seen.iter().all(|(i, v)| i == v), "{seen:?}");
    });
}

/// A local task's join handle (`Send` output) awaited by a task on a worker and aborted from
/// a third thread: the await reports cancelled, and the `!Send` future is dropped on the
/// set's thread.
#[test]
fn a_local_join_handle_awaited_on_a_worker_and_aborted_from_another_thread() {
    Watchdog::new("local handle across threads").run(|| {
        let rt = multi_thread(2);
        let local = LocalSet::new();
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let guard = DropsOn::new(&dropped_on);
        let handle = local.spawn_local(async move {
            let _guard = guard;
            pending::<u32>().await
        });
        let abort = handle.abort_handle();
        let id = handle.id();
        let waiter = rt.spawn(handle);
        local.block_on(&rt, async move {
            task::yield_now().await;
            thread::spawn(move || abort.abort()).join().unwrap();
            let err = waiter.await.unwrap().unwrap_err();
            assert!(err.is_cancelled());
            assert_eq!(err.id(), id);
        });
        assert_eq!(*dropped_on.lock().unwrap(), [thread::current().id()]);
    });
}

/// A `LocalEnterGuard` that outlives its set: `spawn_local` then finds a closed set and its
/// task is cancelled at once (no panic, the future dropped on this thread).
#[test]
fn spawn_local_under_an_enter_guard_that_outlived_its_set_is_cancelled() {
    Watchdog::new("guard outlives set").run(|| {
        let rt = current_thread();
        let local = LocalSet::new();
        let guard = local.enter();
        drop(local);
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let on_drop = DropsOn::new(&dropped_on);
        let handle = task::spawn_local(async move {
            let _on_drop = on_drop;
        });
        assert!(handle.is_finished());
        assert_eq!(*dropped_on.lock().unwrap(), [thread::current().id()]);
        drop(guard);
        assert!(rt.block_on(handle).unwrap_err().is_cancelled());
        let outside = std::panic::catch_unwind(|| {
            let _quiet = quiet_panics();
            task::spawn_local(async {})
        })
        .unwrap_err();
        assert!(panic_message(&*outside)
            .unwrap()
            .contains("outside of a `task::LocalSet`"));
    });
}

// ---------------------------------------------------------------------------------------------
// JoinSet
// ---------------------------------------------------------------------------------------------

/// `join_next` while another thread aborts the members: every member comes out exactly once,
/// completed or cancelled, and every future is dropped.
#[test]
fn join_next_racing_aborts_from_another_thread() {
    Watchdog::new("join_next vs aborts").run(|| {
        let rt = multi_thread(3);
        for round in 0..20 {
            let dropped = Arc::new(AtomicUsize::new(0));
            let (ok, cancelled) = rt.block_on({
                let dropped = dropped.clone();
                async move {
                    let mut set = JoinSet::new();
                    let mut aborts = Vec::new();
                    for i in 0..200usize {
                        let counter = DropCounter(dropped.clone());
                        aborts.push(set.spawn(async move {
                            let _counter = counter;
                            if i % 3 == 0 {
                                pending::<()>().await;
                            }
                            for _ in 0..(i % 5) {
                                task::yield_now().await;
                            }
                            i
                        }));
                    }
                    let aborter = thread::spawn(move || {
                        for abort in aborts.iter().rev() {
                            abort.abort();
                        }
                    });
                    let (mut ok, mut cancelled) = (0, 0);
                    while let Some(result) = set.join_next().await {
                        match result {
                            Ok(i) => {
                                assert_ne!(i % 3, 0, "a pending member completed");
                                ok += 1;
                            }
                            Err(e) => {
                                assert!(e.is_cancelled());
                                cancelled += 1;
                            }
                        }
                    }
                    aborter.join().unwrap();
                    (ok, cancelled)
                }
            });
            assert_eq!(ok + cancelled, 200, "round {round}");
            assert!(cancelled >= 67, "round {round}: {cancelled}");
            assert_eq!(dropped.load(Ordering::SeqCst), 200, "round {round}");
        }
    });
}

/// Dropping a set while its members run (and spin) on other workers aborts them all: every
/// future is dropped, none is left running.
#[test]
fn dropping_a_set_while_members_run_on_other_workers_drops_every_future() {
    Watchdog::new("drop set with running members").run(|| {
        let rt = multi_thread(4);
        let dropped = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..64 {
            let counter = DropCounter(dropped.clone());
            let started = started.clone();
            set.spawn_on(
                async move {
                    let _counter = counter;
                    started.fetch_add(1, Ordering::SeqCst);
                    loop {
                        task::yield_now().await;
                    }
                },
                rt.handle(),
            );
        }
        wait_until("every member started", || {
            started.load(Ordering::SeqCst) == 64
        });
        drop(set);
        wait_until("every member's future dropped", || {
            dropped.load(Ordering::SeqCst) == 64
        });
        rt.settle();
        assert_eq!(dropped.load(Ordering::SeqCst), 64);
    });
}

/// `detach_all` then dropping the runtime: the detached members keep running until the
/// runtime goes, which drops each future once.
#[test]
fn detach_all_then_runtime_drop_drops_every_future_once() {
    Watchdog::new("detach_all then drop").run(|| {
        let rt = multi_thread(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..50 {
            let counter = DropCounter(dropped.clone());
            let ran = ran.clone();
            set.spawn_on(
                async move {
                    let _counter = counter;
                    ran.fetch_add(1, Ordering::SeqCst);
                    pending::<()>().await;
                },
                rt.handle(),
            );
        }
        set.detach_all();
        assert!(set.is_empty());
        drop(set);
        wait_until("every detached member ran", || {
            ran.load(Ordering::SeqCst) == 50
        });
        assert_eq!(dropped.load(Ordering::SeqCst), 0, "detached, not aborted");
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 50);
    });
}

/// A set whose members live on two runtimes, one dropped while its members are pending: they
/// come out cancelled, the other runtime's complete.
#[test]
fn members_on_two_runtimes_one_dropped_mid_way() {
    Watchdog::new("two runtimes").run(|| {
        let a = multi_thread(1);
        let b = current_thread();
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        for i in 0..10u32 {
            set.spawn_on(async move { i }, a.handle());
        }
        for _ in 0..5 {
            set.spawn_on(pending::<u32>(), b.handle());
        }
        set.spawn_on(
            async move {
                rx.await.unwrap();
                100
            },
            a.handle(),
        );
        drop(b);
        let results = a.block_on(async move {
            let mut results = Vec::new();
            // Take the 15 that are done first; then release the last one.
            for _ in 0..15 {
                results.push(set.join_next().await.unwrap());
            }
            tx.send(()).unwrap();
            results.push(set.join_next().await.unwrap());
            assert!(set.join_next().await.is_none());
            results
        });
        let ok: Vec<u32> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .copied()
            .collect();
        let cancelled = results
            .iter()
            .filter(|r| r.as_ref().is_err_and(|e| e.is_cancelled()))
            .count();
        assert_eq!(cancelled, 5);
        assert_eq!(ok.len(), 11);
        assert_eq!(*ok.last().unwrap(), 100);
    });
}

/// 100,000 short members on a current-thread runtime: each member is polled once and each
/// `join_next` poll finds a result: no rescans, no spurious returns to the caller.
#[test]
fn a_hundred_thousand_members_take_linear_work() {
    const N: usize = 100_000;
    Watchdog::new("100,000 members").run(|| {
        let rt = current_thread();
        let task_polls = Arc::new(AtomicUsize::new(0));
        let (outer_polls, joined) = rt.block_on({
            let task_polls = task_polls.clone();
            async move {
                let mut set = JoinSet::new();
                for i in 0..N {
                    let task_polls = task_polls.clone();
                    set.spawn(poll_fn(move |_| {
                        task_polls.fetch_add(1, Ordering::Relaxed);
                        Poll::Ready(i)
                    }));
                }
                let mut outer_polls = 0usize;
                let mut joined = 0usize;
                let mut sum = 0usize;
                loop {
                    let next = poll_fn(|cx| {
                        outer_polls += 1;
                        set.poll_join_next(cx)
                    })
                    .await;
                    match next {
                        Some(result) => {
                            sum += result.unwrap();
                            joined += 1;
                        }
                        None => break,
                    }
                }
                assert_eq!(sum, N * (N - 1) / 2);
                (outer_polls, joined)
            }
        });
        assert_eq!(joined, N);
        assert_eq!(task_polls.load(Ordering::Relaxed), N);
        // Every result after the first few is found at its first poll; the pending polls are
        // at most one per member (waiting for it to run).
        assert!(outer_polls <= 2 * N + 1, "{outer_polls} polls of join_next");
    });
}

/// Results come out in the order the members complete, also when none was polled before they
/// did (Tokio's order: a member's completion queues it), with `join_next` and
/// `try_join_next`.
#[test]
fn results_come_out_in_completion_order() {
    Watchdog::new("completion order").run(|| {
        let rt = current_thread();
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        for i in 0..6u32 {
            let (tx, rx) = oneshot::channel::<()>();
            senders.push(tx);
            set.spawn_on(
                async move {
                    rx.await.unwrap();
                    i
                },
                rt.handle(),
            );
        }
        rt.settle();
        // Complete them in the order 5, 3, 1, 4, 2, 0, each run to completion in turn.
        for i in [5usize, 3, 1, 4, 2, 0] {
            let tx = std::mem::replace(&mut senders[i], oneshot::channel().0);
            tx.send(()).unwrap();
            rt.settle();
        }
        let mut order = Vec::new();
        for _ in 0..3 {
            order.push(set.try_join_next().expect("finished").unwrap());
        }
        while let Some(result) = rt.block_on(set.join_next()) {
            order.push(result.unwrap());
        }
        assert_eq!(order, [5, 3, 1, 4, 2, 0]);
    });
}

/// `join_next_with_id` (and the errors of cancelled and panicked members) name the ids their
/// `AbortHandle`s and `task::id` inside them give.
#[test]
fn join_next_with_id_matches_abort_handle_ids() {
    Watchdog::new("ids").run(|| {
        let _quiet = quiet_panics();
        let rt = multi_thread(2);
        rt.block_on(async {
            let mut set = JoinSet::new();
            let mut expected = std::collections::HashMap::new();
            for i in 0..30u32 {
                let abort = set.spawn(async move {
                    match i % 3 {
                        0 => (task::id(), i),
                        1 => pending().await,
                        _ => panic!("member {i}"),
                    }
                });
                if i % 3 == 1 {
                    abort.abort();
                }
                expected.insert(abort.id(), i);
            }
            while let Some(result) = set.join_next_with_id().await {
                match result {
                    Ok((id, (inside, i))) => {
                        assert_eq!(id, inside);
                        assert_eq!(expected.remove(&id), Some(i));
                    }
                    Err(e) => {
                        let i = expected.remove(&e.id()).expect("an id of the set");
                        assert_eq!(e.is_cancelled(), i % 3 == 1);
                        assert_eq!(e.is_panic(), i % 3 == 2);
                    }
                }
            }
            assert!(expected.is_empty());
        });
    });
}

/// `shutdown` with members whose futures' `Drop` blocks for a moment: it returns once every
/// member is gone, the set empty.
#[test]
fn shutdown_waits_for_members_whose_drop_blocks() {
    struct SlowDrop(Arc<AtomicUsize>);
    impl Drop for SlowDrop {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(2));
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    Watchdog::new("shutdown with slow drops").run(|| {
        let rt = multi_thread(3);
        let dropped = Arc::new(AtomicUsize::new(0));
        rt.block_on({
            let dropped = dropped.clone();
            async move {
                let mut set = JoinSet::new();
                for _ in 0..20 {
                    let slow = SlowDrop(dropped.clone());
                    set.spawn(async move {
                        let _slow = slow;
                        pending::<()>().await;
                    });
                }
                task::yield_now().await;
                set.shutdown().await;
                assert!(set.is_empty());
                assert_eq!(dropped.load(Ordering::SeqCst), 20);
            }
        });
    });
}

/// `poll_join_next` with a new waker each call: the latest is the one woken by a completion
/// on another thread.
#[test]
fn poll_join_next_wakes_the_latest_waker() {
    Watchdog::new("changing waker").run(|| {
        let rt = multi_thread(1);
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn_on(
            async move {
                rx.await.unwrap();
                9u8
            },
            rt.handle(),
        );
        let first = Arc::new(CountWakes::default());
        let second = Arc::new(CountWakes::default());
        for waker in [&first, &second] {
            let waker = Waker::from(waker.clone());
            assert!(set
                .poll_join_next(&mut Context::from_waker(&waker))
                .is_pending());
        }
        tx.send(()).unwrap();
        wait_until("the latest waker woken", || {
            second.0.load(Ordering::SeqCst) > 0
        });
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "the replaced waker");
        let waker = Waker::from(second.clone());
        match set.poll_join_next(&mut Context::from_waker(&waker)) {
            Poll::Ready(Some(Ok(9))) => {}
            other => panic!("{other:?}"),
        }
    });
}

/// A set held by a task that is aborted: its members are aborted and dropped with it.
#[test]
fn a_join_set_held_by_an_aborted_task_aborts_its_members() {
    Watchdog::new("set in an aborted task").run(|| {
        let rt = multi_thread(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (ready_tx, ready_rx) = mpsc::channel();
        let holder = rt.spawn({
            let dropped = dropped.clone();
            async move {
                let mut set = JoinSet::new();
                for _ in 0..10 {
                    let counter = DropCounter(dropped.clone());
                    set.spawn(async move {
                        let _counter = counter;
                        pending::<()>().await;
                    });
                }
                ready_tx.send(()).unwrap();
                set.join_next().await;
                unreachable!("no member completes");
            }
        });
        recv(&ready_rx, "the set filled");
        holder.abort();
        assert!(rt.block_on(holder).unwrap_err().is_cancelled());
        wait_until("every member dropped", || {
            dropped.load(Ordering::SeqCst) == 10
        });
    });
}

/// Outputs whose `Drop` panics, left unjoined in a set that is dropped or detached: no panic
/// reaches the code dropping the set, and each output is dropped once.
#[test]
fn outputs_whose_drop_panics_left_in_a_dropped_set() {
    struct PanicsOnDrop(Arc<AtomicUsize>);
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
            panic!("an output's drop panics");
        }
    }
    Watchdog::new("panicking outputs").run(|| {
        let _quiet = quiet_panics();
        let rt = current_thread();
        let dropped = Arc::new(AtomicUsize::new(0));
        for detach in [false, true] {
            let mut set = JoinSet::new();
            for _ in 0..5 {
                let dropped = dropped.clone();
                set.spawn_on(async move { PanicsOnDrop(dropped) }, rt.handle());
            }
            rt.settle();
            if detach {
                set.detach_all();
            }
            drop(set);
        }
        assert_eq!(dropped.load(Ordering::SeqCst), 10);
    });
}

/// `join_all` resumes a member's panic and aborts the members still running (their futures
/// dropped), as Tokio's.
#[test]
fn join_all_propagates_a_panic_and_aborts_the_rest() {
    Watchdog::new("join_all panic").run(|| {
        let _quiet = quiet_panics();
        let rt = multi_thread(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on({
                let dropped = dropped.clone();
                async move {
                    let mut set = JoinSet::new();
                    for _ in 0..8 {
                        let counter = DropCounter(dropped.clone());
                        set.spawn(async move {
                            let _counter = counter;
                            pending::<u32>().await
                        });
                    }
                    set.spawn(async {
                        task::yield_now().await;
                        panic!("the member's panic")
                    });
                    set.join_all().await
                }
            })
        }))
        .unwrap_err();
        assert_eq!(panic_message(&*panicked), Some("the member's panic"));
        wait_until("the other members dropped", || {
            dropped.load(Ordering::SeqCst) == 8
        });
    });
}

// ---------------------------------------------------------------------------------------------
// task_local!
// ---------------------------------------------------------------------------------------------

genrt::task_local! {
    static KEY: u32;
    static NAME: String;
}

/// Scopes of one key nested across yields, in tasks interleaved on the same workers, each
/// task seeing its own values in order.
#[test]
fn same_key_scopes_nest_across_yields_and_tasks() {
    Watchdog::new("nested scopes").run(|| {
        let rt = multi_thread(3);
        rt.block_on(async {
            let mut set = JoinSet::new();
            for t in 0..16u32 {
                set.spawn(KEY.scope(t, async move {
                    for round in 0..20u32 {
                        let inner = KEY
                            .scope(1000 + t, async move {
                                task::yield_now().await;
                                let v = KEY.get();
                                KEY.sync_scope(2000 + t, || assert_eq!(KEY.get(), 2000 + t));
                                task::yield_now().await;
                                v
                            })
                            .await;
                        assert_eq!(inner, 1000 + t, "round {round}");
                        assert_eq!(KEY.get(), t);
                        task::yield_now().await;
                    }
                }));
            }
            while let Some(result) = set.join_next().await {
                result.unwrap();
            }
        });
        assert!(KEY.try_get().is_err());
    });
}

/// A scope future dropped after a poll restores the value outside it; its future's `Drop`
/// sees its own value; its value's own `Drop` runs outside the scope (`try_with` sees the
/// outer value, or nothing, never a panic).
#[test]
fn a_scope_dropped_mid_way_restores_the_value_around_it() {
    struct ReadsOnDrop(Rc<RefCell<Vec<Option<u32>>>>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            self.0.borrow_mut().push(KEY.try_with(|v| *v).ok());
        }
    }
    genrt::task_local! {
        static HOLDS: ReadsOnDrop;
    }
    Watchdog::new("scope dropped mid-way").run(|| {
        let seen = Rc::new(RefCell::new(Vec::new()));
        KEY.sync_scope(1, || {
            let mut scoped = Box::pin(KEY.scope(2, {
                let guard = ReadsOnDrop(seen.clone());
                async move {
                    let _guard = guard;
                    pending::<()>().await;
                }
            }));
            let waker = futures::task::noop_waker();
            assert!(scoped
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            assert_eq!(KEY.get(), 1);
            drop(scoped);
            assert_eq!(KEY.get(), 1);
        });
        // A value whose `Drop` reads the key: dropped with its wrapper, outside the scope.
        let value_scope = HOLDS.scope(ReadsOnDrop(seen.clone()), async {});
        KEY.sync_scope(3, move || drop(value_scope));
        let value_scope = HOLDS.scope(ReadsOnDrop(seen.clone()), async {});
        drop(value_scope);
        // The sync scope's value is dropped after the scope too.
        HOLDS.sync_scope(ReadsOnDrop(seen.clone()), || {});
        assert_eq!(*seen.borrow(), [Some(2), Some(3), None, None]);
    });
}

/// Reading a key outside its scope, entering a scope inside `with` of the same key and
/// polling a finished scope future panic with Tokio's words (a test written for Tokio's
/// `should_panic(expected = ...)` passes).
#[test]
fn task_local_panics_use_tokios_words() {
    Watchdog::new("task-local panics").run(|| {
        let _quiet = quiet_panics();
        let message = |f: &mut dyn FnMut()| {
            let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
            panic_message(&*payload).unwrap().to_string()
        };
        let outside = message(&mut || {
            KEY.get();
        });
        assert!(
            outside.contains("cannot access a task-local storage value without setting it first"),
            "{outside}"
        );
        let outside = message(&mut || NAME.with(|_| ()));
        assert!(
            outside.contains("cannot access a task-local storage value without setting it first"),
            "{outside}"
        );
        let borrowed =
            message(&mut || KEY.sync_scope(1, || KEY.with(|_| KEY.sync_scope(2, || ()))));
        assert!(
            borrowed.contains(
                "cannot enter a task-local scope while the task-local storage is borrowed"
            ),
            "{borrowed}"
        );
        let rt = current_thread();
        let mut scoped = Box::pin(KEY.scope(1, async {}));
        rt.block_on(scoped.as_mut());
        let again = message(&mut || rt.block_on(scoped.as_mut()));
        assert!(
            again.contains("`TaskLocalFuture` polled after completion"),
            "{again}"
        );
    });
}

/// Completion order holds for local members too, and a member spawned onto a runtime that is
/// already gone (cancelled at once) comes out first, through `try_join_next` as well.
#[test]
fn local_members_and_members_of_a_gone_runtime_come_out_in_completion_order() {
    Watchdog::new("local completion order").run(|| {
        let rt = current_thread();
        let gone = current_thread();
        let gone_handle = gone.handle().clone();
        drop(gone);
        let local = LocalSet::new();
        let mut set = JoinSet::new();
        let mut senders = Vec::new();
        for i in 0..4u32 {
            let (tx, rx) = oneshot::channel::<()>();
            senders.push(Some(tx));
            let not_send = Rc::new(i);
            set.spawn_local_on(
                async move {
                    rx.await.unwrap();
                    *not_send
                },
                &local,
            );
        }
        local.block_on(&rt, task::yield_now());
        for i in [2usize, 0, 3, 1] {
            senders[i].take().unwrap().send(()).unwrap();
            local.block_on(&rt, async {
                for _ in 0..3 {
                    task::yield_now().await;
                }
            });
        }
        set.spawn_on(async { 100 }, &gone_handle);
        let mut order = Vec::new();
        let first = set.try_join_next().expect("all finished");
        order.push(first.map_err(|e| e.is_cancelled()));
        while let Some(result) = local.block_on(&rt, set.join_next()) {
            order.push(result.map_err(|e| e.is_cancelled()));
        }
        assert_eq!(order, [Ok(2), Ok(0), Ok(3), Ok(1), Err(true)]);
    });
}

/// A set awaited as a future completes once its last tasks, pending for ever, are aborted from
/// another thread while it waits.
#[test]
fn an_awaited_set_completes_when_its_last_tasks_are_aborted_from_another_thread() {
    for flavor in ["current-thread", "multi-thread"] {
        Watchdog::new(flavor).run(move || {
            let rt = if flavor == "current-thread" {
                current_thread()
            } else {
                multi_thread(2)
            };
            let mut local = LocalSet::new();
            let dropped_on = Arc::new(Mutex::new(Vec::new()));
            let aborts: Vec<_> = (0..5)
                .map(|_| {
                    let guard = DropsOn::new(&dropped_on);
                    local
                        .spawn_local(async move {
                            let _guard = guard;
                            pending::<()>().await;
                        })
                        .abort_handle()
                })
                .collect();
            let aborter = thread::spawn(move || {
                thread::sleep(Duration::from_millis(5));
                for abort in aborts {
                    abort.abort();
                }
            });
            rt.block_on(&mut local);
            aborter.join().unwrap();
            assert_eq!(dropped_on.lock().unwrap().len(), 5);
            assert!(dropped_on
                .lock()
                .unwrap()
                .iter()
                .all(|&t| t == thread::current().id()));
        });
    }
}

/// Futures whose `Drop` panics, dropped with their set: no panic escapes the set's drop, every
/// other future is still dropped, and the handles report the panics (as Tokio's cancelled
/// tasks whose drop panics).
#[test]
fn futures_whose_drop_panics_dropped_with_their_set() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("a local future's drop panics");
        }
    }
    Watchdog::new("panicking drops in a set").run(|| {
        let _quiet = quiet_panics();
        let rt = current_thread();
        let local = LocalSet::new();
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..6 {
            let counter = DropCounter(dropped.clone());
            let _not_send = Rc::new(());
            handles.push(local.spawn_local(async move {
                let _not_send = _not_send;
                let _counter = counter;
                let _panics = if i % 2 == 0 { Some(PanicsOnDrop) } else { None };
                pending::<()>().await;
            }));
        }
        local.block_on(&rt, task::yield_now());
        drop(local);
        assert_eq!(dropped.load(Ordering::SeqCst), 6);
        for (i, handle) in handles.into_iter().enumerate() {
            let err = rt.block_on(handle).unwrap_err();
            assert_eq!(err.is_panic(), i % 2 == 0, "task {i}");
        }
    });
}

/// A join set of local members with a `Send` output, moved to another thread and dropped
/// there: the members are aborted, and their `!Send` futures are dropped on the set's thread
/// at its next drive.
#[test]
fn a_join_set_of_local_members_dropped_on_another_thread() {
    Watchdog::new("local members, set dropped elsewhere").run(|| {
        let rt = current_thread();
        let local = LocalSet::new();
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let mut set = JoinSet::new();
        for _ in 0..4 {
            let guard = DropsOn::new(&dropped_on);
            set.spawn_local_on(
                async move {
                    let _guard = guard;
                    pending::<u32>().await
                },
                &local,
            );
        }
        local.block_on(&rt, task::yield_now());
        thread::spawn(move || drop(set)).join().unwrap();
        assert!(dropped_on.lock().unwrap().is_empty());
        local.block_on(&rt, task::yield_now());
        assert_eq!(
            *dropped_on.lock().unwrap(),
            [thread::current().id(); 4],
            "dropped on the set's thread at its next drive"
        );
    });
}

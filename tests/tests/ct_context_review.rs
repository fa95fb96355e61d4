//! A review of the current-thread driver's two chains of contexts (commit bc0aaff: the
//! `block_on` future, the "root", is polled in the caller's chain of contexts, swapped in
//! around each of its polls, and the runtime's tasks in the worker's context;
//! `genrt_waker::registry::SavedContexts`, `DriverContexts` in genrt-scheduler's `worker`
//! module). Everything the root's context decides is checked from the root and from tasks:
//! `Handle::current`, `on_worker_thread`, `task::id`, task-locals, `EnterGuard`s of this and
//! of other runtimes (held across awaits, nested, out of order, leaked), nested `block_on`,
//! `LocalSet`, `block_in_place`, `settle`, the shutdown-on-panic policy, drops of the runtime
//! from the root and from another thread, the paused clock, handovers between threads, wake
//! ping-pong between the root and a task, thread-local destructors, nested runtimes, and the
//! metrics. Tokio's current-thread runtime is the reference.
//!
//! Bugs found, each with its test here (now fixed):
//! - a task that leaked an `EnterGuard` (of its runtime or another) lost the driver's worker:
//!   the guard keeps the context it covers, the worker's, which held the worker's `Rc`, so
//!   the drive could not put the worker back and every later `block_on` panicked ("lost its
//!   scheduler"); the commit fixed this for the root only. Contexts now hold the worker
//!   weakly (genrt-scheduler's `context`);
//! - `block_in_place` ran `f` in place in a current-thread root or task (or a task run by a
//!   `settle`) inside an `enter` guard of a multi-thread runtime, where Tokio refuses it (its
//!   scheduler context stays the current-thread one): it looked only at the flavor of the
//!   runtime entered last (`genrt_scheduler::in_driven_runtime`);
//! - under `UnhandledPanic::ShutdownRuntime`, after a task the driver ran had panicked, the
//!   `block_on` future was polled once more in the shut-down runtime before the check (Tokio
//!   checks before it goes back to its future): a panic of its own there (its channel to the
//!   dead task closed) replaced the policy's.
//!
//! - (fixed after the review) the root's spawns and wakes went to the global queue
//!   (`global_queue_depth` counted them; Tokio's are local): the drive enters a root context
//!   over the caller's chain (`Entry::Root`, the worker held weakly, the depth of what it
//!   covers), through which they reach the driver's deque, in spawn order.
//!
//! A difference kept on purpose: a
//! task polled while the root holds another runtime's guard sees its own runtime (Tokio's
//! one stack of handles would show it the root's guard).
//!
//! Every test runs under a watchdog; none bounds a real-time duration from above.

use std::cell::Cell;
use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use genrt::{Handle, Runtime};
use support::{panic_message, quiet_panics, recv, wait_until, DropCounter, Watchdog, INTENTIONAL};

fn ct() -> Runtime {
    genrt::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ct_paused() -> Runtime {
    genrt::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

fn mt() -> Runtime {
    support::runtime(2)
}

/// The panic message of `f`, if it panicked.
fn panics_with<R>(f: impl FnOnce() -> R) -> Option<String> {
    catch_unwind(AssertUnwindSafe(f))
        .err()
        .map(|e| panic_message(&*e).unwrap_or("<no message>").to_owned())
}

/// What a piece of code sees of its context.
#[derive(Debug, PartialEq)]
struct Seen {
    runtime: Option<genrt::runtime::Id>,
    on_worker: bool,
    task: bool,
}

fn seen() -> Seen {
    Seen {
        runtime: Handle::try_current().ok().map(|h| h.id()),
        on_worker: genrt::on_worker_thread(),
        task: genrt::task::try_id().is_some(),
    }
}

// ----------------------------------------------------------------------------------------
// Handle::current, on_worker_thread, task::id, task-locals
// ----------------------------------------------------------------------------------------

/// The root sees its runtime, as no task and (as documented) on a worker thread, before and
/// after awaits on which tasks ran; its tasks see the runtime, as tasks.
#[test]
fn the_root_and_its_tasks_see_their_runtime() {
    Watchdog::new("contexts seen by the root and its tasks").run(|| {
        let rt = ct();
        let id = rt.handle().id();
        let (root, tasks) = rt.block_on(async {
            let mut root = vec![seen()];
            let mut tasks = Vec::new();
            for _ in 0..3 {
                tasks.push(genrt::spawn(async { seen() }).await.unwrap());
                genrt::yield_now().await;
                root.push(seen());
            }
            (root, tasks)
        });
        for s in root {
            assert_eq!(
                s,
                Seen {
                    runtime: Some(id),
                    on_worker: true,
                    task: false
                }
            );
        }
        for s in tasks {
            assert_eq!(
                s,
                Seen {
                    runtime: Some(id),
                    on_worker: true,
                    task: true
                }
            );
        }
        // Left on return.
        assert!(Handle::try_current().is_err());
        assert!(!genrt::on_worker_thread());
    });
}

genrt::task_local! {
    static VALUE: u32;
}

/// A task-local scope in the root holds across awaits on which tasks run (also tasks that
/// set the same key), and tasks spawned inside it do not see it, as in Tokio.
#[test]
fn a_task_local_scope_in_the_root_holds_across_awaits() {
    Watchdog::new("a task-local scope in the root").run(|| {
        let rt = ct();
        rt.block_on(VALUE.scope(7, async {
            for i in 0..5u32 {
                let outside = genrt::spawn(async { VALUE.try_with(|v| *v).is_err() });
                let inside = genrt::spawn(VALUE.scope(100 + i, async {
                    genrt::yield_now().await;
                    VALUE.get()
                }));
                genrt::yield_now().await;
                assert_eq!(VALUE.get(), 7);
                assert!(outside.await.unwrap(), "a task saw the root's task-local");
                assert_eq!(inside.await.unwrap(), 100 + i);
                assert_eq!(VALUE.get(), 7);
            }
        }));
    });
}

// ----------------------------------------------------------------------------------------
// EnterGuards in the root
// ----------------------------------------------------------------------------------------

/// Guards of another current-thread runtime, of a multi-thread one and of this one, nested
/// in the root and held across awaits on which tasks run: the root sees the innermost one,
/// spawns there, and is back in its runtime once they are dropped in order. The tasks of
/// this runtime see it meanwhile (Tokio's tasks would see the root's innermost guard: its
/// `Handle::current` is one stack per thread; genrt keeps the tasks in their worker's
/// context, which is what this commit chose).
#[test]
fn nested_guards_held_across_awaits_in_the_root() {
    Watchdog::new("nested guards across awaits in the root").run(|| {
        let rt = ct();
        let other = ct();
        let multi = mt();
        let (id, other_id, multi_id) = (rt.handle().id(), other.handle().id(), multi.handle().id());
        let (other_h, multi_h) = (other.handle().clone(), multi.handle().clone());
        let on_other = rt.block_on(async move {
            let this = Handle::current();
            let g1 = other_h.enter();
            genrt::yield_now().await;
            assert_eq!(Handle::current().id(), other_id);
            // Spawned onto the runtime entered: it runs when `other` is driven.
            let on_other = genrt::spawn(async { Handle::current().id() });
            let g2 = multi_h.enter();
            let seen_by_task = genrt::task::spawn_blocking(|| 0).await.unwrap();
            assert_eq!(seen_by_task, 0);
            let on_multi = genrt::spawn(async { Handle::current().id() })
                .await
                .unwrap();
            assert_eq!(on_multi, multi_id);
            let g3 = this.enter();
            let task_sees = this.spawn(async { seen() }).await.unwrap();
            assert_eq!(task_sees.runtime, Some(id));
            assert_eq!(Handle::current().id(), id);
            drop(g3);
            assert_eq!(Handle::current().id(), multi_id);
            let task_sees = this.spawn(async { Handle::current().id() }).await.unwrap();
            assert_eq!(task_sees, id, "a task saw the root's guard");
            drop(g2);
            genrt::yield_now().await;
            assert_eq!(Handle::current().id(), other_id);
            drop(g1);
            assert_eq!(Handle::current().id(), id);
            Some(on_other)
        });
        assert_eq!(other.block_on(on_other.unwrap()).unwrap(), other_id);
    });
}

/// Guards dropped out of order in the root: the drop of the outer one panics, right there,
/// as Tokio's does; the root can catch it and go on, and the runtime stays usable on this
/// thread and on another.
#[test]
fn an_out_of_order_drop_in_the_root_panics_at_that_drop() {
    let _quiet = quiet_panics();
    Watchdog::new("guards dropped out of order in the root").run(|| {
        let rt = Arc::new(ct());
        let other = ct();
        let multi = mt();
        let (other_h, multi_h) = (other.handle().clone(), multi.handle().clone());
        let (first, second) = rt.block_on(async move {
            let this = Handle::current();
            let g1 = other_h.enter();
            // Not `genrt::spawn`: that would go to `other`, which nothing drives.
            this.spawn(async {}).await.unwrap();
            let g2 = multi_h.enter();
            genrt::yield_now().await;
            let first = panics_with(move || drop(g1));
            genrt::yield_now().await;
            let second = panics_with(move || drop(g2));
            (first, second)
        });
        let first = first.expect("the outer guard's drop panics");
        assert!(first.contains("out of order"), "{first}");
        // As in Tokio, only the guard dropped too early panics: the second one is quiet
        // (genrt's first drop put the context back; Tokio's changed nothing).
        assert_eq!(second, None, "the second guard's drop is quiet");
        assert!(Handle::try_current().is_err());
        assert_eq!(
            rt.block_on(async { genrt::spawn(async { 3 }).await.unwrap() }),
            3
        );
        let rt2 = rt.clone();
        let elsewhere =
            thread::spawn(move || rt2.block_on(async { genrt::spawn(async { 4 }).await.unwrap() }));
        assert_eq!(elsewhere.join().unwrap(), 4);
    });
}

// ----------------------------------------------------------------------------------------
// EnterGuards in tasks
// ----------------------------------------------------------------------------------------

/// Guards made and dropped inside tasks (nested; of this runtime, of another current-thread
/// one, of a multi-thread one), while the root holds a guard of its own across the awaits:
/// each level sees the right runtime, and neither chain disturbs the other.
#[test]
fn guards_inside_tasks_beside_a_guard_held_by_the_root() {
    Watchdog::new("guards inside tasks").run(|| {
        let rt = ct();
        let other = ct();
        let multi = mt();
        let (id, other_id, multi_id) = (rt.handle().id(), other.handle().id(), multi.handle().id());
        let own = rt.handle().clone();
        let (other_h, multi_h) = (other.handle().clone(), multi.handle().clone());
        rt.block_on(async move {
            let _held = multi_h.enter();
            for _ in 0..10 {
                let (o, m, me) = (other_h.clone(), multi_h.clone(), own.clone());
                let ids = own
                    .spawn(async move {
                        let mut ids = vec![Handle::current().id()];
                        {
                            let _a = o.enter();
                            ids.push(Handle::current().id());
                            {
                                let _b = m.enter();
                                ids.push(Handle::current().id());
                                {
                                    let _c = me.enter();
                                    ids.push(Handle::current().id());
                                }
                                ids.push(Handle::current().id());
                            }
                            ids.push(Handle::current().id());
                        }
                        genrt::yield_now().await;
                        ids.push(Handle::current().id());
                        // Spawned where the task runs.
                        ids.push(
                            genrt::spawn(async { Handle::current().id() })
                                .await
                                .unwrap(),
                        );
                        ids
                    })
                    .await
                    .unwrap();
                assert_eq!(
                    ids,
                    vec![id, other_id, multi_id, id, multi_id, other_id, id, id]
                );
                assert_eq!(Handle::current().id(), multi_id);
                genrt::yield_now().await;
            }
        });
    });
}

/// Guards dropped out of order inside a task: the task panics at the outer guard's drop (its
/// `JoinHandle` reports the panic), and the tasks after it run in their worker's context,
/// neither in a context the panicking one left behind nor without the worker.
#[test]
fn an_out_of_order_drop_in_a_task_panics_the_task_only() {
    let _quiet = quiet_panics();
    Watchdog::new("guards dropped out of order in a task").run(|| {
        let rt = ct();
        let other = ct();
        let multi = mt();
        let id = rt.handle().id();
        let (other_h, multi_h) = (other.handle().clone(), multi.handle().clone());
        rt.block_on(async move {
            for _ in 0..3 {
                let (o, m) = (other_h.clone(), multi_h.clone());
                let joined = genrt::spawn(async move {
                    let g1 = o.enter();
                    let g2 = m.enter();
                    drop(g1);
                    drop(g2);
                })
                .await;
                let err = joined.expect_err("the out-of-order drop panics the task");
                assert!(err.is_panic());
                let message = panic_message(&*err.into_panic())
                    .unwrap_or_default()
                    .to_owned();
                assert!(message.contains("out of order"), "{message}");
                let after =
                    genrt::spawn(async { (seen(), genrt::spawn(async { seen() }).await.unwrap()) })
                        .await
                        .unwrap();
                let expected = Seen {
                    runtime: Some(id),
                    on_worker: true,
                    task: true,
                };
                assert_eq!(after.0, expected);
                assert_eq!(after.1, expected);
                assert_eq!(Handle::current().id(), id);
            }
        });
    });
}

/// A task that leaks an `EnterGuard` (of its own runtime, or of another one): the runtime
/// keeps its worker, so later `block_on` calls, on this thread and on another, still run
/// tasks. Tokio's runtime stays usable (its core is not referenced by the handle stack);
/// the commit fixed the same leak in the root, not in a task.
#[test]
fn a_task_leaking_an_enter_guard_does_not_lose_the_worker() {
    let _quiet = quiet_panics();
    for own in [true, false] {
        Watchdog::new("a leaked EnterGuard in a task").run(move || {
            let rt = Arc::new(ct());
            let other = ct();
            let other_h = other.handle().clone();
            let first = panics_with(|| {
                rt.block_on(async move {
                    genrt::spawn(async move {
                        if own {
                            std::mem::forget(Handle::current().enter());
                        } else {
                            std::mem::forget(other_h.enter());
                        }
                    })
                    .await
                    .unwrap();
                    genrt::spawn(async { 1 }).await.unwrap()
                })
            });
            // Whether that block_on panics (Tokio's does, at its own guard's drop) is not
            // the point; the next ones are.
            let _ = first;
            let rt2 = rt.clone();
            let elsewhere = thread::spawn(move || {
                panics_with(|| rt2.block_on(async { genrt::spawn(async { 2 }).await.unwrap() }))
            });
            assert_eq!(
                elsewhere.join().unwrap(),
                None,
                "block_on on another thread (own: {own})"
            );
        });
    }
}

// ----------------------------------------------------------------------------------------
// Nested block_on, spawn_blocking, LocalSet, block_in_place, settle
// ----------------------------------------------------------------------------------------

/// `block_on` of another runtime (current-thread or multi-thread) or of this one from inside
/// the root panics (Tokio's "Cannot start a runtime from within a runtime"), also inside a
/// guard of the other runtime; the root catches it and goes on, and every runtime stays
/// usable.
#[test]
fn block_on_inside_the_root_panics() {
    let _quiet = quiet_panics();
    Watchdog::new("block_on inside the root").run(|| {
        let rt = ct();
        let other = ct();
        let multi = mt();
        let handles = [
            rt.handle().clone(),
            other.handle().clone(),
            multi.handle().clone(),
        ];
        let messages = rt.block_on(async move {
            let mut messages = Vec::new();
            for h in &handles {
                messages.push(panics_with(|| h.block_on(async { 1 })));
                let guarded = {
                    let _g = h.enter();
                    panics_with(|| h.block_on(async { 1 }))
                };
                messages.push(guarded);
                messages.push(genrt::spawn(async { 2 }).await.ok().map(|v| v.to_string()));
            }
            messages
        });
        for (i, m) in messages.iter().enumerate() {
            let m = m.as_deref().unwrap_or("");
            if i % 3 == 2 {
                assert_eq!(m, "2");
            } else {
                assert!(m.contains("Cannot start a runtime"), "call {i}: {m:?}");
            }
        }
        for r in [&rt, &other, &multi] {
            assert_eq!(
                r.block_on(async { genrt::spawn(async { 5 }).await.unwrap() }),
                5
            );
        }
    });
}

/// A `spawn_blocking` closure started by the root calls `block_on` of another current-thread
/// runtime, of a multi-thread one and of this very runtime (which the root's thread drives
/// meanwhile: the closure's `block_on` polls its own future only, and its task runs on the
/// root's thread).
#[test]
fn block_on_from_a_blocking_closure_of_the_root() {
    Watchdog::new("block_on from a blocking closure of the root").run(|| {
        let rt = ct();
        let other = Arc::new(ct());
        let multi = Arc::new(mt());
        let this = rt.handle().clone();
        let total = rt.block_on(async move {
            let mut total = 0;
            for _ in 0..20 {
                let (other, multi, this) = (other.clone(), multi.clone(), this.clone());
                total += genrt::spawn_blocking(move || {
                    let a = other.block_on(async {
                        assert_eq!(genrt::Handle::current().id(), genrt::Handle::current().id());
                        genrt::spawn(async { 1 }).await.unwrap()
                    });
                    let b = multi.block_on(async { genrt::spawn(async { 10 }).await.unwrap() });
                    let c = this.block_on(async {
                        let seen = genrt::spawn(async { seen() }).await.unwrap();
                        assert!(seen.task && seen.on_worker);
                        genrt::spawn(async { 100 }).await.unwrap()
                    });
                    a + b + c
                })
                .await
                .unwrap();
            }
            total
        });
        assert_eq!(total, 20 * 111);
    });
}

/// A `LocalSet` run inside the root: its tasks (polled inside the root's poll, so in the
/// root's chain) see the runtime, as tasks, spawn onto it, and one of them holds an
/// `EnterGuard` of another runtime across awaits while the others and the runtime's tasks
/// run (the set's tasks share the thread's chain, as they share Tokio's handle stack).
#[test]
fn a_local_set_inside_the_root() {
    Watchdog::new("a LocalSet inside the root").run(|| {
        let rt = ct();
        let other = ct();
        let id = rt.handle().id();
        let other_id = other.handle().id();
        let other_h = other.handle().clone();
        let own = rt.handle().clone();
        let local = genrt::task::LocalSet::new();
        let result = local.block_on(&rt, async move {
            let counter = Rc::new(Cell::new(0));
            let (go_tx, go_rx) = oneshot::channel::<()>();
            let holder = {
                let own = own.clone();
                genrt::task::spawn_local(async move {
                    let s = seen();
                    let _g = other_h.enter();
                    let inside = Handle::current().id();
                    let _ = go_rx.await;
                    own.spawn(async {}).await.unwrap();
                    (s, inside, Handle::current().id())
                })
            };
            let others: Vec<_> = (0..10)
                .map(|i| {
                    let counter = counter.clone();
                    let own = own.clone();
                    genrt::task::spawn_local(async move {
                        let v = own.spawn(async move { i }).await.unwrap();
                        genrt::yield_now().await;
                        counter.set(counter.get() + v);
                    })
                })
                .collect();
            for t in others {
                t.await.unwrap();
            }
            go_tx.send(()).unwrap();
            let held = holder.await.unwrap();
            (held, counter.get(), seen())
        });
        let ((s, inside, after), sum, root) = result;
        assert_eq!(
            s,
            Seen {
                runtime: Some(id),
                on_worker: true,
                task: true
            }
        );
        assert_eq!(inside, other_id);
        assert_eq!(after, other_id);
        assert_eq!(sum, (0..10).sum::<i32>());
        assert_eq!(root.runtime, Some(id));
    });
}

/// `block_in_place` is refused in the root and in tasks of a current-thread runtime, as
/// Tokio refuses it (its scheduler context is the current-thread one), also where a guard
/// of a multi-thread runtime is entered around the call.
#[test]
fn block_in_place_is_refused_in_the_root_and_in_tasks() {
    let _quiet = quiet_panics();
    Watchdog::new("block_in_place in a current-thread runtime").run(|| {
        let rt = ct();
        let multi = mt();
        let multi_h = multi.handle().clone();
        let (root_plain, root_guarded, task_plain, task_guarded) = rt.block_on(async move {
            let root_plain = panics_with(|| genrt::task::block_in_place(|| 1));
            let root_guarded = {
                let _g = multi_h.enter();
                panics_with(|| genrt::task::block_in_place(|| 1))
            };
            let m = multi_h.clone();
            let (task_plain, task_guarded) = genrt::spawn(async move {
                let plain = panics_with(|| genrt::task::block_in_place(|| 1));
                let _g = m.enter();
                (plain, panics_with(|| genrt::task::block_in_place(|| 1)))
            })
            .await
            .unwrap();
            (root_plain, root_guarded, task_plain, task_guarded)
        });
        for (what, m) in [("root", root_plain), ("task", task_plain)] {
            let m = m.unwrap_or_else(|| panic!("block_in_place ran in the {what}"));
            assert!(m.contains("can call blocking only"), "{what}: {m}");
        }
        // A task run by a settle, inside a guard of the multi-thread runtime.
        let m = multi.handle().clone();
        let settled = rt.spawn(async move {
            let _g = m.enter();
            panics_with(|| genrt::task::block_in_place(|| 1))
        });
        rt.settle();
        let settle_guarded = rt.block_on(settled).unwrap();
        for (what, m) in [
            ("root, inside a multi-thread guard", root_guarded),
            ("task, inside a multi-thread guard", task_guarded),
            (
                "task run by settle, inside a multi-thread guard",
                settle_guarded,
            ),
        ] {
            assert!(
                m.is_some(),
                "block_in_place ran in the {what} (Tokio panics)"
            );
        }
        // Where no current-thread work runs, `f` runs: a blocking closure of the runtime,
        // and a plain thread inside its guard.
        let h = rt.handle().clone();
        let in_closure = rt.block_on(rt.spawn_blocking(|| genrt::task::block_in_place(|| 2)));
        assert_eq!(in_closure.unwrap(), 2);
        let plain = thread::spawn(move || {
            let _g = h.enter();
            genrt::task::block_in_place(|| 3)
        });
        assert_eq!(plain.join().unwrap(), 3);
    });
}

/// `settle` and `try_settle` in the root panic, as documented (whichever thread drives);
/// from another thread, while a root drives with nothing left to run, `settle` returns, and
/// `try_settle` gives up while the root keeps tasks busy.
#[test]
fn settle_from_the_root_and_beside_it() {
    let _quiet = quiet_panics();
    Watchdog::new("settle and the root").run(|| {
        let rt = Arc::new(ct());
        let r = rt.clone();
        let (a, b) = rt.block_on(async move {
            genrt::spawn(async {}).await.unwrap();
            (
                panics_with(|| r.settle()),
                panics_with(|| r.try_settle(Duration::from_millis(1))),
            )
        });
        for m in [a, b] {
            let m = m.expect("settle in the root panics");
            assert!(m.contains("cannot settle"), "{m}");
        }
        // Beside a root that waits, then one that keeps tasks busy.
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let (busy_tx, busy_rx) = oneshot::channel::<()>();
        let (started_tx, started) = std_mpsc::channel();
        let driver = {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.block_on(async move {
                    for i in 0..10 {
                        genrt::spawn(async move { i }).await.unwrap();
                    }
                    started_tx.send(()).unwrap();
                    let _ = done_rx.await;
                    let stop = Arc::new(AtomicBool::new(false));
                    let s = stop.clone();
                    let spinner = genrt::spawn(async move {
                        while !s.load(SeqCst) {
                            genrt::yield_now().await;
                        }
                    });
                    let _ = busy_rx.await;
                    stop.store(true, SeqCst);
                    spinner.await.unwrap();
                })
            })
        };
        recv(&started, "the root drives");
        rt.settle();
        done_tx.send(()).unwrap();
        // The spinner keeps the runtime busy until told: a short try_settle gives up.
        wait_until("a try_settle fails beside the spinner", || {
            !rt.try_settle(Duration::from_millis(5))
        });
        busy_tx.send(()).unwrap();
        driver.join().unwrap();
        rt.settle();
    });
}

// ----------------------------------------------------------------------------------------
// Panics and shutdown
// ----------------------------------------------------------------------------------------

/// Under `UnhandledPanic::ShutdownRuntime`, a task woken by the root (through the injector,
/// now that the root is no worker) panics: `block_on` panics with the policy's message, every
/// other task's future is dropped by then, and a later `block_on` panics too.
#[test]
fn shutdown_on_panic_in_a_task_woken_by_the_root() {
    let _quiet = quiet_panics();
    Watchdog::new("ShutdownRuntime, the panic in a task the root woke").run(|| {
        let rt = genrt::Builder::new_current_thread()
            .enable_all()
            .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
            .build()
            .unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let d = DropCounter(drops.clone());
            rt.spawn(async move {
                let _d = d;
                pending::<()>().await
            });
        }
        let (tx, mut rx) = mpsc::unbounded::<u32>();
        rt.spawn(async move {
            while let Some(n) = rx.next().await {
                if n == 3 {
                    panic!("{INTENTIONAL}: woken by the root");
                }
            }
        });
        let counted = drops.clone();
        let message = panics_with(|| {
            rt.block_on(async move {
                for n in 0..10 {
                    tx.unbounded_send(n).unwrap();
                    genrt::yield_now().await;
                }
                pending::<()>().await
            })
        })
        .expect("block_on panics");
        assert!(message.contains("ShutdownRuntime"), "{message}");
        assert_eq!(counted.load(SeqCst), 5, "tasks outlived the shutdown");
        let again = panics_with(|| rt.block_on(async { 1 })).expect("the next block_on panics");
        assert!(again.contains("ShutdownRuntime"), "{again}");
    });
}

/// The same with the root holding guards (of a multi-thread runtime and of its own) across
/// the await in which the task panics, and another thread polling its own root meanwhile:
/// both `block_on`s panic with the policy's message, the guards unwind in order (no "out of
/// order" panic in the unwinding), and both threads are left in no context.
#[test]
fn shutdown_on_panic_with_guards_held_by_roots() {
    let _quiet = quiet_panics();
    Watchdog::new("ShutdownRuntime beside held guards").run(|| {
        let rt = Arc::new(
            genrt::Builder::new_current_thread()
                .enable_all()
                .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
                .build()
                .unwrap(),
        );
        let multi = mt();
        let (trigger_tx, trigger) = oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = trigger.await;
            panic!("{INTENTIONAL}: a task under ShutdownRuntime");
        });
        let (in_tx, in_rx) = std_mpsc::channel();
        let second = {
            let (rt, m) = (rt.clone(), multi.handle().clone());
            thread::spawn(move || {
                let m = panics_with(|| {
                    rt.block_on(async move {
                        let _g = m.enter();
                        in_tx.send(()).unwrap();
                        pending::<()>().await
                    })
                });
                (m, Handle::try_current().is_err())
            })
        };
        let m = multi.handle().clone();
        let own = rt.handle().clone();
        let first = panics_with(|| {
            rt.block_on(async move {
                let _g1 = m.enter();
                let _g2 = own.enter();
                // The other thread's root is in (polled by whichever thread drives).
                while in_rx.try_recv().is_err() {
                    genrt::time::sleep(Duration::from_millis(1)).await;
                }
                trigger_tx.send(()).unwrap();
                pending::<()>().await
            })
        })
        .expect("block_on panics");
        assert!(first.contains("ShutdownRuntime"), "{first}");
        assert!(Handle::try_current().is_err());
        let (second, left) = second.join().unwrap();
        let second = second.expect("the other block_on panics");
        assert!(second.contains("ShutdownRuntime"), "{second}");
        assert!(left);
    });
}

/// A root that panics while tasks are queued and running: the panic reaches the caller, the
/// thread is left in no context, and the tasks go on in the next `block_on` (also on another
/// thread).
#[test]
fn a_root_panic_while_tasks_run() {
    let _quiet = quiet_panics();
    Watchdog::new("a root panicking beside tasks").run(|| {
        let rt = Arc::new(ct());
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let other = ct();
        let multi = mt();
        let (other_h, multi_h) = (other.handle().clone(), multi.handle().clone());
        let this = rt.handle().clone();
        let tasks = panics_with(|| {
            rt.block_on(async move {
                // Guards held across awaits when the root panics: unwound in order.
                let _g1 = other_h.enter();
                genrt::yield_now().await;
                let _g2 = multi_h.enter();
                for _ in 0..20 {
                    let r = r.clone();
                    this.spawn(async move {
                        genrt::yield_now().await;
                        r.fetch_add(1, SeqCst);
                    });
                }
                genrt::yield_now().await;
                panic!("{INTENTIONAL}: the root");
            })
        });
        assert!(tasks.is_some());
        assert!(Handle::try_current().is_err());
        assert!(!genrt::on_worker_thread());
        // Tasks left queued by a panicking root run later.
        let r = ran.clone();
        let ran_first = ran.load(SeqCst);
        assert!(ran_first <= 20);
        let handles = panics_with(|| {
            rt.block_on(async move {
                for _ in 0..20 {
                    let r = r.clone();
                    genrt::spawn(async move {
                        genrt::yield_now().await;
                        r.fetch_add(1, SeqCst);
                    });
                }
                genrt::yield_now().await;
                panic!("{INTENTIONAL}: the root, tasks queued");
            })
        });
        assert!(handles.is_some());
        let rt2 = rt.clone();
        thread::spawn(move || {
            rt2.block_on(async {
                wait_for_count(&ran, 40).await;
            })
        })
        .join()
        .unwrap();
    });

    async fn wait_for_count(count: &AtomicUsize, n: usize) {
        while count.load(SeqCst) < n {
            genrt::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// The runtime dropped from another thread while the root is inside a poll: the drop does
/// not wait for the root (it is no task), returns with every task's future dropped, and
/// the root then finds its spawns cancelled and returns.
#[test]
fn dropped_from_another_thread_while_the_root_polls() {
    Watchdog::new("a drop while the root polls").run(|| {
        for round in 0..20 {
            let rt = ct();
            let handle = rt.handle().clone();
            let drops = Arc::new(AtomicUsize::new(0));
            for _ in 0..3 {
                let d = DropCounter(drops.clone());
                rt.spawn(async move {
                    let _d = d;
                    genrt::time::sleep(Duration::from_secs(3600)).await;
                });
            }
            let (in_poll_tx, in_poll) = std_mpsc::channel();
            let (dropped_tx, dropped) = std_mpsc::channel::<()>();
            let counted = drops.clone();
            let root = thread::spawn(move || {
                handle.block_on(async move {
                    genrt::spawn(async {}).await.unwrap();
                    genrt::yield_now().await;
                    // Inside a poll until the runtime is gone.
                    in_poll_tx.send(()).unwrap();
                    dropped.recv().unwrap();
                    assert_eq!(counted.load(SeqCst), 3, "round {round}");
                    let late = genrt::spawn(async { 1 }).await;
                    late.unwrap_err().is_cancelled()
                })
            });
            recv(&in_poll, "the root is inside its poll");
            Watchdog::new("the drop").run(move || drop(rt));
            assert_eq!(drops.load(SeqCst), 3);
            dropped_tx.send(()).unwrap();
            assert!(root.join().unwrap(), "round {round}");
        }
    });
}

/// The root drops its runtime (through a handle's `block_on`) while holding guards of the
/// runtime and of another one across awaits, and while a task it woke waits in the queue;
/// then spawns (cancelled), drops its guards in order and returns.
#[test]
fn the_root_drops_its_runtime_inside_its_guards() {
    Watchdog::new("the root drops its runtime").run(|| {
        let rt = ct();
        let other = mt();
        let handle = rt.handle().clone();
        let other_h = other.handle().clone();
        let drops = Arc::new(AtomicUsize::new(0));
        let counted = drops.clone();
        let out = handle.clone().block_on(async move {
            let g1 = other_h.enter();
            let g2 = handle.enter();
            let d = DropCounter(counted.clone());
            let (tx, rx) = oneshot::channel::<()>();
            let task = genrt::spawn(async move {
                let _d = d;
                let _ = rx.await;
                pending::<()>().await
            });
            genrt::yield_now().await;
            tx.send(()).unwrap(); // queued, not run yet
            drop(rt);
            assert_eq!(counted.load(SeqCst), 1);
            let cancelled = genrt::spawn(async { 1 }).await.unwrap_err().is_cancelled();
            genrt::yield_now().await;
            drop(g2);
            drop(g1);
            (cancelled, task.await.unwrap_err().is_cancelled())
        });
        assert_eq!(out, (true, true));
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// The root spawns in a loop while another thread drops the runtime: every future is
/// dropped exactly once, each spawn either runs or reports cancelled, and nothing hangs.
#[test]
fn root_spawns_race_the_drop() {
    Watchdog::new("root spawns racing the drop")
        .limit(Duration::from_secs(120))
        .run(|| {
            for round in 0..50u64 {
                let rt = ct();
                let handle = rt.handle().clone();
                let drops = Arc::new(AtomicUsize::new(0));
                let spawned = Arc::new(AtomicUsize::new(0));
                let (d, s) = (drops.clone(), spawned.clone());
                let (started_tx, started) = std_mpsc::channel();
                let root = thread::spawn(move || {
                    handle.block_on(async move {
                        let mut joins = Vec::new();
                        for i in 0..400u64 {
                            let c = DropCounter(d.clone());
                            s.fetch_add(1, SeqCst);
                            joins.push(genrt::spawn(async move {
                                let _c = c;
                                if i % 3 == 0 {
                                    genrt::yield_now().await;
                                }
                            }));
                            if i == 10 {
                                started_tx.send(()).unwrap();
                            }
                            if i % 7 == 0 {
                                genrt::yield_now().await;
                            }
                        }
                        let mut cancelled = 0;
                        for j in joins {
                            if let Err(e) = j.await {
                                assert!(e.is_cancelled());
                                cancelled += 1;
                            }
                        }
                        cancelled
                    })
                });
                recv(&started, "the root spawns");
                thread::sleep(Duration::from_micros(50 * (round % 5)));
                drop(rt);
                let _cancelled = root.join().unwrap();
                assert_eq!(drops.load(SeqCst), spawned.load(SeqCst), "round {round}");
            }
        });
}

// ----------------------------------------------------------------------------------------
// The paused clock
// ----------------------------------------------------------------------------------------

/// `time::pause`, `advance` and auto-advance from the root, with sleeps in the root and in
/// tasks: timers fire in deadline order whoever waits on them, `advance` lets the tasks it
/// woke run before the root goes on, and the clock does not move while the root is inside a
/// poll (its hold), however long that poll takes in real time.
#[test]
fn the_paused_clock_with_sleeps_in_the_root_and_in_tasks() {
    use genrt::time::{advance, sleep, Instant};
    Watchdog::new("paused clock, root and tasks sleeping").run(|| {
        let rt = ct();
        rt.block_on(async {
            genrt::time::pause();
            let start = Instant::now();
            let order = Arc::new(Mutex::new(Vec::new()));
            let tasks: Vec<_> = [30u64, 10, 50]
                .into_iter()
                .map(|mins| {
                    let order = order.clone();
                    genrt::spawn(async move {
                        sleep(Duration::from_secs(60 * mins)).await;
                        order.lock().unwrap().push(mins);
                    })
                })
                .collect();
            genrt::yield_now().await;
            // The root's own sleep, between the tasks': auto-advance, in deadline order.
            sleep(Duration::from_secs(60 * 20)).await;
            order.lock().unwrap().push(20);
            assert!(start.elapsed() >= Duration::from_secs(60 * 20));
            // Inside a poll, the clock holds.
            let before = Instant::now();
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(Instant::now(), before);
            // advance: the 30-minute task wakes and runs before the root goes on.
            advance(Duration::from_secs(60 * 11)).await;
            assert_eq!(*order.lock().unwrap(), vec![10, 20, 30]);
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*order.lock().unwrap(), vec![10, 20, 30, 50]);
            genrt::time::resume();
        });
    });
}

/// A runtime started paused, a thread in `block_on` that does not drive (another does) and
/// polls a long synchronous step: its polling hold keeps the clock still, while the driver's
/// task sleeps an hour.
#[test]
fn a_root_that_does_not_drive_holds_the_paused_clock() {
    Watchdog::new("a non-driving root holds the clock").run(|| {
        let rt = Arc::new(ct_paused());
        let (driving_tx, driving) = std_mpsc::channel();
        let (stop_tx, stop) = oneshot::channel::<()>();
        let driver = {
            let rt = rt.clone();
            thread::spawn(move || {
                rt.block_on(async move {
                    driving_tx.send(()).unwrap();
                    let _ = stop.await;
                })
            })
        };
        recv(&driving, "the other thread drives");
        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        rt.block_on(async {
            // Spawned from inside the root, under its clock hold: spawned before `block_on`,
            // the sleeper could be polled and the idle driver advance the clock (rightly:
            // nothing held it) before this root started.
            genrt::spawn(async move {
                genrt::time::sleep(Duration::from_secs(3600)).await;
                f.store(true, SeqCst);
            });
            let before = genrt::time::Instant::now();
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(1));
                assert!(
                    !fired.load(SeqCst),
                    "the clock jumped while a root was polled"
                );
            }
            assert_eq!(genrt::time::Instant::now(), before);
            genrt::time::sleep(Duration::from_secs(7200)).await;
            assert!(fired.load(SeqCst));
        });
        stop_tx.send(()).unwrap();
        driver.join().unwrap();
    });
}

// ----------------------------------------------------------------------------------------
// Two threads, handovers, wake ping-pong
// ----------------------------------------------------------------------------------------

/// A root and a task waking each other 20,000 times (each wake of the task goes through the
/// injector now that the root is no worker): no wake is lost, also while another thread
/// drives and this root only polls its own future.
#[test]
fn root_and_task_ping_pong() {
    Watchdog::new("root and task ping-pong").run(|| {
        const ROUNDS: u32 = 20_000;
        let rt = Arc::new(ct());
        for driving_elsewhere in [false, true] {
            let mut stop = None;
            let mut driver = None;
            if driving_elsewhere {
                let (driving_tx, driving) = std_mpsc::channel();
                let (stop_tx, stop_rx) = oneshot::channel::<()>();
                let rt = rt.clone();
                driver = Some(thread::spawn(move || {
                    rt.block_on(async move {
                        driving_tx.send(()).unwrap();
                        let _ = stop_rx.await;
                    })
                }));
                recv(&driving, "the other thread drives");
                stop = Some(stop_tx);
            }
            let total = rt.block_on(async {
                let (to_task, mut task_rx) = mpsc::channel::<u32>(1);
                let (mut to_root, mut root_rx) = mpsc::channel::<u32>(1);
                let task = genrt::spawn(async move {
                    use futures::SinkExt;
                    while let Some(n) = task_rx.next().await {
                        if to_root.send(n + 1).await.is_err() {
                            break;
                        }
                    }
                });
                let mut to_task = to_task;
                let mut n = 0;
                for _ in 0..ROUNDS {
                    use futures::SinkExt;
                    to_task.send(n).await.unwrap();
                    n = root_rx.next().await.unwrap();
                }
                drop(to_task);
                task.await.unwrap();
                n
            });
            assert_eq!(total, ROUNDS);
            if let Some(stop) = stop {
                stop.send(()).unwrap();
                driver.unwrap().join().unwrap();
            }
        }
    });
}

/// Two threads `block_on` the same runtime over and over, handing the worker to each other;
/// each root spawns tasks, and wakes the tasks the other root spawned (and is woken by
/// them): every task runs, every root returns, every future is dropped once.
#[test]
fn two_roots_wake_each_others_tasks_across_handovers() {
    Watchdog::new("two roots waking each other's tasks")
        .limit(Duration::from_secs(120))
        .run(|| {
            let rt = Arc::new(ct());
            let drops = Arc::new(AtomicUsize::new(0));
            let made = Arc::new(AtomicUsize::new(0));
            // Each thread's tasks wait on a channel the other thread's roots feed.
            let (a_tx, a_rx) = std_mpsc::channel::<oneshot::Sender<u64>>();
            let (b_tx, b_rx) = std_mpsc::channel::<oneshot::Sender<u64>>();
            let mut threads = Vec::new();
            for (k, (mine, theirs)) in [(a_tx, b_rx), (b_tx, a_rx)].into_iter().enumerate() {
                let rt = rt.clone();
                let (drops, made) = (drops.clone(), made.clone());
                threads.push(thread::spawn(move || {
                    let mut sum = 0u64;
                    for i in 0..300u64 {
                        let (tx, rx) = oneshot::channel::<u64>();
                        let d = DropCounter(drops.clone());
                        made.fetch_add(1, SeqCst);
                        let theirs = &theirs;
                        let mine = &mine;
                        sum += rt.block_on(async move {
                            // A task of ours, woken by the other thread's root.
                            let task = genrt::spawn(async move {
                                let _d = d;
                                rx.await.unwrap_or(0)
                            });
                            let _ = mine.send(tx);
                            if i % 5 == 0 {
                                genrt::yield_now().await;
                            }
                            // Wake one of theirs, if one is waiting.
                            if let Ok(sender) = theirs.try_recv() {
                                let _ = sender.send(i);
                            }
                            let v = genrt::time::timeout(Duration::from_millis(1), task).await;
                            match v {
                                Ok(v) => v.unwrap(),
                                Err(_) => 0,
                            }
                        });
                        let _ = k;
                    }
                    // Release whatever of ours is still waiting.
                    drop(mine);
                    while let Ok(sender) = theirs.try_recv() {
                        let _ = sender.send(0);
                    }
                    sum
                }));
            }
            for t in threads {
                t.join().unwrap();
            }
            // Tasks whose timeout ended detached finish once their sender is dropped.
            rt.block_on(async {
                while drops.load(SeqCst) < made.load(SeqCst) {
                    genrt::time::sleep(Duration::from_millis(1)).await;
                }
            });
            assert_eq!(drops.load(SeqCst), made.load(SeqCst));
        });
}

// ----------------------------------------------------------------------------------------
// Thread-local destructors, nested runtimes, metrics
// ----------------------------------------------------------------------------------------

/// What [`thread_local_destructors_call_block_on_and_enter`]'s destructors saw: the result
/// of a `block_on` (spawning and awaiting a task) and of an `enter` in a destructor, and of
/// a `block_on` on another thread after a `settle` in the destructor (the worker is there).
type Outcome = (
    Result<u32, String>,
    Result<bool, String>,
    Result<u32, String>,
);

/// A thread-local whose destructor uses a current-thread runtime.
struct UsesRuntime {
    rt: Option<Runtime>,
    report: Option<std_mpsc::Sender<Outcome>>,
}

impl Drop for UsesRuntime {
    fn drop(&mut self) {
        let (Some(rt), Some(report)) = (self.rt.take(), self.report.take()) else {
            return;
        };
        let ran = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                let inner = genrt::spawn(async { 6 }).await.unwrap();
                inner + genrt::spawn(async { 1 }).await.unwrap()
            })
        }))
        .map_err(|e| panic_message(&*e).unwrap_or_default().to_owned());
        let entered = catch_unwind(AssertUnwindSafe(|| {
            let _g = rt.enter();
            Handle::try_current().is_ok()
        }))
        .map_err(|e| panic_message(&*e).unwrap_or_default().to_owned());
        // A settle drives here (takes the worker, saves the chains), or fails before it
        // could lose the worker.
        rt.spawn(async {});
        let _ = catch_unwind(AssertUnwindSafe(|| rt.settle()));
        let h = rt.handle().clone();
        let after =
            thread::spawn(move || h.block_on(async { genrt::spawn(async { 9 }).await.unwrap() }))
                .join()
                .map_err(|e| panic_message(&*e).unwrap_or_default().to_owned());
        let _ = report.send((ran, entered, after));
        // The runtime's own drop, in the destructor.
        drop(rt);
    }
}

/// Thread-local destructors that call `block_on` (which drives: the chains are saved and
/// swapped there) and `enter`: destroyed before genrt's own thread-local, they work; after
/// it, they fail cleanly or work, and the process neither aborts nor hangs.
#[test]
fn thread_local_destructors_call_block_on_and_enter() {
    thread_local! {
        static USES: std::cell::RefCell<Option<UsesRuntime>> = const { std::cell::RefCell::new(None) };
    }
    for genrt_first in [true, false] {
        let (tx, rx) = std_mpsc::channel();
        Watchdog::new("thread-local destructors using a runtime").run(move || {
            thread::spawn(move || {
                if genrt_first {
                    // genrt's thread-local registered first: destroyed after ours.
                    let warm = ct();
                    warm.block_on(async {});
                    USES.with(|_| ());
                } else {
                    // Ours registered first: destroyed after genrt's.
                    USES.with(|_| ());
                    let warm = ct();
                    warm.block_on(async {});
                }
                USES.with(|u| {
                    *u.borrow_mut() = Some(UsesRuntime {
                        rt: Some(ct()),
                        report: Some(tx),
                    })
                });
            })
            .join()
            .expect("the thread exits without a panic");
        });
        let (ran, entered, after) = recv(&rx, "the destructor's report");
        assert_eq!(after, Ok(9), "genrt first: {genrt_first}");
        if genrt_first {
            assert_eq!(ran, Ok(7));
            assert_eq!(entered, Ok(true));
        } else {
            // After genrt's thread-local: each panics (std's "cannot access a Thread Local
            // Storage value during or after destruction", as Tokio's would), before the
            // drive takes the worker: the destructor's own drop of the runtime then works.
            for (what, r) in [
                ("block_on", ran.map(|_| ())),
                ("enter", entered.map(|_| ())),
            ] {
                if let Err(m) = r {
                    assert!(m.contains("destruction"), "{what}: {m}");
                }
            }
        }
    }
}

/// Nested current-thread runtimes: a task of runtime A starts a blocking closure that calls
/// `block_on` of runtime B, whose root and tasks see B, await a task of A, and spawn onto A
/// through a guard; A's root meanwhile keeps a guard of B across its await.
#[test]
fn nested_current_thread_runtimes_through_a_blocking_closure() {
    Watchdog::new("nested current-thread runtimes").run(|| {
        let a = ct();
        let b = Arc::new(ct());
        let (a_id, b_id) = (a.handle().id(), b.handle().id());
        let a_handle = a.handle().clone();
        let b_for_root = b.clone();
        let out = a.block_on(async move {
            let _in_b = b_for_root.handle().enter();
            let b = b_for_root.clone();
            let a_handle2 = a_handle.clone();
            let task = a_handle.spawn(async move {
                assert_eq!(Handle::current().id(), a_id);
                let outer = genrt::spawn_blocking(move || {
                    b.block_on(async move {
                        let root = seen();
                        let task = genrt::spawn(async { seen() }).await.unwrap();
                        // A task of A, awaited from B's root.
                        let from_a = a_handle2
                            .spawn(async { Handle::current().id() })
                            .await
                            .unwrap();
                        let via_guard = {
                            let _g = a_handle2.enter();
                            genrt::spawn(async { Handle::current().id() })
                        }
                        .await
                        .unwrap();
                        (root, task, from_a, via_guard)
                    })
                })
                .await
                .unwrap();
                (outer, seen())
            });
            // The root's own guard of B: spawns from the root go to B, which nothing drives
            // now; check that only the id is B's.
            assert_eq!(Handle::current().id(), b_id);
            task.await.unwrap()
        });
        let ((root, task, from_a, via_guard), a_task) = out;
        // `task::try_id` in that root is the blocking closure's id, as in Tokio (a
        // blocking closure is a task; `block_on` sets no id of its own).
        assert_eq!(
            root,
            Seen {
                runtime: Some(b_id),
                on_worker: true,
                task: true
            }
        );
        assert_eq!(
            task,
            Seen {
                runtime: Some(b_id),
                on_worker: true,
                task: true
            }
        );
        assert_eq!(from_a, a_id);
        assert_eq!(via_guard, a_id);
        assert_eq!(
            a_task,
            Seen {
                runtime: Some(a_id),
                on_worker: true,
                task: true
            }
        );
    });
}

/// Tasks the root spawns wait in the runtime's own queue, not in the global one, as on
/// Tokio's current-thread runtime (`tokio/tests/rt_metrics.rs`, `worker_local_queue_depth`:
/// a `block_on` future's spawns count in worker 0's local queue; the global queue holds what
/// other threads schedule). (They went to the injector while the root was polled in the
/// caller's chain with no worker; the drive's root context, `Entry::Root`, gives them the
/// driver's deque.)
#[test]
fn root_spawns_are_not_in_the_global_queue() {
    Watchdog::new("global_queue_depth of root spawns").run(|| {
        let rt = ct();
        let metrics = rt.metrics();
        let depth = rt.block_on(async move {
            for _ in 0..10 {
                genrt::spawn(async {});
            }
            metrics.global_queue_depth()
        });
        assert_eq!(depth, 0);
    });
}

// ----------------------------------------------------------------------------------------
// Settle's drive, the root's drop
// ----------------------------------------------------------------------------------------

/// `settle` from a plain thread inside the runtime's `EnterGuard` drives with the guard's
/// chain set aside: tasks that enter, nest and leak guards there leave the caller's chain as
/// it was, and its guard drops without a panic.
#[test]
fn settle_inside_a_guard_beside_tasks_that_leak_guards() {
    Watchdog::new("settle inside a guard").run(|| {
        let rt = ct();
        let other = mt();
        let (id, other_h) = (rt.handle().id(), other.handle().clone());
        let g = rt.enter();
        for i in 0..10 {
            let o = other_h.clone();
            genrt::spawn(async move {
                genrt::yield_now().await;
                if i % 2 == 0 {
                    std::mem::forget(Handle::current().enter());
                } else {
                    std::mem::forget(o.enter());
                }
                // Spawned where this task now is: its own runtime, or the other one.
                genrt::spawn(async {});
            });
        }
        rt.settle();
        assert_eq!(Handle::current().id(), id);
        assert!(!genrt::on_worker_thread());
        drop(g);
        assert!(Handle::try_current().is_err());
        // The worker is still there.
        let h = rt.handle().clone();
        let elsewhere =
            thread::spawn(move || h.block_on(async { genrt::spawn(async { 1 }).await.unwrap() }));
        assert_eq!(elsewhere.join().unwrap(), 1);
    });
}

/// Records, when dropped, the runtime and worker status its thread sees.
struct SeesOnDrop(Arc<Mutex<Option<Seen>>>);

impl Drop for SeesOnDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(seen());
    }
}

/// A future done at its second poll that holds a [`SeesOnDrop`] until it is dropped.
struct HoldsUntilDropped(#[allow(dead_code)] SeesOnDrop, bool);

impl Future for HoldsUntilDropped {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.1, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The `block_on` future is dropped inside the runtime's context (as in Tokio, whose
/// `block_on` drops it inside its runtime guard), done or unwinding, whichever thread drove.
#[test]
fn the_root_is_dropped_inside_its_runtime() {
    let _quiet = quiet_panics();
    Watchdog::new("the root's drop").run(|| {
        let rt = ct();
        let id = rt.handle().id();
        let slot = Arc::new(Mutex::new(None));
        rt.block_on(HoldsUntilDropped(SeesOnDrop(slot.clone()), false));
        let expected = Seen {
            runtime: Some(id),
            on_worker: true,
            task: false,
        };
        assert_eq!(slot.lock().unwrap().take(), Some(expected));
        let held = SeesOnDrop(slot.clone());
        let panicked = panics_with(|| {
            rt.block_on(async move {
                let _held = held;
                genrt::spawn(async {}).await.unwrap();
                panic!("{INTENTIONAL}: unwinding the root");
            })
        });
        assert!(panicked.is_some());
        assert_eq!(
            slot.lock().unwrap().take(),
            Some(Seen {
                runtime: Some(id),
                on_worker: true,
                task: false
            })
        );
    });
}

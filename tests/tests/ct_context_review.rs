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

/// Pends once (waking itself), then completes.
struct YieldOnce(bool);

impl Future for YieldOnce {
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
            on_other
        });
        assert_eq!(other.block_on(on_other).unwrap(), other_id);
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
        // Tokio's second drop does not panic (its first one changed nothing); genrt's
        // first drop put the context back, so the second one may say so again.
        if let Some(second) = second {
            assert!(second.contains("out of order"), "{second}");
        }
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

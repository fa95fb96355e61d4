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

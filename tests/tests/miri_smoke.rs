//! A smoke test of every `unsafe` path of genrt-scheduler and genrt, small enough for miri
//! (`scripts/miri.sh`, tree borrows): the task cell's future and output (`task/cell.rs`:
//! poll, completion, panic, abort before, during and after a poll, shutdown, a result taken
//! or dropped, blocking closures), the scheduler's calls of `Task::poll` and `Task::shutdown`
//! (`scheduler/src/task.rs`: poll, cancel at shutdown, cancel of a task spawned after it),
//! `LocalSet`'s cells (`task/local_set.rs`), the pin projections of `coop` and `Timeout`, the
//! boxed path of large futures, and wakers that outlive their task and their runtime.
//!
//! It runs under plain `cargo test` too (it is cheap there): a few iterations of each, on a
//! one-worker and a current-thread runtime.

use std::cell::Cell;
use std::future::{pending, poll_fn, ready, Future};
use std::marker::PhantomPinned;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use genrt::task::{coop, JoinSet, LocalSet};
use genrt::{Builder, Runtime};

/// A one-worker multi-thread runtime and a current-thread one.
fn runtimes() -> [(&'static str, Runtime); 2] {
    [
        (
            "one_worker",
            Builder::new_multi_thread()
                .worker_threads(1)
                .max_blocking_threads(1)
                .build()
                .unwrap(),
        ),
        (
            "current_thread",
            Builder::new_current_thread()
                .max_blocking_threads(1)
                .build()
                .unwrap(),
        ),
    ]
}

/// The messages of the panics these tests cause on purpose.
const EXPECTED_PANICS: [&str; 5] = [
    "boom",
    "owned payload",
    "drop panic",
    "local boom",
    "blocking boom",
];

/// Keeps the panics these tests cause on purpose quiet: under miri, the default hook's
/// backtrace costs seconds per panic. Any other panic (a failing assertion) goes to the
/// default hook as before.
fn quiet_expected_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !message.is_some_and(|m| EXPECTED_PANICS.contains(&m)) {
                default(info);
            }
        }));
    });
}

/// Counts its drops; lives in futures and outputs so that miri sees each one dropped once
/// (a double drop would be a use after free of the `Arc`, a missed one a leak).
#[derive(Clone)]
struct Tracked(Arc<AtomicUsize>);

impl Tracked {
    fn new() -> (Tracked, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        (Tracked(count.clone()), count)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits (yielding) until `flag` is set.
async fn until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        genrt::yield_now().await;
    }
}

/// A future that is not `Unpin` and points into itself across a pending poll: a pin
/// projection that moved it would leave `ptr` dangling, which miri reports.
struct SelfRef {
    value: u64,
    ptr: *const u64,
    polled: bool,
    _pin: PhantomPinned,
}

// SAFETY: (test only) `ptr` only ever points into the same value.
unsafe impl Send for SelfRef {}

impl SelfRef {
    fn new(value: u64) -> SelfRef {
        SelfRef {
            value,
            ptr: std::ptr::null(),
            polled: false,
            _pin: PhantomPinned,
        }
    }
}

impl Future for SelfRef {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        // SAFETY: (test only) nothing is moved out of the pinned value.
        let this = unsafe { self.get_unchecked_mut() };
        if !this.polled {
            this.polled = true;
            this.ptr = &this.value;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        // SAFETY: (test only) the value is pinned, so `ptr` still points at `value`.
        Poll::Ready(unsafe { *this.ptr })
    }
}

#[test]
fn spawn_and_await() {
    for (name, rt) in runtimes() {
        let out = rt.block_on(async {
            let child = genrt::spawn(async {
                genrt::yield_now().await;
                vec![1u8, 2, 3]
            });
            let nested = genrt::spawn(async { genrt::spawn(async { String::from("x") }).await });
            genrt::yield_now().await;
            let mut v = child.await.unwrap();
            v.push(nested.await.unwrap().unwrap().len() as u8);
            v
        });
        assert_eq!(out, vec![1, 2, 3, 1], "{name}");
        let h = rt.spawn(async { Box::new(7u32) });
        assert_eq!(*rt.block_on(h).unwrap(), 7, "{name}");
    }
}

/// A `block_on` future holding an enter guard across awaits while it spawns and wakes tasks
/// that wake it back: on the current-thread runtime the driver swaps the future's chain of
/// contexts with the worker's around each of its polls (the thread-local's raw pointer to
/// the innermost context follows every swap).
#[test]
fn enter_guards_across_awaits_in_block_on() {
    for (name, rt) in runtimes() {
        let other = Builder::new_current_thread().build().unwrap();
        let sum = rt.block_on(async {
            let handle = genrt::Handle::current();
            let _same = handle.enter();
            let mut sum = 0;
            for i in 0..4u64 {
                // Inside `other`'s guard, `genrt::spawn` would go to `other`, which nobody
                // drives: the handle names the runtime.
                let _other = other.enter();
                sum += handle
                    .spawn(async move {
                        genrt::yield_now().await;
                        i
                    })
                    .await
                    .unwrap();
                genrt::yield_now().await;
            }
            sum
        });
        assert_eq!(sum, 6, "{name}");
    }
}

#[test]
fn output_taken_or_dropped_with_the_handle() {
    for (name, rt) in runtimes() {
        // Taken by the handle.
        let (t, drops) = Tracked::new();
        let got = rt.block_on(rt.spawn(async move { t })).unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 0, "{name}");
        drop(got);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");

        // Handle dropped before the task finished: the output is dropped when it finishes.
        let (t, drops) = Tracked::new();
        let go = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let h = {
            let (go, done) = (go.clone(), done.clone());
            rt.spawn(async move {
                until(&go).await;
                done.store(true, Ordering::SeqCst);
                t
            })
        };
        drop(h);
        go.store(true, Ordering::SeqCst);
        rt.block_on(until(&done));
        rt.block_on(async {
            while drops.load(Ordering::SeqCst) == 0 {
                genrt::yield_now().await;
            }
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");

        // Handle dropped after the task finished: the stored output is dropped with it.
        let (t, drops) = Tracked::new();
        let h = rt.spawn(async move { t });
        rt.block_on(async {
            while !h.is_finished() {
                genrt::yield_now().await;
            }
        });
        assert_eq!(drops.load(Ordering::SeqCst), 0, "{name}");
        drop(h);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
    }
}

#[test]
fn abort_before_during_and_after_polls() {
    for (name, rt) in runtimes() {
        // Before the first poll (the current-thread runtime polls nothing outside block_on;
        // on the one-worker one the abort may land before or after the first poll).
        let (t, drops) = Tracked::new();
        let h = rt.spawn(async move {
            let _t = t;
            pending::<()>().await
        });
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_cancelled(), "{name}");
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");

        // During a pending poll.
        let (t, drops) = Tracked::new();
        let started = Arc::new(AtomicBool::new(false));
        let h = {
            let started = started.clone();
            rt.spawn(async move {
                let _t = t;
                started.store(true, Ordering::SeqCst);
                pending::<()>().await
            })
        };
        rt.block_on(until(&started));
        let abort = h.abort_handle();
        abort.abort();
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "{name}");
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
        assert!(abort.is_finished(), "{name}");

        // After completion, before and after the result is taken: no effect.
        let (t, drops) = Tracked::new();
        let h = rt.spawn(async move { t });
        let abort = h.abort_handle();
        rt.block_on(async {
            while !h.is_finished() {
                genrt::yield_now().await;
            }
        });
        abort.abort();
        let out = rt.block_on(h).unwrap();
        abort.abort();
        drop(out);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");

        // A task that aborts itself while it runs.
        let h = rt.spawn(async {
            let me = genrt::spawn(pending::<()>());
            me.abort();
            me.await
        });
        assert!(
            rt.block_on(h).unwrap().unwrap_err().is_cancelled(),
            "{name}"
        );
    }
}

#[test]
fn panicking_tasks() {
    quiet_expected_panics();
    for (name, rt) in runtimes() {
        let (t, drops) = Tracked::new();
        let h = rt.spawn(async move {
            let _t = t;
            genrt::yield_now().await;
            panic!("boom");
        });
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_panic(), "{name}");
        let payload = err.into_panic();
        assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "boom", "{name}");
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");

        // A panic nobody reads (the handle is dropped first): the payload is dropped.
        let done = Arc::new(AtomicBool::new(false));
        let h = {
            let done = done.clone();
            rt.spawn(async move {
                struct SetOnDrop(Arc<AtomicBool>);
                impl Drop for SetOnDrop {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::SeqCst);
                    }
                }
                let _d = SetOnDrop(done);
                genrt::yield_now().await;
                std::panic::panic_any(String::from("owned payload"))
            })
        };
        drop(h);
        rt.block_on(until(&done));

        // A future whose Drop panics when it is cancelled: the panic is the task's result.
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                if !std::thread::panicking() {
                    panic!("drop panic");
                }
            }
        }
        // Captured, so dropped (and panicking) whether or not the abort comes before a poll.
        let p = PanicOnDrop;
        let h = rt.spawn(async move {
            let _p = p;
            pending::<()>().await
        });
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_panic(), "{name}");
    }
}

#[test]
fn join_sets() {
    for (name, rt) in runtimes() {
        let sum = rt.block_on(async {
            let mut set = JoinSet::new();
            for i in 0..4u64 {
                set.spawn(async move {
                    genrt::yield_now().await;
                    i
                });
            }
            set.spawn_blocking(|| 10);
            let mut sum = 0;
            while let Some(r) = set.join_next().await {
                sum += r.unwrap();
            }
            sum
        });
        assert_eq!(sum, 16, "{name}");

        // abort_all with pending members, then dropping a set with pending members.
        let (t, drops) = Tracked::new();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..3 {
                let t = t.clone();
                set.spawn(async move {
                    let _t = t;
                    pending::<()>().await
                });
            }
            genrt::yield_now().await;
            set.abort_all();
            while let Some(r) = set.join_next().await {
                assert!(r.unwrap_err().is_cancelled());
            }
            let mut set = JoinSet::new();
            for _ in 0..2 {
                let t = t.clone();
                set.spawn(async move {
                    let _t = t;
                    pending::<()>().await
                });
            }
            genrt::yield_now().await;
            drop(set);
            drop(t);
        });
        rt.block_on(async {
            while drops.load(Ordering::SeqCst) < 6 {
                genrt::yield_now().await;
            }
        });
    }
}

#[test]
fn local_sets() {
    quiet_expected_panics();
    for (name, rt) in runtimes() {
        let local = LocalSet::new();
        let counter = Rc::new(Cell::new(0));
        let out = local.block_on(&rt, {
            let counter = counter.clone();
            async move {
                let c = counter.clone();
                let a = genrt::task::spawn_local(async move {
                    genrt::yield_now().await;
                    c.set(c.get() + 1);
                    Rc::new(5)
                });
                let c = counter.clone();
                let pending_task = genrt::task::spawn_local(async move {
                    let _c = c;
                    pending::<()>().await
                });
                genrt::yield_now().await;
                pending_task.abort();
                assert!(pending_task.await.unwrap_err().is_cancelled());
                // Aborted before its first poll.
                let never = genrt::task::spawn_local(async { Rc::new(0) });
                never.abort();
                assert!(never.await.unwrap_err().is_cancelled());
                // A local panic.
                let p = genrt::task::spawn_local(async { panic!("local boom") });
                assert!(p.await.unwrap_err().is_panic());
                // JoinSet::spawn_local.
                let mut set = JoinSet::new();
                for i in 0..3 {
                    set.spawn_local(async move { Rc::new(i) });
                }
                let mut n = 0;
                while let Some(r) = set.join_next().await {
                    n += *r.unwrap();
                }
                *a.await.unwrap() + n
            }
        });
        assert_eq!(out, 8, "{name}");
        assert_eq!(counter.get(), 1, "{name}");

        // A set dropped with a pending task and an unpolled one, and a result left in it.
        let rc = Rc::new(());
        let r1 = rc.clone();
        let r2 = rc.clone();
        let p = local.spawn_local(async move {
            let _r = r1;
            pending::<()>().await
        });
        let q = local.spawn_local(async move { r2 });
        local.block_on(&rt, genrt::yield_now());
        drop(local);
        drop(p);
        drop(q);
        assert_eq!(Rc::strong_count(&rc), 1, "{name}");
    }
}

#[test]
fn coop_budget() {
    for (name, rt) in runtimes() {
        let n = rt.block_on(rt.spawn(async {
            let mut n = 0u32;
            for _ in 0..300 {
                n += coop::cooperative(ready(1)).await;
                coop::consume_budget().await;
            }
            n += coop::unconstrained(async {
                let mut m = 0;
                for _ in 0..300 {
                    coop::consume_budget().await;
                    m += 1;
                }
                m
            })
            .await;
            // Pin projections through a future that is not `Unpin`.
            n += coop::cooperative(SelfRef::new(3)).await as u32;
            n += coop::unconstrained(SelfRef::new(4)).await as u32;
            n
        }));
        assert_eq!(n.unwrap(), 607, "{name}");
    }
}

#[test]
fn timeouts() {
    for (name, rt) in runtimes() {
        rt.block_on(rt.spawn(async {
            use genrt::time::timeout;
            // Ready.
            assert_eq!(timeout(Duration::from_secs(60), ready(5)).await.unwrap(), 5);
            assert_eq!(
                timeout(Duration::from_secs(60), SelfRef::new(9))
                    .await
                    .unwrap(),
                9
            );
            // Elapsed.
            assert!(timeout(Duration::from_millis(1), pending::<()>())
                .await
                .is_err());
            // Dropped while pending, with its timer registered.
            let (t, drops) = Tracked::new();
            {
                let mut to = pin!(timeout(Duration::from_secs(60), async move {
                    let _t = t;
                    pending::<()>().await
                }));
                poll_fn(|cx| {
                    assert!(to.as_mut().poll(cx).is_pending());
                    Poll::Ready(())
                })
                .await;
            }
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            // A boxed pending timeout dropped in another task.
            let boxed = Box::pin(timeout(Duration::from_secs(60), pending::<()>()));
            genrt::spawn(async move { drop(boxed) }).await.unwrap();
        }))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn large_futures_are_boxed() {
    // Over `task::cell`'s threshold (2,048 bytes in a debug build, which miri's is; 16,384
    // in a release one), and no larger: miri reads every byte.
    const BIG: usize = if cfg!(debug_assertions) {
        3_000
    } else {
        20_000
    };
    async fn big(seed: u8) -> u64 {
        let buf = [seed; BIG];
        genrt::yield_now().await;
        buf.iter().map(|&b| u64::from(b)).sum()
    }
    for (name, rt) in runtimes() {
        assert_eq!(rt.block_on(big(1)), BIG as u64, "{name}");
        assert_eq!(rt.block_on(rt.spawn(big(1))).unwrap(), BIG as u64, "{name}");
        let h = rt.spawn(big(2));
        h.abort();
        let _ = rt.block_on(h);
        let buf = [3u8; BIG];
        let got = rt
            .block_on(rt.spawn_blocking(move || buf.iter().map(|&b| u64::from(b)).sum::<u64>()))
            .unwrap();
        assert_eq!(got, 3 * BIG as u64, "{name}");
        let n = rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(big(1));
            set.join_next().await.unwrap().unwrap()
        });
        assert_eq!(n, BIG as u64, "{name}");
        let local = LocalSet::new();
        let n = local.block_on(&rt, async {
            genrt::task::spawn_local(big(1)).await.unwrap()
        });
        assert_eq!(n, BIG as u64, "{name}");
    }
}

#[test]
fn blocking_closures() {
    quiet_expected_panics();
    for (name, rt) in runtimes() {
        let (t, drops) = Tracked::new();
        let got = rt.block_on(rt.spawn_blocking(move || t)).unwrap();
        drop(got);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
        let err = rt
            .block_on(rt.spawn_blocking(|| panic!("blocking boom")))
            .unwrap_err();
        assert!(err.is_panic(), "{name}");
        // Queued behind a running closure (one blocking thread), then aborted: dropped unrun.
        let release = Arc::new(AtomicBool::new(false));
        let first = {
            let release = release.clone();
            rt.spawn_blocking(move || {
                while !release.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
            })
        };
        let (t, drops) = Tracked::new();
        let queued = rt.spawn_blocking(move || drop(t));
        queued.abort();
        release.store(true, Ordering::SeqCst);
        rt.block_on(first).unwrap();
        let r = rt.block_on(queued);
        assert!(r.is_ok() || r.unwrap_err().is_cancelled(), "{name}");
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
    }
}

#[test]
fn wakers_outlive_their_task_and_runtime() {
    for (name, rt) in runtimes() {
        let kept: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let h = {
            let kept = kept.clone();
            rt.spawn(async move {
                poll_fn(|cx| {
                    kept.lock().unwrap().push(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
                genrt::yield_now().await;
                poll_fn(|cx| {
                    kept.lock().unwrap().push(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
            })
        };
        rt.block_on(h).unwrap();
        let wakers = std::mem::take(&mut *kept.lock().unwrap());
        assert_eq!(wakers.len(), 2, "{name}");
        // The task is over and its slot may be reused: these wake nothing.
        for w in &wakers {
            w.wake_by_ref();
        }
        let reuse = rt.spawn(async { 1 });
        for w in &wakers {
            w.wake_by_ref();
        }
        assert_eq!(rt.block_on(reuse).unwrap(), 1, "{name}");
        // A waker of a task still pending, kept past the runtime's drop.
        let pending_waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (t, drops) = Tracked::new();
        {
            let pending_waker = pending_waker.clone();
            let polled = Arc::new(AtomicBool::new(false));
            let p2 = polled.clone();
            drop(rt.spawn(async move {
                let _t = t;
                poll_fn(|cx| {
                    *pending_waker.lock().unwrap() = Some(cx.waker().clone());
                    p2.store(true, Ordering::SeqCst);
                    Poll::<()>::Pending
                })
                .await;
            }));
            rt.block_on(until(&polled));
        }
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
        for w in wakers {
            w.wake();
        }
        let w = pending_waker.lock().unwrap().take().unwrap();
        w.wake_by_ref();
        let w2 = w.clone();
        drop(w);
        w2.wake();
    }
}

#[test]
fn runtime_dropped_with_pending_tasks() {
    for (name, rt) in runtimes() {
        let (t, drops) = Tracked::new();
        let mut handles = Vec::new();
        for _ in 0..3 {
            let t = t.clone();
            handles.push(rt.spawn(async move {
                let _t = t;
                pending::<()>().await
            }));
        }
        // Polled once (pending) on both flavors, plus one never polled.
        rt.block_on(genrt::yield_now());
        let unpolled = {
            let t = t.clone();
            rt.spawn(async move {
                let _t = t;
            })
        };
        // A task whose output stays in its cell, its handle kept.
        let done = rt.spawn(async { String::from("left in the cell") });
        rt.block_on(async {
            while !done.is_finished() {
                genrt::yield_now().await;
            }
        });
        let handle = rt.handle().clone();
        drop(t);
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 5, "{name}");
        for h in handles {
            assert!(
                futures::executor::block_on(h).unwrap_err().is_cancelled(),
                "{name}"
            );
        }
        let _ = futures::executor::block_on(unpolled);
        drop(done);
        // Spawned after the shutdown: cancelled on the spot, never queued.
        let (t, drops) = Tracked::new();
        let late = handle.spawn(async move {
            let _t = t;
        });
        assert!(
            futures::executor::block_on(late)
                .unwrap_err()
                .is_cancelled(),
            "{name}"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
        let late = handle.spawn_blocking(|| 1);
        assert!(
            futures::executor::block_on(late)
                .unwrap_err()
                .is_cancelled(),
            "{name}"
        );
    }
}

/// Shutdown sweeps the slab while a worker is inside a task's poll (`shutdown_timeout` gives
/// up waiting for it): the sweep must leave that task's future alone, and its poller cancels
/// it when the poll returns (the scheduler's `AfterPoll::Cancel`). The poll goes on until
/// `shutdown_timeout` has returned, so the sweep always runs inside it; miri's data race
/// detector reports any access to the future from the sweeping thread.
#[test]
fn shutdown_while_a_task_is_being_polled() {
    let stopped = Arc::new(AtomicBool::new(false));
    let rt = {
        let stopped = stopped.clone();
        Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_stop(move || stopped.store(true, Ordering::SeqCst))
            .build()
            .unwrap()
    };
    let (t, drops) = Tracked::new();
    let in_poll = Arc::new(AtomicBool::new(false));
    let shut_down = Arc::new(AtomicBool::new(false));
    let h = {
        let (in_poll, shut_down) = (in_poll.clone(), shut_down.clone());
        rt.spawn(async move {
            let mut t = Some(t);
            poll_fn(move |_cx| {
                in_poll.store(true, Ordering::SeqCst);
                while !shut_down.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                // Touches the future's state after the sweep.
                assert!(t.as_mut().is_some());
                Poll::<()>::Pending
            })
            .await
        })
    };
    while !in_poll.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    // The worker is inside the poll: shutdown gives up on it and sweeps.
    assert!(!rt.shutdown_timeout(Duration::from_millis(1)));
    shut_down.store(true, Ordering::SeqCst);
    assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // The detached worker leaves: let it finish before the test does.
    while !stopped.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    for _ in 0..100 {
        std::thread::yield_now();
    }
}

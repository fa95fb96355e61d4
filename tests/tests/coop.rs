//! The cooperative budget (`genrt::task::coop`): ports of Tokio's tests of it
//! (`rt_common.rs` `coop_consume_budget` on three flavors, `task_join_set.rs`
//! `join_set_coop`, `time_timeout.rs` `timeout_is_not_exhausted_by_future` with
//! `consume_budget` in place of `tokio::io::empty()`), and genrt's own: which futures spend
//! it, that `unconstrained` lifts it, that there is none outside a runtime, and the liveness
//! it buys (a task that is always ready cannot starve a one-worker runtime). Every wait is
//! bounded (watchdog).

use std::future::{poll_fn, ready, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use genrt::task::{self, coop, JoinSet};
use genrt::Runtime;
use support::Watchdog;

fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "current_thread",
            genrt::Builder::new_current_thread().build().unwrap(),
        ),
        (
            "threaded_4_workers",
            genrt::Builder::new_multi_thread()
                .worker_threads(4)
                .build()
                .unwrap(),
        ),
        (
            "threaded_1_worker",
            genrt::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap(),
        ),
    ]
}

/// How many times `unit` (made fresh each round) is ready in one poll before it is
/// pending, up to `limit`.
fn ready_in_one_poll<F: Future>(cx: &mut Context<'_>, limit: usize, unit: impl Fn() -> F) -> usize {
    for i in 0..limit {
        if pin!(unit()).poll(cx).is_pending() {
            return i;
        }
    }
    limit
}

/// Tokio's `rt_common::coop_consume_budget`, on each flavor, in `block_on` and in a task.
#[test]
fn coop_consume_budget() {
    Watchdog::new("coop_consume_budget").run(|| {
        for (flavor, rt) in runtimes() {
            let body = move || async move {
                poll_fn(|cx| {
                    let counter = Arc::new(AtomicUsize::new(0));
                    let worker_counter = counter.clone();
                    let mut worker = Box::pin(async move {
                        for _ in 0..1000 {
                            worker_counter.fetch_add(1, Ordering::Relaxed);
                            task::consume_budget().await
                        }
                    });
                    // The worker yields before the end of its work (a budget of 128).
                    assert!(worker.as_mut().poll(cx).is_pending(), "{flavor}");
                    assert!(counter.load(Ordering::Relaxed) < 1000, "{flavor}");
                    Poll::Ready(())
                })
                .await
            };
            rt.block_on(body());
            rt.block_on(rt.spawn(body())).unwrap();
        }
    });
}

/// The budget is 128 units per poll, the same for a task and a `block_on` future, and
/// `has_budget_remaining` says when it is spent.
#[test]
fn a_poll_has_128_units() {
    Watchdog::new("a_poll_has_128_units").run(|| {
        let rt = Runtime::new().unwrap();
        let count = || async {
            poll_fn(|cx| {
                assert!(coop::has_budget_remaining());
                let units = ready_in_one_poll(cx, 1000, task::consume_budget);
                assert!(!coop::has_budget_remaining());
                Poll::Ready(units)
            })
            .await
        };
        assert_eq!(rt.block_on(count()), 128);
        assert_eq!(rt.block_on(rt.spawn(count())).unwrap(), 128);
        // The next poll has a fresh budget: a loop over `consume_budget` finishes.
        let total = rt.block_on(rt.spawn(async {
            let mut total = 0;
            for _ in 0..1000 {
                task::consume_budget().await;
                total += 1;
            }
            total
        }));
        assert_eq!(total.unwrap(), 1000);
    });
}

/// Outside a runtime there is no budget, and inside `unconstrained` neither.
#[test]
fn no_budget_outside_a_runtime_or_inside_unconstrained() {
    Watchdog::new("no_budget_outside").run(|| {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert_eq!(ready_in_one_poll(&mut cx, 1000, task::consume_budget), 1000);
        assert!(coop::has_budget_remaining());

        let rt = Runtime::new().unwrap();
        let units = rt.block_on(rt.spawn(task::unconstrained(async {
            poll_fn(|cx| Poll::Ready(ready_in_one_poll(cx, 1000, task::consume_budget))).await
        })));
        assert_eq!(units.unwrap(), 1000);
        // `unconstrained` lifts the budget only inside: after it, the task's budget is back
        // (here untouched, as the units spent inside were not counted).
        let after = rt.block_on(rt.spawn(async {
            task::unconstrained(async {
                poll_fn(|cx| Poll::Ready(ready_in_one_poll(cx, 500, task::consume_budget))).await
            })
            .await;
            poll_fn(|cx| Poll::Ready(ready_in_one_poll(cx, 1000, task::consume_budget))).await
        }));
        assert_eq!(after.unwrap(), 128);
    });
}

/// Join handles, join sets, sleeps and `cooperative` spend a unit when they complete; a
/// pending join handle spends nothing.
#[test]
fn leaf_futures_spend_the_budget() {
    Watchdog::new("leaf_futures_spend_the_budget").run(|| {
        let rt = Runtime::new().unwrap();
        // Join handles of finished tasks: the 129th is pending within one poll.
        let handles: Vec<_> = (0..200).map(|i| rt.spawn(async move { i })).collect();
        for handle in &handles {
            while !handle.is_finished() {
                std::thread::yield_now();
            }
        }
        let joined = rt.block_on(async move {
            let mut handles = handles.into_iter();
            let mut joined = 0;
            poll_fn(|cx| {
                for handle in handles.by_ref() {
                    let mut handle = handle;
                    if pin!(&mut handle).poll(cx).is_pending() {
                        return Poll::Ready(());
                    }
                    joined += 1;
                }
                Poll::Ready(())
            })
            .await;
            joined
        });
        assert_eq!(joined, 128);

        // A pending join handle, polled 1000 times, spends nothing.
        let left = rt.block_on(async {
            let (release, gate) = futures::channel::oneshot::channel::<()>();
            let mut pending = genrt::spawn(async move {
                let _ = gate.await;
            });
            let left = poll_fn(|cx| {
                for _ in 0..1000 {
                    assert!(pin!(&mut pending).poll(cx).is_pending());
                }
                Poll::Ready(ready_in_one_poll(cx, 1000, task::consume_budget))
            })
            .await;
            release.send(()).unwrap();
            pending.await.unwrap();
            left
        });
        assert_eq!(left, 128);

        // Zero sleeps and `cooperative` futures.
        let sleeps = rt.block_on(poll_fn(|cx| {
            Poll::Ready(ready_in_one_poll(cx, 1000, || {
                genrt::time::sleep(Duration::ZERO)
            }))
        }));
        assert_eq!(sleeps, 128);
        let cooperative = rt.block_on(poll_fn(|cx| {
            Poll::Ready(ready_in_one_poll(cx, 1000, || coop::cooperative(ready(()))))
        }));
        assert_eq!(cooperative, 128);
    });
}

/// Tokio's `task_join_set::join_set_coop`: a set of 1000 finished tasks cannot be drained
/// in one poll; every result still comes out.
#[test]
fn join_set_coop() {
    const TASKS: usize = 1000;
    Watchdog::new("join_set_coop").run(|| {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            let done = Arc::new(AtomicUsize::new(0));
            let mut set = JoinSet::new();
            for _ in 0..TASKS {
                let done = done.clone();
                set.spawn(async move {
                    done.fetch_add(1, Ordering::Release);
                });
            }
            while done.load(Ordering::Acquire) < TASKS {
                task::yield_now().await;
            }
            let (mut count, mut coop_count) = (0, 0);
            loop {
                let next = poll_fn(|cx| Poll::Ready(set.poll_join_next(cx))).await;
                match next {
                    Poll::Ready(Some(result)) => {
                        result.unwrap();
                        count += 1;
                    }
                    Poll::Ready(None) => break,
                    Poll::Pending => {
                        coop_count += 1;
                        task::yield_now().await;
                    }
                }
            }
            assert!(coop_count >= 1);
            assert_eq!(count, TASKS);
        });
    });
}

/// Tokio's `time_timeout::timeout_is_not_exhausted_by_future`: a future that keeps spending
/// the budget (and is never pending otherwise) still times out.
#[test]
fn timeout_is_not_exhausted_by_future() {
    Watchdog::new("timeout_is_not_exhausted_by_future").run(|| {
        for (flavor, rt) in runtimes() {
            let result = rt.block_on(rt.spawn(genrt::time::timeout(
                Duration::from_millis(1),
                async {
                    loop {
                        task::consume_budget().await;
                    }
                },
            )));
            assert!(result.unwrap().is_err(), "{flavor}");
        }
    });
}

/// The liveness the budget buys: on one worker, a task whose awaits are always ready (it
/// never returns `Pending` by itself) still lets the task queued behind it run. The setter
/// waits until the spinner has done a round (on several workers it could otherwise run
/// first, and the spinner would do none).
#[test]
fn an_always_ready_task_cannot_starve_its_worker() {
    Watchdog::new("always_ready_task").run(|| {
        for (flavor, rt) in runtimes() {
            let flag = Arc::new(AtomicBool::new(false));
            let spun = Arc::new(AtomicBool::new(false));
            let spinner = {
                let (flag, spun) = (flag.clone(), spun.clone());
                rt.spawn(async move {
                    let mut rounds = 0u64;
                    loop {
                        coop::cooperative(ready(())).await;
                        rounds += 1;
                        spun.store(true, Ordering::Release);
                        if flag.load(Ordering::Acquire) {
                            return rounds;
                        }
                    }
                })
            };
            let setter = rt.spawn(async move {
                while !spun.load(Ordering::Acquire) {
                    genrt::yield_now().await;
                }
                flag.store(true, Ordering::Release)
            });
            rt.block_on(setter).unwrap();
            assert!(rt.block_on(spinner).unwrap() > 0, "{flavor}");
        }
    });
}

/// Tokio's `BlockingTask` runs its closure without a budget: a spent one would never come
/// back there, and another executor inside would spin on the futures it makes yield.
#[test]
fn blocking_closures_have_no_budget() {
    Watchdog::new("blocking_closures_have_no_budget").run(|| {
        let rt = Runtime::new().unwrap();
        let ready = rt.block_on(rt.spawn_blocking(|| {
            let mut cx = Context::from_waker(futures::task::noop_waker_ref());
            ready_in_one_poll(&mut cx, 500, task::consume_budget)
        }));
        assert_eq!(ready.unwrap(), 500);
        // Another executor inside a blocking closure, on genrt's sleeps (which spend the
        // budget): 200 of them finish.
        let handle = rt.handle().clone();
        rt.block_on(rt.spawn_blocking(move || {
            let _entered = handle.enter();
            for _ in 0..200 {
                futures::executor::block_on(genrt::time::sleep(Duration::ZERO));
            }
        }))
        .unwrap();
    });
}

/// Tokio's `block_in_place` runs its closure without the task's budget (the same reason).
#[test]
fn block_in_place_runs_without_the_tasks_budget() {
    Watchdog::new("block_in_place_without_budget").run(|| {
        let rt = genrt::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(rt.spawn(async {
            // Spend the whole budget within one poll, then block in place.
            poll_fn(|cx| {
                while pin!(task::consume_budget()).poll(cx).is_ready() {}
                Poll::Ready(())
            })
            .await;
            task::block_in_place(|| {
                futures::executor::block_on(genrt::time::sleep(Duration::ZERO))
            });
        }))
        .unwrap();
    });
}

/// Tokio's `rt_threaded::coop_and_block_in_place`, with `consume_budget` for the channel's
/// `recv`: after a `block_in_place`, the task's budget still makes it yield.
#[test]
fn coop_and_block_in_place() {
    Watchdog::new("coop_and_block_in_place").run(|| {
        let rt = genrt::Builder::new_multi_thread()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        rt.block_on(async {
            genrt::spawn(async {
                task::block_in_place(|| {});
                poll_fn(|cx| {
                    for _ in 0..1024 {
                        if pin!(task::consume_budget()).poll(cx).is_pending() {
                            return Poll::Ready(());
                        }
                    }
                    panic!("did not yield");
                })
                .await
            })
            .await
            .unwrap();
        });
    });
}

/// Tokio's `rt_common::coop` and `coop_unconstrained` in their join-handle form (Tokio's
/// suite before its channels became the example), on each flavor: a poll that joins 1000
/// finished tasks is cut short by the budget, unless unconstrained.
#[test]
fn coop_with_join_handles() {
    Watchdog::new("coop_with_join_handles").run(|| {
        for (flavor, rt) in runtimes() {
            for constrained in [true, false] {
                let body = async move {
                    let mut tasks: Vec<_> = (0..1000).map(|_| genrt::spawn(async {})).collect();
                    // Tokio sleeps 100 ms and hopes; this waits until they all finished.
                    while !tasks.iter().all(|task| task.is_finished()) {
                        task::yield_now().await;
                    }
                    poll_fn(|cx| {
                        let pending = tasks
                            .iter_mut()
                            .any(|task| pin!(task).poll(cx).is_pending());
                        Poll::Ready(pending)
                    })
                    .await
                };
                let yielded = if constrained {
                    rt.block_on(body)
                } else {
                    rt.block_on(task::unconstrained(body))
                };
                assert_eq!(yielded, constrained, "{flavor}");
            }
        }
    });
}

/// `unconstrained` and `cooperative` return named futures, `Unpin` when their future is
/// (Tokio's `Unconstrained` and `Coop`): `Pin::new(&mut unconstrained(..))` compiles.
#[test]
fn the_wrappers_are_unpin_when_their_future_is() {
    fn unpin<T: Unpin>(_: &T) {}
    let mut a = task::unconstrained(ready(1));
    let mut b = coop::cooperative(ready(2));
    unpin(&a);
    unpin(&b);
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    assert_eq!(std::pin::Pin::new(&mut a).poll(&mut cx), Poll::Ready(1));
    assert_eq!(std::pin::Pin::new(&mut b).poll(&mut cx), Poll::Ready(2));
}

//! An adversarial review of the cooperative budget, fairness and yielding, against Tokio's
//! semantics: what `coop.rs`, `fairness.rs` and `liveness.rs` do not try.
//!
//! - Shell requests and streams spend the budget as Tokio's `oneshot` and `mpsc` receivers
//!   do: a loop over a stream that is always ready, or over requests already resolved, ran
//!   for ever inside `timeout` (the timer was never polled: the inner future was never
//!   pending) and starved the other tasks of a one-worker or current-thread runtime. Tokio's
//!   `rt_common::coop` and `coop_unconstrained` in their channel form.
//! - A `LocalSet` task that yields waits, as in Tokio, until the runtime's other tasks ran: it
//!   was polled again within the same turn of its set, up to 61 times.
//!
//! Every wait is bounded (a watchdog); no test asserts a time: orders, counts, and that
//! something happens at all.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use genrt::task::coop;
use genrt::Runtime;
use support::Watchdog;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The three flavors of Tokio's `rt_common` tests.
fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        (
            "current_thread",
            genrt::Builder::new_current_thread().build().unwrap(),
        ),
        (
            "threaded_1_worker",
            genrt::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap(),
        ),
        (
            "threaded_2_workers",
            genrt::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        ),
    ]
}

/// A task that loops until `flag` is set, awaiting `ready_unit()` (always ready) each round,
/// beside a task that sets the flag: the loop must let the setter run (the budget makes it
/// yield). Run on every flavor, in a task and, on the current-thread runtime, as the
/// `block_on` future too.
fn assert_loop_yields<F, U>(what: &'static str, ready_unit: F)
where
    F: Fn() -> U + Clone + Send + 'static,
    U: Future<Output = ()> + Send + 'static,
{
    Watchdog::new(what).run(move || {
        for (flavor, rt) in runtimes() {
            let flag = Arc::new(AtomicBool::new(false));
            let spinner = {
                let (flag, ready_unit) = (flag.clone(), ready_unit.clone());
                async move {
                    while !flag.load(Ordering::Acquire) {
                        ready_unit().await;
                    }
                }
            };
            // The setter is spawned first: on one worker (or the current-thread driver) it
            // is queued behind the spinner's first poll only if the spinner yields.
            let spinner = rt.spawn(spinner);
            rt.spawn(async move { flag.store(true, Ordering::Release) });
            rt.block_on(spinner)
                .unwrap_or_else(|e| panic!("{flavor}: the spinner failed: {e}"));
        }
    });
}

/// Tokio's `mpsc::Receiver::recv` spends a unit of budget per message: a loop over a stream
/// that always has a value yields every 128 of them. `ShellStream::next` spent nothing, so
/// on one worker the loop never let the setter run (a hang).
#[test]
fn a_loop_over_an_always_ready_shell_stream_yields() {
    assert_loop_yields("a loop over an always-ready ShellStream", || async {
        let (mut stream, resolver) = genrt::shell::stream::<u32>();
        resolver.send(1).unwrap();
        assert_eq!(stream.next().await, Some(1));
    });
}

/// Tokio's `oneshot::Receiver` spends a unit of budget when it completes: a loop awaiting
/// requests already resolved yields every 128 of them.
#[test]
fn a_loop_over_resolved_shell_requests_yields() {
    assert_loop_yields("a loop over resolved ShellRequests", || async {
        let (request, resolver) = genrt::shell::request::<u32>();
        resolver.resolve(1).unwrap();
        assert_eq!(request.await, Ok(1));
    });
}

/// The brief's case, Tokio's `timeout_is_not_exhausted_by_future` with a channel: a
/// `timeout` around a loop over a stream that never runs dry (the loop sends to itself)
/// times out. It ran for ever: the inner future was never pending, so the timer was never
/// polled.
#[test]
fn a_timeout_around_an_always_ready_shell_stream_fires() {
    Watchdog::new("timeout around an always-ready ShellStream").run(|| {
        for (flavor, rt) in runtimes() {
            let result = rt.block_on(async {
                let (mut stream, resolver) = genrt::shell::stream::<u64>();
                genrt::time::timeout(ms(5), async move {
                    loop {
                        resolver.send(1).unwrap();
                        assert_eq!(stream.next().await, Some(1));
                    }
                })
                .await
            });
            assert!(result.is_err(), "{flavor}: the timeout fired");
        }
    });
}

/// The unit is spent only when the stream or request completes: a pending poll spends
/// nothing, and a spent budget makes both pending (waking the task) without taking the
/// value, which the next poll returns.
#[test]
fn shell_futures_spend_one_unit_on_completion_and_keep_their_value_when_out_of_budget() {
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    Watchdog::new("shell futures and the budget").run(move || {
        rt.block_on(rt.spawn(async {
            let (mut stream, stream_resolver) = genrt::shell::stream::<u8>();
            let (request, resolver) = genrt::shell::request::<u8>();
            let mut request = pin!(request);
            let mut resolver = Some(resolver);
            poll_fn(|cx| {
                // Pending polls spend nothing.
                for _ in 0..200 {
                    assert!(stream.poll_next(cx).is_pending());
                    assert!(request.as_mut().poll(cx).is_pending());
                }
                assert!(coop::has_budget_remaining());
                // Spend all but one unit.
                for _ in 0..127 {
                    let restore = std::task::ready!(coop::poll_proceed(cx));
                    restore.made_progress();
                }
                stream_resolver.send(7).unwrap();
                assert_eq!(stream.poll_next(cx), Poll::Ready(Some(7)), "the last unit");
                assert!(!coop::has_budget_remaining());
                stream_resolver.send(8).unwrap();
                resolver.take().unwrap().resolve(9).unwrap();
                assert!(stream.poll_next(cx).is_pending(), "out of budget");
                assert!(request.as_mut().poll(cx).is_pending(), "out of budget");
                Poll::Ready(())
            })
            .await;
            // The next poll of the task has a fresh budget: the values are still there.
            assert_eq!(stream.next().await, Some(8));
            assert_eq!(request.await, Ok(9));
        }))
        .unwrap();
    });
}

/// Tokio's `rt_common::coop` and `coop_unconstrained` in their channel form, with a
/// `ShellStream` for Tokio's unbounded `mpsc` channel (genrt's nearest; `rt_common_ports.rs`
/// skipped them for want of a coop-aware channel), on each flavor: one poll that receives
/// 1,000 queued values is cut short by the budget, unless unconstrained, where every one of
/// them is ready.
#[test]
fn coop_and_coop_unconstrained_with_a_shell_stream() {
    Watchdog::new("coop with a ShellStream").run(|| {
        for (flavor, rt) in runtimes() {
            rt.block_on(async {
                let (mut stream, resolver) = genrt::shell::stream::<()>();
                for _ in 0..1_000 {
                    resolver.send(()).unwrap();
                }
                let yielded = poll_fn(|cx| {
                    Poll::Ready((0..1_000).any(|_| stream.poll_next(cx).is_pending()))
                })
                .await;
                assert!(yielded, "{flavor}: did not yield");
            });
            rt.block_on(async {
                let (mut stream, resolver) = genrt::shell::stream::<()>();
                for _ in 0..1_000 {
                    resolver.send(()).unwrap();
                }
                genrt::task::unconstrained(poll_fn(|cx| {
                    for _ in 0..1_000 {
                        assert_eq!(stream.poll_next(cx), Poll::Ready(Some(())), "{flavor}");
                    }
                    Poll::Ready(())
                }))
                .await;
            });
        }
    });
}

/// Tokio defers a task that yields until its worker has run the other tasks and polled its
/// driver, also a `LocalSet`'s task (its waker goes to the worker's defer list, and the set
/// polls it again when its owner is polled again). A local task that yielded was queued at
/// the back of its set's queue and polled again within the same turn of the set (up to 61
/// times), so the runtime's task it waited for had not run: 61 yields instead of 1 here.
#[test]
fn a_yield_in_a_local_task_lets_the_runtime_tasks_run_first() {
    let rt = genrt::Builder::new_current_thread().build().unwrap();
    let yields = Watchdog::new("a local task's yield").run(move || {
        let local = genrt::task::LocalSet::new();
        local.block_on(&rt, async {
            let ran = Arc::new(AtomicBool::new(false));
            // Queued on the runtime before the local task's first poll.
            let task = genrt::spawn({
                let ran = ran.clone();
                async move { ran.store(true, Ordering::Release) }
            });
            let local_task = genrt::task::spawn_local(async move {
                let mut yields = 0;
                while !ran.load(Ordering::Acquire) {
                    yields += 1;
                    genrt::yield_now().await;
                }
                yields
            });
            let yields = local_task.await.unwrap();
            task.await.unwrap();
            yields
        })
    });
    assert_eq!(yields, 1, "one yield lets the runtime's queued task run");
}

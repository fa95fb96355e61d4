//! Shell requests and shell streams driven through a real runtime: values arrive, late
//! resolves hand their value back, nothing a suspended request holds outlives the runtime,
//! and a resolve racing the runtime's drop neither loses nor duplicates a value.
//!
//! Every test body runs under a [`Watchdog`]: a hang fails the test with the last step reached
//! instead of stalling the suite. Nothing here measures time.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::Poll;
use std::thread;

use futures::future::{select, Either};
use genrt::shell::{self, Resolver};
use support::{runtime, settle, Watchdog};

/// A value whose drops are counted per id: it shows that a value is dropped exactly once,
/// wherever it ends up (received, handed back, or dropped inside a dropped request).
struct Token {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

fn drop_counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

// ---------------------------------------------------------------------------------------
// The seed scenario (redbadger/crux #268), written with genrt::shell::request.
// ---------------------------------------------------------------------------------------

#[test]
fn seed_scenario_a_suspended_request_frees_its_task_when_the_runtime_drops() {
    Watchdog::new("seed").run_reporting(|p| {
        let rt = runtime(2);
        let counter = Arc::new(());
        let (request, resolver) = shell::request::<String>();
        let task = {
            let counter = counter.clone();
            rt.spawn(async move {
                let _counter = counter;
                request.await
            })
        };
        settle(&rt, p, "the task suspends on the request");
        assert!(!task.is_finished(), "the task waits for the shell");
        assert!(
            !resolver.is_cancelled(),
            "the suspended task still holds the request"
        );
        assert_eq!(
            Arc::strong_count(&counter),
            2,
            "the suspended task holds the counter"
        );

        p.at("dropping the runtime");
        drop(rt);
        assert_eq!(
            Arc::strong_count(&counter),
            1,
            "dropping the runtime must drop the suspended future and what it captured"
        );
        assert!(resolver.is_cancelled(), "the request went with its task");
        assert_eq!(
            resolver.resolve("late".to_string()),
            Err("late".to_string()),
            "a resolve after the runtime drop hands the value back"
        );
        p.at("awaiting the cancelled task's join handle");
        let err = futures::executor::block_on(task).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
    });
}

#[test]
fn seed_scenario_with_1000_suspended_tasks() {
    Watchdog::new("seed x1000").run_reporting(|p| {
        const TASKS: usize = 1000;
        let rt = runtime(2);
        let counter = Arc::new(());
        let mut resolvers = Vec::with_capacity(TASKS);
        for _ in 0..TASKS {
            let (request, resolver) = shell::request::<usize>();
            let counter = counter.clone();
            drop(rt.spawn(async move {
                let _counter = counter;
                let _ = request.await;
            }));
            resolvers.push(resolver);
        }
        settle(&rt, p, "1000 tasks suspend on their requests");
        assert_eq!(Arc::strong_count(&counter), TASKS + 1);
        assert_eq!(rt.metrics().snapshot().live_tasks, TASKS as u64);
        assert!(resolvers.iter().all(|r| !r.is_cancelled()));

        p.at("dropping the runtime");
        drop(rt);
        assert_eq!(
            Arc::strong_count(&counter),
            1,
            "every suspended future is freed with the runtime"
        );
        for (i, resolver) in resolvers.into_iter().enumerate() {
            assert!(resolver.is_cancelled(), "request {i}");
            assert_eq!(resolver.resolve(i), Err(i), "request {i}");
        }
    });
}

#[test]
fn a_resolved_but_unread_value_is_freed_when_the_runtime_drops() {
    Watchdog::new("unread value").run_reporting(|p| {
        let rt = runtime(2);
        let value = Arc::new(());
        let (gate, open) = shell::request::<()>();
        let (request, resolver) = shell::request::<Arc<()>>();
        let task = rt.spawn(async move {
            gate.await.unwrap();
            request.await.unwrap()
        });
        settle(&rt, p, "the task waits on the gate");
        // The request is alive (its task holds it) but has not been polled yet.
        assert_eq!(resolver.resolve(value.clone()), Ok(()));
        settle(&rt, p, "nothing to run: the gate is still closed");
        assert!(!task.is_finished());
        assert_eq!(Arc::strong_count(&value), 2, "the request keeps the value");

        p.at("dropping the runtime");
        drop(rt);
        assert_eq!(
            Arc::strong_count(&value),
            1,
            "the unread value is dropped with the request"
        );
        assert!(open.is_cancelled());
        assert_eq!(open.resolve(()), Err(()));
        assert!(futures::executor::block_on(task)
            .unwrap_err()
            .is_cancelled());
    });
}

// ---------------------------------------------------------------------------------------
// Resolve, abandon, cancel.
// ---------------------------------------------------------------------------------------

#[test]
fn resolve_from_this_thread_wakes_the_task() {
    Watchdog::new("resolve here").run_reporting(|p| {
        let rt = runtime(2);
        let (request, resolver) = shell::request::<String>();
        let task = rt.spawn(async move { request.await.map(|s| s + "!") });
        settle(&rt, p, "the task suspends");
        assert!(!task.is_finished(), "nothing resolved it yet");
        assert_eq!(resolver.resolve("hello".to_string()), Ok(()));
        p.at("joining the woken task");
        assert_eq!(rt.block_on(task).unwrap(), Ok("hello!".to_string()));
        settle(&rt, p, "after the task finished");
        assert_eq!(rt.metrics().snapshot().live_tasks, 0);
    });
}

#[test]
fn resolve_from_another_thread_wakes_the_task() {
    Watchdog::new("resolve elsewhere").run_reporting(|p| {
        let rt = runtime(2);
        let (request, resolver) = shell::request::<Vec<u32>>();
        let task = rt.spawn(async move { request.await.unwrap().iter().sum::<u32>() });
        settle(&rt, p, "the task suspends");
        assert!(!task.is_finished());
        p.at("resolving from a shell thread");
        thread::spawn(move || resolver.resolve(vec![1, 2, 3, 4]))
            .join()
            .unwrap()
            .unwrap();
        p.at("joining the woken task");
        assert_eq!(rt.block_on(task).unwrap(), 10);
    });
}

#[test]
fn many_requests_resolved_from_another_thread_in_reverse_order_reach_their_tasks() {
    Watchdog::new("many resolves").run_reporting(|p| {
        const TASKS: usize = 200;
        let rt = runtime(2);
        let mut tasks = Vec::new();
        let mut resolvers = Vec::new();
        for i in 0..TASKS {
            let (request, resolver) = shell::request::<usize>();
            tasks.push(rt.spawn(async move { (i, request.await.unwrap()) }));
            resolvers.push(resolver);
        }
        settle(&rt, p, "every task suspends");
        p.at("resolving in reverse from a shell thread");
        let shell = thread::spawn(move || {
            for (i, resolver) in resolvers.into_iter().enumerate().rev() {
                resolver.resolve(i * 10).unwrap();
            }
        });
        for (i, task) in tasks.into_iter().enumerate() {
            p.at(format!("joining task {i}"));
            assert_eq!(rt.block_on(task).unwrap(), (i, i * 10));
        }
        shell.join().unwrap();
    });
}

#[test]
fn resolving_before_the_task_spawns_keeps_the_value() {
    Watchdog::new("resolve before spawn").run_reporting(|p| {
        let rt = runtime(2);
        let (request, resolver) = shell::request::<String>();
        assert_eq!(resolver.resolve("early".to_string()), Ok(()));
        let task = rt.spawn(request);
        p.at("joining");
        assert_eq!(rt.block_on(task).unwrap(), Ok("early".to_string()));
    });
}

#[test]
fn resolving_before_the_task_first_polls_the_request_keeps_the_value() {
    Watchdog::new("resolve before first poll").run_reporting(|p| {
        let rt = runtime(2);
        let (gate, open) = shell::request::<()>();
        let (request, resolver) = shell::request::<String>();
        let task = rt.spawn(async move {
            gate.await.unwrap();
            request.await
        });
        settle(&rt, p, "the task waits on the gate, not on the request");
        assert!(!resolver.is_cancelled());
        assert_eq!(resolver.resolve("kept".to_string()), Ok(()));
        settle(&rt, p, "resolving an unpolled request wakes nothing");
        assert!(!task.is_finished(), "the gate is still closed");
        open.resolve(()).unwrap();
        p.at("joining");
        assert_eq!(rt.block_on(task).unwrap(), Ok("kept".to_string()));
    });
}

#[test]
fn dropping_the_resolver_unresolved_abandons_the_request() {
    Watchdog::new("abandon").run_reporting(|p| {
        let rt = runtime(2);

        // Dropped while the task is suspended on the request: the drop must wake it.
        let (request, resolver) = shell::request::<u32>();
        let task = rt.spawn(request);
        settle(&rt, p, "the task suspends");
        assert!(!task.is_finished());
        p.at("dropping the resolver on a shell thread");
        thread::spawn(move || drop(resolver)).join().unwrap();
        p.at("joining the abandoned task");
        let abandoned = rt.block_on(task).unwrap().unwrap_err();
        assert!(!abandoned.to_string().is_empty());

        // Dropped before the task first polls the request.
        let (request, resolver) = shell::request::<u32>();
        drop(resolver);
        p.at("joining the task whose resolver was gone before it started");
        assert!(rt.block_on(rt.spawn(request)).unwrap().is_err());
    });
}

#[test]
fn resolving_after_the_task_was_aborted_hands_the_value_back() {
    Watchdog::new("abort then resolve").run_reporting(|p| {
        let rt = runtime(2);

        // Aborted while suspended on the request.
        let (request, resolver) = shell::request::<String>();
        let task = rt.spawn(request);
        settle(&rt, p, "the task suspends");
        assert!(!resolver.is_cancelled());
        task.abort();
        p.at("joining the aborted task");
        assert!(rt.block_on(task).unwrap_err().is_cancelled());
        assert!(
            resolver.is_cancelled(),
            "the aborted task dropped the request"
        );
        assert_eq!(
            resolver.resolve("late".to_string()),
            Err("late".to_string())
        );

        // Aborted before it was ever polled.
        let (request, resolver) = shell::request::<String>();
        let task = rt.spawn(request);
        task.abort();
        p.at("joining the task aborted before its first poll");
        // It may have completed first only if it was resolved, which it was not.
        assert!(rt.block_on(task).unwrap_err().is_cancelled());
        assert!(resolver.is_cancelled());
        assert_eq!(
            resolver.resolve("never read".to_string()),
            Err("never read".to_string())
        );
        settle(&rt, p, "after the aborts");
        assert_eq!(rt.metrics().snapshot().live_tasks, 0);
    });
}

#[test]
fn resolving_after_the_task_finished_without_awaiting_hands_the_value_back() {
    Watchdog::new("finished without awaiting").run_reporting(|p| {
        let rt = runtime(2);

        // The task drops the request explicitly.
        let (request, resolver) = shell::request::<String>();
        let task = rt.spawn(async move {
            drop(request);
            7
        });
        p.at("joining the first task");
        assert_eq!(rt.block_on(task).unwrap(), 7);
        assert!(resolver.is_cancelled());
        assert_eq!(resolver.resolve("a".to_string()), Err("a".to_string()));

        // The task holds the request across an await and finishes without polling it.
        let (request, resolver) = shell::request::<String>();
        let task = rt.spawn(async move {
            let _held = request;
            genrt::yield_now().await;
            8
        });
        p.at("joining the second task");
        assert_eq!(rt.block_on(task).unwrap(), 8);
        assert!(resolver.is_cancelled());
        assert_eq!(resolver.resolve("b".to_string()), Err("b".to_string()));
    });
}

#[test]
fn is_cancelled_follows_the_waiting_task() {
    Watchdog::new("is_cancelled").run_reporting(|p| {
        let rt = runtime(1);
        let (request, resolver) = shell::request::<()>();
        let (gate, open) = shell::request::<()>();
        assert!(!resolver.is_cancelled(), "fresh request");
        let task = rt.spawn(async move {
            gate.await.unwrap();
            drop(request);
            // Stay alive after dropping the request: cancellation is about the request,
            // not the task.
            std::future::pending::<()>().await;
        });
        settle(&rt, p, "the task waits on the gate");
        assert!(
            !resolver.is_cancelled(),
            "the suspended task holds the request"
        );
        open.resolve(()).unwrap();
        settle(&rt, p, "the task drops the request and suspends again");
        assert!(!task.is_finished());
        assert!(resolver.is_cancelled(), "the request was dropped");
        assert_eq!(resolver.resolve(()), Err(()));
        task.abort();
        p.at("joining");
        assert!(rt.block_on(task).unwrap_err().is_cancelled());
    });
}

// ---------------------------------------------------------------------------------------
// Several requests in one task.
// ---------------------------------------------------------------------------------------

#[test]
fn two_requests_resolved_out_of_order() {
    Watchdog::new("out of order").run_reporting(|p| {
        let rt = runtime(2);
        let (first, resolve_first) = shell::request::<&'static str>();
        let (second, resolve_second) = shell::request::<&'static str>();
        let task = rt.spawn(async move {
            let a = first.await.unwrap();
            let b = second.await.unwrap();
            format!("{a}{b}")
        });
        settle(&rt, p, "the task waits on the first request");
        resolve_second.resolve("world").unwrap();
        settle(&rt, p, "resolving the second request first moves nothing");
        assert!(
            !task.is_finished(),
            "the task still waits on the first request"
        );
        resolve_first.resolve("hello ").unwrap();
        p.at("joining");
        assert_eq!(rt.block_on(task).unwrap(), "hello world");
    });
}

#[test]
fn two_requests_resolved_before_the_task_first_polls_them() {
    Watchdog::new("both early").run_reporting(|p| {
        let rt = runtime(2);
        let (first, resolve_first) = shell::request::<u32>();
        let (second, resolve_second) = shell::request::<u32>();
        resolve_second.resolve(2).unwrap();
        resolve_first.resolve(1).unwrap();
        let task = rt.spawn(async move { (first.await.unwrap(), second.await.unwrap()) });
        p.at("joining");
        assert_eq!(rt.block_on(task).unwrap(), (1, 2));
    });
}

#[test]
fn select_drops_the_losing_request_and_its_resolver_gets_the_value_back() {
    Watchdog::new("select").run_reporting(|p| {
        let rt = runtime(2);
        let (a, resolve_a) = shell::request::<String>();
        let (b, resolve_b) = shell::request::<String>();
        let task = rt.spawn(async move {
            match select(a, b).await {
                Either::Left((value, b)) => {
                    drop(b);
                    value.unwrap()
                }
                Either::Right(_) => panic!("b was never resolved"),
            }
        });
        settle(&rt, p, "the task waits on both requests");
        assert!(!resolve_a.is_cancelled() && !resolve_b.is_cancelled());
        resolve_a.resolve("a".to_string()).unwrap();
        p.at("joining");
        assert_eq!(rt.block_on(task).unwrap(), "a");
        assert!(
            resolve_b.is_cancelled(),
            "select dropped the losing request"
        );
        assert_eq!(resolve_b.resolve("b".to_string()), Err("b".to_string()));
    });
}

#[test]
fn a_hand_written_poll_that_drops_a_pending_request_hands_its_value_back() {
    Watchdog::new("poll_fn").run_reporting(|p| {
        let rt = runtime(2);
        let (a, resolve_a) = shell::request::<u32>();
        let (b, resolve_b) = shell::request::<u32>();
        let task = rt.spawn(async move {
            // Poll `b` once (it stores this task's waker), then give it up.
            let mut b = Some(b);
            poll_fn(|cx| {
                let mut request = b.take().expect("polled once");
                assert!(Pin::new(&mut request).poll(cx).is_pending());
                drop(request);
                Poll::Ready(())
            })
            .await;
            a.await.unwrap()
        });
        settle(&rt, p, "the task dropped b and waits on a");
        assert!(resolve_b.is_cancelled());
        assert!(!resolve_a.is_cancelled());
        assert_eq!(resolve_b.resolve(5), Err(5));
        settle(&rt, p, "the late resolve of b woke nothing that runs");
        assert!(!task.is_finished());
        resolve_a.resolve(4).unwrap();
        p.at("joining");
        assert_eq!(rt.block_on(task).unwrap(), 4);
    });
}

#[test]
fn select_over_two_resolved_requests_drops_the_unread_value() {
    Watchdog::new("select both resolved").run_reporting(|p| {
        let rt = runtime(2);
        let drops = drop_counters(2);
        let (a, resolve_a) = shell::request::<Token>();
        let (b, resolve_b) = shell::request::<Token>();
        let (gate, open) = shell::request::<()>();
        let task = rt.spawn(async move {
            gate.await.unwrap();
            match select(a, b).await {
                Either::Left((token, _b)) => token.unwrap().id,
                Either::Right((token, _a)) => token.unwrap().id,
            }
        });
        settle(&rt, p, "the task waits on the gate");
        let token = |id| Token {
            id,
            drops: drops.clone(),
        };
        assert!(resolve_a.resolve(token(0)).is_ok());
        assert!(resolve_b.resolve(token(1)).is_ok());
        open.resolve(()).unwrap();
        p.at("joining");
        let winner = rt.block_on(task).unwrap();
        assert!(winner < 2);
        for id in 0..2 {
            assert_eq!(
                drops[id].load(Ordering::SeqCst),
                1,
                "token {id} is dropped exactly once (read or not)"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------
// Streams.
// ---------------------------------------------------------------------------------------

#[test]
fn a_stream_delivers_values_in_order_then_ends_when_the_resolver_drops() {
    Watchdog::new("stream order").run_reporting(|p| {
        let rt = runtime(2);
        let (mut stream, resolver) = shell::stream::<u32>();
        // Some values are queued before the task ever polls the stream.
        for v in 0..10 {
            resolver.send(v).unwrap();
        }
        let task = rt.spawn(async move {
            let mut seen = Vec::new();
            while let Some(v) = stream.next().await {
                seen.push(v);
            }
            // After `None`, the stream stays ended.
            assert_eq!(stream.next().await, None);
            seen
        });
        settle(&rt, p, "the task drained the early values and waits");
        assert!(
            !task.is_finished(),
            "the resolver is alive: the stream has not ended"
        );
        for v in 10..100 {
            resolver.send(v).unwrap();
            if v % 30 == 0 {
                settle(&rt, p, format!("after sending {v}").as_str());
            }
        }
        assert!(!resolver.is_cancelled());
        drop(resolver);
        p.at("joining");
        assert_eq!(rt.block_on(task).unwrap(), (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn sending_after_the_receiving_task_was_aborted_hands_the_value_back() {
    Watchdog::new("stream abort").run_reporting(|p| {
        let rt = runtime(2);
        let (mut stream, resolver) = shell::stream::<String>();
        let received = Arc::new(AtomicUsize::new(0));
        let task = {
            let received = received.clone();
            rt.spawn(async move {
                while stream.next().await.is_some() {
                    received.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        resolver.send("one".to_string()).unwrap();
        settle(&rt, p, "the task received one value");
        assert_eq!(received.load(Ordering::SeqCst), 1);
        task.abort();
        p.at("joining the aborted task");
        assert!(rt.block_on(task).unwrap_err().is_cancelled());
        assert!(resolver.is_cancelled());
        assert_eq!(resolver.send("two".to_string()), Err("two".to_string()));
        assert_eq!(resolver.send("three".to_string()), Err("three".to_string()));
    });
}

#[test]
fn values_queued_for_a_suspended_stream_are_freed_when_the_runtime_drops() {
    Watchdog::new("stream runtime drop").run_reporting(|p| {
        let rt = runtime(2);
        let value = Arc::new(());
        let (gate, open) = shell::request::<()>();
        let (mut stream, resolver) = shell::stream::<Arc<()>>();
        let task = rt.spawn(async move {
            gate.await.unwrap();
            while stream.next().await.is_some() {}
        });
        settle(&rt, p, "the task waits on the gate");
        for _ in 0..5 {
            resolver.send(value.clone()).unwrap();
        }
        assert_eq!(Arc::strong_count(&value), 6);
        p.at("dropping the runtime");
        drop(rt);
        assert_eq!(
            Arc::strong_count(&value),
            1,
            "queued values went with the stream"
        );
        assert!(resolver.is_cancelled());
        let back = resolver.send(value.clone()).unwrap_err();
        assert!(Arc::ptr_eq(&back, &value));
        drop(back);
        assert_eq!(open.resolve(()), Err(()));
        assert!(futures::executor::block_on(task)
            .unwrap_err()
            .is_cancelled());
    });
}

#[test]
fn values_sent_from_four_threads_all_arrive() {
    Watchdog::new("stream four senders").run_reporting(|p| {
        const THREADS: usize = 4;
        const PER_THREAD: usize = 2_000;
        let rt = runtime(2);
        let (mut stream, resolver) = shell::stream::<(usize, usize)>();
        let task = rt.spawn(async move {
            let mut next = [0usize; THREADS];
            let mut count = 0;
            while let Some((sender, seq)) = stream.next().await {
                assert_eq!(
                    seq, next[sender],
                    "sender {sender}'s values arrive in order"
                );
                next[sender] += 1;
                count += 1;
            }
            (count, next)
        });
        p.at("four shell threads sending");
        let start = Barrier::new(THREADS);
        thread::scope(|s| {
            for sender in 0..THREADS {
                let (resolver, start) = (&resolver, &start);
                s.spawn(move || {
                    start.wait();
                    for seq in 0..PER_THREAD {
                        resolver.send((sender, seq)).unwrap();
                        if seq % 64 == 0 {
                            thread::yield_now();
                        }
                    }
                });
            }
        });
        drop(resolver);
        p.at("joining the receiver");
        let (count, next) = rt.block_on(task).unwrap();
        assert_eq!(
            count,
            THREADS * PER_THREAD,
            "every value arrives exactly once"
        );
        assert_eq!(next, [PER_THREAD; THREADS]);
    });
}

/// A shell stream is a `futures` `Stream`: `StreamExt` adapters in a task consume values
/// sent from two threads, and `futures::select!` (which needs `FusedFuture`s: `next`'s is one)
/// skips a stream once it has ended while another one still yields.
#[test]
fn a_stream_works_with_stream_ext_and_futures_select() {
    use futures::stream::{FusedStream, StreamExt};

    Watchdog::new("stream as futures::Stream").run_reporting(|p| {
        let rt = runtime(2);
        let (stream, resolver) = shell::stream::<u64>();
        let sum = rt.spawn(async move {
            stream
                .filter(|v| std::future::ready(v % 2 == 0))
                .map(|v| v * 10)
                .fold(0, |acc, v| async move { acc + v })
                .await
        });
        p.at("two threads sending 0..1000 each");
        thread::scope(|s| {
            for _ in 0..2 {
                let resolver = &resolver;
                s.spawn(move || {
                    for v in 0..1_000u64 {
                        resolver.send(v).unwrap();
                    }
                });
            }
        });
        drop(resolver);
        let even: u64 = (0..1_000u64).filter(|v| v % 2 == 0).sum();
        assert_eq!(rt.block_on(sum).unwrap(), 2 * 10 * even);

        p.at("futures::select! over an ended stream and a live one");
        let (mut ended, ended_resolver) = shell::stream::<&str>();
        let (mut live, live_resolver) = shell::stream::<&str>();
        ended_resolver.send("last").unwrap();
        drop(ended_resolver);
        let feeder = thread::spawn(move || {
            for word in ["a", "b", "c"] {
                live_resolver.send(word).unwrap();
            }
        });
        let seen = rt.block_on(rt.spawn(async move {
            let mut seen = Vec::new();
            loop {
                futures::select! {
                    word = ended.next() => match word {
                        Some(word) => seen.push(word),
                        None => seen.push("ended"),
                    },
                    word = live.next() => match word {
                        Some(word) => seen.push(word),
                        None => seen.push("live ended"),
                    },
                    // Both streams terminated: `select!` polls neither again.
                    complete => break,
                }
            }
            assert!(ended.is_terminated() && live.is_terminated());
            seen
        }));
        feeder.join().unwrap();
        let seen = seen.unwrap();
        let mut live_words: Vec<&str> = seen
            .iter()
            .copied()
            .filter(|w| ["a", "b", "c"].contains(w))
            .collect();
        live_words.dedup();
        assert_eq!(live_words, ["a", "b", "c"], "{seen:?}");
        assert_eq!(
            seen.iter().filter(|w| **w == "last").count(),
            1,
            "the ended stream's buffered value arrives once: {seen:?}"
        );
        // `select!` skips a terminated stream: each yields `None` at most once before
        // `is_terminated` takes it out (it is terminated as soon as it is empty and its
        // resolver gone, so `select!` may skip it before its `None`).
        for end in ["ended", "live ended"] {
            assert!(seen.iter().filter(|w| **w == end).count() <= 1, "{seen:?}");
        }
    });
}

// ---------------------------------------------------------------------------------------
// A resolve racing the runtime's drop.
// ---------------------------------------------------------------------------------------

#[test]
fn resolves_racing_the_runtime_drop_from_four_threads_lose_nothing() {
    Watchdog::new("resolve vs drop").run_reporting(|p| {
        const ROUNDS: usize = 1_000;
        const TASKS: usize = 8;
        const THREADS: usize = 4;
        let (mut total_ok, mut total_err, mut total_received) = (0, 0, 0);
        for round in 0..ROUNDS {
            p.at(format!("round {round}: setting up"));
            let rt = runtime(1);
            let keep = Arc::new(());
            let drops = drop_counters(TASKS);
            let received = Arc::new(Mutex::new(Vec::new()));
            let abandoned = Arc::new(AtomicUsize::new(0));
            let mut shells: Vec<Vec<(usize, Resolver<Token>)>> =
                (0..THREADS).map(|_| Vec::new()).collect();
            for id in 0..TASKS {
                let (request, resolver) = shell::request::<Token>();
                let (keep, received, abandoned) =
                    (keep.clone(), received.clone(), abandoned.clone());
                drop(rt.spawn(async move {
                    let _keep = keep;
                    match request.await {
                        Ok(token) => received.lock().unwrap().push(token.id),
                        Err(_) => {
                            abandoned.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }));
                shells[id % THREADS].push((id, resolver));
            }
            // Half the rounds race against suspended tasks, half against tasks that may not
            // have been polled yet.
            if round % 2 == 0 {
                settle(&rt, p, &format!("round {round}: tasks suspend"));
            }

            p.at(format!("round {round}: racing"));
            let start = Barrier::new(THREADS + 1);
            let outcomes: Vec<(usize, bool)> = thread::scope(|s| {
                let threads: Vec<_> = shells
                    .into_iter()
                    .map(|mine| {
                        let (start, drops) = (&start, &drops);
                        s.spawn(move || {
                            start.wait();
                            mine.into_iter()
                                .map(|(id, resolver)| {
                                    let token = Token {
                                        id,
                                        drops: drops.clone(),
                                    };
                                    match resolver.resolve(token) {
                                        Ok(()) => (id, true),
                                        Err(back) => {
                                            assert_eq!(back.id, id, "the value comes back intact");
                                            (id, false)
                                        }
                                    }
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                start.wait();
                drop(rt);
                threads
                    .into_iter()
                    .flat_map(|t| t.join().expect("a resolver thread panicked"))
                    .collect()
            });

            p.at(format!("round {round}: checking"));
            assert_eq!(
                Arc::strong_count(&keep),
                1,
                "round {round}: every future was dropped with the runtime"
            );
            assert_eq!(abandoned.load(Ordering::SeqCst), 0, "round {round}");
            assert_eq!(outcomes.len(), TASKS, "round {round}");
            let received = received.lock().unwrap().clone();
            let mut sorted = received.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                sorted.len(),
                received.len(),
                "round {round}: a value arrived twice"
            );
            for &(id, ok) in &outcomes {
                assert_eq!(
                    drops[id].load(Ordering::SeqCst),
                    1,
                    "round {round}: value {id} (resolve ok: {ok}) must be dropped exactly once"
                );
                if !ok {
                    assert!(
                        !received.contains(&id),
                        "round {round}: value {id} was handed back and also received"
                    );
                }
            }
            total_ok += outcomes.iter().filter(|(_, ok)| *ok).count();
            total_err += outcomes.iter().filter(|(_, ok)| !*ok).count();
            total_received += received.len();
        }
        assert_eq!(total_ok + total_err, ROUNDS * TASKS);
        assert!(total_received <= total_ok);
        eprintln!(
            "resolve vs drop: {total_ok} resolves accepted ({total_received} received by their \
             task, the rest dropped with the runtime), {total_err} handed back"
        );
    });
}

/// A waker that runs a closure when its last clone is dropped.
struct OnDrop(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl std::task::Wake for OnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.lock().unwrap().take() {
            f();
        }
    }
}

fn on_drop(f: impl FnOnce() + Send + 'static) -> std::task::Waker {
    std::task::Waker::from(Arc::new(OnDrop(Mutex::new(Some(Box::new(f))))))
}

/// A request polled again with another waker drops the one it held after its lock (as
/// Tokio's `replace_parent_waker_drops_outside_lock` asks of a `JoinSet`): here the old
/// waker's drop resolves the request itself, which takes that lock.
#[test]
fn a_request_drops_the_waker_it_replaces_outside_its_lock() {
    Watchdog::new("request: replaced waker resolves on drop").run(|| {
        let (mut request, resolver) = shell::request::<u32>();
        let first = on_drop(move || resolver.resolve(7).unwrap());
        let noop = futures::task::noop_waker_ref();
        assert!(Pin::new(&mut request)
            .poll(&mut std::task::Context::from_waker(&first))
            .is_pending());
        drop(first);
        let second = Pin::new(&mut request).poll(&mut std::task::Context::from_waker(noop));
        let value = match second {
            Poll::Ready(value) => value,
            Poll::Pending => futures::executor::block_on(request),
        };
        assert_eq!(value.unwrap(), 7);
    });
}

/// The same for a stream: the old waker's drop sends a value, which takes the stream's lock.
#[test]
fn a_stream_drops_the_waker_it_replaces_outside_its_lock() {
    Watchdog::new("stream: replaced waker sends on drop").run(|| {
        let (mut stream, sender) = shell::stream::<u32>();
        let first = on_drop(move || sender.send(9).unwrap());
        let noop = futures::task::noop_waker_ref();
        assert!(stream
            .poll_next(&mut std::task::Context::from_waker(&first))
            .is_pending());
        drop(first);
        let second = stream.poll_next(&mut std::task::Context::from_waker(noop));
        let value = match second {
            Poll::Ready(value) => value,
            Poll::Pending => futures::executor::block_on(stream.next()),
        };
        assert_eq!(value, Some(9));
    });
}

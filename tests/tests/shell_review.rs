//! An adversarial review of `genrt::shell`: resolves and sends racing the waiting task's
//! first poll, its abort, its own poll, the stream's drop, and the request moving between
//! tasks. Every value must be delivered, handed back or dropped exactly once, and no wake
//! lost.
//!
//! Every test body runs under a [`Watchdog`]; nothing here measures time.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use std::task::Poll;
use std::thread;

use genrt::shell;
use support::{runtime, Watchdog};

/// A value whose drops are counted per id.
struct Token {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, SeqCst);
    }
}

fn drop_counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn assert_each_dropped_once(drops: &[AtomicUsize]) {
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(count.load(SeqCst), 1, "token {id} dropped {count:?} times");
    }
}

/// Resolves from four threads race the aborts of the tasks waiting for them: each value is
/// received by its task, handed back by `resolve`, or dropped with the aborted task's
/// request, exactly once; a task that was not aborted always gets its value.
#[test]
fn resolves_racing_aborts_from_four_threads_drop_each_value_exactly_once() {
    Watchdog::new("resolves racing aborts").run_reporting(|p| {
        const TASKS: usize = 2_000;
        const THREADS: usize = 4;
        let rt = runtime(2);
        let drops = drop_counters(TASKS);
        let mut tasks = Vec::new();
        let mut resolvers: Vec<Vec<(usize, shell::Resolver<Token>)>> =
            (0..THREADS).map(|_| Vec::new()).collect();
        for id in 0..TASKS {
            let (request, resolver) = shell::request::<Token>();
            tasks.push(rt.spawn(async move { request.await.map(|t| t.id) }));
            resolvers[id % THREADS].push((id, resolver));
        }
        let start = Arc::new(Barrier::new(THREADS + 1));
        let shells: Vec<_> = resolvers
            .into_iter()
            .map(|mine| {
                let (start, drops) = (start.clone(), drops.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut handed_back = Vec::new();
                    for (id, resolver) in mine {
                        let token = Token {
                            id,
                            drops: drops.clone(),
                        };
                        if let Err(token) = resolver.resolve(token) {
                            handed_back.push(token.id);
                        }
                    }
                    handed_back
                })
            })
            .collect();
        p.at("aborting every third task while the shells resolve");
        start.wait();
        for (id, task) in tasks.iter().enumerate() {
            if id % 3 == 0 {
                task.abort();
            }
        }
        let mut handed_back = Vec::new();
        for shell in shells {
            handed_back.extend(shell.join().unwrap());
        }
        p.at("joining the tasks");
        for (id, task) in tasks.into_iter().enumerate() {
            match rt.block_on(task) {
                Ok(Ok(got)) => assert_eq!(got, id),
                Ok(Err(abandoned)) => panic!("task {id}: {abandoned}"),
                Err(e) => {
                    assert!(e.is_cancelled(), "task {id}: {e:?}");
                    assert_eq!(id % 3, 0, "task {id} was cancelled but never aborted");
                }
            }
        }
        for id in handed_back {
            assert_eq!(id % 3, 0, "resolve of task {id} handed its value back");
        }
        drop(rt);
        assert_each_dropped_once(&drops);
    });
}

/// Many rounds of a task spawned and its request resolved at once from another thread,
/// racing the task's first poll (its waker registration): none is lost.
#[test]
fn resolve_racing_the_first_poll_is_never_lost() {
    Watchdog::new("resolve racing the first poll").run_reporting(|p| {
        const ROUNDS: usize = 5_000;
        let rt = runtime(2);
        let (tx, rx) = mpsc::channel::<shell::Resolver<usize>>();
        let shell = thread::spawn(move || {
            for (i, resolver) in rx.iter().enumerate() {
                resolver.resolve(i).unwrap();
            }
        });
        let mut tasks = Vec::new();
        for i in 0..ROUNDS {
            let (request, resolver) = shell::request::<usize>();
            tasks.push((i, rt.spawn(request)));
            tx.send(resolver).unwrap();
        }
        drop(tx);
        p.at("joining the tasks");
        for (i, task) in tasks {
            assert_eq!(rt.block_on(task).unwrap(), Ok(i), "round {i}");
        }
        shell.join().unwrap();
    });
}

/// The same on a current-thread runtime: the wake comes from another thread while the only
/// thread driving the runtime is parked in `block_on`.
#[test]
fn resolve_from_another_thread_wakes_a_current_thread_runtime() {
    Watchdog::new("resolve on current-thread").run_reporting(|p| {
        const ROUNDS: usize = 1_000;
        let rt = genrt::Builder::new_current_thread().build().unwrap();
        for i in 0..ROUNDS {
            p.at_round("a round", i);
            let (request, resolver) = shell::request::<usize>();
            let task = rt.spawn(async move { request.await.unwrap() + 1 });
            let shell = thread::spawn(move || resolver.resolve(i).unwrap());
            assert_eq!(rt.block_on(task).unwrap(), i + 1);
            shell.join().unwrap();
        }
    });
}

/// A task resolves its own request in the poll that registered its waker: the wake arrives
/// while the task is running, and must make it run again.
#[test]
fn a_task_resolving_its_own_request_mid_poll_is_polled_again() {
    Watchdog::new("resolve during the own poll").run_reporting(|p| {
        let rt = runtime(2);
        for round in 0..500u32 {
            p.at_round("a round", round as usize);
            let task = rt.spawn(async move {
                let (mut request, resolver) = shell::request::<u32>();
                let mut resolver = Some(resolver);
                poll_fn(|cx| match Pin::new(&mut request).poll(cx) {
                    Poll::Ready(v) => Poll::Ready(v),
                    Poll::Pending => {
                        if let Some(resolver) = resolver.take() {
                            resolver.resolve(round).unwrap();
                        }
                        Poll::Pending
                    }
                })
                .await
            });
            assert_eq!(rt.block_on(task).unwrap(), Ok(round));
        }
    });
}

/// A request polled once by one task and then awaited by another: the resolve wakes the
/// task that polled it last (the first one's waker is replaced, not kept).
#[test]
fn a_request_moved_to_another_task_wakes_the_task_that_awaits_it() {
    Watchdog::new("a request moving between tasks").run_reporting(|p| {
        let rt = runtime(2);
        let (request, resolver) = shell::request::<u8>();
        let (tx, rx) = mpsc::channel();
        let first = rt.spawn(async move {
            let mut request = request;
            // One poll, then hand the (pending) request on.
            let polled =
                poll_fn(|cx| Poll::Ready(Pin::new(&mut request).poll(cx).is_pending())).await;
            assert!(polled);
            tx.send(request).unwrap();
        });
        rt.block_on(first).unwrap();
        let request = support::recv(&rx, "the request from the first task");
        let second = rt.spawn(request);
        support::settle(&rt, p, "the second task suspends on the request");
        assert!(!second.is_finished());
        resolver.resolve(9).unwrap();
        p.at("joining the second task");
        assert_eq!(rt.block_on(second).unwrap(), Ok(9));
    });
}

/// Sends from four threads race the receiving task's abort: each value is received, handed
/// back by `send`, or dropped with the stream, exactly once.
#[test]
fn sends_racing_the_streams_abort_drop_each_value_exactly_once() {
    Watchdog::new("sends racing the stream's drop").run_reporting(|p| {
        const THREADS: usize = 4;
        const PER: usize = 5_000;
        let rt = runtime(2);
        let drops = drop_counters(THREADS * PER);
        let (mut stream, resolver) = shell::stream::<Token>();
        let received = Arc::new(AtomicUsize::new(0));
        let task = {
            let received = received.clone();
            rt.spawn(async move {
                while let Some(token) = stream.next().await {
                    drop(token);
                    received.fetch_add(1, SeqCst);
                }
            })
        };
        let resolver = Arc::new(resolver);
        let start = Arc::new(Barrier::new(THREADS + 1));
        let senders: Vec<_> = (0..THREADS)
            .map(|t| {
                let (resolver, start, drops) = (resolver.clone(), start.clone(), drops.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut handed_back = 0;
                    for i in 0..PER {
                        let token = Token {
                            id: t * PER + i,
                            drops: drops.clone(),
                        };
                        if resolver.send(token).is_err() {
                            handed_back += 1;
                        }
                    }
                    handed_back
                })
            })
            .collect();
        start.wait();
        p.at("aborting the receiving task mid-stream");
        support::wait_until("some values arrive", || received.load(SeqCst) > 100);
        task.abort();
        let handed_back: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
        p.at("joining the aborted task");
        let _ = rt.block_on(task);
        assert!(resolver.is_cancelled(), "the stream went with its task");
        drop(resolver);
        drop(rt);
        // Received, handed back, or dropped in the stream: never two of them.
        assert!(received.load(SeqCst) + handed_back <= THREADS * PER);
        assert_each_dropped_once(&drops);
    });
}

//! `Runtime::settle` and `Runtime::try_settle`: the host-driven loop of a synchronous shell
//! (push an event, settle, collect every effect the tasks emitted).
//!
//! The guarantee under test: when `settle` returns there was an instant during the call at
//! which no task was queued or running, and it waited for every task spawned or woken before
//! the call and for everything those spawn or wake in turn. Wakes from a foreign thread
//! *during* the call may land on either side; a second `settle` after them takes them in.
//!
//! Every test body runs under [`bounded`]: a hang (a `settle` that never returns) fails the
//! test with the last step reached. Nothing here measures time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use genrt::shell::{self, Resolver};
use genrt::JoinError;
use support::{runtime, Progress, Watchdog, DEADLINE};

/// Runs `body` under a [`Watchdog`] that names the likely culprit of a hang in this file.
#[track_caller]
fn bounded(name: &str, body: impl FnOnce(&Progress) + Send + 'static) {
    Watchdog::new(name)
        .suspect("a settle that never returns?")
        .run_reporting(body);
}

/// The message of a task's panic, failing unless the task panicked with a string.
fn panic_message(err: JoinError) -> String {
    assert!(err.is_panic(), "expected a panic, got {err:?}");
    let payload = err.into_panic();
    support::panic_message(&*payload)
        .expect("a string panic message")
        .to_string()
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

// ---------------------------------------------------------------------------------------
// Transitive spawns and wakes.
// ---------------------------------------------------------------------------------------

const FANOUT: usize = 3;
const DEPTH: u32 = 5;
/// 1 + 3 + 9 + 27 + 81 + 243.
const TREE_NODES: usize = 364;

/// A node yields once, spawns `FANOUT` children one level down, and counts itself done.
fn node(depth: u32, done: Arc<AtomicUsize>) -> BoxFuture {
    Box::pin(async move {
        genrt::yield_now().await;
        if depth > 0 {
            for _ in 0..FANOUT {
                drop(genrt::spawn(node(depth - 1, done.clone())));
            }
        }
        done.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn settle_waits_for_a_tree_of_transitive_spawns() {
    bounded("spawn tree", |p| {
        assert_eq!(
            (0..=DEPTH).map(|d| FANOUT.pow(d)).sum::<usize>(),
            TREE_NODES
        );
        for workers in [1, 4] {
            let rt = runtime(workers);
            let done = Arc::new(AtomicUsize::new(0));
            for round in 1..=20 {
                drop(rt.spawn(node(DEPTH, done.clone())));
                p.at(format!("{workers} workers, round {round}: settle"));
                rt.settle();
                assert_eq!(
                    done.load(Ordering::SeqCst),
                    TREE_NODES * round,
                    "{workers} workers, round {round}: settle returned before the whole tree ran"
                );
                let m = rt.metrics().snapshot();
                assert_eq!(m.live_tasks, 0, "{workers} workers, round {round}: {m:?}");
                assert_eq!(m.spawned, (TREE_NODES * round) as u64, "{m:?}");
                assert_eq!(m.completed, m.spawned, "{m:?}");
            }
        }
    });
}

/// Spawns the next link and finishes at once, without ever yielding: the parent is gone
/// before its child runs.
fn link(remaining: usize, done: Arc<AtomicUsize>) -> BoxFuture {
    Box::pin(async move {
        if remaining > 1 {
            drop(genrt::spawn(link(remaining - 1, done.clone())));
        }
        done.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn settle_waits_for_a_chain_of_spawns_whose_parents_finish_first() {
    bounded("spawn chain", |p| {
        const LINKS: usize = 1_000;
        let rt = runtime(2);
        let done = Arc::new(AtomicUsize::new(0));
        for round in 1..=10 {
            drop(rt.spawn(link(LINKS, done.clone())));
            p.at(format!("round {round}: settle"));
            rt.settle();
            assert_eq!(
                done.load(Ordering::SeqCst),
                LINKS * round,
                "round {round}: settle returned in the middle of the chain"
            );
            assert_eq!(rt.metrics().snapshot().live_tasks, 0);
        }
    });
}

#[test]
fn settle_waits_for_a_chain_of_wakes_between_tasks() {
    // Task i waits on request i, then resolves request i + 1 from inside the runtime. The
    // host resolves request 0 and settles: every task is woken transitively before settle
    // may return.
    bounded("wake chain", |p| {
        const TASKS: usize = 200;
        let rt = runtime(2);
        for round in 0..10 {
            let done = Arc::new(AtomicUsize::new(0));
            let mut requests = Vec::new();
            let mut resolvers = Vec::new();
            for _ in 0..=TASKS {
                let (request, resolver) = shell::request::<usize>();
                requests.push(request);
                resolvers.push(resolver);
            }
            let mut resolvers = resolvers.into_iter();
            let resolve_first = resolvers.next().expect("request 0");
            let mut requests = requests.into_iter();
            // Task i owns request i and the resolver of request i + 1.
            for (i, resolve_next) in resolvers.enumerate() {
                let mine = requests.next().expect("request i");
                let done = done.clone();
                drop(rt.spawn(async move {
                    let hops = mine.await.expect("resolved by the previous task");
                    assert_eq!(hops, i);
                    done.fetch_add(1, Ordering::SeqCst);
                    resolve_next.resolve(hops + 1).expect("the next task waits");
                }));
            }
            let last = requests.next().expect("the last request");
            p.at(format!("round {round}: tasks suspend"));
            rt.settle();
            assert_eq!(done.load(Ordering::SeqCst), 0, "nothing resolved yet");
            resolve_first.resolve(0).unwrap();
            p.at(format!("round {round}: settle after starting the chain"));
            rt.settle();
            assert_eq!(
                done.load(Ordering::SeqCst),
                TASKS,
                "round {round}: settle returned before the wake chain finished"
            );
            assert_eq!(rt.metrics().snapshot().live_tasks, 0);
            p.at(format!("round {round}: reading the end of the chain"));
            assert_eq!(rt.block_on(last), Ok(TASKS));
        }
    });
}

#[test]
fn each_settle_takes_in_the_wake_the_host_issued_before_it() {
    // The Crux host loop: send one event, settle, observe. A value sent before `settle` is
    // a wake before the call, so the task (and the child it spawns) has run when it returns.
    bounded("host steps", |p| {
        const STEPS: u64 = 1_000;
        let rt = runtime(2);
        let (mut events, send) = shell::stream::<u64>();
        let seen = Arc::new(AtomicU64::new(0));
        let children = Arc::new(AtomicU64::new(0));
        let task = {
            let (seen, children) = (seen.clone(), children.clone());
            rt.spawn(async move {
                while let Some(event) = events.next().await {
                    seen.store(event, Ordering::SeqCst);
                    let children = children.clone();
                    drop(genrt::spawn(async move {
                        genrt::yield_now().await;
                        children.fetch_add(1, Ordering::SeqCst);
                    }));
                }
            })
        };
        for step in 1..=STEPS {
            send.send(step).unwrap();
            p.at(format!("step {step}: settle"));
            rt.settle();
            assert_eq!(
                seen.load(Ordering::SeqCst),
                step,
                "step {step}: settle returned before the woken task ran"
            );
            assert_eq!(
                children.load(Ordering::SeqCst),
                step,
                "step {step}: settle returned before the spawned child ran"
            );
            assert_eq!(
                rt.metrics().snapshot().live_tasks,
                1,
                "step {step}: only the event loop is left"
            );
        }
        drop(send);
        p.at("joining the event loop");
        rt.block_on(task).unwrap();
    });
}

// ---------------------------------------------------------------------------------------
// Wakes from a shell thread during the settle.
// ---------------------------------------------------------------------------------------

#[test]
fn requests_resolved_during_a_settle_are_taken_in_by_the_next_one() {
    bounded("resolve during settle", |p| {
        const TASKS: usize = 200;
        let rt = runtime(2);
        for round in 0..20 {
            let finished = Arc::new(AtomicUsize::new(0));
            let suspended = Arc::new(AtomicUsize::new(0));
            let children = Arc::new(AtomicUsize::new(0));
            let effects: Arc<Mutex<Vec<Resolver<()>>>> = Arc::new(Mutex::new(Vec::new()));
            let mut resolvers = Vec::new();
            for _ in 0..TASKS {
                let (request, resolver) = shell::request::<usize>();
                resolvers.push(resolver);
                let (finished, suspended, children, effects) = (
                    finished.clone(),
                    suspended.clone(),
                    children.clone(),
                    effects.clone(),
                );
                drop(rt.spawn(async move {
                    let value = request.await.expect("the shell resolves every request");
                    // Some work the settle must also wait for.
                    drop(genrt::spawn(async move {
                        genrt::yield_now().await;
                        children.fetch_add(1, Ordering::SeqCst);
                    }));
                    if value % 2 == 0 {
                        finished.fetch_add(1, Ordering::SeqCst);
                    } else {
                        // Emit a new effect and suspend on it.
                        let (next, resolver) = shell::request::<()>();
                        effects.lock().unwrap().push(resolver);
                        suspended.fetch_add(1, Ordering::SeqCst);
                        let _ = next.await;
                    }
                }));
            }
            p.at(format!("round {round}: tasks suspend"));
            rt.settle();
            assert_eq!(
                rt.metrics().snapshot().live_tasks,
                TASKS as u64,
                "round {round}"
            );

            let start = Arc::new(Barrier::new(2));
            let shell_thread = {
                let start = start.clone();
                thread::spawn(move || {
                    start.wait();
                    for (i, resolver) in resolvers.into_iter().enumerate() {
                        resolver.resolve(i).unwrap();
                        if i % 16 == 0 {
                            thread::yield_now();
                        }
                    }
                })
            };
            start.wait();
            p.at(format!("round {round}: settle while the shell resolves"));
            rt.settle();
            p.at(format!("round {round}: joining the shell thread"));
            shell_thread.join().unwrap();
            p.at(format!("round {round}: second settle"));
            rt.settle();

            let (f, s) = (
                finished.load(Ordering::SeqCst),
                suspended.load(Ordering::SeqCst),
            );
            assert_eq!(f, TASKS / 2, "round {round}: tasks that finished");
            assert_eq!(
                s,
                TASKS / 2,
                "round {round}: tasks suspended on a new effect"
            );
            assert_eq!(children.load(Ordering::SeqCst), TASKS, "round {round}");
            let mut effects = effects.lock().unwrap();
            assert_eq!(
                effects.len(),
                s,
                "round {round}: every emitted effect is visible"
            );
            assert_eq!(
                rt.metrics().snapshot().live_tasks,
                s as u64,
                "round {round}: only the suspended tasks are left"
            );
            // Resolve the effects so the next round starts from an empty runtime.
            for resolver in effects.drain(..) {
                resolver.resolve(()).unwrap();
            }
            drop(effects);
            p.at(format!("round {round}: settle after the effects"));
            rt.settle();
            assert_eq!(rt.metrics().snapshot().live_tasks, 0, "round {round}");
        }
    });
}

// ---------------------------------------------------------------------------------------
// Effects visible after settle.
// ---------------------------------------------------------------------------------------

#[test]
fn after_settle_the_host_sees_every_emitted_effect() {
    bounded("effects", |p| {
        const TASKS: usize = 100;
        const CYCLES: u64 = 5;
        let rt = runtime(2);
        type Effect = (usize, u64, Resolver<u64>);
        let effects: Arc<Mutex<Vec<Effect>>> = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for id in 0..TASKS {
            let effects = effects.clone();
            tasks.push(rt.spawn(async move {
                let mut total = 0;
                for cycle in 0..CYCLES {
                    let (request, resolver) = shell::request::<u64>();
                    effects.lock().unwrap().push((id, cycle, resolver));
                    total += request.await.expect("the host answers every effect");
                }
                total
            }));
        }
        for cycle in 0..CYCLES {
            p.at(format!("cycle {cycle}: settle"));
            rt.settle();
            let batch = std::mem::take(&mut *effects.lock().unwrap());
            assert_eq!(
                batch.len(),
                TASKS,
                "cycle {cycle}: settle returned before every task emitted its effect"
            );
            assert_eq!(
                rt.metrics().snapshot().live_tasks,
                TASKS as u64,
                "cycle {cycle}"
            );
            let mut ids: Vec<usize> = batch.iter().map(|(id, _, _)| *id).collect();
            ids.sort_unstable();
            assert_eq!(
                ids,
                (0..TASKS).collect::<Vec<_>>(),
                "cycle {cycle}: one effect per task"
            );
            for (id, emitted_in, resolver) in batch {
                assert_eq!(emitted_in, cycle, "task {id}");
                resolver.resolve(id as u64 + cycle).unwrap();
            }
        }
        p.at("final settle");
        rt.settle();
        assert!(effects.lock().unwrap().is_empty());
        assert_eq!(rt.metrics().snapshot().live_tasks, 0);
        for (id, task) in tasks.into_iter().enumerate() {
            assert!(task.is_finished(), "task {id}");
            p.at(format!("joining task {id}"));
            let expected = (0..CYCLES).map(|c| id as u64 + c).sum::<u64>();
            assert_eq!(rt.block_on(task).unwrap(), expected);
        }
    });
}

// ---------------------------------------------------------------------------------------
// Busy runtimes, idle runtimes.
// ---------------------------------------------------------------------------------------

#[test]
fn try_settle_gives_up_on_a_task_that_never_suspends_and_succeeds_after_abort() {
    bounded("busy", |p| {
        let rt = runtime(2);
        // A suspended task next to the busy one does not count as activity.
        let (request, resolver) = shell::request::<()>();
        let waiting = rt.spawn(request);
        let spins = Arc::new(AtomicU64::new(0));
        let busy = {
            let spins = spins.clone();
            rt.spawn(async move {
                loop {
                    spins.fetch_add(1, Ordering::Relaxed);
                    genrt::yield_now().await;
                }
            })
        };
        p.at("try_settle while a task loops on yield_now");
        assert!(
            !rt.try_settle(Duration::from_millis(50)),
            "a task looping on yield_now keeps the runtime busy"
        );
        assert!(!busy.is_finished());
        busy.abort();
        p.at("try_settle after the abort");
        assert!(rt.try_settle(DEADLINE), "the aborted task no longer runs");
        p.at("settle after the abort");
        rt.settle();
        assert!(busy.is_finished());
        assert!(rt.block_on(busy).unwrap_err().is_cancelled());
        assert!(spins.load(Ordering::Relaxed) > 0);
        assert!(!waiting.is_finished(), "the suspended task is still there");
        assert_eq!(rt.metrics().snapshot().live_tasks, 1);
        resolver.resolve(()).unwrap();
        p.at("joining the suspended task");
        assert_eq!(rt.block_on(waiting).unwrap(), Ok(()));
    });
}

#[test]
fn settle_returns_on_an_idle_runtime() {
    bounded("idle", |p| {
        let rt = runtime(2);
        p.at("settle on a fresh runtime");
        rt.settle();
        // A worker thread that has not entered its loop yet does not hold a settle back, but
        // once it does it is present until it parks for the first time: a `try_settle(ZERO)`
        // at that instant says "not settled". Wait until each worker has parked once.
        p.at("every worker parks once");
        support::wait_until("every worker parked once", || {
            let metrics = rt.metrics();
            (0..metrics.num_workers()).all(|worker| metrics.worker_park_count(worker) >= 1)
        });
        assert!(rt.try_settle(Duration::ZERO), "a fresh runtime is settled");
        p.at("settle after finished tasks");
        for i in 0..10 {
            assert_eq!(rt.block_on(rt.spawn(async move { i })).unwrap(), i);
        }
        rt.settle();
        assert!(rt.try_settle(Duration::ZERO));
        let m = rt.metrics().snapshot();
        assert_eq!((m.spawned, m.completed, m.live_tasks), (10, 10, 0));
    });
}

#[test]
fn settle_from_a_block_on_thread_is_allowed() {
    // Only worker threads are refused; a thread inside `block_on` is the host.
    bounded("settle in block_on", |p| {
        let rt = runtime(2);
        let done = Arc::new(AtomicUsize::new(0));
        p.at("block_on that settles");
        let seen = rt.block_on(async {
            for _ in 0..10 {
                let done = done.clone();
                drop(genrt::spawn(async move {
                    genrt::yield_now().await;
                    done.fetch_add(1, Ordering::SeqCst);
                }));
            }
            rt.settle();
            done.load(Ordering::SeqCst)
        });
        assert_eq!(seen, 10);
    });
}

// ---------------------------------------------------------------------------------------
// settle inside a task.
// ---------------------------------------------------------------------------------------

#[test]
fn settle_inside_a_task_panics_with_a_message_about_settle() {
    bounded("settle in a task", |p| {
        let rt = Arc::new(runtime(2));

        let inner = rt.clone();
        let task = rt.spawn(async move { inner.settle() });
        p.at("joining the task that settles its own runtime");
        let message = panic_message(rt.block_on(task).unwrap_err());
        assert!(message.contains("settle"), "{message}");

        let inner = rt.clone();
        let task = rt.spawn(async move { inner.try_settle(Duration::from_millis(1)) });
        p.at("joining the task that try_settles its own runtime");
        let message = panic_message(rt.block_on(task).unwrap_err());
        assert!(message.contains("settle"), "{message}");

        // Another runtime's settle is refused on a worker thread too.
        let other = runtime(1);
        let task = rt.spawn(async move { other.settle() });
        p.at("joining the task that settles another runtime");
        let message = panic_message(rt.block_on(task).unwrap_err());
        assert!(message.contains("settle"), "{message}");

        // The runtime is unharmed: it still runs tasks and settles from the host.
        p.at("the runtime after the panics");
        assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
        rt.settle();
        assert_eq!(rt.metrics().snapshot().live_tasks, 0);
        assert_eq!(
            Arc::strong_count(&rt),
            1,
            "the panicked tasks dropped their clones"
        );
    });
}

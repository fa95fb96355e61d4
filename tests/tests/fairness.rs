//! Fairness: a runnable task is polled within a bounded number of other polls on its worker,
//! whatever the other tasks do. Each test builds a workload that never lets the runtime go
//! idle (tasks that wake each other forever, tasks that yield forever) and checks that a
//! task queued behind it, by each route a key can take (the LIFO slot, the deque, the
//! injector, the deferred list of yields), still runs.
//!
//! Every wait is bounded ([`wait_for`]): a starved task fails the test instead of hanging it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::channel::mpsc;
use futures::stream::{FuturesUnordered, StreamExt};

use support::{drop_runtime, runtime, wait_for, wait_until};

/// Spawns two tasks that send a message back and forth over unbounded channels forever: each
/// one's send wakes the other, so on a worker the pair keeps its LIFO slot and its deque
/// busy. Returns a counter of round trips.
fn spawn_ping_pong(rt: &genrt::Runtime) -> Arc<AtomicUsize> {
    let rounds = Arc::new(AtomicUsize::new(0));
    let (to_b, mut b_rx) = mpsc::unbounded::<u64>();
    let (to_a, mut a_rx) = mpsc::unbounded::<u64>();
    to_b.unbounded_send(0).unwrap();
    rt.spawn(async move {
        while let Some(n) = b_rx.next().await {
            if to_a.unbounded_send(n + 1).is_err() {
                break;
            }
        }
    });
    let counter = rounds.clone();
    rt.spawn(async move {
        while let Some(n) = a_rx.next().await {
            counter.fetch_add(1, Ordering::Relaxed);
            if to_b.unbounded_send(n + 1).is_err() {
                break;
            }
        }
    });
    rounds
}

/// The reproduction: one worker kept busy by a ping-pong pair; a task spawned from
/// outside that yields once must still finish. Before the fix its yield parked it in the
/// worker's deferred list, which only ran once every queue was empty, which never happened.
#[test]
fn a_yielding_task_is_not_starved_by_a_ping_pong_pair_on_one_worker() {
    let rt = runtime(1);
    let rounds = spawn_ping_pong(&rt);
    wait_until("the pair is running", || {
        rounds.load(Ordering::Relaxed) > 100
    });
    for i in 0..20 {
        let yielder = rt.spawn(async move {
            genrt::yield_now().await;
            genrt::yield_now().await;
            i
        });
        assert_eq!(
            wait_for("a yielding task behind a ping-pong pair", yielder).unwrap(),
            i
        );
    }
    drop_runtime(rt);
}

/// With four workers the yielder may land on the busy worker; its deferred key must reach a
/// queue another worker can steal from, or be polled there, within a bound.
#[test]
fn a_yielding_task_is_not_starved_by_ping_pong_pairs_on_four_workers() {
    let rt = runtime(4);
    let pairs: Vec<_> = (0..4).map(|_| spawn_ping_pong(&rt)).collect();
    wait_until("the pairs are running", || {
        pairs.iter().all(|r| r.load(Ordering::Relaxed) > 100)
    });
    for i in 0..200 {
        let yielder = rt.spawn(async move {
            // Spawned on a worker: the child starts in that worker's LIFO slot.
            genrt::spawn(async move {
                genrt::yield_now().await;
                i
            })
            .await
            .unwrap()
        });
        assert_eq!(
            wait_for("a yielding task among busy ping-pong pairs", yielder).unwrap(),
            i
        );
    }
    drop_runtime(rt);
}

/// `block_on` of a join handle whose task yields, with the pair running: the exact shape of
/// the report (`rt.block_on(rt.spawn(async { yield_now().await }))`), under a watchdog.
#[test]
fn block_on_a_yielding_task_returns_while_a_ping_pong_pair_runs() {
    let rt = runtime(1);
    let rounds = spawn_ping_pong(&rt);
    wait_until("the pair is running", || {
        rounds.load(Ordering::Relaxed) > 100
    });
    let rt = support::Watchdog::new("block_on of a yielding task").run(move || {
        rt.block_on(rt.spawn(async { genrt::yield_now().await }))
            .unwrap();
        rt
    });
    drop_runtime(rt);
}

/// A task that wakes itself during its poll without yielding to `yield_now` (here, inside
/// `FuturesUnordered`, which yields after polling 32 ready futures in one go) is deferred
/// like a yield, and must not be starved either.
#[test]
fn futures_unordered_budget_yields_are_not_starved() {
    let rt = runtime(1);
    let rounds = spawn_ping_pong(&rt);
    wait_until("the pair is running", || {
        rounds.load(Ordering::Relaxed) > 100
    });
    let task = rt.spawn(async {
        let mut set: FuturesUnordered<_> = (0..200u64).map(|i| SelfWaking(4, i)).collect();
        let mut sum = 0;
        while let Some(v) = set.next().await {
            sum += v;
        }
        sum
    });
    assert_eq!(
        wait_for("a FuturesUnordered of self-waking futures", task).unwrap(),
        (0..200).sum::<u64>()
    );
    drop_runtime(rt);
}

/// Wakes itself and returns `Pending` `.0` times, then returns `.1`.
struct SelfWaking(u32, u64);

impl Future for SelfWaking {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.0 == 0 {
            return Poll::Ready(self.1);
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A chain of tasks, each waking the next on its worker (the LIFO slot, every time), must not
/// starve a task that was woken before the chain started, nor one in the injector.
#[test]
fn a_lifo_chain_does_not_starve_queued_tasks() {
    let rt = runtime(1);
    let stop = Arc::new(AtomicBool::new(false));
    let chain = {
        let stop = stop.clone();
        rt.spawn(async move {
            let mut links = 0u64;
            while !stop.load(Ordering::SeqCst) {
                // Each child lands in the LIFO slot and displaces nothing but its parent's
                // previous child; the parent awaits it, so the worker only ever sees LIFO work.
                let stop = stop.clone();
                genrt::spawn(async move { stop.load(Ordering::SeqCst) })
                    .await
                    .unwrap();
                links += 1;
            }
            links
        })
    };
    let flag = Arc::new(AtomicBool::new(false));
    let setter = {
        let flag = flag.clone();
        rt.spawn(async move {
            genrt::yield_now().await;
            flag.store(true, Ordering::SeqCst);
        })
    };
    wait_for("a task queued behind a LIFO chain", setter).unwrap();
    assert!(flag.load(Ordering::SeqCst));
    stop.store(true, Ordering::SeqCst);
    assert!(wait_for("the chain", chain).unwrap() >= 1);
    drop_runtime(rt);
}

/// One link of [`a_foreign_spawn_waits_for_a_few_polls_of_a_spawn_chain`]'s chain: counts
/// itself, then spawns the next link (on the worker: the LIFO slot, every time).
fn chain_link(links: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    genrt::spawn(async move {
        links.fetch_add(1, Ordering::SeqCst);
        if !stop.load(Ordering::SeqCst) {
            chain_link(links, stop);
        }
    });
}

/// A chain of tasks each spawning the next (Tokio's `spawn_many_remote_busy2` shape) holds a
/// task spawned from outside back for a few of its polls, not for a whole injector interval:
/// once the LIFO slot has run `LIFO_POLL_CAP` (3) polls in a row, the worker looks at the
/// injector before the chain goes on (`worker.rs`, step 3). Counted in polls, not time: the
/// probe, at its first poll, reads how many links have run; the count read after the spawn
/// returned (so after the push) is subtracted. At most 4 links run between two such looks,
/// and a look that raced the push and missed it costs one more round of 4: 8.
#[test]
fn a_foreign_spawn_waits_for_a_few_polls_of_a_spawn_chain() {
    let rt = runtime(1);
    let links = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (links, stop) = (links.clone(), stop.clone());
        rt.spawn(async move { chain_link(links, stop) });
    }
    wait_until("the chain is running", || {
        links.load(Ordering::SeqCst) > 1_000
    });
    let mut waits = Vec::new();
    for _ in 0..50 {
        let seen = links.clone();
        let probe = rt.spawn(async move { seen.load(Ordering::SeqCst) });
        let after_push = links.load(Ordering::SeqCst);
        let at_poll = wait_for("a task spawned behind the chain", probe).unwrap();
        waits.push(at_poll.saturating_sub(after_push));
    }
    stop.store(true, Ordering::SeqCst);
    drop_runtime(rt);
    let worst = *waits.iter().max().unwrap();
    assert!(
        worst <= 8,
        "a foreign spawn waited for {worst} polls of the chain (at most 8); all: {waits:?}"
    );
}

/// With the maintenance tick pushed out of reach (`event_interval(u32::MAX)`), a task looping
/// on `yield_now` still runs beside two tasks whose timers are due every time the queues run
/// dry: the timers that fire there go first, then the yields (`worker.rs`, step 5), neither
/// holds the other back. Counted in the yield loop's polls, with a bounded wait.
#[test]
fn a_yield_loop_is_not_starved_by_timers_firing_at_every_turn() {
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .event_interval(u32::MAX)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut sleepers = Vec::new();
    for _ in 0..2 {
        let stop = stop.clone();
        sleepers.push(rt.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                genrt::time::sleep(std::time::Duration::from_millis(1)).await;
                let busy = std::time::Instant::now();
                while busy.elapsed() < std::time::Duration::from_millis(2) {}
            }
        }));
    }
    let yields = Arc::new(AtomicUsize::new(0));
    let yielder = {
        let (stop, yields) = (stop.clone(), yields.clone());
        rt.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                yields.fetch_add(1, Ordering::SeqCst);
                genrt::yield_now().await;
            }
        })
    };
    let before = yields.load(Ordering::SeqCst);
    wait_until("the yield loop beside firing timers", || {
        yields.load(Ordering::SeqCst) >= before + 50
    });
    stop.store(true, Ordering::SeqCst);
    wait_for("the yield loop", yielder).unwrap();
    for sleeper in sleepers {
        wait_for("a sleeper", sleeper).unwrap();
    }
    drop_runtime(rt);
}

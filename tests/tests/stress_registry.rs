//! Stress: the waker registry under register/wake/unregister storms. 4 threads each build
//! runtimes one after the other, spawn tasks that leave their wakers in one pool all threads
//! share (half of the tasks finish at once, so their keys are stale; half stay pending), wake
//! every waker in the pool over and over, and drop their runtime while the other threads keep
//! waking its keys: wakes of live tasks, of finished ones, of runtimes being dropped, of
//! runtimes gone, and of entries taken again by another runtime. 10 million wakes in all in
//! release (a fifth in debug builds).
//!
//! Nothing may crash, and live bytes must be back at the baseline once the pool is emptied:
//! the registry's wake records are static, and a waker retains nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use support::counting::CountingAlloc;
use support::{report, runtime, Baseline, Watchdog, LIMIT};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Threads storming at once.
const THREADS: usize = 4;
/// Wakes in all, over every thread and round: 10 million in release.
const WAKES: usize = if cfg!(debug_assertions) {
    2_000_000
} else {
    10_000_000
};
/// Runtimes each thread builds and drops.
const ROUNDS: usize = if cfg!(debug_assertions) { 20 } else { 50 };
/// Tasks per runtime; every other one finishes on its first poll.
const TASKS: usize = 8;
/// Wakers kept in the shared pool: the latest ones, from every thread's runtimes.
const POOL: usize = 64;

/// The wakers all threads wake: a ring of the latest `POOL`.
#[derive(Default)]
struct Pool {
    wakers: Mutex<Vec<Waker>>,
    next: AtomicUsize,
}

impl Pool {
    fn put(&self, waker: Waker) {
        let mut wakers = self.wakers.lock().unwrap();
        if wakers.len() < POOL {
            wakers.push(waker);
        } else {
            let at = self.next.fetch_add(1, Ordering::Relaxed) % POOL;
            wakers[at] = waker;
        }
    }

    fn snapshot(&self) -> Vec<Waker> {
        self.wakers.lock().unwrap().clone()
    }
}

/// Leaves its waker in the pool on its first poll; then finishes or pends forever.
struct Storm {
    pool: Arc<Pool>,
    finish: bool,
    parked: bool,
}

impl Future for Storm {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.parked {
            self.parked = true;
            self.pool.put(cx.waker().clone());
        }
        if self.finish {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// One thread's storm: `rounds` runtimes, `wakes` wakes in all. Returns the wakes made.
fn storm(pool: &Arc<Pool>, rounds: usize, wakes: usize) -> usize {
    let per_round = wakes / rounds;
    let mut made = 0;
    for _ in 0..rounds {
        let rt = runtime(1);
        for task in 0..TASKS {
            drop(rt.spawn(Storm {
                pool: pool.clone(),
                finish: task % 2 == 0,
                parked: false,
            }));
        }
        let mut round = 0;
        while round < per_round {
            let wakers = pool.snapshot();
            for waker in wakers.iter().take(per_round - round) {
                waker.wake_by_ref();
            }
            round += wakers.len().clamp(1, per_round - round);
        }
        made += round;
        drop(rt);
    }
    made
}

/// `THREADS` threads storm at once, starting together.
fn storm_all(pool: &Arc<Pool>, rounds: usize, wakes: usize) -> usize {
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let pool = pool.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                storm(&pool, rounds, wakes / THREADS)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a storm thread panicked"))
        .sum()
}

#[test]
fn register_wake_unregister_storms_from_four_threads_crash_nothing_and_free_every_byte() {
    Watchdog::new("stress_registry")
        .limit(LIMIT)
        .run_reporting(|p| {
            let pool = Arc::new(Pool::default());
            // A small storm first, so that lazily allocated process-wide state exists before
            // the baseline; then the pool is emptied.
            p.at("warm-up storm");
            storm_all(&pool, 4, THREADS * 40_000);
            *pool.wakers.lock().unwrap() = Vec::new();
            let baseline = Baseline::take();

            p.at("storm");
            let started = std::time::Instant::now();
            let wakes = storm_all(&pool, ROUNDS, WAKES);
            let elapsed = started.elapsed();
            assert!(wakes >= WAKES - THREADS * ROUNDS, "only {wakes} wakes");

            p.at("comparing live bytes");
            *pool.wakers.lock().unwrap() = Vec::new();
            baseline.check(format_args!("{wakes} wakes from {THREADS} threads"));
            report(format_args!(
                "stress_registry: {THREADS} threads, {} runtimes, {wakes} wakes in {elapsed:?}",
                THREADS * ROUNDS
            ));
        });
}

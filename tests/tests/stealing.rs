//! Work stealing: an idle worker takes work queued on a busy one.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use support::{drop_runtime, runtime, wait_for, wait_until, DEADLINE};

/// The threads tasks ran on, shared by the tasks of one test.
#[derive(Clone)]
struct Threads {
    seen: Arc<Mutex<HashSet<ThreadId>>>,
    give_up: Instant,
}

impl Threads {
    fn new() -> Threads {
        Threads {
            seen: Arc::new(Mutex::new(HashSet::new())),
            // Well before the test's own waits give up, so that a runtime that never steals
            // fails on the assertion that says so rather than on a timeout.
            give_up: Instant::now() + DEADLINE / 3,
        }
    }

    fn record(&self) {
        self.seen.lock().unwrap().insert(thread::current().id());
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Blocks the calling worker (briefly, in 1 ms sleeps) until tasks have run on two
    /// threads, or until `give_up`, after which nobody blocks any more and the test fails on
    /// its assertions. While a worker is blocked here, the only way for a queued
    /// task to run is for the other worker to take it.
    fn block_until_two_threads_seen(&self) {
        while self.count() < 2 && Instant::now() < self.give_up {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
fn an_idle_worker_steals_the_children_of_a_busy_one() {
    const CHILDREN: usize = 1_000;
    let rt = runtime(2);
    let threads = Threads::new();
    let done = Arc::new(AtomicUsize::new(0));

    let parent = {
        let (threads, done) = (threads.clone(), done.clone());
        rt.spawn(async move {
            // Spawned on a worker: every child goes to this worker's own deque, where the
            // other worker can reach it only by stealing.
            for _ in 0..CHILDREN {
                let (threads, done) = (threads.clone(), done.clone());
                drop(genrt::spawn(async move {
                    threads.record();
                    threads.block_until_two_threads_seen();
                    for _ in 0..3 {
                        genrt::yield_now().await;
                    }
                    threads.record();
                    done.fetch_add(1, Ordering::SeqCst);
                }));
            }
        })
    };
    wait_for("the parent task", parent).unwrap();
    wait_until("every child finished", || {
        done.load(Ordering::SeqCst) == CHILDREN
    });

    assert_eq!(
        threads.count(),
        2,
        "children spawned on one worker all ran on one thread: the idle worker never stole"
    );
    wait_until("the children are counted as completed", || {
        rt.metrics().snapshot().completed == CHILDREN as u64 + 1
    });
    let metrics = rt.metrics().snapshot();
    assert!(
        metrics.steals > 0,
        "a child ran on the other worker, which only a steal can do: {metrics:?}"
    );
    assert_eq!(metrics.spawned, CHILDREN as u64 + 1);
    assert_eq!(metrics.live_tasks, 0);
    drop_runtime(rt);
}

#[test]
fn tasks_spawned_from_outside_run_on_every_worker() {
    const TASKS: usize = 200;
    let rt = runtime(2);
    let threads = Threads::new();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..TASKS {
        let (threads, done) = (threads.clone(), done.clone());
        drop(rt.spawn(async move {
            threads.record();
            threads.block_until_two_threads_seen();
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    wait_until("every task finished", || {
        done.load(Ordering::SeqCst) == TASKS
    });
    assert_eq!(
        threads.count(),
        2,
        "while one worker was blocked, the other never ran a task from the injector"
    );
    drop_runtime(rt);
}

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

/// A steal moves a batch and counts each of its tasks (`worker_steal_count`, as Tokio's),
/// and one operation per batch (`worker_steal_operations`). One worker holds nine children
/// in its deque while it blocks; the other, released only then, can run them only by
/// stealing, in batches of about half the deque (crossbeam's rule), so it counts nine tasks
/// in fewer operations. Failed when a steal counted one, whatever its batch.
#[test]
fn a_steal_counts_every_task_of_its_batch() {
    use std::sync::mpsc;
    const CHILDREN: usize = 10;
    support::Watchdog::new("a_steal_counts_every_task_of_its_batch").run(|| {
        let rt = runtime(2);
        // Occupies one worker until the children are queued on the other.
        let (occupied_tx, occupied_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let occupier = rt.spawn(async move {
            occupied_tx.send(thread::current().id()).unwrap();
            release_rx.recv_timeout(DEADLINE).expect("released");
        });
        let occupied = occupied_rx
            .recv_timeout(DEADLINE)
            .expect("the occupier runs");
        let done = Arc::new(AtomicUsize::new(0));
        let (queued_tx, queued_rx) = mpsc::channel();
        let parent = {
            let done = done.clone();
            rt.spawn(async move {
                assert_ne!(thread::current().id(), occupied, "the other worker is busy");
                // Each spawn displaces the previous child from the LIFO slot into this
                // worker's deque: nine children there, the last one in the slot.
                for _ in 0..CHILDREN {
                    let done = done.clone();
                    drop(genrt::spawn(async move {
                        done.fetch_add(1, Ordering::SeqCst);
                    }));
                }
                queued_tx.send(()).unwrap();
                // Blocks this worker until the deque's nine ran elsewhere.
                let give_up = Instant::now() + DEADLINE;
                while done.load(Ordering::SeqCst) < CHILDREN - 1 && Instant::now() < give_up {
                    thread::sleep(Duration::from_millis(1));
                }
            })
        };
        queued_rx
            .recv_timeout(DEADLINE)
            .expect("the children are queued");
        release_tx.send(()).unwrap();
        wait_for("the occupier", occupier).unwrap();
        wait_for("the parent", parent).unwrap();
        wait_until("every child ran", || {
            done.load(Ordering::SeqCst) == CHILDREN
        });
        let metrics = rt.metrics();
        let (tasks, operations): (u64, u64) = (0..metrics.num_workers())
            .map(|w| {
                (
                    metrics.worker_steal_count(w),
                    metrics.worker_steal_operations(w),
                )
            })
            .fold((0, 0), |(t, o), (dt, dop)| (t + dt, o + dop));
        assert_eq!(
            tasks,
            CHILDREN as u64 - 1,
            "every child of the deque was stolen"
        );
        assert!(
            (1..tasks).contains(&operations),
            "{tasks} tasks stolen in {operations} operations: some batch held more than one"
        );
        let snapshot = metrics.snapshot();
        assert_eq!(
            (snapshot.steals, snapshot.steal_operations),
            (tasks, operations)
        );
        drop_runtime(rt);
    });
}

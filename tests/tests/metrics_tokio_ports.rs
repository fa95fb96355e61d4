//! Tokio's `rt_metrics.rs` (its stable metrics: `num_workers`, `num_alive_tasks`,
//! `global_queue_depth`, `worker_park_count`, `worker_park_unpark_count`,
//! `worker_total_busy_duration`), ported to genrt's live [`genrt::RuntimeMetrics`]. Each test
//! names the Tokio test it ports; where the port differs, it says how. Every wait is bounded.

use std::time::Duration;

use support::{recv, wait_until, Watchdog};

fn current_thread() -> genrt::Runtime {
    genrt::Builder::new_current_thread().build().unwrap()
}

fn threaded() -> genrt::Runtime {
    genrt::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

// Tokio: `num_workers`.
#[test]
fn num_workers() {
    assert_eq!(1, current_thread().metrics().num_workers());
    assert_eq!(2, threaded().metrics().num_workers());
}

// Tokio: `num_alive_tasks`. The value is read live from inside the task; after the join, a
// worker counts the task as finished right after its last poll, which can come just after
// the join handle saw the result, so the port waits for 0 on both flavors (Tokio's own test
// does so for its multi-thread runtime, for the same reason).
#[test]
fn num_alive_tasks() {
    Watchdog::new("num_alive_tasks").run(|| {
        for rt in [current_thread(), threaded()] {
            let metrics = rt.metrics();
            assert_eq!(0, metrics.num_alive_tasks());
            rt.block_on(rt.spawn({
                let metrics = metrics.clone();
                async move {
                    assert_eq!(1, metrics.num_alive_tasks());
                }
            }))
            .unwrap();
            wait_until("the task counted as finished", || {
                rt.metrics().num_alive_tasks() == 0
            });
            assert_eq!(0, metrics.num_alive_tasks());
        }
    });
}

// Tokio: `global_queue_depth_current_thread`: a task spawned from another thread waits in
// the global queue until a `block_on` runs the runtime.
#[test]
fn global_queue_depth_current_thread() {
    Watchdog::new("global_queue_depth_current_thread").run(|| {
        let rt = current_thread();
        let handle = rt.handle().clone();
        let metrics = rt.metrics();
        let queued = std::thread::spawn(move || handle.spawn(async {}))
            .join()
            .unwrap();
        assert_eq!(1, metrics.global_queue_depth());
        rt.block_on(queued).unwrap();
        assert_eq!(0, metrics.global_queue_depth());
    });
}

// Tokio: `global_queue_depth_multi_thread`: a task spawned from another thread waits in the
// global queue while every worker is busy (the port holds every worker first).
#[test]
fn global_queue_depth_multi_thread() {
    Watchdog::new("global_queue_depth_multi_thread").run(|| {
        let rt = threaded();
        let workers = rt.metrics().num_workers();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
        let holders: Vec<_> = (0..workers)
            .map(|_| {
                let (held_tx, release_rx) = (held_tx.clone(), release_rx.clone());
                rt.spawn(async move {
                    held_tx.send(()).unwrap();
                    let _ = release_rx.lock().unwrap().recv_timeout(support::DEADLINE);
                })
            })
            .collect();
        for _ in 0..workers {
            recv(&held_rx, "a worker to be held");
        }
        let metrics = rt.metrics();
        let handle = rt.handle().clone();
        let queued = std::thread::spawn(move || handle.spawn(async {}))
            .join()
            .unwrap();
        assert_eq!(1, metrics.global_queue_depth());
        for _ in 0..workers {
            release_tx.send(()).unwrap();
        }
        rt.block_on(async {
            for holder in holders {
                holder.await.unwrap();
            }
            queued.await.unwrap();
        });
        assert_eq!(0, metrics.global_queue_depth());
    });
}

// Tokio: `worker_park_count`. A worker with nothing to do parks; the port waits for each
// worker's first park instead of relying on a 1 ms sleep to give it time to.
#[test]
fn worker_park_count() {
    Watchdog::new("worker_park_count").run(|| {
        for rt in [current_thread(), threaded()] {
            let metrics = rt.metrics();
            rt.block_on(genrt::time::sleep(Duration::from_millis(1)));
            for worker in 0..metrics.num_workers() {
                wait_until("the worker to park", || {
                    metrics.worker_park_count(worker) >= 1
                });
            }
            drop(rt);
            for worker in 0..metrics.num_workers() {
                assert!(1 <= metrics.worker_park_count(worker));
            }
        }
    });
}

// Tokio: `worker_park_unpark_count`: after a park and the wake that ends it, at least 2;
// once the runtime is dropped (every worker woken to exit), even. The current-thread part is
// Tokio's as is: `block_on` parks its driver once the task ran (a park that ends at once on
// the `block_on` future's wake).
#[test]
fn worker_park_unpark_count() {
    Watchdog::new("worker_park_unpark_count").run(|| {
        let rt = current_thread();
        let metrics = rt.metrics();
        rt.block_on(rt.spawn(async {})).unwrap();
        drop(rt);
        assert!(2 <= metrics.worker_park_unpark_count(0));
        {
            let rt = threaded();
            let metrics = rt.metrics();
            for worker in 0..metrics.num_workers() {
                wait_until("the worker to park", || {
                    metrics.worker_park_count(worker) >= 1
                });
            }
            rt.block_on(rt.spawn(async {})).unwrap();
            drop(rt);
            for worker in 0..metrics.num_workers() {
                let count = metrics.worker_park_unpark_count(worker);
                assert!(2 <= count, "worker {worker}: {count}");
                assert_eq!(count % 2, 0, "worker {worker} exited awake: {count}");
            }
        }
    });
}

// Tokio: `worker_total_busy_duration`.
#[test]
fn worker_total_busy_duration() {
    Watchdog::new("worker_total_busy_duration").run(|| {
        const N: usize = 5;
        for rt in [current_thread(), threaded()] {
            let metrics = rt.metrics();
            rt.block_on(async {
                for _ in 0..N {
                    genrt::spawn(async { genrt::task::yield_now().await })
                        .await
                        .unwrap();
                }
            });
            drop(rt);
            for worker in 0..metrics.num_workers() {
                assert!(Duration::ZERO < metrics.worker_total_busy_duration(worker));
            }
        }
    });
}

#[test]
fn a_worker_index_out_of_range_panics_with_the_count() {
    let _quiet = support::quiet_panics();
    let metrics = threaded().metrics();
    let panicked = std::panic::catch_unwind(|| metrics.worker_park_count(2)).unwrap_err();
    let text = support::panic_message(&*panicked).unwrap();
    assert!(
        text.contains("out of range") && text.contains("2 workers"),
        "{text}"
    );
}

#[test]
fn metrics_outlive_their_runtime_and_keep_no_task() {
    Watchdog::new("metrics after drop").run(|| {
        let rt = threaded();
        let metrics = rt.metrics();
        let _pending = rt.spawn(std::future::pending::<()>());
        drop(rt);
        let snapshot = metrics.snapshot();
        assert_eq!(
            snapshot.live_tasks, 0,
            "the drop cancelled the pending task"
        );
        assert_eq!(snapshot.spawned, 1);
    });
}

/// genrt's own: a snapshot read while tasks spawn and finish on every worker never counts a
/// task finished that it does not count spawned (`completed <= spawned`, so `live_tasks` is
/// never too low). Tasks on both workers spawn children that finish on either, while this
/// thread takes snapshots. (The counters were summed worker by worker, spawned then
/// completed: a task spawned on worker 0 after its counter was read and finished on worker 1
/// before that one's was counted as finished only.)
#[test]
fn a_snapshot_never_counts_more_tasks_finished_than_spawned() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    Watchdog::new("snapshot under spawns").run(|| {
        let rt = threaded();
        let stop = Arc::new(AtomicBool::new(false));
        let spawners: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                rt.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let children: Vec<_> = (0..16).map(|_| genrt::spawn(async {})).collect();
                        for child in children {
                            child.await.unwrap();
                        }
                        genrt::yield_now().await;
                    }
                })
            })
            .collect();
        let metrics = rt.metrics();
        let mut worst = 0i64;
        for _ in 0..200_000 {
            let m = metrics.snapshot();
            worst = worst.max(m.completed as i64 - m.spawned as i64);
        }
        stop.store(true, Ordering::Relaxed);
        for spawner in spawners {
            rt.block_on(spawner).unwrap();
        }
        assert!(
            worst <= 0,
            "a snapshot counted {worst} more tasks finished than spawned"
        );
    });
}

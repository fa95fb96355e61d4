//! `Builder::on_thread_park` and `Builder::on_thread_unpark` (Tokio's names and meaning: run
//! on a worker just before it parks for want of work, and once it is back), and the rest of
//! Tokio's builder vocabulary that genrt takes: `new_multi_thread`, `enable_all`,
//! `enable_time`, `thread_name_fn` (worker and blocking threads).
//!
//! genrt's own tests: a park hook that spawns or wakes work must not leave that work stranded
//! in the parking worker's own queues (no other worker looks there), a panicking park hook
//! does not take the worker down, and the hooks pair up.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use support::{drop_runtime, quiet_panics, recv, wait_for, wait_until, Watchdog, INTENTIONAL};

#[derive(Clone, Default)]
struct Counts {
    parks: Arc<AtomicUsize>,
    unparks: Arc<AtomicUsize>,
}

impl Counts {
    fn runtime(&self, workers: usize) -> genrt::Runtime {
        let (parks, unparks) = (self.parks.clone(), self.unparks.clone());
        genrt::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .on_thread_park(move || {
                parks.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_unpark(move || {
                unparks.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap()
    }

    fn parks(&self) -> usize {
        self.parks.load(Ordering::SeqCst)
    }

    fn unparks(&self) -> usize {
        self.unparks.load(Ordering::SeqCst)
    }
}

#[test]
fn park_and_unpark_hooks_pair_up_around_every_park() {
    let _watchdog = Watchdog::new("park hooks").arm();
    let counts = Counts::default();
    let rt = counts.runtime(2);
    // Every worker started and parked once (a worker thread that starts late would find the
    // first round's task in the injector before it ever parked: no unpark for that round;
    // that made this test fail once in a loaded full run).
    wait_until("both workers to park once", || counts.parks() >= 2);
    for round in 1..=20 {
        rt.block_on(rt.spawn(async {})).unwrap();
        // Settled: the worker that ran the task has run its park hook and registered to
        // sleep (a worker thread that has not started yet does not hold a settle back).
        rt.settle();
        assert!(
            counts.parks() >= 1,
            "round {round}: {} parks",
            counts.parks()
        );
        // Each worker is at most one park ahead of its unparks.
        let (parks, unparks) = (counts.parks(), counts.unparks());
        assert!(
            parks >= unparks && parks - unparks <= 2,
            "round {round}: {parks} parks, {unparks} unparks"
        );
    }
    // Twenty rounds of work woke a parked worker each time.
    assert!(counts.unparks() >= 20, "{} unparks", counts.unparks());
    drop_runtime(rt);
}

#[test]
fn work_a_park_hook_spawns_runs_before_the_worker_sleeps() {
    let _watchdog = Watchdog::new("a park hook's spawn").arm();
    let (tx, rx) = mpsc::channel::<usize>();
    let tx = Mutex::new(tx);
    let spawned = Arc::new(AtomicUsize::new(0));
    let count = spawned.clone();
    // One worker: a task the hook spawns lands in that worker's own queues, where no other
    // worker could find it; the worker must run it instead of sleeping on it.
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .on_thread_park(move || {
            let n = count.fetch_add(1, Ordering::SeqCst);
            if n < 3 {
                let tx = tx.lock().unwrap().clone();
                genrt::spawn(async move {
                    tx.send(n).unwrap();
                });
            }
        })
        .build()
        .unwrap();
    for expected in 0..3 {
        assert_eq!(recv(&rx, "the task a park hook spawned"), expected);
    }
    rt.settle();
    drop_runtime(rt);
}

#[test]
fn a_panicking_park_hook_does_not_take_the_worker_down() {
    let _quiet = quiet_panics();
    let _watchdog = Watchdog::new("a panicking park hook").arm();
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .on_thread_park(|| panic!("{INTENTIONAL} in on_thread_park"))
        .on_thread_unpark(|| panic!("{INTENTIONAL} in on_thread_unpark"))
        .build()
        .unwrap();
    for i in 0..10 {
        assert_eq!(rt.block_on(rt.spawn(async move { i })).unwrap(), i);
        rt.settle();
    }
    drop_runtime(rt);
}

#[test]
fn thread_name_fn_names_worker_and_blocking_threads() {
    let _watchdog = Watchdog::new("thread names").arm();
    let next = Arc::new(AtomicUsize::new(0));
    let counter = next.clone();
    let rt = genrt::Builder::new()
        .worker_threads(2)
        .thread_name_fn(move || format!("named-{}", counter.fetch_add(1, Ordering::SeqCst)))
        .build()
        .unwrap();
    let name = || std::thread::current().name().map(str::to_owned);
    let mut seen = HashSet::new();
    let release = Arc::new(AtomicBool::new(false));
    // Two tasks that hold their workers until both run: one on each worker.
    let running = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (running, release) = (running.clone(), release.clone());
            rt.spawn(async move {
                running.fetch_add(1, Ordering::SeqCst);
                while !release.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                name()
            })
        })
        .collect();
    wait_until("both tasks running", || running.load(Ordering::SeqCst) == 2);
    release.store(true, Ordering::SeqCst);
    for handle in handles {
        seen.insert(wait_for("a task's thread name", handle).unwrap().unwrap());
    }
    let blocking = wait_for("a blocking closure", rt.spawn_blocking(name)).unwrap();
    seen.insert(blocking.unwrap());
    let expected: HashSet<String> = (0..3).map(|i| format!("named-{i}")).collect();
    assert_eq!(seen, expected);
    drop_runtime(rt);
}

#[test]
fn enable_time_keeps_the_timers_tokio_code_expects() {
    let _watchdog = Watchdog::new("enable_time").arm();
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let elapsed = rt.block_on(rt.spawn(async {
        let start = genrt::time::Instant::now();
        genrt::time::sleep(std::time::Duration::from_secs(60)).await;
        start.elapsed()
    }));
    assert_eq!(elapsed.unwrap(), std::time::Duration::from_secs(60));
    drop_runtime(rt);
}

/// `global_queue_interval(n)`: on a worker kept busy by a chain of local spawns (each link
/// spawns the next into the worker's own queue, so its queue never empties), a task spawned
/// from outside runs within about `n` polls. Links are counted only after the outside spawn
/// returned, so the count can only be too low, never too high; with the default (13), some
/// of the 20 rounds would run more than `n + 2` links first.
#[test]
fn global_queue_interval_bounds_the_wait_of_foreign_work_behind_a_busy_worker() {
    let _watchdog = Watchdog::new("global_queue_interval").arm();
    const INTERVAL: u32 = 2;
    let rt = genrt::Builder::new_multi_thread()
        .worker_threads(1)
        .global_queue_interval(INTERVAL)
        .build()
        .unwrap();
    for round in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let spawned = Arc::new(AtomicBool::new(false));
        let links_after = Arc::new(AtomicUsize::new(0));
        fn link(stop: Arc<AtomicBool>, spawned: Arc<AtomicBool>, after: Arc<AtomicUsize>) {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            if spawned.load(Ordering::SeqCst) {
                after.fetch_add(1, Ordering::SeqCst);
            }
            genrt::spawn(async move { link(stop, spawned, after) });
        }
        let (s, sp, a) = (stop.clone(), spawned.clone(), links_after.clone());
        rt.spawn(async move { link(s, sp, a) });
        // Let the chain run for a while, then spawn from outside.
        wait_until("the chain running", || {
            rt.metrics().snapshot().completed > 100
        });
        let (s, a) = (stop.clone(), links_after.clone());
        let foreign = rt.spawn(async move {
            s.store(true, Ordering::SeqCst);
            a.load(Ordering::SeqCst)
        });
        spawned.store(true, Ordering::SeqCst);
        let links = wait_for("the foreign task", foreign).unwrap();
        assert!(
            links <= INTERVAL as usize + 2,
            "round {round}: {links} links ran before the foreign task"
        );
        rt.settle();
    }
    drop_runtime(rt);
}

#[test]
fn zero_intervals_are_refused_with_a_clear_panic() {
    let _quiet = quiet_panics();
    for (name, set) in [
        (
            "event_interval",
            genrt::Builder::event_interval as fn(&mut _, u32) -> &mut _,
        ),
        (
            "global_queue_interval",
            genrt::Builder::global_queue_interval,
        ),
    ] {
        let panic = std::panic::catch_unwind(|| {
            set(&mut genrt::Builder::new(), 0);
        })
        .unwrap_err();
        let message = support::panic_message(&*panic)
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains(name) && message.contains("greater than 0"),
            "{message}"
        );
    }
}

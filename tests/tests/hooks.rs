//! `Builder::on_thread_start` and `Builder::on_thread_stop`: each runs once on every worker
//! thread, start before the worker's first poll and stop after its last, both inside the
//! runtime's context; stop also when the worker exits because of shutdown (drop,
//! `shutdown_timeout`, a close by `UnhandledPanic::ShutdownRuntime`, a drop from inside a
//! task). A panicking hook does not take a worker down.
//!
//! Ported from Tokio's `tests/rt_threaded.rs`: `start_stop_callbacks_called`. The others
//! are genrt's own.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use support::{drop_runtime, quiet_panics, serial, wait_for, wait_until, Watchdog, INTENTIONAL};

/// Counters of hook runs.
#[derive(Clone, Default)]
struct Counts {
    started: Arc<AtomicUsize>,
    stopped: Arc<AtomicUsize>,
}

impl Counts {
    fn builder(&self, workers: usize) -> genrt::Builder {
        let started = self.started.clone();
        let stopped = self.stopped.clone();
        let mut builder = genrt::Builder::new();
        builder
            .worker_threads(workers)
            .on_thread_start(move || {
                started.fetch_add(1, Ordering::SeqCst);
            })
            .on_thread_stop(move || {
                stopped.fetch_add(1, Ordering::SeqCst);
            });
        builder
    }

    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn stopped(&self) -> usize {
        self.stopped.load(Ordering::SeqCst)
    }
}

#[test]
fn start_stop_callbacks_called() {
    let counts = Counts::default();
    let rt = counts.builder(4).build().unwrap();
    let (tx, rx) = futures::channel::oneshot::channel();
    rt.spawn(async move {
        tx.send(()).unwrap();
    });
    wait_for("the task's message", rx).unwrap();
    drop_runtime(rt);
    assert!(counts.started() > 0);
    assert!(counts.stopped() > 0);
    // genrt's exact figures: once per worker, and the drop waited for every stop hook.
    assert_eq!((counts.started(), counts.stopped()), (4, 4));
}

#[test]
fn start_runs_before_the_first_poll_inside_the_context() {
    let started_on: Arc<Mutex<HashSet<ThreadId>>> = Arc::default();
    let record = started_on.clone();
    let rt = genrt::Builder::new()
        .worker_threads(2)
        .on_thread_start(move || {
            assert!(genrt::Handle::try_current().is_ok(), "no current runtime");
            record.lock().unwrap().insert(thread::current().id());
        })
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            rt.spawn(async {
                genrt::yield_now().await;
                thread::current().id()
            })
        })
        .collect();
    for task in tasks {
        let polled_on = wait_for("a task", task).unwrap();
        assert!(started_on.lock().unwrap().contains(&polled_on));
    }
    drop_runtime(rt);
}

#[test]
fn stop_runs_inside_the_context_after_the_last_poll() {
    let in_context = Arc::new(AtomicUsize::new(0));
    let last_poll_done = Arc::new(AtomicUsize::new(0));
    let (in_context2, done2) = (in_context.clone(), last_poll_done.clone());
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .on_thread_stop(move || {
            if genrt::Handle::try_current().is_ok() && done2.load(Ordering::SeqCst) == 1 {
                in_context2.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    let done = last_poll_done.clone();
    wait_for(
        "the task",
        rt.spawn(async move { done.store(1, Ordering::SeqCst) }),
    )
    .unwrap();
    drop_runtime(rt);
    assert_eq!(in_context.load(Ordering::SeqCst), 1);
}

#[test]
fn stop_runs_on_shutdown_timeout() {
    let counts = Counts::default();
    let rt = counts.builder(3).build().unwrap();
    let pending = rt.spawn(std::future::pending::<()>());
    let all_exited =
        Watchdog::new("shutdown_timeout").run(move || rt.shutdown_timeout(Duration::from_secs(10)));
    assert!(all_exited);
    assert_eq!(counts.stopped(), 3);
    assert!(wait_for("the pending task", pending)
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn stop_runs_when_a_panic_closes_the_runtime() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let counts = Counts::default();
    let rt = counts
        .builder(2)
        .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    drop(rt.spawn(async { panic!("{INTENTIONAL}: closes the runtime") }));
    // The workers leave on their own, before the runtime is dropped.
    wait_until("both stop hooks ran", || counts.stopped() == 2);
    drop_runtime(rt);
    assert_eq!(counts.stopped(), 2);
}

#[test]
fn stop_runs_on_the_worker_the_runtime_is_dropped_from() {
    let counts = Counts::default();
    let rt = counts.builder(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let rt = Arc::new(Mutex::new(Some(rt)));
    let owner = rt.clone();
    let handle = rt.lock().unwrap().as_ref().unwrap().handle().clone();
    drop(handle.spawn(async move {
        let rt = owner.lock().unwrap().take().unwrap();
        drop(rt); // from inside one of its own tasks
        tx.send(()).unwrap();
    }));
    support::recv(&rx, "the drop from inside a task");
    wait_until("both stop hooks ran", || counts.stopped() == 2);
}

#[test]
fn a_panicking_hook_does_not_take_the_worker_down() {
    let _serial = serial();
    let _quiet = quiet_panics();
    let rt = genrt::Builder::new()
        .worker_threads(1)
        .on_thread_start(|| panic!("{INTENTIONAL} in on_thread_start"))
        .on_thread_stop(|| panic!("{INTENTIONAL} in on_thread_stop"))
        .build()
        .unwrap();
    assert_eq!(wait_for("a task", rt.spawn(async { 3 })).unwrap(), 3);
    drop_runtime(rt);
}

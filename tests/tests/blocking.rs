//! The blocking pool: `genrt::spawn_blocking`, `Runtime::spawn_blocking`,
//! `Handle::spawn_blocking`, `JoinSet::spawn_blocking`, `Builder::max_blocking_threads` and
//! `Builder::thread_keep_alive`, the thread hooks on blocking threads, and what shutdown does
//! with queued and running closures. Tokio's own tests of the same are in
//! `blocking_tokio_ports.rs`.
//!
//! Closures that must stay running are held by a [`Gate`] the test opens, and every wait is
//! bounded (`support`): a lost closure or a hung shutdown fails with a message. No test
//! asserts how long anything takes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use support::{
    drop_runtime, panic_message, quiet_panics, recv, wait_for, wait_until, Gate, Watchdog,
    DEADLINE, INTENTIONAL,
};

/// Sets its flag when dropped: tells whether a closure (which owns it) was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn builder(workers: usize) -> genrt::Builder {
    let mut builder = genrt::Builder::new();
    builder.worker_threads(workers);
    builder
}

#[test]
fn spawn_blocking_from_every_entry_point() {
    let rt = builder(2).build().unwrap();
    // Runtime::spawn_blocking, from the test thread.
    assert_eq!(
        wait_for("Runtime::spawn_blocking", rt.spawn_blocking(|| 1)).unwrap(),
        1
    );
    // Handle::spawn_blocking, from a plain thread.
    let handle = rt.handle().clone();
    let join = thread::spawn(move || handle.spawn_blocking(|| 2))
        .join()
        .unwrap();
    assert_eq!(wait_for("Handle::spawn_blocking", join).unwrap(), 2);
    // genrt::spawn_blocking, from a task on a worker and from block_on.
    let from_task = rt.spawn(async { genrt::spawn_blocking(|| 3).await.unwrap() });
    assert_eq!(
        wait_for("a task awaiting its closure", from_task).unwrap(),
        3
    );
    let from_block_on = Watchdog::new("block_on awaiting a closure").run(move || {
        let out = rt.block_on(async { genrt::spawn_blocking(|| 4).await.unwrap() });
        drop(rt);
        out
    });
    assert_eq!(from_block_on, 4);
}

#[test]
fn closures_run_on_blocking_threads_not_workers() {
    let rt = builder(1)
        .thread_name("genrt-blocking-test")
        .build()
        .unwrap();
    let worker = wait_for(
        "a task's thread",
        rt.spawn(async { thread::current().id() }),
    )
    .unwrap();
    let (id, name) = wait_for(
        "a closure's thread",
        rt.spawn_blocking(|| {
            let current = thread::current();
            (current.id(), current.name().map(str::to_owned))
        }),
    )
    .unwrap();
    assert_ne!(id, worker, "a blocking closure ran on the worker thread");
    // Blocking threads take the builder's thread name, as in Tokio.
    assert_eq!(name.as_deref(), Some("genrt-blocking-test"));
    drop_runtime(rt);
}

#[test]
fn spawn_blocking_outside_a_runtime_panics_with_a_message() {
    let _quiet = quiet_panics();
    let err = std::panic::catch_unwind(|| genrt::spawn_blocking(|| ())).unwrap_err();
    let message = panic_message(&*err).unwrap();
    assert!(
        message.contains("genrt::spawn_blocking called outside a genrt runtime"),
        "{message}"
    );
}

#[test]
fn max_blocking_threads_zero_is_refused() {
    let err = builder(1).max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_blocking_threads"));
}

/// Never more than `max_blocking_threads` closures run at once; the rest wait in the queue
/// and all run later, on at most that many threads.
#[test]
fn the_cap_holds_and_queued_closures_run_later() {
    const CAP: usize = 3;
    const CLOSURES: usize = 12;
    let rt = builder(1).max_blocking_threads(CAP).build().unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(HashSet::<ThreadId>::new()));
    let gate = Gate::default();
    let joins: Vec<_> = (0..CLOSURES)
        .map(|i| {
            let (running, most, started, threads, gate) = (
                running.clone(),
                most.clone(),
                started.clone(),
                threads.clone(),
                gate.clone(),
            );
            rt.spawn_blocking(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                started.fetch_add(1, Ordering::SeqCst);
                threads.lock().unwrap().insert(thread::current().id());
                gate.wait();
                running.fetch_sub(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    // The pool fills up to the cap while every closure is held...
    wait_until("the pool runs CAP closures", || {
        running.load(Ordering::SeqCst) == CAP
    });
    assert_eq!(
        started.load(Ordering::SeqCst),
        CAP,
        "more closures started than the cap"
    );
    // ... and the queued ones run once the gate opens.
    gate.open();
    for (i, join) in joins.into_iter().enumerate() {
        assert_eq!(wait_for("every closure's result", join).unwrap(), i);
    }
    assert_eq!(started.load(Ordering::SeqCst), CLOSURES);
    assert_eq!(most.load(Ordering::SeqCst), CAP, "the cap was exceeded");
    assert!(
        threads.lock().unwrap().len() <= CAP,
        "more threads than the cap"
    );
    drop_runtime(rt);
}

/// Hook counters, to observe blocking threads starting and stopping (workers start once and
/// stop only at shutdown).
#[derive(Clone, Default)]
struct Hooks {
    started: Arc<Mutex<Vec<ThreadId>>>,
    stopped: Arc<Mutex<Vec<ThreadId>>>,
    /// The threads whose start hook found no current runtime.
    outside_context: Arc<Mutex<Vec<ThreadId>>>,
}

impl Hooks {
    fn install(&self, builder: &mut genrt::Builder) {
        let (started, stopped, context) = (
            self.started.clone(),
            self.stopped.clone(),
            self.outside_context.clone(),
        );
        builder
            .on_thread_start(move || {
                started.lock().unwrap().push(thread::current().id());
                if genrt::Handle::try_current().is_err() {
                    context.lock().unwrap().push(thread::current().id());
                }
            })
            .on_thread_stop(move || {
                stopped.lock().unwrap().push(thread::current().id());
            });
    }

    fn started(&self) -> Vec<ThreadId> {
        self.started.lock().unwrap().clone()
    }

    fn stopped(&self) -> Vec<ThreadId> {
        self.stopped.lock().unwrap().clone()
    }
}

#[test]
fn an_idle_thread_exits_after_the_keep_alive_and_runs_its_stop_hook() {
    let hooks = Hooks::default();
    let mut b = builder(1);
    b.thread_keep_alive(Duration::from_millis(20));
    hooks.install(&mut b);
    let rt = b.build().unwrap();
    let first = wait_for("a closure", rt.spawn_blocking(|| thread::current().id())).unwrap();
    assert!(
        hooks.started().contains(&first),
        "no start hook before the closure"
    );
    // The worker stops only at shutdown: a stop while the runtime lives is the idle thread's.
    wait_until("the idle blocking thread exits", || {
        hooks.stopped().contains(&first)
    });
    assert_eq!(hooks.stopped(), vec![first]);
    // A new closure starts a new thread, with its own start hook.
    let second = wait_for(
        "a closure after the keep-alive exit",
        rt.spawn_blocking(|| thread::current().id()),
    )
    .unwrap();
    assert_ne!(first, second, "a thread that exited ran a closure");
    assert!(hooks.started().contains(&second));
    drop_runtime(rt);
    assert!(
        hooks.stopped().contains(&second),
        "no stop hook at shutdown"
    );
}

/// With one thread allowed and a long keep-alive, every closure runs on the same thread:
/// one that exited early (or a second one started) would show as another id.
#[test]
fn an_idle_thread_within_its_keep_alive_is_reused() {
    let hooks = Hooks::default();
    let mut b = builder(1);
    b.max_blocking_threads(1).thread_keep_alive(DEADLINE * 4);
    hooks.install(&mut b);
    let rt = b.build().unwrap();
    let ids: Vec<ThreadId> = (0..5)
        .map(|_| wait_for("a closure", rt.spawn_blocking(|| thread::current().id())).unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "a closure ran on a second thread"
    );
    assert!(
        !hooks.stopped().contains(&ids[0]),
        "the thread stopped within its keep-alive"
    );
    drop_runtime(rt);
    assert!(hooks.stopped().contains(&ids[0]));
}

#[test]
fn hooks_run_on_blocking_threads_inside_the_context() {
    let hooks = Hooks::default();
    let mut b = builder(1);
    hooks.install(&mut b);
    let rt = b.build().unwrap();
    let blocking = wait_for("a closure", rt.spawn_blocking(|| thread::current().id())).unwrap();
    assert!(
        hooks.started().contains(&blocking),
        "no start hook on the blocking thread"
    );
    assert!(
        hooks.outside_context.lock().unwrap().is_empty(),
        "a start hook ran outside the runtime's context"
    );
    assert!(!hooks.stopped().contains(&blocking));
    drop_runtime(rt);
    let stopped = hooks.stopped();
    assert!(
        stopped.contains(&blocking),
        "no stop hook on the blocking thread at shutdown"
    );
    assert_eq!(
        stopped.len(),
        hooks.started().len(),
        "a hook ran without its pair"
    );
}

#[test]
fn spawn_current_and_block_on_work_inside_a_closure() {
    let rt = builder(2).build().unwrap();
    let join = rt.spawn_blocking(|| {
        let handle = genrt::Handle::current();
        let spawned = genrt::spawn(async { 20 });
        let nested = genrt::spawn_blocking(|| 2);
        let a = handle.block_on(spawned).unwrap();
        let b = handle.block_on(nested).unwrap();
        let c = handle.block_on(async { genrt::spawn(async { 20 }).await.unwrap() });
        a + b + c
    });
    assert_eq!(wait_for("the closure", join).unwrap(), 42);
    drop_runtime(rt);
}

#[test]
fn a_panic_is_reported_through_the_handle_only() {
    let _quiet = quiet_panics();
    let rt = builder(1).build().unwrap();
    let err = wait_for(
        "a panicking closure",
        rt.spawn_blocking(|| -> u32 { panic!("{INTENTIONAL}: blocking") }),
    )
    .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        panic_message(&*err.into_panic()),
        Some(&*format!("{INTENTIONAL}: blocking"))
    );
    // The pool and the runtime carry on.
    assert_eq!(
        wait_for("a closure after", rt.spawn_blocking(|| 7)).unwrap(),
        7
    );
    assert_eq!(wait_for("a task after", rt.spawn(async { 8 })).unwrap(), 8);
    drop_runtime(rt);
}

/// Chosen as in Tokio: `UnhandledPanic` applies to spawned futures; a blocking closure's
/// panic is its handle's result and does not shut the runtime down.
#[test]
fn a_panic_does_not_shut_down_a_shutdown_runtime_policy_runtime() {
    let _quiet = quiet_panics();
    let rt = builder(1)
        .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let err = wait_for(
        "a panicking closure",
        rt.spawn_blocking(|| panic!("{INTENTIONAL}: blocking, ShutdownRuntime")),
    )
    .unwrap_err();
    assert!(err.is_panic());
    let rt = Watchdog::new("block_on after a blocking panic").run(move || {
        assert_eq!(
            rt.block_on(async { genrt::spawn(async { 9 }).await.unwrap() }),
            9
        );
        rt
    });
    // A task's panic still shuts it down: the policy itself is in force.
    let boom = rt.spawn(async { panic!("{INTENTIONAL}: task, ShutdownRuntime") });
    assert!(wait_for("the task's panic", boom).unwrap_err().is_panic());
    let late = rt.spawn(async {});
    assert!(wait_for("a late spawn", late).unwrap_err().is_cancelled());
    drop_runtime(rt);
}

#[test]
fn abort_of_a_queued_closure_cancels_it_unrun() {
    let rt = builder(1).max_blocking_threads(1).build().unwrap();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let busy = {
        let gate = gate.clone();
        rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            gate.wait();
        })
    };
    recv(&started, "the first closure to start");
    let ran = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let queued = {
        let ran = ran.clone();
        let flag = DropFlag(dropped.clone());
        rt.spawn_blocking(move || {
            let _flag = flag;
            ran.store(true, Ordering::SeqCst);
        })
    };
    let abort = queued.abort_handle();
    assert!(!queued.is_finished());
    abort.abort();
    gate.open();
    wait_for("the busy closure", busy).unwrap();
    let err = wait_for("the aborted closure's handle", queued).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!ran.load(Ordering::SeqCst), "an aborted queued closure ran");
    assert!(
        dropped.load(Ordering::SeqCst),
        "the aborted closure was not dropped"
    );
    assert!(abort.is_finished());
    drop_runtime(rt);
}

#[test]
fn abort_of_a_running_closure_lets_it_finish() {
    let rt = builder(1).build().unwrap();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let join = {
        let gate = gate.clone();
        rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            gate.wait();
            "finished"
        })
    };
    recv(&started, "the closure to start");
    join.abort();
    assert!(!join.is_finished());
    gate.open();
    // Tokio's semantics: a running blocking closure cannot be aborted; its value comes back.
    assert_eq!(wait_for("the closure's result", join).unwrap(), "finished");
    drop_runtime(rt);
}

#[test]
fn drop_cancels_queued_closures_and_waits_for_running_ones() {
    let rt = builder(1).max_blocking_threads(1).build().unwrap();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    let running = {
        let (gate, finished) = (gate.clone(), finished.clone());
        rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            gate.wait();
            finished.store(true, Ordering::SeqCst);
            "ran"
        })
    };
    recv(&started, "the running closure to start");
    let ran = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let queued = {
        let ran = ran.clone();
        let flag = DropFlag(dropped.clone());
        rt.spawn_blocking(move || {
            let _flag = flag;
            ran.store(true, Ordering::SeqCst);
        })
    };
    let (dropped_tx, drop_returned) = mpsc::channel();
    let finished_at_return = finished.clone();
    let dropper = thread::spawn(move || {
        drop(rt);
        dropped_tx
            .send(finished_at_return.load(Ordering::SeqCst))
            .unwrap();
    });
    // The queued closure is cancelled while the drop still waits for the running one.
    let err = wait_for("the queued closure's handle", queued).unwrap_err();
    assert!(err.is_cancelled());
    assert!(dropped.load(Ordering::SeqCst));
    assert!(
        !ran.load(Ordering::SeqCst),
        "a queued closure ran during shutdown"
    );
    assert!(
        drop_returned.try_recv().is_err(),
        "the drop returned while a closure was running"
    );
    gate.open();
    let finished_first = recv(&drop_returned, "the drop to return");
    assert!(
        finished_first,
        "the drop returned before the running closure finished"
    );
    dropper.join().unwrap();
    assert_eq!(
        wait_for("the running closure's handle", running).unwrap(),
        "ran"
    );
}

#[test]
fn shutdown_timeout_returns_false_while_a_closure_runs() {
    let rt = builder(1).build().unwrap();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let join = {
        let gate = gate.clone();
        rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            gate.wait();
            5
        })
    };
    recv(&started, "the closure to start");
    let pending = rt.spawn(std::future::pending::<()>());
    let all_exited = Watchdog::new("shutdown_timeout")
        .run(move || rt.shutdown_timeout(Duration::from_millis(20)));
    assert!(!all_exited, "shutdown_timeout reported every thread exited");
    // Tasks were still cancelled; the closure keeps running and finishes.
    assert!(wait_for("the task", pending).unwrap_err().is_cancelled());
    assert!(!join.is_finished());
    gate.open();
    assert_eq!(wait_for("the closure left running", join).unwrap(), 5);
}

#[test]
fn shutdown_timeout_returns_true_once_closures_finish() {
    let hooks = Hooks::default();
    let mut b = builder(1);
    hooks.install(&mut b);
    let rt = b.build().unwrap();
    let join = rt.spawn_blocking(|| 3);
    assert_eq!(wait_for("the closure", join).unwrap(), 3);
    let all_exited = Watchdog::new("shutdown_timeout").run(move || rt.shutdown_timeout(DEADLINE));
    assert!(all_exited);
    assert_eq!(
        hooks.stopped().len(),
        hooks.started().len(),
        "a thread did not stop"
    );
}

#[test]
fn spawn_blocking_after_shutdown_is_cancelled_unrun() {
    let rt = builder(1).build().unwrap();
    let handle = rt.handle().clone();
    drop_runtime(rt);
    let ran = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let join = {
        let ran = ran.clone();
        let flag = DropFlag(dropped.clone());
        handle.spawn_blocking(move || {
            let _flag = flag;
            ran.store(true, Ordering::SeqCst);
        })
    };
    assert!(join.is_finished(), "the handle did not resolve at once");
    assert!(wait_for("the handle", join).unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
    assert!(dropped.load(Ordering::SeqCst));
}

/// Shutdown drops every future before it waits for the blocking threads: a closure waiting
/// on a channel whose sender a pending task holds gets a closed channel and returns, instead
/// of deadlocking the drop.
#[test]
fn a_closure_waiting_on_a_task_does_not_deadlock_shutdown() {
    let rt = builder(1).build().unwrap();
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    rt.spawn(async move {
        let _tx = tx;
        std::future::pending::<()>().await;
    });
    let (started_tx, started) = mpsc::channel();
    let join = rt.spawn_blocking(move || {
        let handle = genrt::Handle::current();
        started_tx.send(()).unwrap();
        handle.block_on(rx).is_err()
    });
    recv(&started, "the closure to start");
    drop_runtime(rt);
    assert!(
        wait_for("the closure", join).unwrap(),
        "the sender was not dropped"
    );
}

/// A closure still running after its runtime's scheduler has shut down can still enter it
/// and `block_on` (its thread holds the runtime's registration for its whole life); what it
/// spawns there is cancelled. The closure waits until the scheduler's shutdown has dropped a
/// task and asked to unregister (a plain thread's `enter` is refused) before it enters.
#[test]
fn block_on_inside_a_closure_after_the_scheduler_shut_down() {
    struct SignalOnDrop(Option<mpsc::Sender<()>>);
    impl Drop for SignalOnDrop {
        fn drop(&mut self) {
            let _ = self.0.take().unwrap().send(());
        }
    }
    let rt = builder(1).build().unwrap();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let signal = SignalOnDrop(Some(dropped_tx));
    rt.spawn(async move {
        let _signal = signal;
        std::future::pending::<()>().await;
    });
    let (started_tx, started) = mpsc::channel();
    let join = rt.spawn_blocking(move || {
        let handle = genrt::Handle::current();
        started_tx.send(()).unwrap();
        recv(&dropped_rx, "the shutdown to drop the task");
        // Then until the shutdown has asked to unregister: a plain thread can no longer
        // enter (its panic is caught; its message is the test's captured output).
        wait_until("the runtime refuses a plain thread's enter", || {
            let probe = handle.clone();
            thread::spawn(move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(probe.enter())))
                    .is_err()
            })
            .join()
            .unwrap()
        });
        let _enter = handle.enter();
        handle.block_on(async { genrt::spawn(async { 1 }).await })
    });
    recv(&started, "the closure to start");
    drop_runtime(rt);
    let spawned = wait_for("the closure", join).expect("block_on after the shutdown panicked");
    assert!(spawned.unwrap_err().is_cancelled());
}

/// Dropping the runtime from inside one of its blocking closures: the pool does not wait for
/// the thread doing the drop, so nothing deadlocks.
#[test]
fn a_runtime_dropped_inside_its_own_closure() {
    let rt = builder(1).build().unwrap();
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    let slot = Arc::new(Mutex::new(Some(rt)));
    let inner = slot.clone();
    let join = handle.spawn_blocking(move || {
        let rt = inner.lock().unwrap().take().unwrap();
        drop(rt);
        tx.send(()).unwrap();
        11
    });
    recv(&rx, "the drop inside the closure to return");
    assert_eq!(wait_for("the closure", join).unwrap(), 11);
    assert!(
        handle.spawn_blocking(|| ()).is_finished(),
        "the pool is still open"
    );
}

#[test]
fn join_set_spawn_blocking() {
    let rt = builder(2).max_blocking_threads(1).build().unwrap();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut set = genrt::JoinSet::new();
    {
        let gate = gate.clone();
        set.spawn_blocking_on(
            move || {
                started_tx.send(()).unwrap();
                gate.wait();
                0
            },
            rt.handle(),
        );
    }
    recv(&started, "the first member to start");
    let mut aborts = Vec::new();
    for i in 1..=4 {
        let ran = ran.clone();
        aborts.push(set.spawn_blocking_on(
            move || {
                ran.fetch_add(1, Ordering::SeqCst);
                i
            },
            rt.handle(),
        ));
    }
    // Abort two queued members: cancelled, never run.
    aborts[0].abort();
    aborts[2].abort();
    gate.open();
    let results = Watchdog::new("joining the set").run(move || {
        let mut out = Vec::new();
        let mut cancelled = 0;
        rt.block_on(async {
            // spawn_blocking through the current runtime, from inside block_on.
            set.spawn_blocking(|| 10);
            while let Some(result) = set.join_next().await {
                match result {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        assert!(e.is_cancelled());
                        cancelled += 1;
                    }
                }
            }
        });
        out.sort_unstable();
        (out, cancelled)
    });
    assert_eq!(results, (vec![0, 2, 4, 10], 2));
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

#[test]
fn dropping_a_join_set_cancels_its_queued_blocking_members() {
    let rt = builder(1).max_blocking_threads(1).build().unwrap();
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let mut set = genrt::JoinSet::new();
    {
        let gate = gate.clone();
        set.spawn_blocking_on(
            move || {
                started_tx.send(()).unwrap();
                gate.wait();
            },
            rt.handle(),
        );
    }
    recv(&started, "the first member to start");
    let dropped = Arc::new(AtomicBool::new(false));
    let ran = Arc::new(AtomicBool::new(false));
    {
        let flag = DropFlag(dropped.clone());
        let ran = ran.clone();
        set.spawn_blocking_on(
            move || {
                let _flag = flag;
                ran.store(true, Ordering::SeqCst);
            },
            rt.handle(),
        );
    }
    drop(set);
    gate.open();
    // The aborted member is dropped unrun when the thread takes it.
    wait_until("the aborted member is dropped", || {
        dropped.load(Ordering::SeqCst)
    });
    assert!(!ran.load(Ordering::SeqCst));
    drop_runtime(rt);
}

/// Many closures from many threads at once, with a small cap: every one runs exactly once.
#[test]
fn many_closures_from_many_threads_each_run_once() {
    const THREADS: usize = 4;
    const EACH: usize = 500;
    let rt = builder(2).max_blocking_threads(3).build().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let spawners: Vec<_> = (0..THREADS)
        .map(|_| {
            let handle = rt.handle().clone();
            let count = count.clone();
            thread::spawn(move || {
                (0..EACH)
                    .map(|i| {
                        let count = count.clone();
                        handle.spawn_blocking(move || {
                            count.fetch_add(1, Ordering::SeqCst);
                            i
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for spawner in spawners {
        for (i, join) in spawner.join().unwrap().into_iter().enumerate() {
            assert_eq!(wait_for("a closure", join).unwrap(), i);
        }
    }
    assert_eq!(count.load(Ordering::SeqCst), THREADS * EACH);
    drop_runtime(rt);
}

/// `settle` does not wait for blocking closures: a task awaiting a held closure counts as
/// suspended, and the closure's completion wakes it later.
#[test]
fn settle_does_not_wait_for_blocking_closures() {
    let rt = Arc::new(builder(1).build().unwrap());
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let held = gate.clone();
    let task = rt.spawn(async move {
        genrt::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            held.wait();
            6
        })
        .await
        .unwrap()
    });
    recv(&started, "the closure to start");
    let settling = rt.clone();
    Watchdog::new("settle while a closure is held")
        .suspect("settle waited for a blocking closure")
        .run(move || settling.settle());
    assert!(!task.is_finished());
    gate.open();
    assert_eq!(wait_for("the task awaiting the closure", task).unwrap(), 6);
    let rt = Arc::try_unwrap(rt).unwrap_or_else(|_| panic!("the runtime is still shared"));
    drop_runtime(rt);
}

/// Closures spawned from several threads while the runtime is dropped: every handle resolves
/// (to the closure's value or to cancelled), every closure is dropped exactly once (run or
/// not), nothing hangs, and every blocking thread that ran a start hook ran its stop hook by
/// the time the drop returned (a thread started just before the close enters nothing).
#[test]
fn spawns_racing_the_drop() {
    use support::{assert_dropped_once, drop_counts, DropOnce};
    const ROUNDS: usize = 30;
    const SPAWNERS: usize = 3;
    const EACH: usize = 100;
    Watchdog::new("spawn_blocking racing the drop").run(|| {
        let (mut ok, mut cancelled) = (0, 0);
        for round in 0..ROUNDS {
            let hooks = Hooks::default();
            let mut b = builder(2);
            b.max_blocking_threads(4);
            hooks.install(&mut b);
            let rt = b.build().unwrap();
            let counts = drop_counts(SPAWNERS * EACH);
            let barrier = Arc::new(std::sync::Barrier::new(SPAWNERS + 1));
            let spawners: Vec<_> = (0..SPAWNERS)
                .map(|s| {
                    let (handle, counts, barrier) =
                        (rt.handle().clone(), counts.clone(), barrier.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        (0..EACH)
                            .map(|i| {
                                let index = s * EACH + i;
                                let guard = DropOnce::new(&counts, index);
                                handle.spawn_blocking(move || {
                                    let _guard = guard;
                                    index
                                })
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            barrier.wait();
            drop(rt);
            assert_eq!(
                hooks.started().len(),
                hooks.stopped().len(),
                "round {round}: a thread that started did not stop before the drop returned"
            );
            for spawner in spawners {
                for join in spawner.join().unwrap() {
                    match wait_for("a closure racing the drop", join) {
                        Ok(_) => ok += 1,
                        Err(e) => {
                            assert!(e.is_cancelled());
                            cancelled += 1;
                        }
                    }
                }
            }
            assert_dropped_once(&counts, 0..SPAWNERS * EACH, format_args!("round {round}"));
        }
        support::report(format_args!(
            "spawns_racing_the_drop: {ok} ran, {cancelled} cancelled"
        ));
        assert_eq!(ok + cancelled, ROUNDS * SPAWNERS * EACH);
    });
}

/// Bursts of closures with a keep-alive so short that idle threads time out while spawns
/// notify them: no closure is lost or run twice, the cap holds, and every thread that started
/// stopped once the runtime is dropped.
#[test]
fn bursts_racing_keep_alive_exits() {
    const BURSTS: usize = 40;
    const EACH: usize = 50;
    const CAP: usize = 3;
    let hooks = Hooks::default();
    let mut b = builder(1);
    b.max_blocking_threads(CAP)
        .thread_keep_alive(Duration::from_micros(200));
    hooks.install(&mut b);
    let rt = b.build().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    for burst in 0..BURSTS {
        let joins: Vec<_> = (0..EACH)
            .map(|i| {
                let (runs, running, most) = (runs.clone(), running.clone(), most.clone());
                rt.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    runs.fetch_add(1, Ordering::SeqCst);
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        for (i, join) in joins.into_iter().enumerate() {
            assert_eq!(
                wait_for("a closure of a burst", join).unwrap(),
                i,
                "burst {burst}"
            );
        }
        if burst % 8 == 0 {
            // Now and then let every thread time out, so the next burst starts new ones.
            thread::sleep(Duration::from_millis(2));
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), BURSTS * EACH);
    assert!(most.load(Ordering::SeqCst) <= CAP, "the cap was exceeded");
    drop_runtime(rt);
    assert_eq!(
        hooks.started().len(),
        hooks.stopped().len(),
        "a thread that started did not stop"
    );
}

/// A blocking thread whose keep-alive ran out stops counting toward `max_blocking_threads`
/// when it leaves its loop, not when it has exited: it no longer looks at the queue, so a
/// closure spawned while it runs its stop hook (and the rest of its exit) must start a new
/// thread. It was left queued behind the leaving thread, which counted as a thread that
/// would take it, and was never run (a lost closure: `doc_claims.rs`'s
/// `a_zero_keep_alive_loses_no_closure` hung once in about 300 runs). The stop hook holds the
/// leaving thread in that window here.
#[test]
fn a_closure_spawned_while_the_only_thread_leaves_by_keep_alive_runs() {
    let rt = Watchdog::new("a closure spawned while the only blocking thread leaves")
        .limit(DEADLINE * 2)
        .run(|| {
            let (leaving_tx, leaving) = mpsc::channel::<()>();
            let leaving_tx = Mutex::new(Some(leaving_tx));
            let gate = Gate::default();
            let held = gate.clone();
            let mut b = builder(1);
            b.max_blocking_threads(1)
                .thread_keep_alive(Duration::ZERO)
                .on_thread_stop(move || {
                    // The first stop is the blocking thread's keep-alive exit (the worker
                    // stops only at shutdown): hold it there.
                    let first = leaving_tx.lock().unwrap().take();
                    if let Some(tx) = first {
                        tx.send(()).unwrap();
                        held.wait();
                    }
                });
            let rt = b.build().unwrap();
            assert_eq!(
                wait_for("the first closure", rt.spawn_blocking(|| 1)).unwrap(),
                1
            );
            recv(&leaving, "the idle thread to leave by keep-alive");
            // The only thread allowed is inside its stop hook, past its last look at the queue.
            let second = rt.spawn_blocking(|| 2);
            assert_eq!(
                wait_for("a closure spawned while the only thread leaves", second).unwrap(),
                2
            );
            gate.open();
            rt
        });
    drop_runtime(rt);
}

//! The blocking pool, `block_in_place` and shutdown under review (adversarial): the pool at
//! its cap with closures that wait on each other in an order only FIFO queueing serves,
//! keep-alive expiry racing spawns, hook and name counts against threads, panics and aborts
//! of closures, spawns from futures dropped by shutdown and from closures that outlive it,
//! the runtime dropped or shut down from inside its own closure, and `block_in_place` with a
//! full local queue, a saturated pool, every worker blocked, and after `shutdown_timeout`
//! gave up on it. `blocking.rs`, `blocking_tokio_ports.rs` and `block_in_place.rs` hold the
//! rest.
//!
//! Every test runs under a [`Watchdog`]; closures that must stay running are held by a
//! [`Gate`] the test opens; every wait is bounded. No test asserts how long anything takes.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use std::time::Duration;

use support::counting::threads_named;
use support::{
    panic_message, quiet_panics, recv, serial, wait_for, wait_until, DropCounter, Gate, Watchdog,
    DEADLINE, INTENTIONAL,
};

/// Counts thread starts, stops and `thread_name_fn` calls of one runtime, whose threads it
/// names `name` (at most 15 bytes, so that [`threads_named`] finds them).
#[derive(Clone, Default)]
struct Counts {
    names: Arc<AtomicUsize>,
    started: Arc<Mutex<Vec<ThreadId>>>,
    stopped: Arc<Mutex<Vec<ThreadId>>>,
}

impl Counts {
    fn install(&self, builder: &mut genrt::Builder, name: &'static str) {
        let (names, started, stopped) = (
            self.names.clone(),
            self.started.clone(),
            self.stopped.clone(),
        );
        builder
            .thread_name_fn(move || {
                names.fetch_add(1, Ordering::SeqCst);
                name.to_string()
            })
            .on_thread_start(move || started.lock().unwrap().push(thread::current().id()))
            .on_thread_stop(move || stopped.lock().unwrap().push(thread::current().id()));
    }

    fn names(&self) -> usize {
        self.names.load(Ordering::SeqCst)
    }

    fn started(&self) -> Vec<ThreadId> {
        self.started.lock().unwrap().clone()
    }

    fn stopped(&self) -> Vec<ThreadId> {
        self.stopped.lock().unwrap().clone()
    }

    /// Every thread that started has stopped, once, and `thread_name_fn` ran for each (and
    /// for each thread started just before a close, which exits at once, running no hook:
    /// the pool's docs; so at least once per start).
    fn assert_paired(&self, what: &str) {
        let started = self.started();
        let stopped = self.stopped();
        let distinct: HashSet<_> = started.iter().collect();
        assert_eq!(
            distinct.len(),
            started.len(),
            "{what}: a thread started twice"
        );
        let mut a = started.clone();
        let mut b = stopped.clone();
        a.sort_by_key(|id| format!("{id:?}"));
        b.sort_by_key(|id| format!("{id:?}"));
        assert_eq!(
            a, b,
            "{what}: the threads that started are not those that stopped"
        );
        assert!(
            self.names() >= started.len(),
            "{what}: {} thread_name_fn calls for {} thread starts",
            self.names(),
            started.len()
        );
    }
}

fn multi(workers: usize) -> genrt::Builder {
    let mut builder = genrt::Builder::new();
    builder.worker_threads(workers);
    builder
}

// ---------------------------------------------------------------------------------------
// The pool at its cap
// ---------------------------------------------------------------------------------------

/// Closure `i` waits for closure `i - 1` to send before it sends to `i + 1`. At the cap, the
/// queued closures must be taken oldest first: a pool that took the newest (or any other
/// order) would fill its threads with closures waiting on ones still queued, for ever. With
/// one thread the closures run in spawn order exactly.
#[test]
fn a_chain_that_needs_fifo_queueing_completes_at_every_small_cap() {
    for cap in 1..=3 {
        Watchdog::new("a chain of closures at the cap").run(move || {
            const LEN: usize = 24;
            let rt = multi(1).max_blocking_threads(cap).build().unwrap();
            let order = Arc::new(Mutex::new(Vec::new()));
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..=LEN).map(|_| mpsc::channel::<()>()).unzip();
            let mut rxs: Vec<_> = rxs.into_iter().map(Some).collect();
            txs[0].send(()).unwrap();
            let joins: Vec<_> = (0..LEN)
                .map(|i| {
                    let rx = rxs[i].take().unwrap();
                    let tx = txs[i + 1].clone();
                    let order = order.clone();
                    rt.spawn_blocking(move || {
                        order.lock().unwrap().push(i);
                        recv(&rx, "the previous closure of the chain");
                        tx.send(()).unwrap();
                        i
                    })
                })
                .collect();
            for (i, join) in joins.into_iter().enumerate() {
                assert_eq!(wait_for("a closure of the chain", join).unwrap(), i);
            }
            if cap == 1 {
                assert_eq!(*order.lock().unwrap(), (0..LEN).collect::<Vec<_>>());
            }
            drop(rt);
        });
    }
}

/// A closure spawned from inside a closure, at a cap of one, waits for the outer one's thread
/// and runs after it; one spawned through a `Handle` from a foreign thread the same.
#[test]
fn closures_spawned_from_closures_and_foreign_threads_at_a_cap_of_one() {
    Watchdog::new("spawns from closures at a cap of one").run(|| {
        let rt = multi(1).max_blocking_threads(1).build().unwrap();
        let handle = rt.handle().clone();
        let outer = rt.spawn_blocking(|| {
            let inner = genrt::spawn_blocking(|| thread::current().id());
            let foreign = thread::spawn(move || handle.spawn_blocking(|| 5))
                .join()
                .unwrap();
            (thread::current().id(), inner, foreign)
        });
        let (outer_id, inner, foreign) = wait_for("the outer closure", outer).unwrap();
        assert_eq!(wait_for("the inner closure", inner).unwrap(), outer_id);
        assert_eq!(wait_for("the foreign closure", foreign).unwrap(), 5);
        drop(rt);
    });
}

/// Keep-alive expiry racing new spawns, many times, with one and two threads and tiny
/// keep-alives: no closure is lost, the cap holds, and once the runtime is dropped every
/// thread that started stopped once, `thread_name_fn` was called once per thread, and no
/// thread of the runtime is left.
#[test]
fn keep_alive_expiry_racing_spawns_loses_nothing_and_counts_match() {
    let _serial = serial();
    let keep_alives = [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_micros(20),
        Duration::from_micros(200),
    ];
    for cap in 1..=2 {
        for keep_alive in keep_alives {
            Watchdog::new("keep-alive expiry racing spawns").run(move || {
                const NAME: &str = "blkrev-keep";
                let counts = Counts::default();
                let mut b = multi(1);
                b.max_blocking_threads(cap).thread_keep_alive(keep_alive);
                counts.install(&mut b, NAME);
                let rt = b.build().unwrap();
                let running = Arc::new(AtomicUsize::new(0));
                let most = Arc::new(AtomicUsize::new(0));
                for round in 0..300usize {
                    let joins: Vec<_> = (0..1 + round % 3)
                        .map(|i| {
                            let (running, most) = (running.clone(), most.clone());
                            rt.spawn_blocking(move || {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                running.fetch_sub(1, Ordering::SeqCst);
                                i
                            })
                        })
                        .collect();
                    for (i, join) in joins.into_iter().enumerate() {
                        assert_eq!(wait_for("a closure racing keep-alive", join).unwrap(), i);
                    }
                    // Vary the gap so the spawn lands before, at and after the expiry.
                    for _ in 0..(round * 7) % 50 {
                        std::hint::spin_loop();
                    }
                    if round % 10 == 0 {
                        thread::yield_now();
                    }
                }
                assert!(most.load(Ordering::SeqCst) <= cap, "the cap was exceeded");
                drop(rt);
                // The one worker plus every blocking thread.
                counts.assert_paired(&format!("cap {cap}, keep-alive {keep_alive:?}"));
                // Keep-alive exits are detached: they may still be leaving.
                wait_until("the runtime's threads are gone", || {
                    threads_named(NAME).is_none_or(|n| n == 0)
                });
            });
        }
    }
}

/// A panicking closure is reported as a panic through its handle, and its thread goes on to
/// run the next closure: at a cap of one, the closures before and after it run on the same
/// thread, and no second thread ever started.
#[test]
fn a_panicking_closure_leaves_its_thread_to_run_the_next() {
    let _quiet = quiet_panics();
    Watchdog::new("a panicking closure").run(|| {
        let counts = Counts::default();
        let mut b = multi(1);
        b.max_blocking_threads(1);
        counts.install(&mut b, "blkrev-panic");
        let rt = b.build().unwrap();
        let before = rt.spawn_blocking(|| thread::current().id());
        let panicking = rt.spawn_blocking(|| -> () { panic!("{INTENTIONAL}: in a closure") });
        let after = rt.spawn_blocking(|| thread::current().id());
        let before = wait_for("the closure before", before).unwrap();
        let err = wait_for("the panicking closure", panicking).unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        let payload = err.into_panic();
        assert!(panic_message(&*payload).is_some_and(|m| m.starts_with(INTENTIONAL)));
        assert_eq!(wait_for("the closure after", after).unwrap(), before);
        drop(rt);
        // The worker and the one blocking thread.
        assert_eq!(counts.started().len(), 2);
        counts.assert_paired("a panicking closure");
    });
}

/// Tokio's semantics of abort on a blocking task: a running closure is not interrupted and
/// its handle reports what it did (here, a panic after the abort); a queued one is dropped
/// unrun and reports cancelled; an abort after the result changes nothing.
#[test]
fn abort_of_a_running_closure_that_then_panics_reports_the_panic() {
    let _quiet = quiet_panics();
    Watchdog::new("aborts of blocking closures").run(|| {
        let rt = multi(1).max_blocking_threads(1).build().unwrap();
        let gate = Gate::default();
        let (started_tx, started) = mpsc::channel();
        let held = gate.clone();
        let running = rt.spawn_blocking(move || -> () {
            started_tx.send(()).unwrap();
            held.wait();
            panic!("{INTENTIONAL}: after the abort");
        });
        recv(&started, "the running closure");
        let ran = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));
        let queued = {
            let (ran, counter) = (ran.clone(), DropCounter(dropped.clone()));
            rt.spawn_blocking(move || {
                let _counter = counter;
                ran.store(true, Ordering::SeqCst);
            })
        };
        running.abort();
        queued.abort();
        assert!(!running.is_finished());
        gate.open();
        let err = wait_for("the aborted running closure", running).unwrap_err();
        assert!(
            err.is_panic(),
            "a running closure's panic after abort: {err:?}"
        );
        let err = wait_for("the aborted queued closure", queued).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!ran.load(Ordering::SeqCst), "an aborted queued closure ran");
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        let done = rt.spawn_blocking(|| 3);
        wait_until("the closure finished", || done.is_finished());
        done.abort();
        assert_eq!(wait_for("a finished closure aborted", done).unwrap(), 3);
        drop(rt);
    });
}

// ---------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------

/// A future whose `Drop` spawns a blocking closure (and blocks in place), dropped by the
/// runtime's shutdown: as in Tokio, the drop runs inside the runtime's context, so the spawn
/// works and gives a handle that reports cancelled; the closure is dropped unrun; nothing
/// hangs or panics.
#[test]
fn a_future_dropped_by_shutdown_may_spawn_blocking_and_block_in_place() {
    Watchdog::new("spawns from futures dropped by shutdown").run(|| {
        /// What the spawn in the drop gave: its handle, or its panic's message.
        type Outcome = Arc<Mutex<Option<Result<genrt::JoinHandle<()>, String>>>>;
        struct SpawnsOnDrop {
            ran: Arc<AtomicBool>,
            closure_dropped: Arc<AtomicUsize>,
            outcome: Outcome,
            in_place: Arc<AtomicUsize>,
        }
        impl Future for SpawnsOnDrop {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                Poll::Pending
            }
        }
        impl Drop for SpawnsOnDrop {
            fn drop(&mut self) {
                let (ran, counter) = (self.ran.clone(), DropCounter(self.closure_dropped.clone()));
                let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    genrt::spawn_blocking(move || {
                        let _counter = counter;
                        ran.store(true, Ordering::SeqCst);
                    })
                }))
                .map_err(|payload| panic_message(&*payload).unwrap_or_default().to_string());
                *self.outcome.lock().unwrap() = Some(spawned);
                let in_place = self.in_place.clone();
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    genrt::task::block_in_place(|| in_place.fetch_add(1, Ordering::SeqCst))
                }));
            }
        }
        let rt = multi(2).build().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let closure_dropped = Arc::new(AtomicUsize::new(0));
        let outcome = Arc::new(Mutex::new(None));
        let in_place = Arc::new(AtomicUsize::new(0));
        let (polled_tx, polled) = mpsc::channel();
        let future = SpawnsOnDrop {
            ran: ran.clone(),
            closure_dropped: closure_dropped.clone(),
            outcome: outcome.clone(),
            in_place: in_place.clone(),
        };
        let task = rt.spawn(async move {
            polled_tx.send(()).unwrap();
            future.await
        });
        recv(&polled, "the task's first poll");
        drop(rt);
        let join = match outcome.lock().unwrap().take() {
            Some(Ok(join)) => join,
            Some(Err(message)) => panic!("spawn_blocking in a dropped future panicked: {message}"),
            None => panic!("the future was not dropped by the runtime's drop"),
        };
        let err = wait_for("the closure spawned during shutdown", join).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(
            !ran.load(Ordering::SeqCst),
            "a closure spawned during shutdown ran"
        );
        assert_eq!(closure_dropped.load(Ordering::SeqCst), 1);
        assert_eq!(
            in_place.load(Ordering::SeqCst),
            1,
            "block_in_place did not run f"
        );
        assert!(wait_for("the task", task).unwrap_err().is_cancelled());
    });
}

/// A blocking closure holding a `Handle` spawns tasks and closures in a loop while the
/// runtime is dropped: the drop waits for it; once the runtime is closed its spawns are
/// cancelled on the spot (which is how it notices and stops); when the drop returns every
/// future and closure it made was dropped exactly once, and none ran after the close.
#[test]
fn the_runtime_dropped_while_a_closure_spawns_in_a_loop() {
    for workers in [1, 3] {
        Watchdog::new("a drop racing a spawning closure").run(move || {
            let rt = multi(workers).max_blocking_threads(4).build().unwrap();
            let made = Arc::new(AtomicUsize::new(0));
            let dropped = Arc::new(AtomicUsize::new(0));
            let (going_tx, going) = mpsc::channel();
            let spawner = {
                let (made, dropped) = (made.clone(), dropped.clone());
                rt.spawn_blocking(move || {
                    let handle = genrt::Handle::current();
                    let mut rounds = 0usize;
                    loop {
                        made.fetch_add(2, Ordering::SeqCst);
                        let counter = DropCounter(dropped.clone());
                        let task = handle.spawn(async move {
                            let _counter = counter;
                            std::future::pending::<()>().await
                        });
                        let counter = DropCounter(dropped.clone());
                        let closure = handle.spawn_blocking(move || drop(counter));
                        rounds += 1;
                        if rounds == 50 {
                            going_tx.send(()).unwrap();
                        }
                        // A pending task finishes only by the shutdown's cancellation.
                        if task.is_finished() {
                            let err = handle.block_on(task).unwrap_err();
                            assert!(err.is_cancelled(), "{err:?}");
                            // Spawned before or after the close: ran or cancelled.
                            let _ = handle.block_on(closure);
                            // The pool closes before the scheduler: a spawn now is cancelled.
                            let counter = DropCounter(dropped.clone());
                            made.fetch_add(1, Ordering::SeqCst);
                            let late = handle.spawn_blocking(move || drop(counter));
                            assert!(late.is_finished(), "a spawn after the close is queued");
                            let err = handle.block_on(late).unwrap_err();
                            assert!(err.is_cancelled(), "{err:?}");
                            return rounds;
                        }
                        drop(closure);
                        thread::yield_now();
                    }
                })
            };
            recv(&going, "the spawning closure to get going");
            drop(rt);
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                made.load(Ordering::SeqCst),
                "futures and closures made against those dropped once the drop returned"
            );
            assert!(wait_for("the spawning closure", spawner).unwrap() >= 50);
        });
    }
}

/// `shutdown_timeout` gives up on a closure stuck past it; released later, the closure still
/// finds its runtime (`Handle::current`), its spawns are cancelled, `block_on` works, its
/// handle gets its value, and its thread runs its stop hook and exits.
#[test]
fn a_closure_outliving_shutdown_timeout_uses_its_runtime_then_exits() {
    let _serial = serial();
    Watchdog::new("a closure outliving shutdown_timeout").run(|| {
        const NAME: &str = "blkrev-outlive";
        let counts = Counts::default();
        let mut b = multi(2);
        counts.install(&mut b, NAME);
        let rt = b.build().unwrap();
        let gate = Gate::default();
        let held = gate.clone();
        let (started_tx, started) = mpsc::channel();
        let stuck = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            held.wait();
            let handle = genrt::Handle::current();
            let task = handle.spawn(async { 1 });
            let closure = handle.spawn_blocking(|| 2);
            let task = handle.block_on(task);
            let closure = handle.block_on(closure);
            let value = handle.block_on(async { genrt::spawn(async { 3 }).await });
            (
                task.unwrap_err().is_cancelled(),
                closure.unwrap_err().is_cancelled(),
                value.unwrap_err().is_cancelled(),
                handle.block_on(async { 7 }),
            )
        });
        recv(&started, "the stuck closure");
        // The two workers and the closure's thread.
        wait_until("every thread started", || counts.started().len() == 3);
        assert!(!rt.shutdown_timeout(Duration::from_millis(10)));
        assert!(!stuck.is_finished());
        gate.open();
        assert_eq!(
            wait_for("the closure left behind", stuck).unwrap(),
            (true, true, true, 7)
        );
        wait_until("the left-behind thread stopped", || {
            counts.stopped().len() == 3
        });
        assert_eq!(counts.names(), 3);
        counts.assert_paired("a closure outliving shutdown_timeout");
        wait_until("the runtime's threads are gone", || {
            threads_named(NAME).is_none_or(|n| n == 0)
        });
    });
}

/// The runtime dropped from inside one of its closures while another closure runs (waiting
/// on a task's channel, which the drop's sweep closes) and more are queued behind the cap:
/// the queued ones are cancelled unrun, the running one finishes, the drop returns on its
/// own thread, which then finishes its closure (whose handle gets its value), runs its stop
/// hook and exits.
#[test]
fn the_runtime_dropped_inside_its_closure_beside_running_and_queued_ones() {
    let _serial = serial();
    Watchdog::new("a runtime dropped inside its closure").run(|| {
        const NAME: &str = "blkrev-dropin";
        let counts = Counts::default();
        let mut b = multi(2);
        b.max_blocking_threads(2);
        counts.install(&mut b, NAME);
        let rt = b.build().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let (waiting_tx, waiting) = mpsc::channel();
        // Holds `tx` until the sweep drops it.
        let _task = rt.spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        let waiter = rt.spawn_blocking(move || {
            waiting_tx.send(()).unwrap();
            rx.recv().is_err()
        });
        recv(&waiting, "the waiting closure");
        let slot = Arc::new(Mutex::new(None::<genrt::Runtime>));
        let (dropper_started_tx, dropper_started) = mpsc::channel();
        let gate = Gate::default();
        let held = gate.clone();
        let dropper = {
            let slot = slot.clone();
            rt.spawn_blocking(move || {
                dropper_started_tx.send(()).unwrap();
                held.wait();
                let rt = slot.lock().unwrap().take().expect("the runtime");
                drop(rt);
                genrt::Handle::try_current().is_ok()
            })
        };
        recv(&dropper_started, "the dropping closure");
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..5)
            .map(|_| {
                let ran = ran.clone();
                rt.spawn_blocking(move || ran.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        *slot.lock().unwrap() = Some(rt);
        gate.open();
        assert!(wait_for("the waiting closure", waiter).unwrap());
        assert!(wait_for("the dropping closure", dropper).unwrap());
        for join in queued {
            assert!(wait_for("a queued closure", join)
                .unwrap_err()
                .is_cancelled());
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0, "a queued closure ran");
        // The two workers and the two blocking threads.
        wait_until("every thread stopped", || counts.stopped().len() == 4);
        counts.assert_paired("a runtime dropped inside its closure");
        wait_until("the runtime's threads are gone", || {
            threads_named(NAME).is_none_or(|n| n == 0)
        });
    });
}

/// `shutdown_timeout` called from inside one of the runtime's own closures does not wait for
/// that closure (it cannot finish while the call runs): it returns `false` once the other
/// threads exited, well within a timeout far longer than the watchdog.
#[test]
fn shutdown_timeout_inside_its_own_closure_does_not_wait_for_it() {
    Watchdog::new("shutdown_timeout inside its own closure").run(|| {
        let rt = multi(2).build().unwrap();
        let slot = Arc::new(Mutex::new(None::<genrt::Runtime>));
        let (go_tx, go) = mpsc::channel::<()>();
        let closure = {
            let slot = slot.clone();
            rt.spawn_blocking(move || {
                recv(&go, "the runtime in its slot");
                let rt = slot.lock().unwrap().take().expect("the runtime");
                rt.shutdown_timeout(DEADLINE * 100)
            })
        };
        *slot.lock().unwrap() = Some(rt);
        go_tx.send(()).unwrap();
        assert!(!wait_for("the closure shutting its runtime down", closure).unwrap());
    });
}

// ---------------------------------------------------------------------------------------
// block_in_place
// ---------------------------------------------------------------------------------------

/// A task fills its worker's queues (LIFO slot and local deque) with children, then blocks in
/// place until every child has run: they must be taken over (by the stand-in or another
/// worker), not left until the closure returns. With one and two workers.
#[test]
fn block_in_place_with_a_full_local_queue_lets_every_child_run() {
    for workers in [1, 2] {
        Watchdog::new("block_in_place over a full local queue").run(move || {
            const CHILDREN: usize = 500;
            let rt = multi(workers).build().unwrap();
            let out = rt.block_on(rt.spawn(async {
                let ran = Arc::new(AtomicUsize::new(0));
                for _ in 0..CHILDREN {
                    let ran = ran.clone();
                    drop(genrt::spawn(async move {
                        ran.fetch_add(1, Ordering::SeqCst);
                    }));
                }
                genrt::task::block_in_place(move || {
                    wait_until("every child of the blocked task ran", || {
                        ran.load(Ordering::SeqCst) == CHILDREN
                    });
                    true
                })
            }));
            assert!(out.unwrap());
            drop(rt);
        });
    }
}

/// The same with the blocking pool saturated (its one thread held by a closure), so no
/// stand-in can start: the other worker must take every task of the blocked one's queues,
/// and what the closure spawns too.
#[test]
fn block_in_place_with_the_pool_saturated_hands_work_to_the_other_worker() {
    Watchdog::new("block_in_place with a saturated pool").run(|| {
        const CHILDREN: usize = 300;
        let rt = multi(2).max_blocking_threads(1).build().unwrap();
        let gate = Gate::default();
        let held = gate.clone();
        let (started_tx, started) = mpsc::channel();
        let hog = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            held.wait();
        });
        recv(&started, "the closure holding the pool's only thread");
        let out = rt.block_on(rt.spawn(async {
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..CHILDREN {
                let ran = ran.clone();
                drop(genrt::spawn(async move {
                    genrt::yield_now().await;
                    ran.fetch_add(1, Ordering::SeqCst);
                }));
            }
            genrt::task::block_in_place(move || {
                for _ in 0..CHILDREN {
                    let ran = ran.clone();
                    drop(genrt::spawn(async move {
                        ran.fetch_add(1, Ordering::SeqCst);
                    }));
                }
                wait_until("every task of the blocked worker ran", || {
                    ran.load(Ordering::SeqCst) == 2 * CHILDREN
                });
                true
            })
        }));
        assert!(out.unwrap());
        gate.open();
        wait_for("the closure holding the pool", hog).unwrap();
        drop(rt);
    });
}

/// Every worker blocked in place at once, for the whole test, while a foreign thread spawns
/// tasks one at a time (each sleeping first, so the timers must fire too) and awaits each:
/// every one runs.
#[test]
fn tasks_spawned_while_every_worker_blocks_in_place_run() {
    for workers in [1, 3] {
        Watchdog::new("spawns while every worker blocks in place").run(move || {
            let rt = multi(workers).build().unwrap();
            let gate = Gate::default();
            let (blocked_tx, blocked) = mpsc::channel();
            let blockers: Vec<_> = (0..workers)
                .map(|_| {
                    let (gate, blocked_tx) = (gate.clone(), blocked_tx.clone());
                    rt.spawn(async move {
                        genrt::task::block_in_place(move || {
                            blocked_tx.send(()).unwrap();
                            gate.wait();
                        })
                    })
                })
                .collect();
            for _ in 0..workers {
                recv(&blocked, "a worker blocking in place");
            }
            for i in 0..100usize {
                let join = rt.spawn(async move {
                    genrt::time::sleep(Duration::from_micros(100)).await;
                    genrt::yield_now().await;
                    i
                });
                assert_eq!(
                    wait_for("a task while every worker blocks", join).unwrap(),
                    i
                );
            }
            gate.open();
            for join in blockers {
                wait_for("a blocker", join).unwrap();
            }
            drop(rt);
        });
    }
}

/// `shutdown_timeout` gives up on a worker blocked in place; released later, the task goes
/// on: it spawns (cancelled, its future dropped), spawns a closure (cancelled), blocks in
/// place again (the closure just runs), then awaits a sleep: the task ends cancelled, and
/// the worker exits.
#[test]
fn a_worker_left_in_block_in_place_by_shutdown_timeout_goes_on_safely() {
    let _serial = serial();
    Watchdog::new("a worker outliving shutdown_timeout in place").run(|| {
        const NAME: &str = "blkrev-bip";
        let counts = Counts::default();
        let mut b = multi(2);
        counts.install(&mut b, NAME);
        let rt = b.build().unwrap();
        let gate = Gate::default();
        let held = gate.clone();
        let (blocked_tx, blocked) = mpsc::channel();
        let dropped = Arc::new(AtomicUsize::new(0));
        let (report_tx, report) = mpsc::channel();
        let task = {
            let dropped = dropped.clone();
            rt.spawn(async move {
                genrt::task::block_in_place(|| {
                    blocked_tx.send(()).unwrap();
                    held.wait();
                });
                let counter = DropCounter(dropped.clone());
                let child = genrt::spawn(async move {
                    let _counter = counter;
                });
                let closure = genrt::spawn_blocking(|| 1);
                let again = genrt::task::block_in_place(|| 2);
                let child_finished = child.is_finished();
                let closure_finished = closure.is_finished();
                report_tx
                    .send((child_finished, closure_finished, again))
                    .unwrap();
                genrt::time::sleep(Duration::from_millis(1)).await;
                unreachable!("a sleep completed after the runtime shut down");
            })
        };
        recv(&blocked, "the worker blocking in place");
        // The two workers and the stand-in's thread (one started just before the close would
        // exit at once, running no hook: the pool's docs).
        wait_until("the stand-in's thread started", || {
            counts.started().len() == 3
        });
        assert!(!rt.shutdown_timeout(Duration::from_millis(10)));
        gate.open();
        assert_eq!(
            recv(&report, "the task going on after block_in_place"),
            (true, true, 2)
        );
        let err = wait_for("the task left behind", task).unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        wait_until("every thread stopped", || counts.stopped().len() == 3);
        counts.assert_paired("a worker outliving shutdown_timeout in place");
        wait_until("the runtime's threads are gone", || {
            threads_named(NAME).is_none_or(|n| n == 0)
        });
    });
}

/// A task a stand-in polls (the only worker blocked in place) that blocks in place in turn,
/// while the runtime is dropped from the test thread: the drop waits for both closures,
/// which it releases by dropping the task that holds their channel's sender; nothing hangs.
#[test]
fn nested_stand_ins_released_by_the_drop() {
    Watchdog::new("nested stand-ins and the drop").run(|| {
        let rt = multi(1).build().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Arc::new(Mutex::new(rx));
        let (blocked_tx, blocked) = mpsc::channel();
        let _holder = rt.spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        let outer = {
            let (rx, blocked_tx) = (rx.clone(), blocked_tx.clone());
            rt.spawn(async move {
                let inner_tx = blocked_tx.clone();
                let inner = genrt::spawn(async move {
                    genrt::task::block_in_place(|| {
                        inner_tx.send(()).unwrap();
                        let _ = rx.lock().unwrap().recv_timeout(DEADLINE);
                    })
                });
                genrt::task::block_in_place(|| {
                    blocked_tx.send(()).unwrap();
                    genrt::Handle::current().block_on(inner)
                })
            })
        };
        recv(&blocked, "the first closure in place");
        recv(&blocked, "the second closure in place");
        drop(rt);
        let _ = wait_for("the outer task", outer);
    });
}

/// Timers keep firing while one of two workers blocks in place and the pool is saturated
/// (no stand-in can start): the other worker must drive them, parked or not, including
/// timers the blocked worker's task set before it blocked.
#[test]
fn timers_fire_while_a_worker_blocks_in_place_without_a_stand_in() {
    Watchdog::new("timers beside a worker blocked in place").run(|| {
        let rt = multi(2).max_blocking_threads(1).build().unwrap();
        let gate = Gate::default();
        let held = gate.clone();
        let (started_tx, started) = mpsc::channel();
        let hog = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            held.wait();
        });
        recv(&started, "the closure holding the pool's only thread");
        let (blocked_tx, blocked) = mpsc::channel();
        let done = Arc::new(AtomicBool::new(false));
        let blocker = {
            let done = done.clone();
            rt.spawn(async move {
                // A sleeper spawned (and its timer set) by the task that then blocks.
                let sleeper = genrt::spawn(async {
                    for _ in 0..5 {
                        genrt::time::sleep(Duration::from_millis(2)).await;
                    }
                });
                genrt::task::block_in_place(move || {
                    blocked_tx.send(()).unwrap();
                    wait_until("the sleepers finished", || done.load(Ordering::SeqCst));
                });
                sleeper.await.unwrap();
            })
        };
        recv(&blocked, "the worker blocking in place");
        for round in 0..5 {
            let join = rt.spawn(async move {
                genrt::time::sleep(Duration::from_millis(3)).await;
                genrt::time::sleep(Duration::ZERO).await;
                round
            });
            assert_eq!(
                wait_for("a sleeper beside the blocked worker", join).unwrap(),
                round
            );
        }
        done.store(true, Ordering::SeqCst);
        wait_for("the blocked task", blocker).unwrap();
        gate.open();
        wait_for("the closure holding the pool", hog).unwrap();
        drop(rt);
    });
}

/// Stop hooks of blocking threads that spawn a closure and wait for it: on a keep-alive exit
/// the closure runs (on another thread: the leaving one no longer counts); on the exit at
/// shutdown it is cancelled, and the drop does not hang.
#[test]
fn stop_hooks_that_spawn_blocking_and_wait() {
    Watchdog::new("stop hooks spawning closures").run(|| {
        let results = Arc::new(Mutex::new(Vec::new()));
        let mut b = multi(1);
        b.max_blocking_threads(1)
            .thread_keep_alive(Duration::from_millis(5));
        {
            let results = results.clone();
            b.on_thread_stop(move || {
                // Workers stop only at shutdown, inside no closure; both kinds record.
                let handle = genrt::Handle::current();
                let spawned = handle.spawn_blocking(|| 1);
                let outcome = if genrt::runtime::worker_index().is_some() {
                    // A worker may not block_on: just see that the spawn was cancelled.
                    Err(spawned.is_finished())
                } else {
                    Ok(handle.block_on(spawned).map_err(|e| e.is_cancelled()))
                };
                results.lock().unwrap().push(outcome);
            });
        }
        let rt = b.build().unwrap();
        assert_eq!(wait_for("a closure", rt.spawn_blocking(|| 0)).unwrap(), 0);
        // The keep-alive exit's hook spawns a closure: it runs on a new thread, whose own
        // keep-alive exit spawns another, and so on until the runtime is dropped.
        wait_until("a keep-alive exit's hook ran its closure", || {
            results.lock().unwrap().contains(&Ok(Ok(1)))
        });
        drop(rt);
        let results = results.lock().unwrap().clone();
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(Ok(1)) | Ok(Err(true)) | Err(true))),
            "{results:?}"
        );
    });
}

/// A `block_in_place` closure that panics stops its stand-in (and releases the stand-in's
/// hold on a paused clock): a sleep afterwards completes by auto-advance.
#[test]
fn a_panicking_block_in_place_releases_a_paused_clock() {
    let _quiet = quiet_panics();
    Watchdog::new("a paused clock after a panicking block_in_place").run(|| {
        let rt = multi(1).start_paused(true).build().unwrap();
        let out = rt.block_on(rt.spawn(async {
            let panicked = std::panic::catch_unwind(|| {
                genrt::task::block_in_place(|| panic!("{INTENTIONAL}: in place"))
            })
            .is_err();
            let start = genrt::time::Instant::now();
            genrt::time::sleep(Duration::from_secs(3600)).await;
            (panicked, start.elapsed() >= Duration::from_secs(3600))
        }));
        assert_eq!(out.unwrap(), (true, true));
        drop(rt);
    });
}

/// The runtime dropped from inside a task that a stand-in polls (the only worker blocked in
/// place on a channel whose sender a pending task holds): the drop runs on a blocking thread
/// inside a task's poll; it drops the pending task (releasing the blocked worker), waits for
/// the worker, does not wait for its own thread, and returns; everything then ends.
#[test]
fn the_runtime_dropped_from_a_task_a_stand_in_polls() {
    for workers in [1, 2] {
        Watchdog::new("a runtime dropped from a stand-in's task").run(move || {
            let rt = multi(workers).build().unwrap();
            let slot = Arc::new(Mutex::new(None::<genrt::Runtime>));
            let (tx, rx) = mpsc::channel::<()>();
            let _holder = rt.spawn(async move {
                let _tx = tx;
                std::future::pending::<()>().await
            });
            let (dropped_tx, dropped) = mpsc::channel();
            let (blocked_tx, blocked) = mpsc::channel();
            let gate = Gate::default();
            let held = gate.clone();
            let blocker = {
                let slot = slot.clone();
                rt.spawn(async move {
                    // Queued behind this worker: a stand-in (or the other worker) polls it.
                    let dropper = genrt::spawn(async move {
                        held.wait();
                        let rt = slot.lock().unwrap().take().expect("the runtime");
                        drop(rt);
                        dropped_tx.send(()).unwrap();
                    });
                    genrt::task::block_in_place(move || {
                        blocked_tx.send(()).unwrap();
                        rx.recv_timeout(DEADLINE).is_err()
                    });
                    drop(dropper);
                })
            };
            recv(&blocked, "the worker blocking in place");
            *slot.lock().unwrap() = Some(rt);
            gate.open();
            recv(&dropped, "the drop inside a stand-in's task to return");
            let _ = wait_for("the blocked task", blocker);
        });
    }
}

/// Liveness of a stand-in: the only worker blocks in place on a task queued behind it,
/// behind tasks that yield for ever (all in its local queue, spilled to the stand-in). The
/// stand-in polls both kinds of work, so the queued task must run within a bound however
/// often the spinners yield (a stand-in that looks at the shared queue first, where the
/// spinners it polls go back, never reaches the blocked worker's queue again).
#[test]
fn yielding_tasks_do_not_starve_a_stand_ins_queued_task() {
    for spinners in [1, 3] {
        Watchdog::new("a stand-in beside yielding tasks").run(move || {
            let rt = multi(1).build().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let blocker = {
                let stop = stop.clone();
                rt.spawn(async move {
                    let spinners: Vec<_> = (0..spinners)
                        .map(|_| {
                            let stop = stop.clone();
                            genrt::spawn(async move {
                                while !stop.load(Ordering::SeqCst) {
                                    genrt::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    let ran = Arc::new(AtomicBool::new(false));
                    let flag = ran.clone();
                    // Behind the spinners in this worker's queues; the block spills them all.
                    drop(genrt::spawn(
                        async move { flag.store(true, Ordering::SeqCst) },
                    ));
                    let seen = genrt::task::block_in_place(move || {
                        let deadline = std::time::Instant::now() + DEADLINE / 3;
                        while !ran.load(Ordering::SeqCst) {
                            if std::time::Instant::now() > deadline {
                                return false;
                            }
                            thread::sleep(Duration::from_millis(1));
                        }
                        true
                    });
                    stop.store(true, Ordering::SeqCst);
                    for spinner in spinners {
                        spinner.await.unwrap();
                    }
                    seen
                })
            };
            let seen = wait_for("the blocked task", blocker).unwrap();
            assert!(
                seen,
                "{spinners} spinners: the task queued behind the blocked worker never ran"
            );
            drop(rt);
        });
    }
}

/// Under `UnhandledPanic::ShutdownRuntime`, a task panics while the only worker blocks in
/// place waiting for a pending task's future to be dropped: the runtime closes, and every
/// task that is not being polled is cancelled promptly (as when a worker leaves its loop),
/// without waiting for the runtime's drop. (In Tokio the thread the core was handed to runs
/// the shutdown of every task.)
#[test]
fn shutdown_on_panic_while_the_only_worker_blocks_in_place_cancels_the_queued_tasks() {
    let _quiet = quiet_panics();
    for workers in [1, 2] {
        Watchdog::new("ShutdownRuntime while blocked in place").run(move || {
            let rt = multi(workers)
                .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
                .build()
                .unwrap();
            let (blocked_tx, blocked) = mpsc::channel();
            let waiter = rt.spawn(async move {
                // Pending for ever, holding the sender the closure waits on: the closure hears
                // of it when its future is dropped. (Not a `block_on` of its handle:
                // `block_on` panics once the runtime shut down on a panic.)
                let (tx, rx) = mpsc::channel::<()>();
                drop(genrt::spawn(async move {
                    let _tx = tx;
                    std::future::pending::<()>().await
                }));
                genrt::task::block_in_place(move || {
                    blocked_tx.send(()).unwrap();
                    rx.recv_timeout(DEADLINE / 2)
                })
            });
            recv(&blocked, "the worker blocking in place");
            let (panicked_tx, panicked) = mpsc::channel();
            drop(rt.spawn(async move {
                panicked_tx.send(()).unwrap();
                panic!("{INTENTIONAL}: shuts the runtime down");
            }));
            recv(&panicked, "the panicking task");
            let outcome = wait_for("the task blocked in place on a queued task", waiter);
            // Ok(Err(Disconnected)): the queued task's future was dropped (or it ran, blocked
            // on the gate, and was dropped when its poll returned). A timeout: nobody
            // cancelled it until the runtime's drop.
            assert_eq!(
                outcome.map_err(|e| e.to_string()),
                Ok(Err(mpsc::RecvTimeoutError::Disconnected)),
                "{workers} workers"
            );
            drop(rt);
        });
    }
}

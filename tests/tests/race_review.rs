//! An adversarial review of the task APIs under real threads, for races and lifecycle bugs a
//! Tokio user would not expect: join handles racing completion, first polls, wakes, drops and
//! foreign executors; abort handles from many threads and of blocking work; `JoinSet` under
//! concurrent spawns, aborts, drops and moves; task-locals on migrating tasks; a `LocalSet`
//! woken from other threads and timers; timers reset, cancelled and timed out at the edge;
//! intervals behind a stalled worker; and runtimes shut down three ways with all of it in
//! flight, every future and output dropped exactly once and every byte given back.
//!
//! Every test takes [`support::serial`] (they compare live bytes and share 2 loaded cores) and
//! runs under a [`Watchdog`]; no test bounds real time from above.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use genrt::task::{AbortHandle, JoinSet, LocalSet};
use genrt::time::{self, Instant, MissedTickBehavior};
use genrt::{JoinHandle, Runtime};
use support::counting::CountingAlloc;
use support::{
    quiet_panics, recv, serial, wait_for, wait_until, Baseline, DropCounter, Watchdog, INTENTIONAL,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Rounds per scenario: enough to hit the races on 2 loaded cores, few enough for the whole
/// file to run in well under a minute in a debug build.
const ROUNDS: usize = if cfg!(debug_assertions) { 600 } else { 3_000 };

/// Worker threads per runtime (the machine has 2 cores).
const WORKERS: usize = 2;

fn runtime() -> Runtime {
    genrt::Builder::new()
        .worker_threads(WORKERS)
        .thread_name("race-worker")
        .build()
        .expect("the runtime starts")
}

/// A counter shared by a round's futures and outputs.
fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn load(n: &AtomicUsize) -> usize {
    n.load(Ordering::SeqCst)
}

/// A waker that counts its wakes.
struct CountWake(AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn count_waker() -> (Arc<CountWake>, Waker) {
    let wake = Arc::new(CountWake(AtomicUsize::new(0)));
    (wake.clone(), Waker::from(wake))
}

/// A task's output that records its drop: how many times, and whether on a thread of the
/// runtime or on the thread that dropped its join handle.
struct Output {
    drops: Arc<AtomicUsize>,
    on_worker: Arc<AtomicUsize>,
}

impl Drop for Output {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if thread::current().name() == Some("race-worker") {
            self.on_worker.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Pends until `go` is set; each poll leaves the task's waker in `waker`.
struct Gate {
    go: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for Gate {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.go.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn open_gate(go: &AtomicBool, waker: &Mutex<Option<Waker>>) {
    go.store(true, Ordering::SeqCst);
    if let Some(waker) = waker.lock().unwrap().take() {
        waker.wake();
    }
}

// ---------------------------------------------------------------------------------------------
// JoinHandle
// ---------------------------------------------------------------------------------------------

/// An abort from another thread races a task's first poll, its completion, and a wake of it:
/// the handle reports either the value or cancelled, never anything else; the future and the
/// output (if made) are dropped exactly once each; `is_finished` holds once the result is
/// read, and a handle that says finished is ready at its next poll.
#[test]
fn abort_races_first_poll_completion_and_wake() {
    let _serial = serial();
    Watchdog::new("abort_races_first_poll_completion_and_wake")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let futures = counter();
            let outputs = counter();
            let made = counter();
            let on_worker = counter();
            let (mut ok, mut cancelled) = (0, 0);
            for round in 0..ROUNDS {
                p.at_round("spawning", round);
                let barrier = Arc::new(Barrier::new(3));
                let go = Arc::new(AtomicBool::new(false));
                let slot = Arc::new(Mutex::new(None));
                let handle = {
                    let (futures, outputs, made, on_worker) = (
                        futures.clone(),
                        outputs.clone(),
                        made.clone(),
                        on_worker.clone(),
                    );
                    let (go, slot) = (go.clone(), slot.clone());
                    let shape = round % 3;
                    let futures = DropCounter(futures);
                    rt.spawn(async move {
                        let _dropped = futures;
                        match shape {
                            // Ready at its first poll: the abort races the first poll.
                            0 => {}
                            // One yield: the abort races the completion on the second poll.
                            1 => genrt::yield_now().await,
                            // Pends until woken from another thread: the abort races that wake.
                            _ => Gate { go, waker: slot }.await,
                        }
                        made.fetch_add(1, Ordering::SeqCst);
                        Output {
                            drops: outputs,
                            on_worker,
                        }
                    })
                };
                let abort = handle.abort_handle();
                let aborter = {
                    let barrier = barrier.clone();
                    thread::spawn(move || {
                        barrier.wait();
                        abort.abort();
                        abort
                    })
                };
                let waker = {
                    let (barrier, go, slot) = (barrier.clone(), go.clone(), slot.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        // The task may not have stored its waker yet: spin until it has, or
                        // until it finished (aborted before its first poll).
                        open_gate(&go, &slot);
                    })
                };
                barrier.wait();
                let abort = aborter.join().unwrap();
                waker.join().unwrap();
                // The gate may have been opened before the task stored its waker; a poll after
                // that sees `go` and completes, but a poll that stored its waker after `take`
                // needs one more wake.
                if let Some(w) = slot.lock().unwrap().take() {
                    w.wake();
                }
                p.at_round("joining", round);
                let mut handle = handle;
                let result = wait_for("the raced task", &mut handle);
                assert!(handle.is_finished(), "a joined handle is finished");
                assert!(abort.is_finished(), "its abort handle agrees");
                match result {
                    Ok(output) => {
                        ok += 1;
                        drop(output);
                    }
                    Err(err) => {
                        assert!(err.is_cancelled(), "{err:?}");
                        cancelled += 1;
                    }
                }
                wait_until("the future was dropped", || load(&futures) == round + 1);
                assert_eq!(
                    load(&futures),
                    round + 1,
                    "each future dropped exactly once"
                );
                assert_eq!(
                    load(&outputs),
                    load(&made),
                    "each output dropped exactly once"
                );
            }
            assert_eq!(ok + cancelled, ROUNDS);
            drop(rt);
            assert_eq!(load(&futures), ROUNDS);
            assert_eq!(load(&outputs), load(&made));
        });
}

/// A join handle dropped on another thread while its task completes: the output is dropped
/// exactly once, by the runtime's worker if the handle went first, by the dropping thread if
/// the task went first; never on both, never lost.
#[test]
fn join_handle_drop_races_completion() {
    let _serial = serial();
    Watchdog::new("join_handle_drop_races_completion")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let outputs = counter();
            let on_worker = counter();
            let futures = counter();
            for round in 0..ROUNDS {
                p.at_round("racing", round);
                let barrier = Arc::new(Barrier::new(2));
                let handle = {
                    let (outputs, on_worker, futures) =
                        (outputs.clone(), on_worker.clone(), futures.clone());
                    let barrier = barrier.clone();
                    let futures = DropCounter(futures);
                    rt.spawn(async move {
                        let _dropped = futures;
                        barrier.wait();
                        Output {
                            drops: outputs,
                            on_worker,
                        }
                    })
                };
                let dropper = thread::spawn(move || {
                    barrier.wait();
                    drop(handle);
                });
                dropper.join().unwrap();
                wait_until("the output was dropped", || load(&outputs) == round + 1);
                wait_until("the future was dropped", || load(&futures) == round + 1);
            }
            drop(rt);
            assert_eq!(load(&outputs), ROUNDS, "each output dropped exactly once");
            assert_eq!(load(&futures), ROUNDS);
            support::report(format_args!(
                "join_handle_drop_races_completion: {} of {ROUNDS} outputs dropped on a worker",
                load(&on_worker)
            ));
        });
}

/// An output whose `Drop` panics, or spawns a task, dropped by a handle racing the task's
/// completion: no panic reaches the dropping thread or a worker (the runtime keeps running),
/// each output is dropped once, and each spawn from a `Drop` runs.
#[test]
fn outputs_whose_drop_panics_or_spawns_race_the_handle_drop() {
    let _serial = serial();
    let _quiet = quiet_panics();

    struct Nasty {
        drops: Arc<AtomicUsize>,
        spawned: Arc<AtomicUsize>,
        handle: genrt::Handle,
        panic: bool,
    }
    impl Drop for Nasty {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
            let spawned = self.spawned.clone();
            drop(self.handle.spawn(async move {
                spawned.fetch_add(1, Ordering::SeqCst);
            }));
            if self.panic {
                panic!("{INTENTIONAL}: an output's drop");
            }
        }
    }

    Watchdog::new("outputs_whose_drop_panics_or_spawns")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let drops = counter();
            let spawned = counter();
            for round in 0..ROUNDS {
                p.at_round("racing", round);
                let barrier = Arc::new(Barrier::new(2));
                let handle = {
                    let (drops, spawned, barrier) =
                        (drops.clone(), spawned.clone(), barrier.clone());
                    let handle = rt.handle().clone();
                    rt.spawn(async move {
                        barrier.wait();
                        Nasty {
                            drops,
                            spawned,
                            handle,
                            panic: round % 2 == 0,
                        }
                    })
                };
                thread::spawn(move || {
                    barrier.wait();
                    if round % 4 == 3 {
                        // Also read it, racing nothing: the reader drops it itself.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            drop(wait_for("the nasty output", handle))
                        }));
                    } else {
                        drop(handle);
                    }
                })
                .join()
                .expect("no panic of an output's drop reaches the thread dropping its handle");
                wait_until("the output was dropped and its spawn ran", || {
                    load(&drops) == round + 1 && load(&spawned) == round + 1
                });
            }
            // The runtime still runs tasks: no worker died of a panic.
            assert_eq!(
                wait_for("a task after the storm", rt.spawn(async { 7 })).unwrap(),
                7
            );
            drop(rt);
            assert_eq!(load(&drops), ROUNDS);
        });
}

/// A join handle awaited from another runtime's task, from another runtime's `block_on`, and
/// from a foreign executor (`futures::executor::block_on`) while its task is running: each
/// gets the value; a handle whose runtime is dropped meanwhile gets cancelled.
#[test]
fn join_handles_awaited_from_other_runtimes_and_foreign_executors() {
    let _serial = serial();
    Watchdog::new("join_handles_awaited_elsewhere")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let other = runtime();
            let current = genrt::Builder::new_current_thread().build().unwrap();
            for round in 0..ROUNDS {
                p.at_round("awaiting", round);
                let task = |n: usize| {
                    rt.spawn(async move {
                        for _ in 0..(n % 4) {
                            genrt::yield_now().await;
                        }
                        n
                    })
                };
                let a = task(round);
                let b = task(round + 1);
                let c = task(round + 2);
                let d = task(round + 3);
                let from_task = other.spawn(async move { a.await.unwrap() });
                let from_block_on = thread::spawn({
                    let h = other.handle().clone();
                    move || h.block_on(b).unwrap()
                });
                let from_foreign = thread::spawn(move || futures::executor::block_on(c).unwrap());
                let from_current = current.block_on(d).unwrap();
                assert_eq!(wait_for("a from a task", from_task).unwrap(), round);
                assert_eq!(from_block_on.join().unwrap(), round + 1);
                assert_eq!(from_foreign.join().unwrap(), round + 2);
                assert_eq!(from_current, round + 3);
            }
            p.at("the owning runtime dropped while a foreign executor waits");
            let go = Arc::new(AtomicBool::new(false));
            let pending = rt.spawn(Gate {
                go,
                waker: Arc::new(Mutex::new(None)),
            });
            let waiter = thread::spawn(move || futures::executor::block_on(pending));
            let from_other = {
                let pending = rt.spawn(std::future::pending::<()>());
                other.spawn(pending)
            };
            thread::sleep(Duration::from_millis(5));
            drop(rt);
            assert!(waiter.join().unwrap().unwrap_err().is_cancelled());
            let inner = wait_for("the other runtime's task", from_other).unwrap();
            assert!(inner.unwrap_err().is_cancelled());
        });
}

/// A join handle polled by several threads in turn, each with a waker of its own
/// (`will_wake` false every time): the waker of the last pending poll is woken when the task
/// completes, whichever thread polled last.
#[test]
fn join_handle_polled_with_changing_wakers_across_threads() {
    let _serial = serial();
    Watchdog::new("join_handle_polled_with_changing_wakers")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            for round in 0..ROUNDS {
                p.at_round("polling", round);
                let go = Arc::new(AtomicBool::new(false));
                let slot = Arc::new(Mutex::new(None));
                let handle = rt.spawn(Gate {
                    go: go.clone(),
                    waker: slot.clone(),
                });
                let handle = Arc::new(Mutex::new(handle));
                let last: Arc<Mutex<Option<Arc<CountWake>>>> = Arc::new(Mutex::new(None));
                let done = Arc::new(AtomicBool::new(false));
                let pollers: Vec<_> = (0..3)
                    .map(|_| {
                        let (handle, last, done) = (handle.clone(), last.clone(), done.clone());
                        thread::spawn(move || {
                            for _ in 0..20 {
                                let (wake, waker) = count_waker();
                                let mut cx = Context::from_waker(&waker);
                                let mut handle = handle.lock().unwrap();
                                if done.load(Ordering::SeqCst) {
                                    return;
                                }
                                match Pin::new(&mut *handle).poll(&mut cx) {
                                    Poll::Ready(result) => {
                                        result.unwrap();
                                        done.store(true, Ordering::SeqCst);
                                        return;
                                    }
                                    Poll::Pending => *last.lock().unwrap() = Some(wake),
                                }
                                drop(handle);
                                thread::yield_now();
                            }
                        })
                    })
                    .collect();
                // Completes the task while the pollers change wakers.
                thread::yield_now();
                open_gate(&go, &slot);
                for poller in pollers {
                    poller.join().unwrap();
                }
                if !done.load(Ordering::SeqCst) {
                    let last = last.lock().unwrap().clone().expect("some poll was pending");
                    wait_until("the last registered waker is woken", || {
                        // A poll that stored its waker before the gate's wake took it needs
                        // the task's next wake; wake it again if it stored a new one.
                        if let Some(w) = slot.lock().unwrap().take() {
                            w.wake();
                        }
                        load(&last.0) > 0
                    });
                    let mut handle = handle.lock().unwrap();
                    let (_, waker) = count_waker();
                    let ready = Pin::new(&mut *handle).poll(&mut Context::from_waker(&waker));
                    assert!(
                        matches!(ready, Poll::Ready(Ok(()))),
                        "woken, the handle is ready"
                    );
                }
            }
        });
}

/// `is_finished` never runs ahead of the result: a handle that says finished is ready at its
/// next poll, for completions, panics and aborts raced from another thread.
#[test]
fn is_finished_implies_ready() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("is_finished_implies_ready")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            for round in 0..ROUNDS {
                p.at_round("racing", round);
                let handle = rt.spawn(async move {
                    genrt::yield_now().await;
                    if round % 3 == 0 {
                        panic!("{INTENTIONAL}: a task that panics");
                    }
                    round
                });
                if round % 3 == 1 {
                    let abort = handle.abort_handle();
                    thread::spawn(move || abort.abort());
                }
                let mut handle = pin!(handle);
                wait_until("the task finishes", || handle.is_finished());
                let (_, waker) = count_waker();
                match handle.as_mut().poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(Ok(n)) => assert_eq!(n, round),
                    Poll::Ready(Err(err)) => assert!(err.is_cancelled() || err.is_panic()),
                    Poll::Pending => panic!("is_finished was true but the handle is pending"),
                }
            }
        });
}

// ---------------------------------------------------------------------------------------------
// AbortHandle
// ---------------------------------------------------------------------------------------------

/// One task aborted by clones of its abort handle on 6 threads at once (and by its join
/// handle), in every state: queued, idle, running, finished. The task is cancelled or done
/// once; its future is dropped once.
#[test]
fn abort_handle_clones_abort_from_many_threads_at_once() {
    let _serial = serial();
    Watchdog::new("abort_handle_clones_abort_at_once")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let futures = counter();
            const ABORTERS: usize = 6;
            for round in 0..ROUNDS / 2 {
                p.at_round("aborting", round);
                let handles: Vec<JoinHandle<()>> = (0..8)
                    .map(|i| {
                        let futures = futures.clone();
                        let futures = DropCounter(futures);
                        rt.spawn(async move {
                            let _dropped = futures;
                            match i % 4 {
                                0 => {}
                                1 => std::future::pending().await,
                                _ => loop {
                                    genrt::yield_now().await;
                                },
                            }
                        })
                    })
                    .collect();
                let aborts: Vec<AbortHandle> = handles.iter().map(|h| h.abort_handle()).collect();
                let barrier = Arc::new(Barrier::new(ABORTERS + 1));
                let threads: Vec<_> = (0..ABORTERS)
                    .map(|_| {
                        let (aborts, barrier) = (aborts.clone(), barrier.clone());
                        thread::spawn(move || {
                            barrier.wait();
                            for abort in &aborts {
                                abort.abort();
                            }
                        })
                    })
                    .collect();
                barrier.wait();
                for handle in &handles {
                    handle.abort();
                }
                for thread in threads {
                    thread.join().unwrap();
                }
                for (i, handle) in handles.into_iter().enumerate() {
                    match wait_for("an aborted task", handle) {
                        Ok(()) => assert_eq!(i % 4, 0, "only the task ready at once may finish"),
                        Err(err) => assert!(err.is_cancelled()),
                    }
                }
                assert!(aborts.iter().all(AbortHandle::is_finished));
                wait_until("every future dropped", || load(&futures) == (round + 1) * 8);
            }
            drop(rt);
            assert_eq!(
                load(&futures),
                ROUNDS / 2 * 8,
                "each future dropped exactly once"
            );
        });
}

/// Blocking work cannot be aborted once it started (Tokio): a running `spawn_blocking`
/// closure runs to completion and its handle gets the value; a queued one is dropped unrun
/// and reports cancelled; a task inside `block_in_place` finishes its closure, then is
/// cancelled at its next suspension, or completes if it does not suspend again.
#[test]
fn aborting_blocking_work() {
    let _serial = serial();
    Watchdog::new("aborting_blocking_work")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = genrt::Builder::new()
                .worker_threads(WORKERS)
                .max_blocking_threads(1)
                .build()
                .unwrap();
            let closures = counter();
            for round in 0..ROUNDS / 4 {
                p.at_round("spawn_blocking", round);
                let (started_tx, started_rx) = mpsc::channel();
                let (release_tx, release_rx) = mpsc::channel::<()>();
                let running = rt.spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    recv(&release_rx, "the release of the running closure");
                    "ran"
                });
                recv(&started_rx, "the closure started");
                // The one blocking thread is busy: this one waits in the queue.
                let queued = {
                    let dropped = DropCounter(closures.clone());
                    rt.spawn_blocking(move || {
                        let _dropped = dropped;
                        "queued ran"
                    })
                };
                running.abort();
                queued.abort_handle().abort();
                assert!(!running.is_finished());
                release_tx.send(()).unwrap();
                assert_eq!(wait_for("the running closure", running).unwrap(), "ran");
                match wait_for("the queued closure", queued) {
                    // Aborted before the thread took it: dropped unrun.
                    Err(err) => assert!(err.is_cancelled()),
                    Ok(_) => panic!("a closure aborted while queued ran"),
                }
                assert_eq!(
                    load(&closures),
                    round + 1,
                    "the queued closure dropped once"
                );

                p.at_round("block_in_place", round);
                for suspend_after in [true, false] {
                    let (started_tx, started_rx) = mpsc::channel();
                    let (release_tx, release_rx) = mpsc::channel::<()>();
                    let futures = counter();
                    let task = {
                        let futures = futures.clone();
                        let futures = DropCounter(futures);
                        rt.spawn(async move {
                            let _dropped = futures;
                            genrt::task::block_in_place(|| {
                                started_tx.send(()).unwrap();
                                recv(&release_rx, "the release of block_in_place");
                            });
                            if suspend_after {
                                genrt::yield_now().await;
                            }
                            "completed"
                        })
                    };
                    recv(&started_rx, "block_in_place started");
                    task.abort();
                    release_tx.send(()).unwrap();
                    let result = wait_for("the task in block_in_place", task);
                    if suspend_after {
                        assert!(result.unwrap_err().is_cancelled());
                    } else {
                        assert_eq!(result.unwrap(), "completed");
                    }
                    wait_until("its future dropped", || load(&futures) == 1);
                }
            }
        });
}

// ---------------------------------------------------------------------------------------------
// JoinSet
// ---------------------------------------------------------------------------------------------

/// A task waits in `poll_join_next` on a set behind a mutex while other threads spawn into it
/// (Tokio allows this: `JoinSet::spawn_on` takes `&mut self`, which a lock gives). A member
/// that is spawned after the waiter registered and finishes must wake it: in Tokio the
/// insert registers the member's waker in its task, whose completion notifies the set.
#[test]
fn join_next_wakes_for_members_spawned_while_it_waits() {
    let _serial = serial();
    Watchdog::new("join_next_wakes_for_members_spawned_while_it_waits")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            for round in 0..ROUNDS / 4 {
                p.at_round("waiting", round);
                let set: Arc<Mutex<JoinSet<usize>>> = Arc::new(Mutex::new(JoinSet::new()));
                // A member that never finishes, so the set is not empty while the joiner waits.
                let forever = set
                    .lock()
                    .unwrap()
                    .spawn_on(std::future::pending(), rt.handle());
                let registered = Arc::new(AtomicBool::new(false));
                let joiner = {
                    let (set, registered) = (set.clone(), registered.clone());
                    rt.spawn(poll_fn(move |cx| {
                        let polled = set.lock().unwrap().poll_join_next(cx);
                        registered.store(true, Ordering::SeqCst);
                        match polled {
                            Poll::Ready(Some(result)) => Poll::Ready(result.unwrap()),
                            Poll::Ready(None) => panic!("the set is never empty here"),
                            Poll::Pending => Poll::Pending,
                        }
                    }))
                };
                wait_until("the joiner waits", || registered.load(Ordering::SeqCst));
                // Let the joiner's first poll return Pending for sure (it only takes the lock
                // once per poll).
                drop(set.lock().unwrap());
                set.lock()
                    .unwrap()
                    .spawn_on(async move { round }, rt.handle());
                assert_eq!(
                    wait_for("join_next to see the new member", joiner).unwrap(),
                    round,
                    "the joiner got the member spawned while it waited"
                );
                forever.abort();
                let mut set = Arc::try_unwrap(set).ok().unwrap().into_inner().unwrap();
                assert!(wait_for("the aborted member", set.join_next())
                    .unwrap()
                    .unwrap_err()
                    .is_cancelled());
            }
        });
}

/// The same with real tasks: a joiner task drains a shared set while 3 threads spawn into it
/// (each spawn under the lock); every result comes out exactly once.
#[test]
fn join_next_races_spawns_from_other_threads() {
    let _serial = serial();
    Watchdog::new("join_next_races_spawns_from_other_threads")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            const SPAWNERS: usize = 3;
            const EACH: usize = 300;
            let set: Arc<Mutex<JoinSet<usize>>> = Arc::new(Mutex::new(JoinSet::new()));
            // Keeps the set non-empty until the end.
            let keeper = set
                .lock()
                .unwrap()
                .spawn_on(std::future::pending(), rt.handle());
            let joiner = {
                let set = set.clone();
                rt.spawn(async move {
                    let mut seen = vec![false; SPAWNERS * EACH];
                    let mut got = 0;
                    while got < SPAWNERS * EACH {
                        let n = poll_fn(|cx| set.lock().unwrap().poll_join_next(cx))
                            .await
                            .expect("not empty")
                            .expect("a member failed");
                        assert!(!std::mem::replace(&mut seen[n], true), "{n} came out twice");
                        got += 1;
                    }
                    got
                })
            };
            p.at("spawning");
            let spawners: Vec<_> = (0..SPAWNERS)
                .map(|s| {
                    let (set, handle) = (set.clone(), rt.handle().clone());
                    thread::spawn(move || {
                        for i in 0..EACH {
                            let n = s * EACH + i;
                            set.lock().unwrap().spawn_on(
                                async move {
                                    if n % 2 == 0 {
                                        genrt::yield_now().await;
                                    }
                                    n
                                },
                                &handle,
                            );
                            if i % 16 == 0 {
                                thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            for spawner in spawners {
                spawner.join().unwrap();
            }
            p.at("joining");
            assert_eq!(wait_for("the joiner", joiner).unwrap(), SPAWNERS * EACH);
            keeper.abort();
            drop(rt);
        });
}

/// `abort_all` while members are completing on the workers, then drained: every member comes
/// out once, done or cancelled; every future and output is dropped once.
#[test]
fn join_set_abort_all_during_completions() {
    let _serial = serial();
    Watchdog::new("join_set_abort_all_during_completions")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let futures = counter();
            let outputs = counter();
            let on_worker = counter();
            const MEMBERS: usize = 64;
            for round in 0..ROUNDS / 4 {
                p.at_round("aborting", round);
                let (f, o, w) = (futures.clone(), outputs.clone(), on_worker.clone());
                let (done, cancelled) = rt.block_on(async move {
                    let (futures, outputs, on_worker) = (f, o, w);
                    let mut set = JoinSet::new();
                    for i in 0..MEMBERS {
                        let (futures, outputs, on_worker) =
                            (futures.clone(), outputs.clone(), on_worker.clone());
                        let futures = DropCounter(futures);
                        set.spawn(async move {
                            let _dropped = futures;
                            for _ in 0..(i % 5) {
                                genrt::yield_now().await;
                            }
                            Output {
                                drops: outputs,
                                on_worker,
                            }
                        });
                    }
                    genrt::yield_now().await;
                    set.abort_all();
                    let (mut done, mut cancelled) = (0, 0);
                    while let Some(result) = set.join_next().await {
                        match result {
                            Ok(_) => done += 1,
                            Err(err) => {
                                assert!(err.is_cancelled());
                                cancelled += 1;
                            }
                        }
                    }
                    (done, cancelled)
                });
                assert_eq!(done + cancelled, MEMBERS);
                wait_until("every future dropped", || {
                    load(&futures) == (round + 1) * MEMBERS
                });
            }
            drop(rt);
            assert_eq!(load(&futures), ROUNDS / 4 * MEMBERS);
        });
}

/// A set dropped on a foreign thread while its members complete on the workers: each future
/// and each output is dropped exactly once (some by the runtime, some by the drop).
#[test]
fn join_set_dropped_while_members_complete() {
    let _serial = serial();
    Watchdog::new("join_set_dropped_while_members_complete")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let futures = counter();
            let outputs = counter();
            let made = counter();
            let on_worker = counter();
            const MEMBERS: usize = 32;
            for round in 0..ROUNDS / 4 {
                p.at_round("dropping", round);
                let mut set = JoinSet::new();
                for i in 0..MEMBERS {
                    let (futures, outputs, made, on_worker) = (
                        futures.clone(),
                        outputs.clone(),
                        made.clone(),
                        on_worker.clone(),
                    );
                    let futures = DropCounter(futures);
                    set.spawn_on(
                        async move {
                            let _dropped = futures;
                            for _ in 0..(i % 3) {
                                genrt::yield_now().await;
                            }
                            made.fetch_add(1, Ordering::SeqCst);
                            Output {
                                drops: outputs,
                                on_worker,
                            }
                        },
                        rt.handle(),
                    );
                }
                if round % 2 == 0 {
                    // Take a few first, so that some slots are reused and some wakers registered.
                    for _ in 0..3 {
                        drop(wait_for("a member", set.join_next()));
                    }
                }
                thread::spawn(move || drop(set)).join().unwrap();
                wait_until("every future dropped", || {
                    load(&futures) == (round + 1) * MEMBERS
                });
                wait_until("every output dropped", || load(&outputs) == load(&made));
            }
            drop(rt);
            assert_eq!(
                load(&futures),
                ROUNDS / 4 * MEMBERS,
                "each future dropped once"
            );
            assert_eq!(load(&outputs), load(&made), "each output dropped once");
        });
}

/// `detach_all` racing completions, then the set reused: the detached members still run and
/// their outputs are dropped once; the new members, and only they, come out of the set.
#[test]
fn join_set_detach_all_races_completions_then_reuse() {
    let _serial = serial();
    Watchdog::new("join_set_detach_all_then_reuse")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let ran = counter();
            let outputs = counter();
            let on_worker = counter();
            const MEMBERS: usize = 32;
            let mut set = JoinSet::new();
            for round in 0..ROUNDS / 4 {
                p.at_round("detaching", round);
                for i in 0..MEMBERS {
                    let (ran, outputs, on_worker) =
                        (ran.clone(), outputs.clone(), on_worker.clone());
                    set.spawn_on(
                        async move {
                            for _ in 0..(i % 3) {
                                genrt::yield_now().await;
                            }
                            ran.fetch_add(1, Ordering::SeqCst);
                            (
                                usize::MAX,
                                Some(Output {
                                    drops: outputs,
                                    on_worker,
                                }),
                            )
                        },
                        rt.handle(),
                    );
                }
                // A member registered with its slot's waker, so a completion may be mid-wake.
                let _ = set.try_join_next();
                set.detach_all();
                assert!(set.is_empty());
                p.at_round("reusing", round);
                for i in 0..4 {
                    set.spawn_on(async move { (i, None) }, rt.handle());
                }
                let mut got: Vec<usize> = (0..4)
                    .map(|_| {
                        wait_for("a new member", set.join_next())
                            .expect("the set has the new members")
                            .expect("a new member failed")
                            .0
                    })
                    .collect();
                got.sort();
                assert_eq!(got, [0, 1, 2, 3], "only the new members come out");
                assert!(wait_for("the empty set", set.join_next()).is_none());
            }
            wait_until("every detached member ran and its output dropped", || {
                load(&ran) == ROUNDS / 4 * MEMBERS && load(&outputs) == load(&ran)
            });
            // A member that completed mid-detach, while its result was taken: dropped once,
            // never twice.
            drop(set);
            drop(rt);
            assert_eq!(load(&outputs), ROUNDS / 4 * MEMBERS);
        });
}

/// `try_join_next` from a foreign thread sees every member eventually, and never one twice.
#[test]
fn try_join_next_sees_every_member() {
    let _serial = serial();
    Watchdog::new("try_join_next_sees_every_member")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            for round in 0..ROUNDS / 10 {
                p.at_round("polling", round);
                let mut set = JoinSet::new();
                const MEMBERS: usize = 100;
                for i in 0..MEMBERS {
                    set.spawn_on(
                        async move {
                            if i % 2 == 1 {
                                genrt::yield_now().await;
                            }
                            i
                        },
                        rt.handle(),
                    );
                }
                let mut seen = [false; MEMBERS];
                let mut got = 0;
                wait_until("try_join_next returned every member", || {
                    while let Some(result) = set.try_join_next() {
                        let i = result.unwrap();
                        assert!(!std::mem::replace(&mut seen[i], true), "{i} came out twice");
                        got += 1;
                    }
                    got == MEMBERS
                });
                assert!(set.is_empty());
                assert!(set.try_join_next().is_none());
            }
        });
}

/// A set moved between tasks of two runtimes and a foreign thread, joined a little in each:
/// every result comes out once, the latest poller is the one woken.
#[test]
fn join_set_moved_between_tasks_and_threads() {
    let _serial = serial();
    Watchdog::new("join_set_moved_between_tasks_and_threads")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let other = runtime();
            for round in 0..ROUNDS / 4 {
                p.at_round("moving", round);
                let mut set = JoinSet::new();
                const MEMBERS: usize = 30;
                for i in 0..MEMBERS {
                    set.spawn_on(
                        async move {
                            for _ in 0..(i % 4) {
                                genrt::yield_now().await;
                            }
                            i
                        },
                        rt.handle(),
                    );
                }
                let take = |set: &mut JoinSet<usize>, n: usize| -> Vec<usize> {
                    (0..n)
                        .map(|_| {
                            futures::executor::block_on(set.join_next())
                                .unwrap()
                                .unwrap()
                        })
                        .collect()
                };
                let (mut set, mut got) = wait_for(
                    "a task of the owning runtime",
                    rt.spawn(async move {
                        let mut got = Vec::new();
                        for _ in 0..10 {
                            got.push(set.join_next().await.unwrap().unwrap());
                        }
                        (set, got)
                    }),
                )
                .unwrap();
                got.extend(take(&mut set, 5));
                let (set, more) = wait_for(
                    "a task of another runtime",
                    other.spawn(async move {
                        let mut got = Vec::new();
                        while let Some(result) = set.join_next().await {
                            got.push(result.unwrap());
                            if got.len() == 10 {
                                break;
                            }
                        }
                        (set, got)
                    }),
                )
                .unwrap();
                got.extend(more);
                let rest = thread::spawn(move || {
                    let mut set = set;
                    let mut got = Vec::new();
                    while let Some(result) = futures::executor::block_on(set.join_next()) {
                        got.push(result.unwrap());
                    }
                    got
                })
                .join()
                .unwrap();
                got.extend(rest);
                got.sort();
                assert_eq!(got, (0..MEMBERS).collect::<Vec<_>>());
            }
        });
}

// ---------------------------------------------------------------------------------------------
// Task-locals and LocalSet
// ---------------------------------------------------------------------------------------------

genrt::task_local! {
    static TASK_VALUE: usize;
}

/// Task-local values across awaits of tasks that migrate between workers (stolen while
/// others keep the workers busy): each task sees its own value after every await, a task it
/// spawns sees none, and the value is gone outside the scope.
#[test]
fn task_locals_follow_migrating_tasks() {
    let _serial = serial();
    Watchdog::new("task_locals_follow_migrating_tasks")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let migrated = counter();
            for round in 0..ROUNDS / 20 {
                p.at_round("scoping", round);
                let tasks: Vec<_> = (0..64usize)
                    .map(|i| {
                        let migrated = migrated.clone();
                        rt.spawn(TASK_VALUE.scope(i, async move {
                            let mut threads = std::collections::HashSet::new();
                            for step in 0..30 {
                                threads.insert(thread::current().id());
                                if step % 7 == 0 {
                                    // Keeps this worker busy for a moment: the others steal.
                                    let spin = std::time::Instant::now();
                                    while spin.elapsed() < Duration::from_micros(50) {}
                                }
                                genrt::yield_now().await;
                                assert_eq!(TASK_VALUE.get(), i, "the value after an await");
                                if step == 10 {
                                    let child = genrt::spawn(async { TASK_VALUE.try_with(|v| *v) });
                                    assert!(child.await.unwrap().is_err(), "a child has no value");
                                    assert_eq!(TASK_VALUE.get(), i, "the value after a join");
                                }
                            }
                            if threads.len() > 1 {
                                migrated.fetch_add(1, Ordering::SeqCst);
                            }
                            i
                        }))
                    })
                    .collect();
                for (i, task) in tasks.into_iter().enumerate() {
                    assert_eq!(wait_for("a scoped task", task).unwrap(), i);
                }
            }
            assert!(TASK_VALUE.try_with(|_| ()).is_err());
            support::report(format_args!(
                "task_locals_follow_migrating_tasks: {} of {} tasks ran on more than one worker",
                load(&migrated),
                ROUNDS / 20 * 64
            ));
        });
}

/// A `LocalSet` driven by `run_until` inside a multi-thread runtime's `block_on` and inside a
/// current-thread runtime's, while its tasks are woken from foreign threads, by timers, by
/// aborts from other threads, and joined from a multi-thread task: every task finishes or is
/// cancelled, every future is dropped once, on the set's thread.
#[test]
fn local_set_run_until_woken_from_threads_and_timers() {
    let _serial = serial();
    Watchdog::new("local_set_run_until_woken")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let multi = runtime();
            let current = genrt::Builder::new_current_thread().build().unwrap();
            let futures = counter();
            let mut spawned = 0;
            for round in 0..ROUNDS / 10 {
                p.at_round("driving", round);
                let rt = if round % 2 == 0 { &multi } else { &current };
                let local = LocalSet::new();
                let owner = thread::current().id();
                let gates: Vec<_> = (0..16)
                    .map(|_| (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(None))))
                    .collect();
                let mut handles = Vec::new();
                for (i, (go, slot)) in gates.iter().enumerate() {
                    let not_send = std::rc::Rc::new(DropCounter(futures.clone()));
                    let (go, slot) = (go.clone(), slot.clone());
                    spawned += 1;
                    handles.push(local.spawn_local(async move {
                        let _keep = not_send;
                        assert_eq!(thread::current().id(), owner);
                        match i % 4 {
                            0 => Gate { go, waker: slot }.await,
                            1 => time::sleep(Duration::from_millis(1 + (i as u64 % 3))).await,
                            2 => std::future::pending().await,
                            _ => {
                                Gate { go, waker: slot }.await;
                                time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                        assert_eq!(thread::current().id(), owner);
                        i
                    }));
                }
                let aborts: Vec<_> = handles
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 4 == 2)
                    .map(|(_, h)| h.abort_handle())
                    .collect();
                let openers = {
                    let gates = gates.clone();
                    thread::spawn(move || {
                        for (go, slot) in &gates {
                            open_gate(go, slot);
                            thread::yield_now();
                        }
                        for abort in aborts {
                            abort.abort();
                        }
                    })
                };
                // Half the handles are awaited by a task of the multi-thread runtime.
                let (joined_here, joined_there): (Vec<_>, Vec<_>) = handles
                    .into_iter()
                    .enumerate()
                    .partition(|(i, _)| i % 2 == 0);
                let there = multi.spawn(async move {
                    let mut n = 0;
                    for (i, handle) in joined_there {
                        match handle.await {
                            Ok(v) => assert_eq!(v, i),
                            Err(err) => assert!(err.is_cancelled() && i % 4 == 2),
                        }
                        n += 1;
                    }
                    n
                });
                let mut there = pin!(there);
                let here = local.block_on(rt, async {
                    let mut n = 0;
                    for (i, handle) in joined_here {
                        match handle.await {
                            Ok(v) => assert_eq!(v, i),
                            Err(err) => assert!(err.is_cancelled() && i % 4 == 2),
                        }
                        n += 1;
                    }
                    // Keep driving the set until the other half is joined too.
                    n + (&mut there).await.unwrap()
                });
                assert_eq!(here, 16);
                openers.join().unwrap();
                drop(local);
                assert_eq!(load(&futures), spawned, "each local future dropped once");
            }
        });
}

/// A `LocalSet` cannot leave its thread: it is not `Send` (checked at compile time), so it
/// can only be dropped where it was made.
#[test]
fn local_set_is_not_send() {
    trait AmbiguousIfSend<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    // Compiles only if `LocalSet` is not `Send` (two impls would apply otherwise).
    <LocalSet as AmbiguousIfSend<_>>::some_item();
    <genrt::task::LocalEnterGuard as AmbiguousIfSend<_>>::some_item();
}

// ---------------------------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------------------------

/// A sleep reset by its task just as its deadline passes, while the other worker processes
/// the wheel and may be firing it: it completes, never before its last deadline.
#[test]
fn sleep_reset_races_its_firing() {
    let _serial = serial();
    Watchdog::new("sleep_reset_races_its_firing")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            for round in 0..ROUNDS / 20 {
                p.at_round("resetting", round);
                let tasks: Vec<_> = (0..32)
                    .map(|i| {
                        rt.spawn(async move {
                            let mut sleep = pin!(time::sleep(Duration::from_millis(1)));
                            for _ in 0..3 {
                                // Registers the entry, then waits (busy) until its deadline has
                                // passed, so the wheel may fire it while we reset.
                                let _ = poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx))).await;
                                let deadline = sleep.deadline();
                                while Instant::now() < deadline + Duration::from_micros(i * 20) {
                                    std::hint::spin_loop();
                                }
                                sleep
                                    .as_mut()
                                    .reset(Instant::now() + Duration::from_millis(1));
                            }
                            let deadline = sleep.deadline();
                            sleep.await;
                            assert!(Instant::now() >= deadline, "a reset sleep fired early");
                        })
                    })
                    .collect();
                for task in tasks {
                    wait_for("a reset sleep", task).unwrap();
                }
            }
        });
}

/// A timeout whose inner future completes at the deadline's tick (a sleep of the same
/// length, or a wake from another thread at the deadline): one answer each, no hang, each
/// inner future dropped once.
#[test]
fn timeout_whose_future_completes_at_the_deadline() {
    let _serial = serial();
    Watchdog::new("timeout_at_the_deadline")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let futures = counter();
            let (mut ok, mut elapsed) = (0, 0);
            let mut made = 0;
            for round in 0..ROUNDS / 20 {
                p.at_round("timing out", round);
                let mut tasks = Vec::new();
                let mut gates = Vec::new();
                for i in 0..32u64 {
                    let d = Duration::from_millis(1 + i % 3);
                    let dropped = DropCounter(futures.clone());
                    made += 1;
                    if i % 2 == 0 {
                        tasks.push(rt.spawn(async move {
                            let _dropped = dropped;
                            time::timeout(d, time::sleep(d)).await.is_ok()
                        }));
                    } else {
                        let go = Arc::new(AtomicBool::new(false));
                        let slot = Arc::new(Mutex::new(None));
                        gates.push((d, go.clone(), slot.clone()));
                        tasks.push(rt.spawn(async move {
                            let inner = async move {
                                let _dropped = dropped;
                                Gate { go, waker: slot }.await
                            };
                            time::timeout(d, inner).await.is_ok()
                        }));
                    }
                }
                let start = std::time::Instant::now();
                let opener = thread::spawn(move || {
                    gates.sort_by_key(|(d, _, _)| *d);
                    for (d, go, slot) in gates {
                        while start.elapsed() < d {
                            std::hint::spin_loop();
                        }
                        open_gate(&go, &slot);
                    }
                });
                for task in tasks {
                    if wait_for("a timeout", task).unwrap() {
                        ok += 1;
                    } else {
                        elapsed += 1;
                    }
                }
                opener.join().unwrap();
                wait_until("each inner future dropped", || load(&futures) == made);
            }
            assert_eq!(load(&futures), made);
            support::report(format_args!(
                "timeout_whose_future_completes_at_the_deadline: {ok} ok, {elapsed} elapsed"
            ));
        });
}

/// Thousands of sleeps cancelled while the workers fire them: `timeout(a, sleep(b))` with
/// `a` and `b` close, so whichever fires first drops the other's entry while it may be
/// firing; a third of the tasks aborted from another thread meanwhile. Every task ends,
/// every future is dropped once, and the runtime keeps its timers working after.
#[test]
fn thousands_of_sleeps_cancelled_while_firing() {
    let _serial = serial();
    Watchdog::new("thousands_of_sleeps_cancelled")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let futures = counter();
            let rounds = ROUNDS / 50;
            const TASKS: usize = 2_000;
            for round in 0..rounds {
                p.at_round("sleeping", round);
                let handles: Vec<_> = (0..TASKS)
                    .map(|i| {
                        let dropped = DropCounter(futures.clone());
                        rt.spawn(async move {
                            let _dropped = dropped;
                            let a = Duration::from_micros(((i * 7919) % 3000) as u64);
                            let b = Duration::from_micros(((i * 104_729) % 3000) as u64);
                            let _ = time::timeout(a, time::sleep(b)).await;
                            let mut s = pin!(time::sleep(b));
                            // Registered, then dropped after a yield: a cancel while it may fire.
                            let _ = poll_fn(|cx| Poll::Ready(s.as_mut().poll(cx))).await;
                            genrt::yield_now().await;
                        })
                    })
                    .collect();
                let aborts: Vec<_> = handles
                    .iter()
                    .step_by(3)
                    .map(JoinHandle::abort_handle)
                    .collect();
                let aborter = thread::spawn(move || {
                    for abort in aborts {
                        abort.abort();
                    }
                });
                for handle in handles {
                    if let Err(err) = wait_for("a sleeping task", handle) {
                        assert!(err.is_cancelled());
                    }
                }
                aborter.join().unwrap();
                wait_until("every future dropped", || {
                    load(&futures) == (round + 1) * TASKS
                });
            }
            // Timers still fire.
            let start = Instant::now();
            wait_for(
                "a sleep after the storm",
                rt.spawn(time::sleep(Duration::from_millis(2))),
            )
            .unwrap();
            assert!(start.elapsed() >= Duration::from_millis(2));
        });
}

/// Intervals behind a stalled worker (a one-worker runtime whose worker another task blocks,
/// and the interval's own task blocking after a tick): `Burst` keeps the schedule exactly,
/// `Delay` leaves at least a period after the late tick, `Skip` stays on the schedule's grid
/// and skips the missed ticks.
#[test]
fn intervals_behind_a_stalled_worker() {
    let _serial = serial();
    Watchdog::new("intervals_behind_a_stalled_worker")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = genrt::Builder::new().worker_threads(1).build().unwrap();
            const PERIOD: Duration = Duration::from_millis(4);
            const STALL: Duration = Duration::from_millis(20);
            for round in 0..6 {
                for behavior in [
                    MissedTickBehavior::Burst,
                    MissedTickBehavior::Delay,
                    MissedTickBehavior::Skip,
                ] {
                    p.at_round("ticking", round);
                    let staller = rt.spawn(async {
                        time::sleep(Duration::from_millis(6)).await;
                        thread::sleep(STALL);
                    });
                    let ticks = wait_for(
                        "the interval's ticks",
                        rt.spawn(async move {
                            let mut interval = time::interval(PERIOD);
                            interval.set_missed_tick_behavior(behavior);
                            let mut ticks = Vec::new();
                            for k in 0..12 {
                                ticks.push(interval.tick().await);
                                if k == 6 {
                                    thread::sleep(STALL);
                                }
                            }
                            ticks
                        }),
                    )
                    .unwrap();
                    wait_for("the staller", staller).unwrap();
                    let start = ticks[0];
                    let gaps: Vec<Duration> = ticks.windows(2).map(|w| w[1] - w[0]).collect();
                    match behavior {
                        MissedTickBehavior::Burst => {
                            for (k, tick) in ticks.iter().enumerate() {
                                assert_eq!(*tick, start + PERIOD * k as u32, "burst: {gaps:?}");
                            }
                        }
                        MissedTickBehavior::Delay => {
                            assert!(gaps.iter().all(|g| *g >= PERIOD), "delay: {gaps:?}");
                            // Tick 7 was scheduled before the stall and comes late; the one after
                            // it is a period after that late tick: at least STALL after tick 7's
                            // scheduled instant.
                            assert!(gaps[7] >= STALL, "delay after the stall: {gaps:?}");
                        }
                        MissedTickBehavior::Skip => {
                            for tick in &ticks {
                                let since = (*tick - start).as_nanos();
                                assert_eq!(since % PERIOD.as_nanos(), 0, "skip off grid: {gaps:?}");
                            }
                            assert!(gaps.iter().all(|g| *g >= PERIOD), "skip: {gaps:?}");
                            // The ticks missed during the stall are skipped (not burst).
                            assert!(gaps[7] > STALL - PERIOD, "skip after the stall: {gaps:?}");
                        }
                    }
                }
            }
        });
}

// ---------------------------------------------------------------------------------------------
// Shutdown with everything in flight
// ---------------------------------------------------------------------------------------------

/// Counts what it tracks: made and dropped, so that "each dropped exactly once" is
/// `made == dropped` once all are gone (a double drop shows as more drops than makes).
#[derive(Clone, Default)]
struct Tally {
    made: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

struct Tracked(Tally);

impl Tally {
    fn track(&self) -> Tracked {
        self.made.fetch_add(1, Ordering::SeqCst);
        Tracked(self.clone())
    }
    fn balanced(&self) -> bool {
        load(&self.made) == load(&self.dropped)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// How a round ends its runtime.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Drop,
    Timeout,
    Background,
}

/// The name of the threads (workers, blocking threads) of [`shutdown_round`]'s runtimes.
const SHUTDOWN_THREADS: &str = "race-shutdown";

/// Waits until every thread of [`shutdown_round`]'s runtimes has exited: a runtime shut down
/// in the background leaves its threads to exit on their own, holding their runtime until
/// then. Counted while one still runs, the baseline's thread count lets a thread of a later
/// round still run (holding its runtime) when that round's live bytes are measured.
fn wait_for_shutdown_threads() {
    wait_until("the shut-down runtimes' threads exited", || {
        support::counting::threads_named(SHUTDOWN_THREADS).is_none_or(|n| n == 0)
    });
}

/// Runs one round: a runtime with every kind of work in flight (idle tasks whose wakers a
/// foreign thread keeps waking, yield loops, sleeps and timeouts, join sets with members,
/// tasks awaiting other tasks, queued and running blocking closures, a task blocked in
/// place, outputs nobody reads), ended as `ending` says; returns the join handles to check.
fn shutdown_round(ending: Ending, tally: &Tally) -> Vec<JoinHandle<()>> {
    let rt = genrt::Builder::new()
        .worker_threads(WORKERS)
        .max_blocking_threads(2)
        .thread_name(SHUTDOWN_THREADS)
        .build()
        .unwrap();
    let mut handles = Vec::new();
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::new()));
    for i in 0..200usize {
        let t = tally.track();
        let wakers = wakers.clone();
        handles.push(rt.spawn(async move {
            let _t = t;
            match i % 6 {
                0 => {
                    poll_fn(|cx| {
                        wakers.lock().unwrap().push(cx.waker().clone());
                        Poll::<()>::Pending
                    })
                    .await
                }
                1 => loop {
                    genrt::yield_now().await;
                },
                2 => time::sleep(Duration::from_millis((i % 7) as u64)).await,
                3 => {
                    let _ =
                        time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
                    std::future::pending().await
                }
                4 => {
                    let mut set = JoinSet::new();
                    for _ in 0..3 {
                        let m = _t.0.track();
                        set.spawn(async move {
                            let _m = m;
                            std::future::pending::<()>().await
                        });
                    }
                    while set.join_next().await.is_some() {}
                }
                _ => {
                    // A child whose output nobody reads (its handle is dropped at once).
                    let (m, out) = (_t.0.track(), _t.0.clone());
                    drop(genrt::spawn(async move {
                        let _m = m;
                        genrt::yield_now().await;
                        out.track()
                    }));
                    std::future::pending().await
                }
            }
        }));
    }
    // Blocking closures: two running (held until after the shutdown starts), more queued.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    for _ in 0..6 {
        let t = tally.track();
        let release_rx = release_rx.clone();
        drop(rt.spawn_blocking(move || {
            let _t = t;
            let _ = release_rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_millis(50));
        }));
    }
    // A task blocked in place, released by a helper a moment after the shutdown starts.
    let (bip_tx, bip_rx) = mpsc::channel::<()>();
    {
        let t = tally.track();
        handles.push(rt.spawn(async move {
            let _t = t;
            genrt::task::block_in_place(|| {
                let _ = bip_rx.recv_timeout(Duration::from_secs(10));
            });
            std::future::pending::<()>().await
        }));
    }
    // A foreign thread waking stored wakers through the shutdown.
    let stop = Arc::new(AtomicBool::new(false));
    let waker_thread = {
        let (wakers, stop) = (wakers.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let taken = std::mem::take(&mut *wakers.lock().unwrap());
                for waker in taken {
                    waker.wake();
                }
                thread::yield_now();
            }
        })
    };
    let helper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        let _ = bip_tx.send(());
        for _ in 0..6 {
            let _ = release_tx.send(());
        }
    });
    thread::sleep(Duration::from_millis(2));
    match ending {
        Ending::Drop => drop(rt),
        Ending::Timeout => {
            let _ = rt.shutdown_timeout(Duration::from_secs(10));
        }
        Ending::Background => rt.shutdown_background(),
    }
    stop.store(true, Ordering::SeqCst);
    waker_thread.join().unwrap();
    helper.join().unwrap();
    drop(wakers);
    handles
}

/// Runtimes dropped, shut down with a timeout, and shut down in the background with all of
/// the above in flight: no hang, every join handle resolves, every future (task, member,
/// blocking closure) is dropped exactly once, and live bytes come back to the baseline.
#[test]
fn shutdown_with_everything_in_flight() {
    let _serial = serial();
    Watchdog::new("shutdown_with_everything_in_flight")
        .limit(Duration::from_secs(180))
        .run_reporting(|p| {
            // Warm-up: lazily allocated process state exists before the baseline.
            let warm = Tally::default();
            for ending in [Ending::Drop, Ending::Timeout, Ending::Background] {
                for handle in shutdown_round(ending, &warm) {
                    let _ = wait_for("a warm-up handle", handle);
                }
            }
            wait_until("the warm-up's futures dropped", || warm.balanced());
            wait_for_shutdown_threads();
            let tally = Tally::default();
            let baseline = Baseline::take();
            let rounds = if cfg!(debug_assertions) { 4 } else { 12 };
            for round in 0..rounds {
                for ending in [Ending::Drop, Ending::Timeout, Ending::Background] {
                    p.at_round("shutting down", round);
                    let handles = shutdown_round(ending, &tally);
                    p.at_round("joining", round);
                    for handle in handles {
                        match wait_for("a handle after the shutdown", handle) {
                            Ok(()) => {}
                            Err(err) => assert!(err.is_cancelled(), "{ending:?}: {err:?}"),
                        }
                    }
                    // After a background shutdown, running closures finish on their own.
                    wait_until("every future dropped", || tally.balanced());
                    assert!(
                        load(&tally.dropped) == load(&tally.made),
                        "{ending:?}: {} made, {} dropped",
                        load(&tally.made),
                        load(&tally.dropped)
                    );
                }
                p.at_round("measuring", round);
                wait_for_shutdown_threads();
                baseline.check(format_args!("round {round}"));
            }
        });
}

/// A task that aborts itself through its own abort handle (while a foreign thread aborts it
/// too): as in Tokio, it runs on to its next suspension and is cancelled there, or completes
/// if it does not suspend again; its future is dropped once either way.
#[test]
fn a_task_aborting_itself_mid_poll() {
    let _serial = serial();
    Watchdog::new("a_task_aborting_itself_mid_poll")
        .limit(Duration::from_secs(120))
        .run_reporting(|p| {
            let rt = runtime();
            let futures = counter();
            for round in 0..ROUNDS / 2 {
                p.at_round("aborting itself", round);
                let (tx, rx) = mpsc::channel::<AbortHandle>();
                let suspend = round % 2 == 0;
                let dropped = DropCounter(futures.clone());
                let handle = rt.spawn(async move {
                    let _dropped = dropped;
                    let me = rx.recv().unwrap();
                    let other = me.clone();
                    let foreign = thread::spawn(move || other.abort());
                    me.abort();
                    assert!(!me.is_finished(), "not finished while it runs");
                    foreign.join().unwrap();
                    if suspend {
                        genrt::yield_now().await;
                        unreachable!("an aborted task is not polled again");
                    }
                    "done"
                });
                tx.send(handle.abort_handle()).unwrap();
                let result = wait_for("a self-aborted task", handle);
                if suspend {
                    assert!(result.unwrap_err().is_cancelled());
                } else {
                    assert_eq!(result.unwrap(), "done");
                }
                wait_until("its future dropped", || load(&futures) == round + 1);
            }
        });
}

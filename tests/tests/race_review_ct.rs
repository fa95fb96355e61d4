//! An adversarial review of the current-thread runtime (`Builder::new_current_thread`) under
//! real threads: the scenarios of `race_review.rs` (join handles, abort handles, `JoinSet`,
//! task-locals, `LocalSet`, timers, shutdown) ported to a runtime whose one worker runs only
//! while some thread is inside `block_on` or `settle`, and races of that shape: `block_on`
//! futures finishing with tasks still queued, wakes, aborts, spawns and handle drops from
//! threads while nobody drives, handovers of the worker between `block_on` threads (each
//! awaiting what the other's future wakes, sharing a `JoinSet`, carrying task-locals),
//! thousands of `Handle::spawn`s from a polled task while another `block_on` waits, `settle`
//! beside a driver, blocking closures waking tasks, a paused clock advanced from a `block_on`
//! that does not drive, the runtime dropped, shut down with a timeout or in the background,
//! or closed by a task's panic while `block_on`s drive, wait for the worker, or are between
//! polls. Every future and output is dropped exactly once, and live bytes come back to the
//! baseline.
//!
//! Every test takes [`support::serial`] (they count drops and live bytes and share 2 loaded
//! cores) and runs under a [`Watchdog`]; no test bounds real time from above.

use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::channel::{mpsc as fmpsc, oneshot};
use futures::StreamExt;
use genrt::task::{AbortHandle, JoinSet, LocalSet};
use genrt::time::{self, Instant};
use genrt::{JoinHandle, Runtime};
use support::counting::CountingAlloc;
use support::{
    panic_message, quiet_panics, recv, serial, wait_for, wait_until, Baseline, DropCounter,
    Watchdog, INTENTIONAL,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Rounds per scenario: enough to hit the races on 2 loaded cores, few enough for the whole
/// file to run in well under a minute in a debug build.
const ROUNDS: usize = if cfg!(debug_assertions) { 800 } else { 3_000 };

/// The watchdog's limit per test; it only turns a hang into a failure.
const LIMIT: Duration = Duration::from_secs(120);

/// The name of the threads this file starts to drive a runtime.
const DRIVER: &str = "ct-driver";

fn ct() -> Runtime {
    genrt::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the runtime starts")
}

fn shared_ct() -> Arc<Runtime> {
    Arc::new(ct())
}

/// Drops the last reference to a runtime shared with threads that have all been joined.
#[track_caller]
fn drop_shared(rt: Arc<Runtime>) {
    drop(Arc::try_unwrap(rt).expect("every thread using the runtime was joined"));
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

fn count_waker() -> Waker {
    Waker::from(Arc::new(CountWake(AtomicUsize::new(0))))
}

/// A task's output that records its drop: how many times, and whether on a thread this file
/// started to drive the runtime.
struct Output {
    drops: Arc<AtomicUsize>,
    on_driver: Arc<AtomicUsize>,
}

impl Drop for Output {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if thread::current().name() == Some(DRIVER) {
            self.on_driver.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Pends until `go` is set; each poll leaves the task's waker in `waker`, then looks at `go`.
struct Gate {
    go: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Gate {
    fn new() -> (Gate, GateKey) {
        let go = Arc::new(AtomicBool::new(false));
        let waker = Arc::new(Mutex::new(None));
        (
            Gate {
                go: go.clone(),
                waker: waker.clone(),
            },
            GateKey { go, waker },
        )
    }
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

/// Opens a [`Gate`] from anywhere: sets `go`, then wakes the last waker the gate left (a poll
/// that stored its waker after the take sees `go` set).
#[derive(Clone)]
struct GateKey {
    go: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl GateKey {
    fn open(&self) {
        self.go.store(true, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A thread inside `Handle::block_on` of a runtime, driving it (unless another thread already
/// does) until [`Driving::stop`]: its future only waits for the stop.
struct Driving {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

fn drive_on_thread(handle: &genrt::Handle) -> Driving {
    let (stop, stopped) = oneshot::channel::<()>();
    let (in_tx, in_rx) = mpsc::channel();
    let handle = handle.clone();
    let thread = thread::Builder::new()
        .name(DRIVER.into())
        .spawn(move || {
            handle.block_on(async move {
                in_tx.send(()).unwrap();
                let _ = stopped.await;
            })
        })
        .expect("the driving thread starts");
    recv(&in_rx, "the driving thread's block_on started");
    Driving {
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl Driving {
    fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread::panicking() {
                return; // leave it; the test fails anyway
            }
            thread
                .join()
                .expect("the driving thread's block_on panicked");
        }
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        self.end();
    }
}

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
    #[track_caller]
    fn assert_balanced(&self, what: &str) {
        assert_eq!(
            load(&self.dropped),
            load(&self.made),
            "{what}: each tracked future dropped exactly once"
        );
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// JoinHandle
// ---------------------------------------------------------------------------------------------

/// A task spawned while nobody drives, then, at once, aborted from one thread, woken from
/// another, and driven by a third (a `block_on` of its handle, or a `settle` first): the
/// handle reports the value or cancelled, the future and the output (if made) are dropped
/// exactly once, and the abort handle says finished once the result is read.
#[test]
fn abort_races_first_poll_completion_and_wake() {
    let _serial = serial();
    Watchdog::new("ct: abort_races_first_poll_completion_and_wake")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            let futures = counter();
            let outputs = counter();
            let made = counter();
            let on_driver = counter();
            let (mut ok, mut cancelled) = (0, 0);
            for round in 0..ROUNDS {
                p.at_round("spawning", round);
                let barrier = Arc::new(Barrier::new(4));
                let (gate, key) = Gate::new();
                let handle = {
                    let (outputs, made, on_driver) =
                        (outputs.clone(), made.clone(), on_driver.clone());
                    let dropped = DropCounter(futures.clone());
                    let shape = round % 3;
                    rt.spawn(async move {
                        let _dropped = dropped;
                        match shape {
                            0 => {}
                            1 => genrt::yield_now().await,
                            _ => gate.await,
                        }
                        made.fetch_add(1, Ordering::SeqCst);
                        Output {
                            drops: outputs,
                            on_driver,
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
                let opener = {
                    let barrier = barrier.clone();
                    thread::spawn(move || {
                        barrier.wait();
                        key.open();
                    })
                };
                let driver = {
                    let (barrier, rt) = (barrier.clone(), rt.clone());
                    thread::Builder::new()
                        .name(DRIVER.into())
                        .spawn(move || {
                            barrier.wait();
                            if round % 2 == 1 {
                                rt.settle();
                            }
                            rt.block_on(handle)
                        })
                        .unwrap()
                };
                barrier.wait();
                let abort = aborter.join().unwrap();
                opener.join().unwrap();
                p.at_round("joining", round);
                let result = driver.join().expect("the driving thread panicked");
                assert!(
                    abort.is_finished(),
                    "a joined task's abort handle is finished"
                );
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
                rt.settle();
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
            drop_shared(rt);
            assert_eq!(load(&futures), ROUNDS);
            support::report(format_args!(
                "ct abort_races_first_poll_completion_and_wake: {ok} ok, {cancelled} cancelled"
            ));
        });
}

/// A join handle dropped on a thread while a `settle` on another thread completes its task:
/// the output is dropped exactly once, by the driver if the handle went first, by the
/// dropping thread if the task went first.
#[test]
fn join_handle_drop_races_completion() {
    let _serial = serial();
    Watchdog::new("ct: join_handle_drop_races_completion")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            let outputs = counter();
            let on_driver = counter();
            let futures = counter();
            for round in 0..ROUNDS {
                p.at_round("racing", round);
                let barrier = Arc::new(Barrier::new(2));
                let handle = {
                    let (outputs, on_driver) = (outputs.clone(), on_driver.clone());
                    let barrier = barrier.clone();
                    let dropped = DropCounter(futures.clone());
                    rt.spawn(async move {
                        let _dropped = dropped;
                        barrier.wait();
                        Output {
                            drops: outputs,
                            on_driver,
                        }
                    })
                };
                let settler = {
                    let rt = rt.clone();
                    thread::Builder::new()
                        .name(DRIVER.into())
                        .spawn(move || rt.settle())
                        .unwrap()
                };
                let dropper = thread::spawn(move || {
                    barrier.wait();
                    drop(handle);
                });
                dropper.join().unwrap();
                settler.join().expect("the settling thread panicked");
                rt.settle();
                assert_eq!(load(&outputs), round + 1, "each output dropped exactly once");
                assert_eq!(load(&futures), round + 1, "each future dropped exactly once");
            }
            drop_shared(rt);
            assert_eq!(load(&outputs), ROUNDS);
            support::report(format_args!(
                "ct join_handle_drop_races_completion: {} of {ROUNDS} outputs dropped by the driver",
                load(&on_driver)
            ));
        });
}

/// An output whose `Drop` panics, or spawns a task on its runtime, dropped by a handle racing
/// the task's completion under a `settle` on another thread: no panic reaches the dropping
/// thread or the driver, each output is dropped once, and each spawn from a `Drop` runs
/// (from the driver's worker context, or queued from the dropping thread while nobody
/// drives, for the next `settle`).
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

    Watchdog::new("ct: outputs_whose_drop_panics_or_spawns")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
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
                let settler = {
                    let rt = rt.clone();
                    thread::spawn(move || rt.settle())
                };
                thread::spawn(move || {
                    barrier.wait();
                    if round % 4 == 3 {
                        let _ = catch_unwind(AssertUnwindSafe(|| {
                            drop(wait_for("the nasty output", handle))
                        }));
                    } else {
                        drop(handle);
                    }
                })
                .join()
                .expect("no panic of an output's drop reaches the thread dropping its handle");
                settler
                    .join()
                    .expect("no panic of an output's drop reaches the driver");
                rt.settle();
                assert_eq!(load(&drops), round + 1, "each output dropped once");
                assert_eq!(load(&spawned), round + 1, "each spawn from a Drop ran");
            }
            assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
            drop_shared(rt);
        });
}

/// Join handles of a current-thread runtime's tasks (driven by another thread's `block_on`)
/// awaited from a multi-thread runtime's task, from another current-thread runtime's
/// `block_on`, from a foreign executor and from a plain thread: each gets its value. Then the
/// runtime is dropped while nobody drives it and a foreign executor and another runtime's
/// task await its handles: both get cancelled.
#[test]
fn join_handles_awaited_from_other_runtimes_and_foreign_executors() {
    let _serial = serial();
    Watchdog::new("ct: join_handles_awaited_elsewhere")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            let multi = genrt::Builder::new().worker_threads(2).build().unwrap();
            let other = ct();
            let driving = drive_on_thread(rt.handle());
            for round in 0..ROUNDS / 2 {
                p.at_round("awaiting", round);
                let task = |n: usize| {
                    rt.spawn(async move {
                        for _ in 0..(n % 4) {
                            genrt::yield_now().await;
                        }
                        n
                    })
                };
                let (a, b, c, d) = (
                    task(round),
                    task(round + 1),
                    task(round + 2),
                    task(round + 3),
                );
                let from_task = multi.spawn(async move { a.await.unwrap() });
                let from_other = {
                    let h = other.handle().clone();
                    thread::spawn(move || h.block_on(b).unwrap())
                };
                let from_foreign = thread::spawn(move || futures::executor::block_on(c).unwrap());
                assert_eq!(wait_for("d from a plain thread", d).unwrap(), round + 3);
                assert_eq!(wait_for("a from a task", from_task).unwrap(), round);
                assert_eq!(from_other.join().unwrap(), round + 1);
                assert_eq!(from_foreign.join().unwrap(), round + 2);
            }
            driving.stop();
            p.at("the runtime dropped while nobody drives and others await its tasks");
            let futures = counter();
            let dropped = DropCounter(futures.clone());
            let pending = rt.spawn(async move {
                let _dropped = dropped;
                std::future::pending::<()>().await
            });
            let waiter = thread::spawn(move || futures::executor::block_on(pending));
            let from_multi = {
                let dropped = DropCounter(futures.clone());
                let pending = rt.spawn(async move {
                    let _dropped = dropped;
                    std::future::pending::<()>().await
                });
                multi.spawn(pending)
            };
            thread::sleep(Duration::from_millis(2));
            drop(rt);
            assert_eq!(
                load(&futures),
                2,
                "the drop dropped both futures, never polled"
            );
            assert!(waiter.join().unwrap().unwrap_err().is_cancelled());
            let inner = wait_for("the multi-thread runtime's task", from_multi).unwrap();
            assert!(inner.unwrap_err().is_cancelled());
        });
}

/// `is_finished` never runs ahead of the result while another thread's `block_on` drives:
/// a handle that says finished is ready at its next poll, for completions, panics and aborts
/// from another thread.
#[test]
fn is_finished_implies_ready() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("ct: is_finished_implies_ready")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            let driving = drive_on_thread(rt.handle());
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
                let waker = count_waker();
                match handle.as_mut().poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(Ok(n)) => assert_eq!(n, round),
                    Poll::Ready(Err(err)) => assert!(err.is_cancelled() || err.is_panic()),
                    Poll::Pending => panic!("is_finished was true but the handle is pending"),
                }
            }
            driving.stop();
        });
}

// ---------------------------------------------------------------------------------------------
// AbortHandle
// ---------------------------------------------------------------------------------------------

/// Tasks aborted by clones of their abort handles on 6 threads at once (and by their join
/// handles), in every state (queued, idle, yielding, finished), while another thread's
/// `block_on` drives (even rounds) or while nobody drives (odd rounds: the handles are then
/// joined in a `block_on`): each task is cancelled or done once, its future dropped once.
#[test]
fn abort_handle_clones_abort_from_many_threads_at_once() {
    let _serial = serial();
    Watchdog::new("ct: abort_handle_clones_abort_at_once")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            let futures = counter();
            const ABORTERS: usize = 6;
            for round in 0..ROUNDS / 2 {
                p.at_round("aborting", round);
                let driving = (round % 2 == 0).then(|| drive_on_thread(rt.handle()));
                if driving.is_none() {
                    // Let the first polls happen, so the tasks are idle or yielding.
                    let _ = rt.try_settle(Duration::from_millis(1));
                }
                let handles: Vec<JoinHandle<()>> = (0..8)
                    .map(|i| {
                        let dropped = DropCounter(futures.clone());
                        rt.spawn(async move {
                            let _dropped = dropped;
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
                let check = |i: usize, result: Result<(), genrt::JoinError>| match result {
                    Ok(()) => assert_eq!(i % 4, 0, "only the task ready at once may finish"),
                    Err(err) => assert!(err.is_cancelled()),
                };
                match driving {
                    Some(driving) => {
                        for (i, handle) in handles.into_iter().enumerate() {
                            check(i, wait_for("an aborted task", handle));
                        }
                        driving.stop();
                    }
                    None => {
                        let results = rt.block_on(async move {
                            let mut results = Vec::new();
                            for handle in handles {
                                results.push(handle.await);
                            }
                            results
                        });
                        for (i, result) in results.into_iter().enumerate() {
                            check(i, result);
                        }
                    }
                }
                assert!(aborts.iter().all(AbortHandle::is_finished));
                assert_eq!(load(&futures), (round + 1) * 8, "each future dropped once");
            }
        });
}

/// Tasks spawned from a foreign thread (`Handle::spawn`) while nobody drives, aborted from a
/// second thread and some of their join handles dropped on a third, still while nobody
/// drives; then a `settle`, a `block_on` on yet another thread, or the runtime's drop. An
/// aborted task is never polled (as in Tokio, an abort before the first poll wins), every
/// future is dropped exactly once, and the memory comes back.
#[test]
fn abort_of_tasks_queued_while_nobody_drives() {
    let _serial = serial();
    Watchdog::new("ct: abort_of_tasks_queued_while_nobody_drives")
        .limit(LIMIT)
        .run_reporting(|p| {
            let tally = Tally::default();
            let polls = counter();
            let round_of = |round: usize, tally: &Tally| {
                let rt = ct();
                let handle = rt.handle().clone();
                let spawned: Vec<JoinHandle<usize>> = {
                    let (tally, polls) = (tally.clone(), polls.clone());
                    thread::spawn(move || {
                        (0..16usize)
                            .map(|i| {
                                let t = tally.track();
                                let polls = polls.clone();
                                handle.spawn(async move {
                                    let _t = t;
                                    polls.fetch_add(1, Ordering::SeqCst);
                                    genrt::yield_now().await;
                                    i
                                })
                            })
                            .collect()
                    })
                    .join()
                    .unwrap()
                };
                let aborts: Vec<AbortHandle> = spawned
                    .iter()
                    .step_by(2)
                    .map(|h| h.abort_handle())
                    .collect();
                thread::spawn(move || aborts.into_iter().for_each(|a| a.abort()))
                    .join()
                    .unwrap();
                let (kept, dropped): (Vec<_>, Vec<_>) = spawned
                    .into_iter()
                    .enumerate()
                    .partition(|(i, _)| i % 4 < 2);
                thread::spawn(move || drop(dropped)).join().unwrap();
                let polls_before = load(&polls);
                assert_eq!(polls_before, 0, "nobody drives: no task was polled");
                match round % 3 {
                    0 => {
                        rt.settle();
                        for (i, handle) in kept {
                            let mut handle = pin!(handle);
                            let waker = count_waker();
                            match handle.as_mut().poll(&mut Context::from_waker(&waker)) {
                                Poll::Ready(Ok(n)) => assert!(n == i && i % 2 == 1),
                                Poll::Ready(Err(err)) => assert!(err.is_cancelled() && i % 2 == 0),
                                Poll::Pending => panic!("a task left pending after a settle"),
                            }
                        }
                        assert_eq!(load(&polls), 8, "only the tasks not aborted were polled");
                    }
                    1 => {
                        let h = rt.handle().clone();
                        thread::spawn(move || {
                            h.block_on(async move {
                                for (i, handle) in kept {
                                    match handle.await {
                                        Ok(n) => assert!(n == i && i % 2 == 1),
                                        Err(err) => assert!(err.is_cancelled() && i % 2 == 0),
                                    }
                                }
                            })
                        })
                        .join()
                        .unwrap();
                        // The detached ones may still be queued: run them.
                        rt.settle();
                        assert_eq!(load(&polls), 8, "only the tasks not aborted were polled");
                    }
                    _ => {
                        drop(rt);
                        for (_, handle) in kept {
                            assert!(wait_for("a cancelled task", handle)
                                .unwrap_err()
                                .is_cancelled());
                        }
                        assert_eq!(load(&polls), 0);
                        tally.assert_balanced("after the drop");
                        return;
                    }
                }
                drop(rt);
                tally.assert_balanced("after the round");
            };
            // Warm-up, then a baseline.
            for round in 0..3 {
                round_of(round, &tally);
                polls.store(0, Ordering::SeqCst);
            }
            let baseline = Baseline::take();
            for round in 0..ROUNDS {
                p.at_round("aborting queued tasks", round);
                round_of(round, &tally);
                polls.store(0, Ordering::SeqCst);
            }
            baseline.check(format_args!("{ROUNDS} rounds of queued aborts"));
        });
}

/// Blocking work on a current-thread runtime (one blocking thread): a running closure cannot
/// be aborted and its value reaches a task awaiting it, whether the closure returns while
/// nobody drives (the next `block_on` runs the woken task) or while another thread's
/// `block_on` drives, parked (the wake unparks it); a queued closure aborted is dropped unrun.
#[test]
fn blocking_closures_wake_tasks_and_abort_while_nobody_drives() {
    let _serial = serial();
    Watchdog::new("ct: blocking_closures_wake_tasks")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = genrt::Builder::new_current_thread()
                .max_blocking_threads(1)
                .build()
                .unwrap();
            let closures = counter();
            for round in 0..ROUNDS / 2 {
                p.at_round("spawn_blocking", round);
                let (started_tx, started_rx) = mpsc::channel();
                let (release_tx, release_rx) = mpsc::channel::<()>();
                let running = rt.spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    recv(&release_rx, "the release of the running closure");
                    "ran"
                });
                recv(&started_rx, "the closure started");
                let queued = {
                    let dropped = DropCounter(closures.clone());
                    rt.spawn_blocking(move || {
                        let _dropped = dropped;
                        "queued ran"
                    })
                };
                running.abort();
                queued.abort_handle().abort();
                let waiter = rt.spawn(async move { running.await.unwrap() });
                // The waiter polls once and waits for the closure.
                rt.settle();
                assert!(!waiter.is_finished());
                if round % 2 == 0 {
                    release_tx.send(()).unwrap();
                    // The closure's wake lands while nobody drives (or after it).
                    assert_eq!(rt.block_on(waiter).unwrap(), "ran");
                } else {
                    let driving = drive_on_thread(rt.handle());
                    release_tx.send(()).unwrap();
                    assert_eq!(wait_for("the waiter", waiter).unwrap(), "ran");
                    driving.stop();
                }
                match rt.block_on(queued) {
                    Err(err) => assert!(err.is_cancelled()),
                    Ok(_) => panic!("a closure aborted while queued ran"),
                }
                assert_eq!(
                    load(&closures),
                    round + 1,
                    "the queued closure dropped once"
                );
            }
        });
}

// ---------------------------------------------------------------------------------------------
// JoinSet
// ---------------------------------------------------------------------------------------------

/// A task drains a set behind a lock while 3 threads spawn into it (`spawn_on` under the
/// lock, from outside the runtime: the injector); the joiner is driven by a `block_on` that
/// starts before the spawners (even rounds) or only after they are done (odd rounds: every
/// member is queued while nobody drives). Every result comes out exactly once.
#[test]
fn join_next_races_spawns_from_other_threads() {
    let _serial = serial();
    Watchdog::new("ct: join_next_races_spawns_from_other_threads")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            const SPAWNERS: usize = 3;
            const EACH: usize = 200;
            for round in 0..4 {
                p.at_round("spawning", round);
                let set: Arc<Mutex<JoinSet<usize>>> = Arc::new(Mutex::new(JoinSet::new()));
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
                let driving = (round % 2 == 0).then(|| drive_on_thread(rt.handle()));
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
                p.at_round("joining", round);
                let got = match driving {
                    Some(driving) => {
                        let got = wait_for("the joiner", joiner).unwrap();
                        driving.stop();
                        got
                    }
                    None => rt.block_on(joiner).unwrap(),
                };
                assert_eq!(got, SPAWNERS * EACH);
                keeper.abort();
                let mut set = Arc::try_unwrap(set).ok().unwrap().into_inner().unwrap();
                assert!(rt
                    .block_on(set.join_next())
                    .unwrap()
                    .unwrap_err()
                    .is_cancelled());
            }
        });
}

/// A `JoinSet` shared by two threads through an async lock, each in a loop of `block_on`s
/// that take the lock, spawn members and wait for one result with the lock held (so the
/// worker moves between the threads while one of them waits in the set and the other in the
/// lock): every member comes out exactly once, and the last ones are drained at the end.
#[test]
fn a_join_set_shared_between_two_block_on_threads() {
    let _serial = serial();
    Watchdog::new("ct: a_join_set_shared_between_two_block_on_threads")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            const EACH: usize = ROUNDS;
            for round in 0..3 {
                p.at_round("sharing", round);
                let set = Arc::new(futures::lock::Mutex::new(JoinSet::<usize>::new()));
                let seen = Arc::new(Mutex::new(vec![false; 4 * EACH]));
                let record = {
                    let seen = seen.clone();
                    move |n: usize| {
                        assert!(
                            !std::mem::replace(&mut seen.lock().unwrap()[n], true),
                            "{n} came out twice"
                        );
                    }
                };
                let threads: Vec<_> = (0..2usize)
                    .map(|k| {
                        let (rt, set, record) = (rt.clone(), set.clone(), record.clone());
                        thread::spawn(move || {
                            for i in 0..EACH {
                                rt.block_on(async {
                                    let mut set = set.lock().await;
                                    let base = (k * EACH + i) * 2;
                                    for n in [base, base + 1] {
                                        set.spawn(async move {
                                            for _ in 0..(n % 3) {
                                                genrt::yield_now().await;
                                            }
                                            n
                                        });
                                    }
                                    let n = set.join_next().await.unwrap().unwrap();
                                    record(n);
                                    if i % 8 == 0 {
                                        drop(set);
                                        genrt::yield_now().await;
                                    }
                                });
                            }
                        })
                    })
                    .collect();
                for thread in threads {
                    thread.join().expect("a block_on thread panicked");
                }
                let mut set = Arc::try_unwrap(set).ok().unwrap().into_inner();
                assert_eq!(set.len(), 2 * EACH, "one member left per block_on");
                rt.block_on(async {
                    while let Some(result) = set.join_next().await {
                        record(result.unwrap());
                    }
                });
                assert!(
                    seen.lock().unwrap().iter().all(|s| *s),
                    "every member came out"
                );
            }
            drop_shared(rt);
        });
}

/// `abort_all` while members complete on the same thread's drive, then drained; and a set
/// dropped on a foreign thread while another thread's `block_on` completes its members: every
/// member comes out once, done or cancelled; every future and output is dropped once.
#[test]
fn join_set_abort_all_and_drop_during_completions() {
    let _serial = serial();
    Watchdog::new("ct: join_set_abort_all_and_drop_during_completions")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            let futures = counter();
            let outputs = counter();
            let made = counter();
            let on_driver = counter();
            const MEMBERS: usize = 32;
            for round in 0..ROUNDS / 4 {
                p.at_round("abort_all", round);
                let (f, o, m, w) = (
                    futures.clone(),
                    outputs.clone(),
                    made.clone(),
                    on_driver.clone(),
                );
                let (done, cancelled) = rt.block_on(async move {
                    let mut set = JoinSet::new();
                    for i in 0..MEMBERS {
                        let (outputs, made, on_driver) = (o.clone(), m.clone(), w.clone());
                        let dropped = DropCounter(f.clone());
                        set.spawn(async move {
                            let _dropped = dropped;
                            for _ in 0..(i % 5) {
                                genrt::yield_now().await;
                            }
                            made.fetch_add(1, Ordering::SeqCst);
                            Output {
                                drops: outputs,
                                on_driver,
                            }
                        });
                    }
                    for _ in 0..(round % 4) {
                        genrt::yield_now().await;
                    }
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
                assert_eq!(load(&futures), (2 * round + 1) * MEMBERS);
                assert_eq!(load(&outputs), load(&made));

                p.at_round("dropped elsewhere", round);
                let driving = drive_on_thread(rt.handle());
                let mut set = JoinSet::new();
                for i in 0..MEMBERS {
                    let (outputs, made, on_driver) =
                        (outputs.clone(), made.clone(), on_driver.clone());
                    let dropped = DropCounter(futures.clone());
                    set.spawn_on(
                        async move {
                            let _dropped = dropped;
                            for _ in 0..(i % 3) {
                                genrt::yield_now().await;
                            }
                            made.fetch_add(1, Ordering::SeqCst);
                            Output {
                                drops: outputs,
                                on_driver,
                            }
                        },
                        rt.handle(),
                    );
                }
                if round % 2 == 0 {
                    for _ in 0..3 {
                        drop(wait_for("a member", set.join_next()));
                    }
                }
                thread::spawn(move || drop(set)).join().unwrap();
                driving.stop();
                rt.settle();
                assert_eq!(load(&futures), (2 * round + 2) * MEMBERS);
                assert_eq!(load(&outputs), load(&made), "each output dropped once");
            }
        });
}

/// `detach_all` racing completions on another thread's drive, then the set reused: the
/// detached members still run and their outputs are dropped once; the new members, and only
/// they, come out of the set.
#[test]
fn join_set_detach_all_races_completions_then_reuse() {
    let _serial = serial();
    Watchdog::new("ct: join_set_detach_all_then_reuse")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            let ran = counter();
            let outputs = counter();
            let on_driver = counter();
            const MEMBERS: usize = 32;
            let mut set = JoinSet::new();
            let driving = drive_on_thread(rt.handle());
            for round in 0..ROUNDS / 4 {
                p.at_round("detaching", round);
                for i in 0..MEMBERS {
                    let (ran, outputs, on_driver) =
                        (ran.clone(), outputs.clone(), on_driver.clone());
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
                                    on_driver,
                                }),
                            )
                        },
                        rt.handle(),
                    );
                }
                let _ = set.try_join_next();
                set.detach_all();
                assert!(set.is_empty());
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
            driving.stop();
            drop(set);
            drop(rt);
            assert_eq!(load(&outputs), ROUNDS / 4 * MEMBERS);
        });
}

// ---------------------------------------------------------------------------------------------
// Task-locals and LocalSet
// ---------------------------------------------------------------------------------------------

genrt::task_local! {
    static TASK_VALUE: usize;
}

/// Task-locals across handovers: tasks with a scoped value are polled by whichever of three
/// threads drives (each in short `block_on`s whose own futures have scoped values of their
/// own): each task sees its value after every await, a child it spawns sees none, a
/// `block_on` future's value never shows in a task polled between its polls (nor the other
/// way round), and nothing is left set outside a scope.
#[test]
fn task_locals_follow_tasks_across_drivers() {
    let _serial = serial();
    Watchdog::new("ct: task_locals_follow_tasks_across_drivers")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            let moved = counter();
            for round in 0..ROUNDS / 20 {
                p.at_round("scoping", round);
                let tasks: Vec<_> = (0..32usize)
                    .map(|i| {
                        let moved = moved.clone();
                        rt.spawn(TASK_VALUE.scope(i, async move {
                            let mut threads = std::collections::HashSet::new();
                            for step in 0..20 {
                                threads.insert(thread::current().id());
                                genrt::yield_now().await;
                                assert_eq!(TASK_VALUE.get(), i, "the value after an await");
                                if step == 5 {
                                    let child = genrt::spawn(async { TASK_VALUE.try_with(|v| *v) });
                                    assert!(child.await.unwrap().is_err(), "a child has no value");
                                    assert_eq!(TASK_VALUE.get(), i, "the value after a join");
                                }
                            }
                            if threads.len() > 1 {
                                moved.fetch_add(1, Ordering::SeqCst);
                            }
                            i
                        }))
                    })
                    .collect();
                let drivers: Vec<_> = (0..3usize)
                    .map(|k| {
                        let rt = rt.clone();
                        thread::spawn(move || {
                            for _ in 0..15 {
                                rt.block_on(TASK_VALUE.scope(1000 + k, async move {
                                    for _ in 0..3 {
                                        genrt::yield_now().await;
                                        assert_eq!(TASK_VALUE.get(), 1000 + k);
                                    }
                                    let child = genrt::spawn(async { TASK_VALUE.try_with(|v| *v) });
                                    assert!(child.await.unwrap().is_err());
                                    assert_eq!(TASK_VALUE.get(), 1000 + k);
                                }));
                                assert!(TASK_VALUE.try_with(|_| ()).is_err());
                            }
                        })
                    })
                    .collect();
                let got = rt.block_on(async move {
                    let mut got = Vec::new();
                    for task in tasks {
                        got.push(task.await.unwrap());
                    }
                    got
                });
                assert_eq!(got, (0..32).collect::<Vec<_>>());
                for driver in drivers {
                    driver.join().expect("a driving thread panicked");
                }
                assert!(TASK_VALUE.try_with(|_| ()).is_err());
            }
            drop_shared(rt);
            support::report(format_args!(
                "ct task_locals_follow_tasks_across_drivers: {} of {} tasks were polled by more than one thread",
                load(&moved),
                ROUNDS / 20 * 32
            ));
        });
}

/// A `LocalSet` in a `block_on` that does not drive (another thread's does, all along, in
/// even rounds) or that does (odd rounds): its tasks are woken from foreign threads, by
/// timers (fired by the other thread's drive), by aborts from other threads, and await
/// runtime tasks that sleep; every task finishes or is cancelled, on the set's thread, and
/// every future is dropped once.
#[test]
fn a_local_set_in_a_block_on_that_does_not_drive() {
    let _serial = serial();
    Watchdog::new("ct: a_local_set_in_a_block_on_that_does_not_drive")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            let futures = counter();
            let mut spawned = 0;
            for round in 0..ROUNDS / 10 {
                p.at_round("driving", round);
                let driving = (round % 2 == 0).then(|| drive_on_thread(rt.handle()));
                let local = LocalSet::new();
                let owner = thread::current().id();
                let mut keys = Vec::new();
                let mut handles = Vec::new();
                for i in 0..16usize {
                    let not_send = std::rc::Rc::new(DropCounter(futures.clone()));
                    let (gate, key) = Gate::new();
                    keys.push(key);
                    spawned += 1;
                    handles.push(local.spawn_local(async move {
                        let _keep = not_send;
                        assert_eq!(thread::current().id(), owner);
                        match i % 4 {
                            0 => gate.await,
                            1 => time::sleep(Duration::from_millis(1 + (i as u64 % 3))).await,
                            2 => std::future::pending().await,
                            _ => {
                                gate.await;
                                let slept = genrt::spawn(async {
                                    time::sleep(Duration::from_millis(1)).await;
                                    7
                                });
                                assert_eq!(slept.await.unwrap(), 7);
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
                let openers = thread::spawn(move || {
                    for key in &keys {
                        key.open();
                        thread::yield_now();
                    }
                    for abort in aborts {
                        abort.abort();
                    }
                });
                let n = local.block_on(&rt, async move {
                    let mut n = 0;
                    for (i, handle) in handles.into_iter().enumerate() {
                        match handle.await {
                            Ok(v) => assert_eq!(v, i),
                            Err(err) => assert!(err.is_cancelled() && i % 4 == 2),
                        }
                        n += 1;
                    }
                    n
                });
                assert_eq!(n, 16);
                openers.join().unwrap();
                drop(local);
                if let Some(driving) = driving {
                    driving.stop();
                }
                assert_eq!(load(&futures), spawned, "each local future dropped once");
            }
        });
}

// ---------------------------------------------------------------------------------------------
// Timers and the paused clock
// ---------------------------------------------------------------------------------------------

/// Timeouts whose inner future completes at the deadline's tick (a sleep of the same length,
/// or a wake from another thread at the deadline), in tasks joined by the main thread's
/// `block_on` and in two `block_on` futures of other threads (which may not drive: their
/// timers are fired by whoever does): one answer each, no hang, each inner future dropped once.
#[test]
fn timeouts_whose_futures_complete_at_the_deadline() {
    let _serial = serial();
    Watchdog::new("ct: timeouts_at_the_deadline")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            let futures = counter();
            let (mut ok, mut elapsed) = (0, 0);
            let mut made = 0;
            for round in 0..ROUNDS / 10 {
                p.at_round("timing out", round);
                let mut tasks = Vec::new();
                let mut gates = Vec::new();
                for i in 0..16u64 {
                    let d = Duration::from_millis(1 + i % 3);
                    let dropped = DropCounter(futures.clone());
                    made += 1;
                    if i % 2 == 0 {
                        tasks.push(rt.spawn(async move {
                            let _dropped = dropped;
                            time::timeout(d, time::sleep(d)).await.is_ok()
                        }));
                    } else {
                        let (gate, key) = Gate::new();
                        gates.push((d, key));
                        tasks.push(rt.spawn(async move {
                            let inner = async move {
                                let _dropped = dropped;
                                gate.await
                            };
                            time::timeout(d, inner).await.is_ok()
                        }));
                    }
                }
                let outside: Vec<_> = (0..2u64)
                    .map(|k| {
                        let d = Duration::from_millis(1 + k);
                        let (gate, key) = Gate::new();
                        gates.push((d, key));
                        let dropped = DropCounter(futures.clone());
                        made += 1;
                        let rt = rt.clone();
                        thread::spawn(move || {
                            rt.block_on(async move {
                                let inner = async move {
                                    let _dropped = dropped;
                                    gate.await
                                };
                                time::timeout(d, inner).await.is_ok()
                            })
                        })
                    })
                    .collect();
                let start = std::time::Instant::now();
                let opener = thread::spawn(move || {
                    gates.sort_by_key(|(d, _)| *d);
                    for (d, key) in gates {
                        while start.elapsed() < d {
                            std::hint::spin_loop();
                        }
                        key.open();
                    }
                });
                let results = rt.block_on(async move {
                    let mut results = Vec::new();
                    for task in tasks {
                        results.push(task.await.unwrap());
                    }
                    results
                });
                for result in results
                    .into_iter()
                    .chain(outside.into_iter().map(|t| t.join().unwrap()))
                {
                    if result {
                        ok += 1;
                    } else {
                        elapsed += 1;
                    }
                }
                opener.join().unwrap();
                rt.settle();
                assert_eq!(load(&futures), made, "each inner future dropped once");
            }
            drop_shared(rt);
            support::report(format_args!(
                "ct timeouts_whose_futures_complete_at_the_deadline: {ok} ok, {elapsed} elapsed"
            ));
        });
}

/// Thousands of sleeps cancelled while the driver fires them (`timeout(a, sleep(b))` with `a`
/// and `b` close, and a sleep registered then dropped after a yield), a third of the tasks
/// aborted from another thread meanwhile, the handles joined half by the main thread's
/// `block_on` and half by another thread's (the worker moves between them): every task ends,
/// every future is dropped once, and timers still fire after.
#[test]
fn thousands_of_sleeps_cancelled_while_firing() {
    let _serial = serial();
    Watchdog::new("ct: thousands_of_sleeps_cancelled")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            let futures = counter();
            const TASKS: usize = 1_000;
            for round in 0..3 {
                p.at_round("sleeping", round);
                let mut handles: Vec<_> = (0..TASKS)
                    .map(|i| {
                        let dropped = DropCounter(futures.clone());
                        rt.spawn(async move {
                            let _dropped = dropped;
                            let a = Duration::from_micros(((i * 7919) % 3000) as u64);
                            let b = Duration::from_micros(((i * 104_729) % 3000) as u64);
                            let _ = time::timeout(a, time::sleep(b)).await;
                            let mut s = pin!(time::sleep(b));
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
                let theirs = handles.split_off(TASKS / 2);
                let other = {
                    let rt = rt.clone();
                    thread::spawn(move || {
                        rt.block_on(async move {
                            for handle in theirs {
                                if let Err(err) = handle.await {
                                    assert!(err.is_cancelled());
                                }
                            }
                        })
                    })
                };
                rt.block_on(async move {
                    for handle in handles {
                        if let Err(err) = handle.await {
                            assert!(err.is_cancelled());
                        }
                    }
                });
                other.join().expect("the other block_on panicked");
                aborter.join().unwrap();
                assert_eq!(
                    load(&futures),
                    (round + 1) * TASKS,
                    "every future dropped once"
                );
            }
            let start = Instant::now();
            rt.block_on(time::sleep(Duration::from_millis(2)));
            assert!(start.elapsed() >= Duration::from_millis(2));
            drop_shared(rt);
        });
}

/// A paused clock (`start_paused(true)`) used by two threads in loops of `block_on`s, one
/// driving while the other polls only its own future: sleeps of the `block_on` futures
/// (auto-advance, also of the one that does not drive), `advance` from either (also from the
/// one that does not drive), and sleeps in tasks: none completes early, the clock never goes
/// back, nothing hangs.
#[test]
fn a_paused_clock_advanced_from_block_on_futures_that_do_not_drive() {
    let _serial = serial();
    Watchdog::new("ct: a_paused_clock_across_block_on_threads")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = Arc::new(
                genrt::Builder::new_current_thread()
                    .start_paused(true)
                    .build()
                    .unwrap(),
            );
            p.at("two threads in block_on loops");
            let threads: Vec<_> = (0..2usize)
                .map(|k| {
                    let rt = rt.clone();
                    thread::spawn(move || {
                        let mut last = None;
                        for i in 0..ROUNDS {
                            let d = Duration::from_millis(1 + ((i * 7 + k * 3) % 50) as u64);
                            let (start, end) = rt.block_on(async move {
                                let start = Instant::now();
                                match (i + k) % 3 {
                                    0 => time::sleep(d).await,
                                    1 => time::advance(d).await,
                                    _ => {
                                        let task = genrt::spawn(async move {
                                            let s = Instant::now();
                                            time::sleep(d).await;
                                            s.elapsed()
                                        });
                                        assert!(
                                            task.await.unwrap() >= d,
                                            "a task's sleep ended early"
                                        );
                                    }
                                }
                                (start, Instant::now())
                            });
                            assert!(end - start >= d, "ended {:?} after {d:?}", end - start);
                            if let Some(last) = last {
                                assert!(start >= last, "the clock went back");
                            }
                            last = Some(end);
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().expect("a block_on thread panicked");
            }
            drop_shared(rt);
        });
}

// ---------------------------------------------------------------------------------------------
// Current-thread handovers
// ---------------------------------------------------------------------------------------------

/// A `block_on` whose future spawns tasks and returns at its first poll leaves them queued
/// (nobody drives); a foreign thread then wakes one of them (or opens its gate before its
/// first poll) while nobody drives; the next driver runs every one of them: a `settle`, or a
/// `block_on` of another thread awaiting them.
#[test]
fn a_block_on_that_returns_leaves_its_tasks_to_the_next_driver() {
    let _serial = serial();
    Watchdog::new("ct: tasks_left_to_the_next_driver")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            for round in 0..ROUNDS {
                p.at_round("leaving tasks", round);
                let done = counter();
                let (handles, key) = {
                    let done = done.clone();
                    rt.block_on(async move {
                        let mut handles = Vec::new();
                        for i in 0..8usize {
                            let done = done.clone();
                            handles.push(genrt::spawn(async move {
                                for _ in 0..(i % 3) {
                                    genrt::yield_now().await;
                                }
                                done.fetch_add(1, Ordering::SeqCst);
                            }));
                        }
                        let (gate, key) = Gate::new();
                        handles.push(genrt::spawn(async move {
                            gate.await;
                            done.fetch_add(1, Ordering::SeqCst);
                        }));
                        (handles, key)
                    })
                };
                let open = move || thread::spawn(move || key.open()).join().unwrap();
                match round % 4 {
                    0 => {
                        rt.settle();
                        assert_eq!(load(&done), 8, "the settle ran the tasks left queued");
                        open();
                        rt.settle();
                        assert_eq!(load(&done), 9, "the settle ran the task woken meanwhile");
                    }
                    1 => {
                        open();
                        rt.settle();
                        assert_eq!(load(&done), 9);
                    }
                    2 => {
                        let _ = rt.try_settle(Duration::ZERO);
                        open();
                        let rt2 = rt.clone();
                        thread::spawn(move || {
                            rt2.block_on(async move {
                                for handle in handles {
                                    handle.await.unwrap();
                                }
                            })
                        })
                        .join()
                        .expect("the other block_on panicked");
                        assert_eq!(load(&done), 9);
                        continue;
                    }
                    _ => {
                        // A block_on that is ready at once, on another thread, then the wake.
                        let rt2 = rt.clone();
                        thread::spawn(move || rt2.block_on(async {}))
                            .join()
                            .unwrap();
                        open();
                        rt.block_on(async move {
                            for handle in handles {
                                handle.await.unwrap();
                            }
                        });
                        assert_eq!(load(&done), 9);
                        continue;
                    }
                }
                for handle in handles {
                    assert!(handle.is_finished());
                }
            }
            drop_shared(rt);
        });
}

/// Two threads in `block_on` at once, each awaiting the join handle of a task that only the
/// other thread's future wakes (one of the two drives, the other polls only its own future
/// and wakes a task the driver runs): both return, every round.
#[test]
fn two_block_ons_each_awaiting_a_task_the_other_wakes() {
    let _serial = serial();
    Watchdog::new("ct: two_block_ons_each_awaiting_a_task_the_other_wakes")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            for round in 0..ROUNDS * 2 {
                p.at_round("crossing", round);
                let (to_a, from_b) = oneshot::channel::<usize>();
                let (to_b, from_a) = oneshot::channel::<usize>();
                let task_a = rt.spawn(async move { from_b.await.unwrap() + 1 });
                let task_b = rt.spawn(async move { from_a.await.unwrap() + 2 });
                let barrier = Arc::new(Barrier::new(2));
                let side =
                    |to_other: oneshot::Sender<usize>, mine: JoinHandle<usize>, value: usize| {
                        let (rt, barrier) = (rt.clone(), barrier.clone());
                        thread::spawn(move || {
                            barrier.wait();
                            rt.block_on(async move {
                                if (round + value) % 3 == 0 {
                                    genrt::yield_now().await;
                                }
                                to_other.send(value).unwrap();
                                mine.await.unwrap()
                            })
                        })
                    };
                let a = side(to_a, task_b, 10);
                let b = side(to_b, task_a, 20);
                // A sends 10 to task a (11) and awaits task b, fed 20 by B (22).
                assert_eq!(a.join().unwrap(), 22);
                assert_eq!(b.join().unwrap(), 11);
            }
            drop_shared(rt);
        });
}

/// A task that the driver polls calls `Handle::spawn` on its own runtime thousands of times
/// (even rounds), or a foreign thread does (odd rounds), while another thread's `block_on`
/// waits for a message from each spawned task: every spawned task runs, whoever drives.
#[test]
fn thousands_of_spawns_while_another_block_on_waits() {
    let _serial = serial();
    Watchdog::new("ct: thousands_of_spawns_while_another_block_on_waits")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = shared_ct();
            const SPAWNS: usize = 3_000;
            for round in 0..6 {
                p.at_round("spawning", round);
                let (tx, mut rx) = fmpsc::unbounded::<usize>();
                let waiter = {
                    let rt = rt.clone();
                    thread::spawn(move || {
                        rt.block_on(async move {
                            let mut seen = vec![false; SPAWNS];
                            for _ in 0..SPAWNS {
                                let n = rx.next().await.expect("a spawned task sends");
                                assert!(!std::mem::replace(&mut seen[n], true));
                            }
                        })
                    })
                };
                let spawn_all = {
                    let handle = rt.handle().clone();
                    move |yields: bool| async move {
                        for i in 0..SPAWNS {
                            let tx = tx.clone();
                            drop(handle.spawn(async move {
                                if i % 5 == 0 {
                                    genrt::yield_now().await;
                                }
                                tx.unbounded_send(i).unwrap();
                            }));
                            if yields && i % 256 == 0 {
                                genrt::yield_now().await;
                            }
                        }
                    }
                };
                if round % 2 == 0 {
                    let spawner = rt.spawn(spawn_all(true));
                    rt.block_on(spawner).unwrap();
                } else {
                    thread::spawn(move || futures::executor::block_on(spawn_all(false)))
                        .join()
                        .unwrap();
                }
                waiter.join().expect("the waiting block_on panicked");
            }
            drop_shared(rt);
        });
}

/// `settle` from a foreign thread, again and again, while another thread's `block_on` drives
/// and a third thread feeds the tasks messages: nothing hangs, and a `settle` called after the
/// last message was sent returns only once every task has finished.
#[test]
fn settle_beside_a_driver_with_foreign_wakes() {
    let _serial = serial();
    Watchdog::new("ct: settle_beside_a_driver_with_foreign_wakes")
        .limit(LIMIT)
        .run_reporting(|p| {
            let rt = ct();
            let driving = drive_on_thread(rt.handle());
            for round in 0..ROUNDS / 4 {
                p.at_round("settling", round);
                let mut senders = Vec::new();
                let tasks: Vec<_> = (0..8)
                    .map(|_| {
                        let (tx, mut rx) = fmpsc::unbounded::<()>();
                        senders.push(tx);
                        rt.spawn(async move {
                            for _ in 0..20 {
                                rx.next().await.unwrap();
                            }
                        })
                    })
                    .collect();
                let feeder = thread::spawn(move || {
                    for step in 0..20 {
                        for tx in &senders {
                            tx.unbounded_send(()).unwrap();
                        }
                        if step % 4 == 0 {
                            thread::yield_now();
                        }
                    }
                });
                while !feeder.is_finished() {
                    rt.settle();
                }
                feeder.join().unwrap();
                rt.settle();
                for task in &tasks {
                    assert!(
                        task.is_finished(),
                        "settle returned before a woken task ran"
                    );
                }
            }
            driving.stop();
        });
}

// ---------------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------------

/// How a round ends its runtime.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Drop,
    Timeout,
    Background,
}

/// The name of the (blocking) threads of [`shutdown_round`]'s runtimes.
const SHUTDOWN_THREADS: &str = "ct-shutdown";

/// Waits until every thread of [`shutdown_round`]'s runtimes has exited: a runtime shut down
/// in the background leaves its blocking threads to exit on their own, holding their runtime
/// until then. Counted while one still runs, the baseline's thread count lets a thread of a
/// later round still run (holding its runtime) when that round's live bytes are measured.
fn wait_for_shutdown_threads() {
    wait_until("the shut-down runtimes' threads exited", || {
        support::counting::threads_named(SHUTDOWN_THREADS).is_none_or(|n| n == 0)
    });
}

/// Runs one round: a current-thread runtime with every kind of work in flight (idle tasks
/// whose wakers a foreign thread keeps waking, yield loops, sleeps and timeouts, join sets,
/// children whose output nobody reads, queued and running blocking closures), `drivers`
/// threads in `block_on` awaiting pending tasks (0: the tasks were polled once by a
/// `try_settle`, and nobody drives at the end; 1: one drives; 2: one drives, one waits for
/// the worker), ended as `ending` says from the main thread; returns the join handles.
fn shutdown_round(ending: Ending, drivers: usize, tally: &Tally) -> Vec<JoinHandle<()>> {
    let rt = genrt::Builder::new_current_thread()
        .max_blocking_threads(2)
        .thread_name(SHUTDOWN_THREADS)
        .build()
        .unwrap();
    let mut handles = Vec::new();
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::new(Mutex::new(Vec::new()));
    for i in 0..120usize {
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
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    for _ in 0..5 {
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
    let block_ons: Vec<_> = (0..drivers)
        .map(|_| {
            let t = tally.track();
            let pending = rt.spawn(async move {
                let _t = t;
                std::future::pending::<()>().await
            });
            let (started_tx, started_rx) = mpsc::channel();
            let h = rt.handle().clone();
            let thread = thread::spawn(move || {
                h.block_on(async move {
                    started_tx.send(()).unwrap();
                    pending.await
                })
            });
            recv(&started_rx, "a block_on started");
            thread
        })
        .collect();
    if drivers == 0 {
        // The tasks polled once, some left queued (the yield loops), nobody driving.
        let _ = rt.try_settle(Duration::from_millis(1));
    }
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
        for _ in 0..5 {
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
    for thread in block_ons {
        let result = thread.join().expect("a block_on panicked at the shutdown");
        assert!(result.unwrap_err().is_cancelled());
    }
    drop(wakers);
    handles
}

/// Current-thread runtimes dropped, shut down with a timeout, and shut down in the background
/// with all of the above in flight, with nobody driving, one `block_on` driving, or one
/// driving and one waiting for the worker: no hang, every join handle and every `block_on`
/// resolves, every future (task, member, blocking closure) is dropped exactly once, and live
/// bytes come back to the baseline.
#[test]
fn shutdown_with_everything_in_flight() {
    let _serial = serial();
    Watchdog::new("ct: shutdown_with_everything_in_flight")
        .limit(LIMIT)
        .run_reporting(|p| {
            let warm = Tally::default();
            for (drivers, ending) in [
                (0, Ending::Drop),
                (1, Ending::Timeout),
                (2, Ending::Background),
            ] {
                for handle in shutdown_round(ending, drivers, &warm) {
                    let _ = wait_for("a warm-up handle", handle);
                }
            }
            wait_until("the warm-up's futures dropped", || warm.balanced());
            wait_for_shutdown_threads();
            let tally = Tally::default();
            let baseline = Baseline::take();
            let rounds = if cfg!(debug_assertions) { 3 } else { 10 };
            for round in 0..rounds {
                for drivers in 0..3 {
                    for ending in [Ending::Drop, Ending::Timeout, Ending::Background] {
                        p.at_round("shutting down", round);
                        let handles = shutdown_round(ending, drivers, &tally);
                        p.at_round("joining", round);
                        for handle in handles {
                            match wait_for("a handle after the shutdown", handle) {
                                Ok(()) => {}
                                Err(err) => assert!(err.is_cancelled(), "{ending:?}: {err:?}"),
                            }
                        }
                        wait_until("every future dropped", || tally.balanced());
                        tally.assert_balanced(&format!("{ending:?} with {drivers} block_ons"));
                    }
                }
                p.at_round("measuring", round);
                wait_for_shutdown_threads();
                baseline.check(format_args!("round {round}"));
            }
        });
}

/// The runtime dropped from the main thread while `block_on`s on other threads are between
/// polls: one driving (parked) and, in odd rounds, one waiting for the worker, their futures
/// awaiting a task, a sleep that ends first, or a channel only the main thread feeds after
/// the drop. Every task's future is dropped before the drop returns, both `block_on`s return
/// (the awaited tasks cancelled), and a spawn after the drop is cancelled at once.
#[test]
fn runtime_dropped_while_block_ons_are_between_polls() {
    let _serial = serial();
    Watchdog::new("ct: runtime_dropped_while_block_ons_are_between_polls")
        .limit(LIMIT)
        .run_reporting(|p| {
            let tally = Tally::default();
            for round in 0..ROUNDS / 2 {
                p.at_round("dropping", round);
                let rt = ct();
                for i in 0..8usize {
                    let t = tally.track();
                    drop(rt.spawn(async move {
                        let _t = t;
                        match i % 3 {
                            0 => std::future::pending::<()>().await,
                            1 => time::sleep(Duration::from_secs(3600)).await,
                            _ => loop {
                                time::sleep(Duration::from_micros(200)).await;
                            },
                        }
                    }));
                }
                let (feed, fed) = oneshot::channel::<usize>();
                let (started_tx, started_rx) = mpsc::channel();
                let mut block_ons = Vec::new();
                let awaited = {
                    let t = tally.track();
                    rt.spawn(async move {
                        let _t = t;
                        std::future::pending::<()>().await
                    })
                };
                {
                    let (h, started_tx, spawned) =
                        (rt.handle().clone(), started_tx.clone(), tally.clone());
                    block_ons.push(thread::spawn(move || {
                        h.block_on(async move {
                            time::sleep(Duration::from_micros(100)).await;
                            started_tx.send(()).unwrap();
                            assert!(awaited.await.unwrap_err().is_cancelled());
                            // After the drop: a spawn is cancelled at once.
                            let t = spawned.track();
                            let late = genrt::spawn(async move {
                                let _t = t;
                            });
                            assert!(late.await.unwrap_err().is_cancelled());
                            0
                        })
                    }));
                }
                if round % 2 == 1 {
                    let (h, started_tx) = (rt.handle().clone(), started_tx.clone());
                    block_ons.push(thread::spawn(move || {
                        h.block_on(async move {
                            started_tx.send(()).unwrap();
                            fed.await.unwrap()
                        })
                    }));
                }
                for _ in 0..block_ons.len() {
                    recv(&started_rx, "a block_on started");
                }
                if round % 4 == 0 {
                    thread::yield_now();
                }
                let made = load(&tally.made);
                drop(rt);
                assert!(
                    load(&tally.dropped) >= made,
                    "the drop returned with a task's future alive"
                );
                let _ = feed.send(round);
                for (k, thread) in block_ons.into_iter().enumerate() {
                    let got = thread.join().expect("a block_on panicked after the drop");
                    assert_eq!(got, if k == 0 { 0 } else { round });
                }
                tally.assert_balanced("after the round");
            }
        });
}

/// `UnhandledPanic::ShutdownRuntime` with two threads in `block_on` (one driving, one
/// waiting for the worker) and a third in `settle`: a task's panic makes both `block_on`s
/// panic, the settle returns, every other task's future is dropped once, and the runtime
/// drops cleanly.
#[test]
fn shutdown_on_panic_with_two_block_ons_and_a_settle() {
    let _serial = serial();
    let _quiet = quiet_panics();
    Watchdog::new("ct: shutdown_on_panic_with_two_block_ons")
        .limit(LIMIT)
        .run_reporting(|p| {
            let tally = Tally::default();
            for round in 0..ROUNDS / 4 {
                p.at_round("panicking", round);
                let rt = Arc::new(
                    genrt::Builder::new_current_thread()
                        .unhandled_panic(genrt::UnhandledPanic::ShutdownRuntime)
                        .build()
                        .unwrap(),
                );
                for _ in 0..8 {
                    let t = tally.track();
                    drop(rt.spawn(async move {
                        let _t = t;
                        std::future::pending::<()>().await
                    }));
                }
                let (started_tx, started_rx) = mpsc::channel();
                let block_ons: Vec<_> = (0..2)
                    .map(|_| {
                        let (rt, started_tx) = (rt.clone(), started_tx.clone());
                        thread::spawn(move || {
                            catch_unwind(AssertUnwindSafe(|| {
                                rt.block_on(async move {
                                    started_tx.send(()).unwrap();
                                    std::future::pending::<()>().await
                                })
                            }))
                        })
                    })
                    .collect();
                for _ in 0..2 {
                    recv(&started_rx, "a block_on started");
                }
                let t = tally.track();
                let yields = round % 3;
                let panicking = rt.spawn(async move {
                    let _t = t;
                    for _ in 0..yields {
                        genrt::yield_now().await;
                    }
                    panic!("{INTENTIONAL}: a task under ShutdownRuntime");
                });
                let settler = {
                    let rt = rt.clone();
                    thread::spawn(move || rt.settle())
                };
                for thread in block_ons {
                    let payload = thread
                        .join()
                        .unwrap()
                        .expect_err("a block_on went on after the runtime shut down");
                    let message = panic_message(&*payload).unwrap_or_default();
                    assert!(
                        message.contains("ShutdownRuntime"),
                        "unexpected panic: {message}"
                    );
                }
                settler.join().expect("the settle panicked");
                assert!(wait_for("the panicking task", panicking)
                    .unwrap_err()
                    .is_panic());
                wait_until("every other task's future dropped", || tally.balanced());
                drop_shared(rt);
                tally.assert_balanced("after the drop");
            }
        });
}

/// `shutdown_timeout` (short) and `shutdown_background` from the main thread while another
/// thread's `block_on` is inside a task's poll that blocks: the shutdown gives up (returns
/// false: the driver was still in the poll); once released, the task is cancelled at its next
/// suspension, or completes if it does not suspend, its future dropped exactly once, and the
/// `block_on` awaiting it returns.
#[test]
fn shutdown_timeout_while_the_driver_is_stuck_in_a_poll() {
    let _serial = serial();
    Watchdog::new("ct: shutdown_timeout_while_the_driver_is_stuck")
        .limit(LIMIT)
        .run_reporting(|p| {
            let futures = counter();
            for round in 0..20 {
                p.at_round("stuck", round);
                let rt = ct();
                let (in_tx, in_rx) = mpsc::channel();
                let (release_tx, release_rx) = mpsc::channel::<()>();
                let suspend = round % 2 == 0;
                let dropped = DropCounter(futures.clone());
                let task = rt.spawn(async move {
                    let _dropped = dropped;
                    in_tx.send(()).unwrap();
                    recv(&release_rx, "the release of the stuck poll");
                    if suspend {
                        genrt::yield_now().await;
                        unreachable!("a task flagged by the shutdown is not polled again");
                    }
                    "done"
                });
                let h = rt.handle().clone();
                let block_on = thread::spawn(move || h.block_on(task));
                recv(&in_rx, "the driver polls the task");
                let all_exited = if round % 4 < 2 {
                    rt.shutdown_timeout(Duration::from_millis(5))
                } else {
                    rt.shutdown_background();
                    false
                };
                assert!(!all_exited, "the driver was still in the poll");
                assert_eq!(
                    load(&futures),
                    round,
                    "the future in its poll is not dropped"
                );
                release_tx.send(()).unwrap();
                let result = block_on.join().expect("the block_on panicked");
                if suspend {
                    assert!(result.unwrap_err().is_cancelled());
                } else {
                    assert_eq!(result.unwrap(), "done");
                }
                wait_until("the stuck task's future dropped", || {
                    load(&futures) == round + 1
                });
                assert_eq!(load(&futures), round + 1);
            }
        });
}

//! Helpers shared by the integration tests: bounded waits, watchdogs (a test body run under
//! [`bounded`] fails naming the last step it reached), a lock that runs tests one at a time,
//! and the small futures the scenarios are built from.
//!
//! Every wait in this suite is bounded: a condition that does not come true within
//! [`DEADLINE`] fails the test with a message instead of hanging it.

#![allow(dead_code)] // each test file uses a different subset of these helpers

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails. Generous: the machine is a
/// noisy 2-core box and the tests run in debug mode; nothing here measures time.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Held by each test of a file whose tests must not overlap (process-global counters or
/// tables); see [`serial`].
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes this test binary's lock, so that the tests that take it run one at a time. A test
/// that failed while holding it does not stop the others.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Polls `condition` until it holds, sleeping briefly in between. Panics with `what` if it
/// does not hold within [`DEADLINE`].
#[track_caller]
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        if Instant::now() >= deadline {
            panic!("timed out after {DEADLINE:?} waiting until {what}");
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Receives from `rx`, failing the test with `what` after [`DEADLINE`].
#[track_caller]
pub fn recv<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    match rx.recv_timeout(DEADLINE) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("timed out after {DEADLINE:?} waiting for {what}")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the sender of {what} hung up without sending")
        }
    }
}

/// Wakes a thread parked in [`wait_for`].
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to completion on the current thread (not through any runtime), failing the
/// test with `what` if it is not ready within [`DEADLINE`]. Used to await join handles from
/// the test thread without an unbounded `block_on`.
#[track_caller]
pub fn wait_for<F: Future>(what: &str, future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        let now = Instant::now();
        if now >= deadline {
            panic!("timed out after {DEADLINE:?} waiting for {what}");
        }
        // A spurious return only costs one more poll; the bound is re-checked each time.
        thread::park_timeout((deadline - now).min(Duration::from_millis(50)));
    }
}

/// Aborts the whole test process if it is still armed after [`DEADLINE`]: the last resort for
/// calls that cannot be bounded from the outside (`Runtime::block_on`, `Runtime`'s drop).
/// Disarmed when dropped.
pub struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn arm(what: &'static str) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(DEADLINE) {
                eprintln!("watchdog: {what} did not finish within {DEADLINE:?}; aborting the test process");
                std::process::abort();
            }
        });
        Watchdog {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `f` on a new thread (named `name`, if given) and returns its result. If `f` does not
/// return within `limit`, fails the test with the message `on_hang` makes (the thread is then
/// left behind). A panic in `f` fails the test as is. The watchdogs of this suite are built on
/// it: [`within_deadline`], [`bounded`], and the stress tests' `accounting::bounded`.
#[track_caller]
pub fn on_own_thread<T: Send + 'static>(
    name: Option<&str>,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
    on_hang: impl FnOnce() -> String,
) -> T {
    let (tx, rx) = mpsc::channel();
    let mut builder = thread::Builder::new();
    if let Some(name) = name {
        builder = builder.name(name.to_string());
    }
    let thread = builder
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("the bounded thread starts");
    match rx.recv_timeout(limit) {
        Ok(value) => {
            thread.join().expect("the thread already sent its result");
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{}", on_hang()),
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the thread sends before it returns"),
        },
    }
}

/// Runs `f` on a fresh thread and returns its result, failing the test with `what` if it does
/// not return within [`DEADLINE`] (the thread is then left behind). A panic in `f` is
/// propagated. Used to drop a runtime with a bound on how long the drop may take.
#[track_caller]
pub fn within_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    on_own_thread(None, DEADLINE, f, || {
        format!("timed out after {DEADLINE:?}: {what} did not return (deadlock?)")
    })
}

/// The step a test body last reached, reported if it hangs.
#[derive(Clone, Default)]
pub struct Progress(Arc<Mutex<String>>);

impl Progress {
    pub fn at(&self, step: impl Into<String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = step.into();
    }

    pub fn last(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Runs `body` on its own thread and fails the test if it does not finish within
/// [`DEADLINE`], naming the last step it reached (the hung thread is left behind). A panic in
/// `body` fails the test as is.
#[track_caller]
pub fn bounded(name: &str, body: impl FnOnce(&Progress) + Send + 'static) {
    bounded_suspecting(name, None, body);
}

/// [`bounded`], with the likely cause of a hang, if the caller knows one, in the failure's
/// message.
#[track_caller]
pub fn bounded_suspecting(
    name: &str,
    suspect: Option<&str>,
    body: impl FnOnce(&Progress) + Send + 'static,
) {
    let progress = Progress::default();
    let reached = progress.clone();
    on_own_thread(
        Some(name),
        DEADLINE,
        move || body(&progress),
        || {
            let suspect = suspect.map(|s| format!(" ({s})")).unwrap_or_default();
            format!(
                "{name}: hung for {DEADLINE:?}{suspect}; last step reached: {:?}",
                reached.last()
            )
        },
    );
}

/// Waits until every task of `rt` is suspended or finished (`Runtime::settle`), recording the
/// step in `progress` first: under [`bounded`], a hang fails naming `what`.
pub fn settle(rt: &genrt::Runtime, progress: &Progress, what: &str) {
    progress.at(format!("settling: {what}"));
    rt.settle();
}

/// Drops `rt` on another thread, failing the test if the drop does not return within
/// [`DEADLINE`].
#[track_caller]
pub fn drop_runtime(rt: genrt::Runtime) {
    within_deadline("dropping the runtime", move || drop(rt));
}

/// Where a [`Request`] leaves its task's waker: held by the test, outside the task.
pub type WakerSlot = Arc<Mutex<Option<Waker>>>;

pub fn waker_slot() -> WakerSlot {
    Arc::new(Mutex::new(None))
}

/// A minimal pending "request": every poll stores the task's waker into a slot that the test
/// holds, and returns `Pending` until the slot's owner sets `ready`.
pub struct Request {
    pub slot: WakerSlot,
}

impl Future for Request {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Counts how many times it was dropped: put one inside a future to observe the future's drop.
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future that counts its polls and stays pending forever; it keeps its latest waker in
/// `waker` so that the test can wake it on purpose.
pub struct CountPolls {
    pub polls: Arc<AtomicUsize>,
    pub waker: WakerSlot,
}

impl Future for CountPolls {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        self.polls.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

/// Pends forever; on its first poll it leaves a clone of its waker in `held`.
pub struct ParkWaker {
    pub held: Arc<Mutex<Vec<Waker>>>,
    pub parked: bool,
}

impl Future for ParkWaker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.parked {
            self.parked = true;
            self.held.lock().unwrap().push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Takes the waker out of `slot`, panicking if the task never stored one.
pub fn take_waker(slot: &WakerSlot) -> Waker {
    slot.lock()
        .unwrap()
        .take()
        .expect("the task stored its waker")
}

/// Whether `slot` holds a waker.
pub fn has_waker(slot: &WakerSlot) -> bool {
    slot.lock().unwrap().is_some()
}

/// A runtime with `workers` worker threads.
pub fn runtime(workers: usize) -> genrt::Runtime {
    genrt::Builder::new()
        .worker_threads(workers)
        .build()
        .expect("the runtime starts")
}

/// The message of a panic payload, if it is a string.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

//! Bounded waits: every wait in the tests ends within [`DEADLINE`] or fails the test with a
//! message saying what it waited for. Nothing here measures time.

use std::future::Future;
use std::pin::pin;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
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
///
/// ```
/// support::wait_until("one is one", || 1 == 1);
/// ```
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
///
/// ```
/// assert_eq!(support::wait_for("a ready future", async { 7 }), 7);
/// ```
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

/// A latch that threads (blocking closures, foreign threads) wait on until the test opens
/// it. Bounded: a waiter still waiting after [`DEADLINE`] panics, which a blocking
/// closure's join handle then reports.
///
/// ```
/// let gate = support::Gate::default();
/// let waiter = {
///     let gate = gate.clone();
///     std::thread::spawn(move || gate.wait())
/// };
/// gate.open();
/// waiter.join().unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// Opens the gate for every waiter, present and future.
    pub fn open(&self) {
        *self.0 .0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0 .1.notify_all();
    }

    /// Waits until the gate is open; panics after [`DEADLINE`].
    #[track_caller]
    pub fn wait(&self) {
        let (open, cv) = &*self.0;
        let guard = open.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = cv
            .wait_timeout_while(guard, DEADLINE, |open| !*open)
            .unwrap_or_else(PoisonError::into_inner);
        assert!(*guard, "a gate stayed closed for {DEADLINE:?}");
    }
}

//! The small futures the scenarios are built from, and the runtime helpers around them.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::{Progress, Watchdog};

/// Where a [`Request`] leaves its task's waker: held by the test, outside the task.
pub type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// An empty [`WakerSlot`].
pub fn waker_slot() -> WakerSlot {
    Arc::new(Mutex::new(None))
}

/// A minimal pending "request": every poll stores the task's waker into a slot that the test
/// holds, and returns `Pending` until the slot's owner sets `ready`.
pub struct Request {
    /// Where each poll leaves the task's waker.
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

/// Counts live instances: +1 when made, -1 when dropped. Put one in a future to count the
/// futures of a program that are still alive.
pub struct Live(Arc<AtomicUsize>);

impl Live {
    /// A new instance, counted in `count`.
    pub fn new(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, Ordering::SeqCst);
        Live(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A future that counts its polls and stays pending forever; it keeps its latest waker in
/// `waker` so that the test can wake it on purpose.
pub struct CountPolls {
    /// Polls so far.
    pub polls: Arc<AtomicUsize>,
    /// The waker of the latest poll.
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
    /// Where the first poll leaves the waker.
    pub held: Arc<Mutex<Vec<Waker>>>,
    /// Whether the waker was left already.
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

/// Waits until every task of `rt` is suspended or finished (`Runtime::settle`), recording the
/// step in `progress` first: under [`Watchdog::run_reporting`], a hang fails naming `what`.
pub fn settle(rt: &genrt::Runtime, progress: &Progress, what: &str) {
    progress.at(format!("settling: {what}"));
    rt.settle();
}

/// Drops `rt` on another thread, failing the test if the drop does not return within
/// [`DEADLINE`](crate::DEADLINE).
#[track_caller]
pub fn drop_runtime(rt: genrt::Runtime) {
    Watchdog::new("dropping the runtime").run(move || drop(rt));
}

/// Records whether it was woken (the waker of a [`MockTask`]).
#[derive(Default)]
struct WakeFlag(std::sync::atomic::AtomicBool);

impl std::task::Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `tokio_test::task::Spawn`: a future polled by hand, outside any runtime, with a waker
/// that records whether it was woken since the last poll.
pub struct MockTask<F> {
    future: Pin<Box<F>>,
    flag: Arc<WakeFlag>,
    waker: Waker,
}

/// `tokio_test::task::spawn`: `future` as a [`MockTask`], not polled yet.
pub fn mock<F: Future>(future: F) -> MockTask<F> {
    let flag = Arc::new(WakeFlag::default());
    MockTask {
        future: Box::pin(future),
        waker: Waker::from(flag.clone()),
        flag,
    }
}

impl<F: Future> MockTask<F> {
    /// Polls the future once, clearing the woken flag first.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.flag.0.store(false, Ordering::SeqCst);
        self.future
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// Whether the future's waker was woken since the last poll.
    pub fn is_woken(&self) -> bool {
        self.flag.0.load(Ordering::SeqCst)
    }
}

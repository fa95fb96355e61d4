//! The task cell: one allocation per task holding the future, the abort flag and the join
//! state. The scheduler keeps an `Arc<dyn Task>` to it in its slab; the task's
//! [`JoinHandle`](crate::JoinHandle) keeps an `Arc<dyn Join<T>>` to the same cell.
//!
//! A blocking closure (`spawn_blocking`) lives in the same cell, as a [`BlockingFuture`]
//! that is ready on its first poll; that cell never enters the scheduler's slab, and its one
//! [`BlockingTask`], the right to run it, goes to the blocking pool instead (see the
//! `blocking` module).
//!
//! Who touches what:
//! - `future`: only inside [`Task::poll`] and [`Task::shutdown`], whose callers hold the slot's
//!   poll permission, or inside the one [`BlockingTask`]'s run and drop; so never two threads
//!   at once. This is the `unsafe` of this module.
//! - `id_abort`: the task's id (bits 1 and up, set once when the cell is made) and its abort
//!   flag (bit 0: set by [`Abort::request_abort`] from any thread, read before each poll).
//!   This module owns it.
//! - `join`: under its mutex, from the poller (to finish) and the join handle.
//!
//! Whatever this module drops on a user's behalf (the future, an output or a panic payload
//! nobody will read) is dropped under `catch_unwind`: a panic in a `Drop` never unwinds into a
//! worker or into the code that dropped a join handle. A cancelled future whose `Drop` panics
//! makes its task report that panic, as in Tokio; so does one whose `Drop` panics right
//! after it returned its output (which is then dropped), also as in Tokio, where that drop
//! runs inside the poll's `catch_unwind`. One exception, Tokio's too: a future whose
//! poll panics is dropped while that panic unwinds (its `Drop` sees `thread::panicking()`),
//! so a panic in that `Drop` aborts the process, as Rust does for any panic while unwinding.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use genrt_scheduler::Task;

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicU64, Ordering};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::unsize_arc;
use crate::task::abort::Abort;
use crate::task::id::{Current, Id};
use crate::task::join::{Failure, Join};

/// The abort flag's bit in `TaskCell::id_abort`.
const ABORT: u64 = 1;

/// Futures and blocking closures larger than this many bytes are boxed where they enter the
/// runtime (each public `spawn`, `spawn_blocking`, `spawn_local` and `block_on`), as Tokio
/// does (its `BOX_FUTURE_THRESHOLD`, the same sizes): passed by value down the spawn path, a
/// future is copied onto the stack once per frame in a debug build, and a few hundred KiB
/// would overflow a 2 MiB thread stack (`tests/tests/peer_ports.rs`, large futures).
const BOX_THRESHOLD: usize = if cfg!(debug_assertions) { 2048 } else { 16384 };

/// Whether a `T` is boxed where it enters the runtime ([`BOX_THRESHOLD`]).
pub(crate) const fn is_large<T>() -> bool {
    std::mem::size_of::<T>() > BOX_THRESHOLD
}

pub(crate) struct TaskCell<F: Future> {
    /// The task's id (bits 1 and up, never changed) and its abort flag ([`ABORT`]): one word,
    /// the size the flag alone took with its padding.
    id_abort: AtomicU64,
    future: UnsafeCell<Option<F>>,
    join: Mutex<JoinState<F::Output>>,
}

struct JoinState<T> {
    /// The task's result, until the join handle takes it.
    result: Option<Result<T, Failure>>,
    finished: bool,
    /// Whether a join handle still wants the result.
    handle_alive: bool,
    waker: Option<Waker>,
}

// SAFETY: `future` is only touched by the holder of the slot's poll permission (module docs),
// one thread at a time, which needs `F: Send` and nothing more, as for a `Mutex<F>`. The
// result crosses threads through the mutex, which needs `F::Output: Send`.
unsafe impl<F> Sync for TaskCell<F>
where
    F: Future + Send,
    F::Output: Send,
{
}

// The inherent methods need no `Send`: a `LocalSet`'s cells (`local_set`) use them for
// futures that are not `Send`, on their owner thread only. The trait impls below, which let
// the scheduler and other threads reach a cell, ask for `Send`.
impl<F> TaskCell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    pub(crate) fn new(future: F) -> TaskCell<F> {
        TaskCell {
            id_abort: AtomicU64::new(Id::next().as_u64() << 1),
            future: UnsafeCell::new(Some(future)),
            join: Mutex::new(JoinState {
                result: None,
                finished: false,
                handle_alive: true,
                waker: None,
            }),
        }
    }

    /// Drops the future in place. A panic in its `Drop` is caught and returned: the future
    /// counts as dropped (Rust finishes dropping its fields while unwinding) and the slot
    /// holds `None`.
    fn drop_future(slot: &mut Option<F>) -> Result<(), Box<dyn Any + Send>> {
        catch_unwind(AssertUnwindSafe(|| *slot = None))
    }

    /// Drops the future of a task that is cancelled (aborted or shut down) and records the
    /// outcome: cancelled, or, as in Tokio, a panic if the future's `Drop` panicked. Returns
    /// the join handle's waker, for the caller to wake (see [`TaskCell::finish`]).
    #[must_use]
    fn cancel_future(&self, slot: &mut Option<F>) -> Option<Waker> {
        let error = match Self::drop_future(slot) {
            Ok(()) => Failure::cancelled(),
            Err(payload) => Failure::panic(payload),
        };
        self.finish(Err(error))
    }

    /// Records the result (dropping it if no handle wants it) and returns the join handle's
    /// waker: the caller wakes it with no lock held and outside the task's id scope (a waker
    /// that runs code inline does not run it as this task).
    #[must_use]
    fn finish(&self, result: Result<F::Output, Failure>) -> Option<Waker> {
        let (waker, unwanted) = {
            let mut join = self.join.lock();
            join.finished = true;
            let unwanted = if join.handle_alive {
                join.result = Some(result);
                None
            } else {
                Some(result)
            };
            (join.waker.take(), unwanted)
        };
        // A result nobody will read is dropped here, outside the lock.
        drop_quietly(unwanted);
        waker
    }
}

/// Drops `value` on a user's behalf (an output or a panic payload nobody will read, a
/// future's `Drop` panic): a panic in its `Drop` is caught and discarded, so it never unwinds
/// into a worker or into code that merely dropped a [`JoinHandle`](crate::JoinHandle). A
/// panic payload whose own `Drop` panics too is leaked instead of dropped.
fn drop_quietly<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(nested);
        }
    }
}

impl<F> TaskCell<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    /// One poll of the future, the body of [`Task::poll`] and of [`BlockingTask::run`].
    /// `report_panic` applies the runtime's panic policy (`UnhandledPanic`) to a panic of the
    /// poll: true for async tasks, false for blocking closures, whose panics only their join
    /// handle reports (as in Tokio).
    ///
    /// # Safety
    ///
    /// The caller has exclusive access to the future: it holds the slot's poll permission
    /// (async tasks) or the cell's one [`BlockingTask`] (blocking closures).
    pub(crate) unsafe fn poll_future(&self, cx: &mut Context<'_>, report_panic: bool) -> Poll<()> {
        let current = Current::enter(self.id());
        let budget = crate::task::coop::BudgetGuard::for_poll();
        let (poll, waker) = self.future.with_mut(|slot| {
            // SAFETY: the caller has exclusive access to the future (this function's
            // contract), so this is the only live reference to it.
            let slot = unsafe { &mut *slot };
            if slot.is_none() {
                // Already finished; cannot happen under the contract.
                return (Poll::Ready(()), None);
            }
            // Acquire: pairs with the Release `fetch_or` in `request_abort`.
            if self.id_abort.load(Ordering::Acquire) & ABORT != 0 {
                return (Poll::Ready(()), self.cancel_future(slot));
            }
            match catch_unwind(AssertUnwindSafe(|| Self::poll_in_place(slot, cx))) {
                Ok(Poll::Pending) => (Poll::Pending, None),
                Ok(Poll::Ready(output)) => match Self::drop_future(slot) {
                    Ok(()) => (Poll::Ready(()), self.finish(Ok(output))),
                    // A panic in the future's `Drop` after it returned is the task's panic,
                    // as in Tokio, whose `Core::poll` drops the future inside the poll's
                    // `catch_unwind`: the output is dropped and the panic policy applies.
                    Err(payload) => {
                        drop_quietly(output);
                        (Poll::Ready(()), self.finish_panicked(payload, report_panic))
                    }
                },
                // The future was dropped while the panic unwound (`poll_in_place`).
                Err(payload) => {
                    drop_quietly(Self::drop_future(slot));
                    (Poll::Ready(()), self.finish_panicked(payload, report_panic))
                }
            }
        });
        drop(budget);
        drop(current);
        if let Some(waker) = waker {
            waker.wake();
        }
        poll
    }

    /// Records a panic of the task's poll (or of its future's `Drop` right after it returned)
    /// as its result, after applying the runtime's panic policy if `report_panic`; returns
    /// the join handle's waker (see [`TaskCell::finish`]). The policy comes first, off the
    /// hot path: the runtime closes (under `UnhandledPanic::ShutdownRuntime`) before the
    /// result wakes anyone, so that a `block_on` awaiting this very task panics instead of
    /// returning the panic as a value.
    #[must_use]
    fn finish_panicked(&self, payload: Box<dyn Any + Send>, report_panic: bool) -> Option<Waker> {
        if report_panic {
            if let Some(runtime) = genrt_scheduler::Handle::current() {
                runtime.task_panicked();
            }
        }
        self.finish(Err(Failure::panic(payload)))
    }

    /// Polls the future in `slot` (which holds one). If the poll panics, the future is
    /// dropped while the panic unwinds, as Tokio drops a panicking task's future: its `Drop`
    /// sees `std::thread::panicking()`, and `slot` is `None` after. (So a `Drop` that panics
    /// then aborts the process, as any panic during unwinding does, and as in Tokio.)
    fn poll_in_place(slot: &mut Option<F>, cx: &mut Context<'_>) -> Poll<F::Output> {
        /// Drops the future in place when dropped; forgotten unless the poll unwinds.
        struct DropOnUnwind<'a, F>(&'a mut Option<F>);
        impl<F> Drop for DropOnUnwind<'_, F> {
            fn drop(&mut self) {
                *self.0 = None;
            }
        }
        let guard = DropOnUnwind(slot);
        let future = guard
            .0
            .as_mut()
            .expect("the caller checked the future is there");
        // SAFETY: the future lives inside the `Arc` allocation of this cell, which never
        // moves, and it is only ever dropped in place (here while unwinding, `drop_future`,
        // or the cell's drop).
        let future = unsafe { Pin::new_unchecked(future) };
        let poll = future.poll(cx);
        std::mem::forget(guard);
        poll
    }

    /// The body of [`Task::shutdown`]: drops the future (if still there) and reports the
    /// task cancelled.
    ///
    /// # Safety
    ///
    /// As for [`TaskCell::poll_future`].
    pub(crate) unsafe fn shutdown_future(&self) {
        let current = Current::enter(self.id());
        let waker = self.future.with_mut(|slot| {
            // SAFETY: the caller has exclusive access to the future (this function's
            // contract).
            let slot = unsafe { &mut *slot };
            slot.is_some().then(|| self.cancel_future(slot)).flatten()
        });
        drop(current);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The body of [`Join::poll_join`].
    pub(crate) fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, Failure>> {
        let mut join = self.join.lock();
        loop {
            if let Some(result) = join.result.take() {
                return Poll::Ready(result);
            }
            assert!(
                !join.finished,
                "genrt: JoinHandle polled after completion (Tokio's words): it already \
                 returned its result"
            );
            match crate::task::register_waker(
                || self.join.lock(),
                join,
                cx,
                |join| &mut join.waker,
                |join| join.finished,
            ) {
                None => return Poll::Pending,
                Some(again) => join = again,
            }
        }
    }

    /// The body of [`Join::register_waker`]: stores `waker` as the join handle's waker unless
    /// the task has finished; returns whether it has (the waker is then not stored, and not
    /// woken). A `JoinSet` registers its entry waker this way when a member joins it, so that
    /// the member's completion queues it, in completion order.
    pub(crate) fn register_join_waker(&self, waker: &Waker) -> bool {
        let join = self.join.lock();
        if join.finished {
            return true;
        }
        let cx = Context::from_waker(waker);
        // `Some` (the lock again): the task finished while the waker was being cloned.
        crate::task::register_waker(
            || self.join.lock(),
            join,
            &cx,
            |join| &mut join.waker,
            |join| join.finished,
        )
        .is_some()
    }

    /// The body of [`Join::detach`].
    pub(crate) fn detach_handle(&self) {
        let (result, waker) = {
            let mut join = self.join.lock();
            join.handle_alive = false;
            (join.result.take(), join.waker.take())
        };
        // Dropping the handle drops a result nobody took (inside its task, as the future's
        // drop is: `task::id` works in the output's `Drop`); a panic in its `Drop` must not
        // reach the code that dropped the handle.
        if result.is_some() {
            let _current = Current::enter(self.id());
            drop_quietly(result);
        }
        drop(waker);
    }

    /// The body of [`Abort::request_abort`].
    pub(crate) fn set_abort(&self) {
        // Release: pairs with the Acquire load in `poll_future`.
        self.id_abort.fetch_or(ABORT, Ordering::Release);
    }

    /// The body of [`Abort::id`].
    pub(crate) fn id(&self) -> Id {
        // Relaxed: the id bits never change after the cell is made.
        Id::from_u64(self.id_abort.load(Ordering::Relaxed) >> 1)
    }

    /// The body of [`Abort::is_finished`].
    pub(crate) fn finished(&self) -> bool {
        self.join.lock().finished
    }
}

impl<F> Task for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    unsafe fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the caller holds the poll permission (`Task::poll`'s contract).
        unsafe { self.poll_future(cx, true) }
    }

    unsafe fn shutdown(&self) {
        // SAFETY: as in `poll`, the caller holds the poll permission.
        unsafe { self.shutdown_future() }
    }
}

impl<F> Join<F::Output> for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, Failure>> {
        self.poll_result(cx)
    }

    fn detach(&self) {
        self.detach_handle();
    }

    fn register_waker(&self, waker: &Waker) -> bool {
        self.register_join_waker(waker)
    }
}

impl<F> Abort for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn request_abort(&self) {
        self.set_abort();
    }

    fn id(&self) -> Id {
        TaskCell::id(self)
    }

    fn is_finished(&self) -> bool {
        self.finished()
    }
}

/// A blocking closure as a future: ready on its first poll, with the closure's value. Only
/// its cell's [`BlockingTask`] polls it, once, on a blocking thread.
pub(crate) struct BlockingFuture<C>(Option<C>);

// The closure is never pinned: it is moved out and called.
impl<C> Unpin for BlockingFuture<C> {}

impl<C, R> Future for BlockingFuture<C>
where
    C: FnOnce() -> R,
{
    type Output = R;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let closure = self
            .get_mut()
            .0
            .take()
            .expect("genrt: a blocking closure was polled after it ran");
        // No cooperative budget in a blocking closure (as in Tokio): a spent one would never
        // come back, and another executor inside would spin on the futures it makes yield.
        Poll::Ready(crate::task::coop::without_budget(closure))
    }
}

/// A blocking task's cell seen by its [`BlockingTask`]: the closure run or dropped, with the
/// result delivered to the join handle either way.
trait RunBlocking: Send + Sync {
    /// Runs the closure (unless the task was aborted first) and records its result.
    ///
    /// # Safety
    ///
    /// The caller has exclusive access to the closure: it is the cell's [`BlockingTask`].
    unsafe fn run(&self);

    /// Drops the closure if it has not run, recording a cancelled result.
    ///
    /// # Safety
    ///
    /// As for [`RunBlocking::run`].
    unsafe fn cancel(&self);
}

impl<C, R> RunBlocking for TaskCell<BlockingFuture<C>>
where
    C: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    unsafe fn run(&self) {
        let mut cx = Context::from_waker(futures_task::noop_waker_ref());
        // SAFETY: exclusive access is this function's contract. No panic policy: a blocking
        // closure's panic is reported through its join handle only (as in Tokio, whose
        // `unhandled_panic` applies to spawned futures).
        let _ready = unsafe { self.poll_future(&mut cx, false) };
    }

    unsafe fn cancel(&self) {
        // SAFETY: exclusive access is this function's contract, which is `Task::shutdown`'s.
        unsafe { Task::shutdown(self) }
    }
}

/// The one right to run a blocking task's closure: [`blocking`] makes exactly one per cell
/// (the cell itself is never handed to the scheduler), and it is consumed by
/// [`BlockingTask::run`] or dropped. So whoever holds it has the closure to itself: this is
/// the exclusive access that the poll permission gives for async tasks.
///
/// Dropping it without running it (a queued closure dropped by shutdown) drops the closure
/// and makes the join handle report cancelled; after a run, the drop finds no closure and
/// does nothing.
pub(crate) struct BlockingTask {
    cell: Arc<dyn RunBlocking>,
}

impl BlockingTask {
    /// Runs the closure on this thread, unless the task was aborted before: then the closure
    /// is dropped unrun and the join handle reports cancelled. A panic of the closure is
    /// caught and becomes the task's result.
    pub(crate) fn run(self) {
        // SAFETY: `self` is the cell's one `BlockingTask` (see the type's docs).
        unsafe { self.cell.run() }
    }
}

impl Drop for BlockingTask {
    fn drop(&mut self) {
        // SAFETY: `self` is the cell's one `BlockingTask`, being dropped: nothing else touches
        // the closure, now or later.
        unsafe { self.cell.cancel() }
    }
}

/// A blocking task: its cell (for the join and abort handles) and the one [`BlockingTask`]
/// that may run it.
pub(crate) fn blocking<C, R>(closure: C) -> (Arc<TaskCell<BlockingFuture<C>>>, BlockingTask)
where
    C: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let cell = Arc::new(TaskCell::new(BlockingFuture(Some(closure))));
    let task = BlockingTask {
        cell: unsize_arc!(cell.clone() => dyn RunBlocking),
    };
    (cell, task)
}

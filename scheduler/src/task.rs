//! The scheduler's view of a task, and the only place that calls its `unsafe` methods.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::{Context, Poll};

use genrt_waker::PollGuard;

use crate::loom::sync::Arc;

/// A spawned unit of work as the scheduler sees it: something to poll and something to drop.
///
/// The runtime crate implements it for its task cell (future + join state). The scheduler
/// keeps one `Arc<dyn Task>` per task in its slab and calls these methods only while it holds
/// the slot's poll permission, so an implementation may keep its future in an `UnsafeCell`.
pub trait Task: Send + Sync + 'static {
    /// Polls the task once. `Ready` means the task is over: its future is dropped and its
    /// result delivered; the scheduler then frees the slot.
    ///
    /// An implementation must not unwind: a panic of the future is the task's result.
    ///
    /// # Safety
    ///
    /// The caller holds the task's poll permission: no other call to `poll` or `shutdown` on
    /// this task runs at the same time, and none runs after one of them returned `Ready` or
    /// after `shutdown`.
    unsafe fn poll(&self, cx: &mut Context<'_>) -> Poll<()>;

    /// Drops the task's future without polling it and reports the task as cancelled.
    ///
    /// # Safety
    ///
    /// Same as [`Task::poll`].
    unsafe fn shutdown(&self);
}

/// How the slab stores a task.
pub(crate) type TaskRef = Arc<dyn Task>;

/// Polls the task held by `guard`. A panic that escapes the task (a broken `Task`
/// implementation) ends the task instead of the worker thread.
pub(crate) fn poll(guard: &PollGuard<'_, TaskRef>, cx: &mut Context<'_>) -> Poll<()> {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `guard` is the slot's poll permission (the slab's RUNNING bit), which no
        // other thread can hold at the same time; the caller completes the slot after
        // `Ready`, so the task is never polled again.
        unsafe { guard.value().poll(cx) }
    }))
    .unwrap_or(Poll::Ready(()))
}

/// Cancels the task held by `guard` and frees its slot.
pub(crate) fn cancel(guard: PollGuard<'_, TaskRef>) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `guard` is the slot's poll permission; `complete` below frees the slot, so
        // no call follows `shutdown`.
        unsafe { guard.value().shutdown() }
    }));
    let task = guard.complete();
    let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
}

/// Cancels a task that never reached the slab (spawned after shutdown).
pub(crate) fn cancel_unqueued(task: TaskRef) {
    let _ = catch_unwind(AssertUnwindSafe(move || {
        // SAFETY: the task was never inserted into a slab or handed to any other thread, so
        // this call is the only one ever made on it.
        unsafe { task.shutdown() }
    }));
}

//! [`AbortHandle`]: the right to cancel a task, without the right to its result.

use std::fmt;

use genrt_scheduler::TaskKey;

use crate::loom::sync::Arc;
use crate::task::id::Id;

/// The abort handle's view of a task cell: the part of [`Join`](super::join::Join) that
/// does not name the task's output type.
pub(crate) trait Abort: Send + Sync {
    /// Sets the cell's abort flag; the next poll drops the future instead of polling it.
    fn request_abort(&self);
    /// Whether the task has its result (completed, panicked or cancelled).
    fn is_finished(&self) -> bool;
    /// The task's id.
    fn id(&self) -> Id;
}

/// A cloneable, thread-safe permission to cancel a task, without access to its result.
///
/// Get one from [`JoinHandle::abort_handle`](crate::JoinHandle::abort_handle) or from
/// [`JoinSet::spawn`](crate::JoinSet::spawn). [`abort`](AbortHandle::abort) behaves exactly
/// like [`JoinHandle::abort`](crate::JoinHandle::abort): it sets the task's abort flag and
/// wakes the task through its key, which is a no-op once the task or its runtime is gone.
/// Like every genrt waker, an abort handle never keeps the runtime alive; it keeps the task's
/// cell (its result slot) allocated, as a join handle does.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let join = rt.spawn(std::future::pending::<()>());
/// let abort = join.abort_handle();
/// std::thread::spawn(move || abort.abort()).join().unwrap();
/// assert!(rt.block_on(join).unwrap_err().is_cancelled());
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    cell: Arc<dyn Abort>,
    key: Option<TaskKey>,
}

impl AbortHandle {
    pub(crate) fn new(cell: Arc<dyn Abort>, key: Option<TaskKey>) -> AbortHandle {
        AbortHandle { cell, key }
    }

    /// The task's [`Id`], the same as its [`JoinHandle::id`](crate::JoinHandle::id).
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let join = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(join.abort_handle().id(), join.id());
    /// ```
    pub fn id(&self) -> Id {
        self.cell.id()
    }

    /// Cancels the task, exactly as [`JoinHandle::abort`](crate::JoinHandle::abort) does:
    /// its future is dropped the next time a worker would poll it (at once if it is idle;
    /// on a current-thread runtime, when a `block_on` or `settle` next drives it),
    /// and its result becomes a cancelled [`JoinError`](crate::JoinError), unless it finished
    /// first. Aborting a finished task, or one whose runtime is gone, does nothing.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let join = rt.spawn(std::future::pending::<()>());
    /// join.abort_handle().abort();
    /// assert!(rt.block_on(join).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        abort(&*self.cell, self.key);
    }

    /// Whether the task has finished: completed, panicked or been cancelled.
    ///
    /// ```
    /// let rt = genrt::Runtime::new().unwrap();
    /// let abort = rt.spawn(async {}).abort_handle();
    /// while !abort.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }
}

/// The one abort protocol, shared by [`AbortHandle::abort`] and
/// [`JoinHandle::abort`](crate::JoinHandle::abort): set the flag, then wake the task's key so
/// that an idle task is polled and sees it.
pub(crate) fn abort(cell: &dyn Abort, key: Option<TaskKey>) {
    cell.request_abort();
    if let Some(key) = key {
        // A key waker: a no-op if the task already finished or the runtime is gone.
        genrt_scheduler::waker(key).wake();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("key", &self.key)
            .field("finished", &self.is_finished())
            .finish()
    }
}

// A panic caught around code that uses a AbortHandle cannot leave it broken: its state is
// behind atomics and locks, each left consistent by every operation (as Tokio declares).
impl std::panic::UnwindSafe for AbortHandle {}
impl std::panic::RefUnwindSafe for AbortHandle {}

//! [`Id`], a task's identity, and [`id`]/[`try_id`], the identity of the task being run.
//!
//! A task's id is the address of its cell (the one allocation that holds its future and its
//! result): no counter, no shared write at spawn. The cell lives as long as the task runs and
//! as long as any [`JoinHandle`](crate::JoinHandle) of it, so two tasks that exist at the same
//! time never share an id; once a task has finished and its handles are gone, a later task
//! may get the same id (as Tokio documents for its own ids).
//!
//! The current task is a thread-local that the task's poll sets and restores around the
//! future's `poll` and around the drop of its future (cancellation, shutdown), so code in a
//! `Drop` of the future sees its task too.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

/// The identity of a task, unique among the tasks that exist at the same time (see
/// [`JoinHandle::id`](crate::JoinHandle::id), [`id`], [`try_id`]).
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let handle = rt.spawn(async { genrt::task::id() });
/// let id = handle.id();
/// assert_eq!(rt.block_on(handle).unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    /// The id of the task whose cell is at `cell`.
    pub(crate) fn of_cell<T: ?Sized>(cell: *const T) -> Id {
        let address = cell.cast::<()>() as usize as u64;
        Id(NonZeroU64::new(address).expect("a task cell is never at address 0"))
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({:#x})", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

crate::loom::thread_local! {
    /// The task this thread is running (polling or dropping the future of), if any.
    static CURRENT: Cell<Option<Id>> = const { Cell::new(None) };
}

/// The id of the task this code runs in.
///
/// # Panics
///
/// Outside a task: in a `block_on`'s own future, on a thread of no runtime. [`try_id`] is
/// the version that does not panic.
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let (inside, handle_id) = {
///     let handle = rt.spawn(async { genrt::task::id() });
///     let id = handle.id();
///     (rt.block_on(handle).unwrap(), id)
/// };
/// assert_eq!(inside, handle_id);
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect(
        "genrt::task::id called outside a task (in a block_on future or on a thread that is not \
         running one); use genrt::task::try_id",
    )
}

/// The id of the task this code runs in, or `None` outside any task (a `block_on`'s own
/// future is not a task).
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// assert!(genrt::task::try_id().is_none());
/// assert!(rt.block_on(async { genrt::task::try_id() }).is_none());
/// assert!(rt.block_on(rt.spawn(async { genrt::task::try_id() })).unwrap().is_some());
/// ```
pub fn try_id() -> Option<Id> {
    // A thread being torn down has no current task.
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// Makes `id` the current task until dropped, then restores the previous one (a task's drop
/// may run inside another task's poll: a `JoinHandle` or a future dropped there).
pub(crate) struct Current {
    previous: Option<Id>,
}

impl Current {
    /// Enters task `id`.
    pub(crate) fn enter(id: Id) -> Current {
        Current {
            previous: CURRENT.try_with(|c| c.replace(Some(id))).ok().flatten(),
        }
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.previous));
    }
}

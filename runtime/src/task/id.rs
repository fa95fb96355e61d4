//! [`Id`], a task's identity, and [`id`]/[`try_id`], the identity of the task being run.
//!
//! Ids are numbers handed out once per task, when its cell is made. Each thread takes them
//! from a block of [`BLOCK`] numbers it reserved with one `fetch_add` on a process-wide
//! counter: no shared write at a spawn but one in [`BLOCK`]. The cell keeps its id in 32
//! bits ([`CellId`]), which fit in the padding after its abort flag, so ids cost no memory
//! per task; they come back only after about four billion tasks (2^32, less the unused ends
//! of the blocks of threads that exited). Ids are unique, then, but not ordered by spawn
//! time across threads (as Tokio says of its own: not sequential).
//!
//! The current task is a thread-local that the task's poll sets and restores around the
//! future's `poll` and around the drop of its future or of an output nobody reads
//! (cancellation, shutdown, a finished task whose handle is gone), so code in those `Drop`s
//! sees its task too. A join handle is woken after it is restored.

use std::cell::Cell;
use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};

use crate::loom::sync::atomic::{AtomicU32, Ordering};

/// The identity of a task: unique in the process until about four billion tasks have been
/// spawned (see [`JoinHandle::id`](crate::JoinHandle::id), [`id`], [`try_id`]).
///
/// ```
/// let rt = genrt::Runtime::new().unwrap();
/// let handle = rt.spawn(async { genrt::task::id() });
/// let id = handle.id();
/// assert_eq!(rt.block_on(handle).unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

/// How many ids a thread reserves at a time.
const BLOCK: u32 = 256;

/// The next block of ids to hand out: `NEXT_BLOCK * BLOCK` (wrapping) is its first id; id 0
/// is skipped.
static NEXT_BLOCK: AtomicU32 = AtomicU32::new(0);

crate::loom::thread_local! {
    /// This thread's reserved ids: the next one, and how many are left in its block.
    static RESERVED: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
}

/// A task's id as its cell stores it (4 bytes).
#[derive(Clone, Copy)]
pub(crate) struct CellId(NonZeroU32);

impl CellId {
    /// The next id of this thread's block.
    pub(crate) fn next() -> CellId {
        let take = |reserved: &Cell<(u32, u32)>| {
            let (mut next, mut left) = reserved.get();
            if left == 0 {
                (next, left) = (reserve_block(), BLOCK);
                if next == 0 {
                    // Block 0 of each round of the counter: id 0 is never handed out.
                    (next, left) = (1, BLOCK - 1);
                }
            }
            reserved.set((next.wrapping_add(1), left - 1));
            next
        };
        // A thread whose thread-locals are being destroyed takes a block of its own, and
        // uses one id of it (the second if the block starts at 0).
        let number = RESERVED
            .try_with(take)
            .unwrap_or_else(|_| reserve_block().max(1));
        CellId(NonZeroU32::new(number).expect("id 0 is never handed out"))
    }

    /// The public id.
    pub(crate) fn id(self) -> Id {
        Id(NonZeroU64::from(self.0))
    }
}

/// The first id of a new block.
fn reserve_block() -> u32 {
    // Relaxed: only uniqueness matters, which the read-modify-write gives on its own.
    NEXT_BLOCK
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(BLOCK)
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
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
/// future is not a task; a `block_on` inside a blocking closure runs inside that closure's
/// task, so it sees the closure's id, as in Tokio).
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

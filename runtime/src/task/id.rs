//! [`Id`], a task's identity, and [`id`]/[`try_id`], the identity of the task being run.
//!
//! Ids are numbers handed out once per task, when its cell is made, and never again in the
//! life of the process (63 bits: at a billion spawns a second, they last three centuries).
//! Each thread takes them from a block of [`BLOCK`] numbers it reserved with one `fetch_add`
//! on a process-wide counter: no shared write at a spawn but one in [`BLOCK`]. The cell keeps
//! its id in the word that holds its abort flag (`TaskCell`'s `id_abort`), so ids cost no
//! memory per task. Ids are unique, then, but not ordered by spawn time across threads (as
//! Tokio says of its own: not sequential).
//!
//! The current task is a thread-local that the task's poll sets and restores around the
//! future's `poll` and around the drop of its future or of an output nobody reads
//! (cancellation, shutdown, a finished task whose handle is gone), so code in those `Drop`s
//! sees its task too. A join handle is woken after it is restored.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
// std's even under loom: a static loom atomic would need `lazy_static!`, and no model is
// about ids.
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of a task: unique in the process, never reused (see
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

/// How many ids a thread reserves at a time.
const BLOCK: u64 = 256;

/// Ids are below this: they fit in 63 bits, beside a flag (`TaskCell`'s `id_abort`).
pub(crate) const ID_LIMIT: u64 = 1 << 63;

/// The next block of ids to hand out: `NEXT_BLOCK * BLOCK` is its first id; id 0 is skipped.
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);

crate::loom::thread_local! {
    /// This thread's reserved ids: the next one, and how many are left in its block.
    static RESERVED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

impl Id {
    /// A new id, never handed out before.
    pub(crate) fn next() -> Id {
        let take = |reserved: &Cell<(u64, u64)>| {
            let (mut next, mut left) = reserved.get();
            if left == 0 {
                (next, left) = (reserve_block(), BLOCK);
                if next == 0 {
                    // Block 0: id 0 is never handed out.
                    (next, left) = (1, BLOCK - 1);
                }
            }
            reserved.set((next + 1, left - 1));
            next
        };
        // A thread whose thread-locals are being destroyed takes a block of its own, and
        // uses one id of it (the second if the block starts at 0).
        let number = RESERVED
            .try_with(take)
            .unwrap_or_else(|_| reserve_block().max(1));
        assert!(
            number < ID_LIMIT,
            "genrt: task ids ran out (2^63 tasks spawned)"
        );
        Id::from_u64(number)
    }

    /// The id `number`, one that [`Id::next`] handed out (as `TaskCell` stores it). Read on
    /// every poll, so the limit is checked once, in `next`.
    pub(crate) fn from_u64(number: u64) -> Id {
        debug_assert!(number < ID_LIMIT);
        Id(NonZeroU64::new(number).expect("id 0 is never handed out"))
    }

    /// The id as a number below [`ID_LIMIT`].
    pub(crate) fn as_u64(self) -> u64 {
        self.0.get()
    }
}

/// The first id of a new block.
fn reserve_block() -> u64 {
    // Relaxed: only uniqueness matters, which the read-modify-write gives on its own.
    NEXT_BLOCK.fetch_add(1, Ordering::Relaxed) * BLOCK
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
    // Tokio's words first, so that a test written for Tokio's panic matches.
    try_id().expect(
        "Can't get a task id when not inside a task (genrt::task::id called outside a task: in \
         a block_on future or on a thread that is not running one); use genrt::task::try_id",
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
